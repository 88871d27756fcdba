// Shared by the browser tests: a static server for dist/ on 127.0.0.1, Debian's Chromium
// through playwright-core (no browser download), and pages that record every request,
// page error and console error so that each test can assert there were none.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { after, before } from 'node:test';
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

// One server and one browser for a whole test file, started before its tests and closed after
// them: `const env = useServerAndBrowser();` then `env.server`, `env.browser` inside the tests.
export function useServerAndBrowser(extraArgs = []) {
  const env = { server: null, browser: null };
  before(async () => {
    env.server = await startServer();
    env.browser = await launchBrowser(extraArgs);
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.close();
  });
  return env;
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

// ---------------------------------------------------------------------------------------------
// Peak memory of a page and its dedicated workers, as the operating system counts it.
//
// In Chromium a page's frame and its dedicated Web Workers run as threads of one renderer
// process, so that process's resident memory (RSS) is what the page costs the device: the
// JavaScript heaps, the wasm memories, decoded pictures, canvases' backing stores. (Other
// processes' share, such as the GPU or the browser process holding File objects, is not in it.)
//
// Which renderer: Chromium keeps several (a spare one, its own UI's, one per site and browser
// context), and which one a page got cannot be seen from outside; neither a new process after
// `newPage()` (that is the next spare) nor the one that used CPU during a busy loop (the UI's
// renderer wakes too) tells reliably. A trace does: Chromium's `TracingStartedInBrowser` event
// lists every frame with its URL and `processId`, the one DevTools uses. Linux-only below
// (/proc), like the Debian Chromium these tests run.
//
// The peak: `VmHWM` in /proc/PID/status is the process's high-water mark of RSS, kept by the
// kernel, so no short spike between two samples is missed. Writing "5" to /proc/PID/clear_refs
// resets it to the current RSS (Linux 4.0+), so a watch measures the peak of its own interval.
// `VmRSS` is also sampled every `intervalMs` as a cross-check and a fallback if the reset is not
// allowed. MB are 10^6 bytes (so `new Uint8Array(300e6)` is 300 MB).

const MB_PER_KIB = 1024 / 1e6;

// { rssMB, hwmMB } of a process now.
export function processMemory(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))[1]);
  return { rssMB: kib('VmRSS') * MB_PER_KIB, hwmMB: kib('VmHWM') * MB_PER_KIB };
}

// The pid of the renderer process running `page`'s main frame (and so its dedicated workers),
// from a short trace of the page. The tracing is Chromium's (one at a time per browser).
export async function rendererPid(browser, page) {
  await browser.startTracing(page, { categories: ['disabled-by-default-devtools.timeline'] });
  const trace = JSON.parse((await browser.stopTracing()).toString());
  const frames = (trace.traceEvents ?? trace)
    .filter((e) => e.name === 'TracingStartedInBrowser')
    .flatMap((e) => e.args?.data?.frames ?? []);
  const main = frames.find((f) => f.isOutermostMainFrame && f.url === page.url()) ?? frames.find((f) => f.isOutermostMainFrame);
  if (!main?.processId) throw new Error(`no renderer process found for ${page.url()} in the trace (frames: ${JSON.stringify(frames)})`);
  return main.processId;
}

// Starts watching the peak memory of `page`'s renderer; `await watch.stop()` gives
// { pid, startMB, peakMB, hwmMB, sampledPeakMB, endMB, samples, hwmReset }, where peakMB is the
// kernel's high-water mark over the watch (hwmMB) when the reset worked, else the sampled peak.
// Start it once the page has loaded: a navigation to another site changes the process (stop()
// then throws rather than report the wrong one).
export async function startMemoryWatch(browser, page, { intervalMs = 100 } = {}) {
  const pid = await rendererPid(browser, page);
  let hwmReset = true;
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    hwmReset = false;
  }
  const start = processMemory(pid);
  let sampledPeakMB = start.rssMB;
  let samples = 1;
  const sample = () => {
    try {
      sampledPeakMB = Math.max(sampledPeakMB, processMemory(pid).rssMB);
      samples += 1;
    } catch {
      // The process ended (a crash); stop() reports what was seen.
    }
  };
  const timer = setInterval(sample, intervalMs);
  return {
    pid,
    startMB: start.rssMB,
    async stop() {
      clearInterval(timer);
      sample();
      const end = processMemory(pid);
      const now = await rendererPid(browser, page);
      if (now !== pid) throw new Error(`the page moved from renderer ${pid} to ${now} during the watch (a navigation?): its peak memory is unknown`);
      // After a successful reset the high-water mark covers exactly the watch.
      const hwmMB = end.hwmMB;
      return { pid, startMB: start.rssMB, peakMB: hwmReset ? Math.max(hwmMB, sampledPeakMB) : sampledPeakMB, hwmMB, sampledPeakMB, endMB: end.rssMB, samples, hwmReset };
    },
  };
}

// Runs `action` (an async function) while watching `page`'s renderer; returns stop()'s figures.
export async function measurePeakMemory(browser, page, action, options) {
  const watch = await startMemoryWatch(browser, page, options);
  try {
    await action();
  } catch (e) {
    await watch.stop().catch(() => {});
    throw e;
  }
  return watch.stop();
}

// axe-core (npm) in the page, to WCAG 2.2 AA: the violations within `selector` (the whole
// document by default), each as "id (impact): targets".
const AXE = fs.readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export async function axeViolations(page, selector = null) {
  await page.evaluate(AXE);
  const tags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa'];
  const result = await page.evaluate(([t, sel]) => window.axe.run(sel ? document.querySelector(sel) : document, { runOnly: { type: 'tag', values: t }, resultTypes: ['violations'] }), [tags, selector]);
  return result.violations.map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).slice(0, 5).join(', ')}`);
}
