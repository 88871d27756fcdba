// Firefox and WebKitGTK for the cross-engine tests, through W3C WebDriver (selenium-webdriver)
// with Debian's browsers and drivers: Firefox ESR through geckodriver (built from crates.io by
// build.sh), WebKitGTK's MiniBrowser through WebKitWebDriver under xvfb-run (it needs a display).
// Playwright drives only its own browser builds, which this project may not download, so these
// engines are driven over WebDriver; Chromium stays on Playwright (harness.mjs).
//
// WebKit runs with LANG=C.UTF-8, as a classroom machine or CI may: WebKitGTK then reports the
// language "C", which Intl refuses; the page must cope.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Builder } from 'selenium-webdriver';

const GECKODRIVER = process.env.CONVSCOPE_GECKODRIVER || path.join(process.env.CARGO_HOME || path.join(os.homedir(), '.cargo'), 'bin', 'geckodriver');
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

export const ENGINES = {
  firefox: {
    command: (port) => [GECKODRIVER, ['--host', '127.0.0.1', '--port', String(port)]],
    env: {},
    capabilities: { browserName: 'firefox', 'moz:firefoxOptions': { binary: '/usr/bin/firefox-esr', args: ['-headless', '-width', '1280', '-height', '900'] } },
    needs: ['/usr/bin/firefox-esr', GECKODRIVER],
  },
  webkit: {
    command: (port) => ['xvfb-run', ['-a', '-s', '-screen 0 1280x900x24', '/usr/bin/WebKitWebDriver', `--port=${port}`]],
    env: { LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' },
    capabilities: { browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } },
    needs: ['/usr/bin/WebKitWebDriver', MINIBROWSER, '/usr/bin/xvfb-run'],
  },
};

// What is missing for `name`, or null when it can run.
export function missing(name) {
  const absent = ENGINES[name].needs.filter((p) => !fs.existsSync(p));
  return absent.length ? absent.join(', ') : null;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Starts the engine's WebDriver server; `session()` opens a browser (a fresh profile each time).
export async function startEngine(name) {
  const engine = ENGINES[name];
  const port = await freePort();
  const [cmd, args] = engine.command(port);
  const driver = spawn(cmd, args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...engine.env } });
  let stderr = '';
  driver.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 20_000;
  for (;;) {
    try {
      const res = await fetch(`${url}/status`);
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      try { process.kill(-driver.pid); } catch { /* gone */ }
      throw new Error(`${name}'s WebDriver server did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    session: () => new Builder().usingServer(url).withCapabilities(engine.capabilities).build(),
    // The driver's last words on stderr (a crashed browser says so there).
    log: () => stderr,
    // TERM first (xvfb-run then stops its Xvfb and removes its lock), KILL for what is left.
    stop() {
      const signal = (sig) => {
        try {
          process.kill(-driver.pid, sig);
        } catch {
          // already gone
        }
      };
      signal('SIGTERM');
      setTimeout(() => signal('SIGKILL'), 2000).unref();
    },
  };
}

// ---- Finding things as a user (and a screen reader) does: by role, label and name. ----

// Runs `fn(arg)` in the page and returns its result (elements come back as WebElements).
export const inPage = (d, fn, ...args) => d.executeScript(`return (${fn}).apply(null, arguments)`, ...args);

// Waits until `fn(arg)` is truthy in the page; returns its value.
export async function until(d, fn, timeout = 30_000, ...args) {
  let last;
  try {
    return await d.wait(async () => (last = await inPage(d, fn, ...args)), timeout);
  } catch (e) {
    throw new Error(`waited ${timeout} ms for ${String(fn).slice(0, 160)} (last: ${JSON.stringify(last)}): ${e.message}`);
  }
}

// The control whose accessible name is `name` (its <label>, aria-label or aria-labelledby),
// inside the region named `region` when given.
export function control(d, name, region = null) {
  return inPage(
    d,
    (name, region) => {
      const scope = region ? [...document.querySelectorAll('[role=region]')].find((r) => r.getAttribute('aria-label') === region) : document;
      if (!scope) return null;
      const named = (el) => {
        if (el.getAttribute('aria-label')) return el.getAttribute('aria-label').trim();
        const by = el.getAttribute('aria-labelledby');
        if (by) return by.split(/\s+/).map((id) => document.getElementById(id)?.textContent.trim()).join(' ');
        if (el.labels && el.labels.length) return el.labels[0].textContent.trim();
        return el.textContent.trim();
      };
      return [...scope.querySelectorAll('input, select, button, textarea, a[href], [role=button], [role=tab], [role=slider]')].find((el) => named(el) === name) || null;
    },
    name,
    region,
  );
}

export async function press(d, name, region = null) {
  const el = await control(d, name, region);
  if (!el) throw new Error(`no control named “${name}”${region ? ` in ${region}` : ''}`);
  await d.executeScript('arguments[0].scrollIntoView({block: "center"})', el);
  await el.click();
}

// Hands a file on disk to the file input named `name` (as a user picking it would).
export async function chooseFile(d, name, file) {
  const el = await control(d, name);
  if (!el) throw new Error(`no file input named “${name}”`);
  await el.sendKeys(file);
}

export const text = (d, selector) => inPage(d, (s) => document.querySelector(s)?.textContent ?? null, selector);

// Opens `url` and waits until the explorer has drawn; installs a record of uncaught errors
// (WebDriver classic has no console log in every engine: this is what both give).
export async function openPage(d, url) {
  await d.get(url);
  await pageStarted(d);
}

// Reloads the page (a get of the same URL with a fragment would not: it only moves to the
// fragment).
export async function reloadPage(d) {
  await d.navigate().refresh();
  await pageStarted(d);
}

// Waits for the core, then records the page's uncaught errors (pageErrors reads them).
async function pageStarted(d) {
  await until(d, () => document.body.dataset.ready === 'true' || document.querySelector('#engine')?.dataset.failed, 30_000);
  await inPage(d, () => {
    window.__errors = [];
    window.addEventListener('error', (e) => window.__errors.push(String(e.message)));
    window.addEventListener('unhandledrejection', (e) => window.__errors.push(String(e.reason && e.reason.message ? e.reason.message : e.reason)));
  });
}

export const pageErrors = (d) => inPage(d, () => window.__errors || []);
