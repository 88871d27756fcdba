// The bench's training epoch in a Web Worker of headless Chromium (Debian's, through
// playwright-core; no browser download): the no-modules build in pkg/ that the page ships,
// served over http on 127.0.0.1, runs `Bench.trainEpoch` as bench/run.mjs does in Node
// (one warm-up epoch, then the timed ones, timed with the worker's performance.now()). Like
// the page (www/js/wasm.js), the worker loads the relaxed-SIMD build when a probe module with a
// relaxed-SIMD instruction validates, else the SIMD128 one, and reports which it used.
// It also times how long the single-file page takes to become interactive when opened from
// disk (see `pageInteractive`).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// Debian's Chromium (package chromium), headless, through playwright-core: no browser download.
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--no-first-run'];
export function launchChromium() {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

const WORKER = `importScripts('/pkg/convscope.js');
onmessage = async (e) => {
  const { images, batch, epochs } = e.data;
  try {
    const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b]);
    const wasm = WebAssembly.validate(probe) ? 'convscope_relaxed_bg.wasm' : 'convscope_bg.wasm';
    await wasm_bindgen({ module_or_path: '/pkg/' + wasm });
    const bench = new wasm_bindgen.Bench(images, batch, 1);
    bench.trainEpoch();
    const times = [];
    for (let i = 0; i < epochs; i++) {
      const t = performance.now();
      bench.trainEpoch();
      times.push((performance.now() - t) / 1000);
    }
    postMessage({ times, simd: wasm_bindgen.simdEnabled(), relaxed: wasm_bindgen.relaxedSimdEnabled() });
  } catch (err) {
    postMessage({ error: String(err) });
  }
};`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>convscope bench</title><script>
const worker = new Worker('/worker.js');
window.runBench = (config) => new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.postMessage(config); });
</script>`;

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x').pathname;
    if (url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (url === '/worker.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(WORKER);
    const file = path.join(ROOT, 'pkg', path.basename(url));
    if (!url.startsWith('/pkg/') || !fs.existsSync(file)) return res.writeHead(404).end('not found');
    const type = file.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
    res.writeHead(200, { 'content-type': type });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// Returns {epochs: [seconds...], version, build: 'relaxed-simd' | 'simd128'}.
export async function runInChromium({ images, batch, epochs }) {
  for (const f of ['convscope_bg.wasm', 'convscope_relaxed_bg.wasm']) {
    if (!fs.existsSync(path.join(ROOT, 'pkg', f))) throw new Error(`pkg/${f} is missing: run ./build.sh build`);
  }
  const server = await serve();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const r = await page.evaluate((config) => window.runBench(config), { images, batch, epochs });
    if (r.error) throw new Error(`the bench failed in Chromium's worker: ${r.error}`);
    if (!r.simd) throw new Error("the page's wasm build lacks SIMD128");
    return { epochs: r.times, version: browser.version(), build: r.relaxed ? 'relaxed-simd' : 'simd128' };
  } finally {
    await browser.close();
    server.close();
  }
}

// The page is interactive when the student can press Train: the explorer has drawn with the
// wasm core (body[data-ready]), the training worker has started its own wasm instance and
// generated the default data (body[data-training-ready]), and #train-start is enabled.
// The explorer's own readiness (the first section answers input) is recorded too.
// Both are read inside the page with performance.now(), whose origin is the navigation's
// start, polled every 5 ms; each open is cold: a fresh browser, so no compiled code is reused.
const EXPLORER_READY = () => (document.body?.dataset.ready === 'true' ? performance.now() : 0);
const TRAIN_READY = () =>
  document.body?.dataset.trainingReady === 'true' && !document.getElementById('train-start').disabled ? performance.now() : 0;

// Returns {seconds: [Train enabled, one per cold open of dist/convscope.html from file://],
// explorerSeconds: [the explorer ready, per open], htmlBytes}.
export async function pageInteractive({ opens }) {
  const file = path.join(ROOT, 'dist', 'convscope.html');
  if (!fs.existsSync(file)) throw new Error('dist/convscope.html is missing: run ./build.sh build');
  const seconds = [];
  const explorerSeconds = [];
  for (let i = 0; i < opens; i++) {
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      await page.goto(pathToFileURL(file).href, { waitUntil: 'commit' });
      const at = async (ready) => {
        const handle = await page.waitForFunction(ready, null, { polling: 5, timeout: 60_000 }).catch((e) => {
          throw new Error(`the page did not become interactive: ${e.message}; page errors: ${errors.join(' | ')}`);
        });
        return (await handle.jsonValue()) / 1000;
      };
      explorerSeconds.push(await at(EXPLORER_READY));
      seconds.push(await at(TRAIN_READY));
    } finally {
      await browser.close();
    }
  }
  return { seconds, explorerSeconds, htmlBytes: fs.statSync(file).size };
}
