// Shared by the browser tests: a static server for dist/ on 127.0.0.1, Debian's Chromium
// through playwright-core (no browser download), and pages that record every request,
// page error and console error so that each test can assert there were none.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const DIST = path.join(ROOT, 'dist');
export const SINGLE_FILE_URL = pathToFileURL(path.join(DIST, 'convscope.html')).href;

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm' };

export async function startServer() {
  if (!fs.existsSync(path.join(DIST, 'index.html'))) throw new Error('dist/ is missing: run ./build.sh build first');
  const server = http.createServer((req, res) => {
    const urlPath = decodeURIComponent(new URL(req.url, 'http://x').pathname);
    const file = path.join(DIST, urlPath === '/' ? 'index.html' : urlPath);
    if (!file.startsWith(DIST + path.sep) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${server.address().port}`;
  return { origin, url: `${origin}/`, close: () => new Promise((resolve) => server.close(resolve)) };
}

// `extraArgs`: for example Chromium's fake camera for the webcam tests.
export function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', ...extraArgs],
  });
}

// Chromium's built-in test camera, allowed without asking.
export const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

// Opens `url` in a fresh context and waits until the explorer has drawn. The returned
// `log` collects requests, page errors and console errors for the test to check.
// `initScript` runs before any of the page's scripts (to stand in for another engine).
export async function openPage(browser, url, viewport = { width: 1280, height: 720 }, initScript = null) {
  const context = await browser.newContext({ viewport });
  if (initScript) await context.addInitScript(initScript);
  const page = await context.newPage();
  const log = { requests: [], pageErrors: [], consoleErrors: [] };
  page.on('request', (r) => log.requests.push(r.url()));
  page.on('pageerror', (e) => log.pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && log.consoleErrors.push(m.text()));
  await page.goto(url);
  try {
    await page.waitForSelector('body[data-ready="true"]', { timeout: 15000 });
  } catch (e) {
    const engine = await page.textContent('#engine').catch(() => '?');
    throw new Error(`the page did not get ready (${engine}); page errors: ${log.pageErrors.join(' | ')}; console errors: ${log.consoleErrors.join(' | ')}`);
  }
  return { page, log, close: () => context.close() };
}

// Every request went to the page's own origin (or stayed inside the page: data:, blob:).
export function foreignRequests(log, origin) {
  const own = origin === 'file' ? (u) => u.startsWith('file://') : (u) => u.startsWith(origin + '/');
  return log.requests.filter((u) => !own(u) && !u.startsWith('data:') && !u.startsWith('blob:'));
}
