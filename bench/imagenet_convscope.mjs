// convscope's side of the bench's ImageNet row: EfficientNet-Lite0 (the graph model file
// build/imagenet/efficientnet-lite0.safetensors) on one 224x224 photo in a Web Worker of
// headless Chromium, as the page runs it: the relaxed-SIMD build where it validates (else
// SIMD128), one thread. Same photo, warm-up, counted runs and clock as bench/imagenet_ort.mjs
// (its contract), plus the saliency (one forward and one backward) and the wasm memory.
//
// timeConvscope(browser, { png, warmup = 1, runs = 5 }) -> Promise<{
//   median_ms, min_ms, max_ms, runs_ms, warmup_ms,   one inference (ImageNetModel.infer)
//   saliency_median_ms, saliency_runs_ms,            saliency of the top-1 class (plain)
//   actmax_ms, actmax_iterations, actmax_logit       activation maximization of it from noise
//                                                    (the page's settings), [start, end] logit
//   load_ms                                          reading the 19 MB model file in wasm
//   memory_mb                                        the wasm memory after all of it (10^6 bytes)
//   top1: {index, name}, build: 'relaxed-simd' | 'simd128', simd }
// Each time is performance.now() in the worker around the one call.

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_PNG, readPng } from './imagenet_ort.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODEL = path.join(ROOT, 'build', 'imagenet', 'efficientnet-lite0.safetensors');

const WORKER = `importScripts('/pkg/convscope.js');
onmessage = async (e) => {
  const { rgba, width, height, warmup, runs, actmaxIterations } = e.data;
  try {
    const probe = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b]);
    const relaxed = WebAssembly.validate(probe);
    const exports = await wasm_bindgen({ module_or_path: '/pkg/' + (relaxed ? 'convscope_relaxed_bg.wasm' : 'convscope_bg.wasm') });
    const bytes = new Uint8Array(await (await fetch('/model')).arrayBuffer());
    let t = performance.now();
    const net = new wasm_bindgen.ImageNetModel(bytes);
    const load_ms = performance.now() - t;
    const top = net.look(new Uint8Array(rgba), width, height, 1).top[0];
    const time = (f, n) => Array.from({ length: n }, () => { const s = performance.now(); f(); return performance.now() - s; });
    const warmup_ms = time(() => net.infer(), warmup);
    const runs_ms = time(() => net.infer(), runs);
    const saliency_runs_ms = time(() => net.saliency(top.index, false), Math.max(1, Math.min(runs, 5)));
    // Activation maximization of the top-1 class from noise, the page's settings, in one call.
    t = performance.now();
    const ascent = net.actmax(JSON.stringify({ objectives: [{ objective: { type: 'class', class: top.index }, weight: 1 }], start: 'noise', max_iter: actmaxIterations, frame_every: actmaxIterations, step_size: 0.01, jitter: 8, scales: 7, seed: 0 }));
    const actmax_ms = performance.now() - t;
    postMessage({ actmax_ms, actmax_iterations: actmaxIterations, actmax_logit: [ascent.objectiveStart, ascent.objectiveEnd], load_ms, warmup_ms, runs_ms, saliency_runs_ms, top1: { index: top.index, name: top.name }, memory_mb: exports.memory.buffer.byteLength / 1e6, build: wasm_bindgen.relaxedSimdEnabled() ? 'relaxed-simd' : 'simd128', simd: wasm_bindgen.simdEnabled() });
  } catch (err) {
    postMessage({ error: String(err) });
  }
};`;

const PAGE = `<!doctype html><meta charset="utf-8"><title>convscope ImageNet bench</title><script>
const worker = new Worker('/worker.js');
window.run = (config) => new Promise((resolve) => { worker.onmessage = (e) => resolve(e.data); worker.postMessage(config); });
</script>`;

function serve() {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x').pathname;
    if (url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (url === '/worker.js') return res.writeHead(200, { 'content-type': 'text/javascript' }).end(WORKER);
    const file = url === '/model' ? MODEL : path.join(ROOT, 'pkg', path.basename(url));
    if (!(url === '/model' || url.startsWith('/pkg/')) || !fs.existsSync(file)) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-type': file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream' });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function timeConvscope(browser, { png = DEFAULT_PNG, warmup = 1, runs = 5, actmaxIterations = 200 } = {}) {
  if (!fs.existsSync(MODEL)) throw new Error(`${MODEL} is missing: python3 tools/imagenet/fetch_and_convert.py makes it`);
  const { width, height, rgb } = readPng(png);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) rgba.set([rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2], 255], 4 * i);
  const server = await serve();
  const page = await browser.newPage();
  try {
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    const r = await page.evaluate((config) => window.run(config), { rgba: Array.from(rgba), width, height, warmup, runs, actmaxIterations });
    if (r.error) throw new Error(`convscope's ImageNet bench failed in Chromium's worker: ${r.error}`);
    return {
      ...r,
      median_ms: median(r.runs_ms),
      min_ms: Math.min(...r.runs_ms),
      max_ms: Math.max(...r.runs_ms),
      saliency_median_ms: median(r.saliency_runs_ms),
    };
  } finally {
    await page.close();
    server.close();
  }
}
