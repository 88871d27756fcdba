// The bench's ImageNet baseline: EfficientNet-Lite0 (build/imagenet/efficientnet-lite0.onnx,
// made from convscope's graph model file by tools/imagenet/make_onnx.py) in ONNX Runtime Web
// (the npm devDependency onnxruntime-web, pinned in package.json) in headless Chromium
// (Debian's, launched as bench/chromium.mjs does), on one 224x224 photo: the wasm backend,
// SIMD, one thread, no proxy worker.
//
//   node bench/imagenet_ort.mjs [--runs N] [--warmup N] [--json]     on its own
//   node bench/run.mjs --chromium --imagenet [--quick]               the bench's ImageNet row
//
// ---------------------------------------------------------------- the contract
// timeOrtWeb(browser, { onnx, png, warmup = 1, runs = 5 }) -> Promise<result>
//   browser  a playwright-core Browser (launchChromium() of bench/chromium.mjs). timeOrtWeb opens
//            one page of its own, on its own http server on 127.0.0.1, and closes both before it
//            returns: the browser is left as it was, for another runner to use before or after.
//   onnx     the model (default build/imagenet/efficientnet-lite0.onnx); input "image"
//            (1, 3, 224, 224) NCHW pixels in [0, 1], output "logits" (1, 1000).
//   png      the photo (default tests/fixtures/imagenet/chelsea.png), whose reference logits
//            are in tests/fixtures/imagenet/reference.json. Its pixels / 255 are the input:
//            imageInput(png) gives them, NCHW for ORT and NHWC for convscope.
//   warmup   runs before the counted ones, timed (warmup_ms) but not in the median: the first
//            run of a session allocates and tunes. runs: the counted runs (the bench uses >= 5).
//   result   {
//     median_ms, min_ms, max_ms, runs_ms: [ms per counted run], warmup_ms: [ms],
//     session_ms      InferenceSession.create (fetching the model, graph optimization),
//     top1: {index, name, logit}, reference_top1: {index, name}  (it throws unless they agree),
//     max_logit_error  the last run's logits against reference.json: max |x - ref| / max(1, |ref|),
//     runtime: 'onnxruntime-web', version, backend: 'wasm', wasm_file (the .wasm the page
//       fetched), simd, threads: 1, proxy: false, cross_origin_isolated, chromium (version),
//   }
//   Each time is performance.now() in the page around `await session.run({ image })` alone, on
//   the page's main thread (no proxy worker): the input tensor is made once before the runs;
//   the wasm backend's outputs are CPU tensors, so a run includes producing the logits.
//
// The convscope side (the graph-model inference of the same photo, by bench/run.mjs's
// `--imagenet` row) is meant to sit beside this: the same browser, imageInput(png).nhwc as the
// input, the same warm-up and counted runs, the same clock around one inference call, the
// median of the counted runs, and the same fields (median_ms, runs_ms, top1).

import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_ONNX = path.join(ROOT, 'build', 'imagenet', 'efficientnet-lite0.onnx');
export const FIXTURES = path.join(ROOT, 'tests', 'fixtures', 'imagenet');
export const DEFAULT_PNG = path.join(FIXTURES, 'chelsea.png');
// The package's "exports" hide its package.json and dist/ from require.resolve: read it from
// node_modules (npm ci installs it there).
const ORT_PKG = path.join(ROOT, 'node_modules', 'onnxruntime-web');
const ORT_DIST = path.join(ORT_PKG, 'dist');
const ORT_VERSION = fs.existsSync(ORT_PKG) ? JSON.parse(fs.readFileSync(path.join(ORT_PKG, 'package.json'), 'utf8')).version : null;

// ---------------------------------------------------------------- the photo
// {width, height, rgb: Uint8Array (row-major, 3 per pixel)} of an 8-bit RGB or RGBA
// (alpha dropped), non-interlaced PNG.
export function readPng(file) {
  const b = fs.readFileSync(file);
  if (b.subarray(0, 8).toString('latin1') !== '\x89PNG\r\n\x1a\n') throw new Error(`${file} is not a PNG`);
  let pos = 8;
  let ihdr = null;
  const idat = [];
  while (pos < b.length) {
    const n = b.readUInt32BE(pos);
    const kind = b.subarray(pos + 4, pos + 8).toString('latin1');
    const data = b.subarray(pos + 8, pos + 8 + n);
    if (kind === 'IHDR') ihdr = { width: data.readUInt32BE(0), height: data.readUInt32BE(4), depth: data[8], color: data[9], interlace: data[12] };
    else if (kind === 'IDAT') idat.push(data);
    else if (kind === 'IEND') break;
    pos += 12 + n;
  }
  if (!ihdr || ihdr.depth !== 8 || (ihdr.color !== 2 && ihdr.color !== 6) || ihdr.interlace !== 0) {
    throw new Error(`${file}: only 8-bit RGB / RGBA non-interlaced PNGs are read`);
  }
  const { width, height } = ihdr;
  const bpp = ihdr.color === 2 ? 3 : 4;
  const stride = width * bpp;
  const raw = zlib.inflateSync(Buffer.concat(idat));
  if (raw.length !== height * (stride + 1)) throw new Error(`${file}: ${raw.length} bytes of image data, expected ${height * (stride + 1)}`);
  const rgb = new Uint8Array(width * height * 3);
  let prev = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)];
    const row = Uint8Array.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? row[i - bpp] : 0;
      const up = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let pred = 0;
      if (f === 1) pred = a;
      else if (f === 2) pred = up;
      else if (f === 3) pred = (a + up) >> 1;
      else if (f === 4) {
        const p = a + up - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - up);
        const pc = Math.abs(p - c);
        pred = pa <= pb && pa <= pc ? a : pb <= pc ? up : c;
      } else if (f !== 0) throw new Error(`${file}: unknown filter ${f} in row ${y}`);
      row[i] = (row[i] + pred) & 255;
    }
    for (let x = 0; x < width; x++) for (let ch = 0; ch < 3; ch++) rgb[(y * width + x) * 3 + ch] = row[x * bpp + ch];
    prev = row;
  }
  return { width, height, rgb };
}

// The photo's pixels / 255 as float32: {height, width, nchw: (1, 3, H, W) for ORT,
// nhwc: (1, H, W, 3) for convscope's graph model, whose input is NHWC}.
export function imageInput(png = DEFAULT_PNG) {
  const { width, height, rgb } = readPng(png);
  const nhwc = new Float32Array(rgb.length);
  const nchw = new Float32Array(rgb.length);
  const plane = width * height;
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = rgb[p * 3 + ch] / 255;
      nhwc[p * 3 + ch] = v;
      nchw[ch * plane + p] = v;
    }
  }
  return { height, width, nchw, nhwc };
}

// The photo's entry in reference.json: {file, logits, top5: [{index, name, probability}]}.
export function referenceFor(png = DEFAULT_PNG) {
  const ref = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'reference.json'), 'utf8'));
  const photo = ref.photos.find((p) => p.file === path.basename(png));
  if (!photo) throw new Error(`reference.json has no photo ${path.basename(png)}`);
  return photo;
}

// ---------------------------------------------------------------- the page
const PAGE = `<!doctype html><meta charset="utf-8"><title>ORT Web ImageNet bench</title>
<script type="module">
import * as ort from '/ort/ort.wasm.min.mjs';
window.timeOrt = async ({ warmup, runs, dims }) => {
  try {
    ort.env.wasm.wasmPaths = '/ort/';
    ort.env.wasm.numThreads = 1;
    ort.env.wasm.proxy = false;
    ort.env.wasm.simd = true; // the SIMD build, and fail where SIMD does not validate
    const input = new Float32Array(await (await fetch('/input.f32')).arrayBuffer());
    let t = performance.now();
    const session = await ort.InferenceSession.create('/model.onnx', { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
    const sessionMs = performance.now() - t;
    const image = new ort.Tensor('float32', input, dims);
    const times = [];
    let logits = null;
    for (let i = 0; i < warmup + runs; i++) {
      t = performance.now();
      const out = await session.run({ image });
      times.push(performance.now() - t);
      logits = out.logits;
    }
    if (logits.dims.join(',') !== '1,1000') throw new Error('logits of shape ' + logits.dims);
    const result = { sessionMs, warmupMs: times.slice(0, warmup), runsMs: times.slice(warmup), logits: Array.from(logits.data),
      threads: ort.env.wasm.numThreads, proxy: ort.env.wasm.proxy, simd: ort.env.wasm.simd, crossOriginIsolated: self.crossOriginIsolated };
    await session.release();
    return result;
  } catch (e) {
    return { error: String(e && e.stack || e) };
  }
};
window.ortLoaded = true;
</script>`;

function serve(onnx, input) {
  const fetched = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x').pathname;
    fetched.push(url);
    if (url === '/') return res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (url === '/input.f32') return res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
    if (url === '/model.onnx') {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return fs.createReadStream(onnx).pipe(res);
    }
    const file = path.join(ORT_DIST, path.basename(url));
    if (!url.startsWith('/ort/') || !fs.existsSync(file)) return res.writeHead(404).end('not found');
    const type = file.endsWith('.wasm') ? 'application/wasm' : file.endsWith('.mjs') || file.endsWith('.js') ? 'text/javascript' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, fetched })));
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function argmax(xs) {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i] > xs[best]) best = i;
  return best;
}

export async function timeOrtWeb(browser, { onnx = DEFAULT_ONNX, png = DEFAULT_PNG, warmup = 1, runs = 5 } = {}) {
  if (!ORT_VERSION) throw new Error(`${ORT_PKG} is missing: run npm ci`);
  if (!fs.existsSync(onnx)) throw new Error(`${onnx} is missing: run python3 tools/imagenet/make_onnx.py (after tools/imagenet/fetch_and_convert.py)`);
  if (!(runs >= 1 && warmup >= 0)) throw new Error(`bad runs ${runs} / warmup ${warmup}`);
  const photo = referenceFor(png);
  const { height, width, nchw } = imageInput(png);
  const { server, fetched } = await serve(onnx, nchw);
  const context = await browser.newContext();
  try {
    const page = await context.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`http://127.0.0.1:${server.address().port}/`);
    await page.waitForFunction(() => window.ortLoaded === true, null, { timeout: 60_000 }).catch((e) => {
      throw new Error(`onnxruntime-web did not load in the page: ${e.message}; page errors: ${errors.join(' | ')}`);
    });
    const r = await page.evaluate((config) => window.timeOrt(config), { warmup, runs, dims: [1, 3, height, width] });
    if (r.error) throw new Error(`ONNX Runtime Web failed in Chromium: ${r.error}`);
    const index = argmax(r.logits);
    const want = photo.top5[0];
    const top1 = { index, name: photo.top5.find((t) => t.index === index)?.name ?? null, logit: r.logits[index] };
    if (index !== want.index) throw new Error(`ONNX Runtime Web's top-1 is ${index}, reference.json's ${want.index} (${want.name})`);
    let maxErr = 0;
    for (let i = 0; i < r.logits.length; i++) maxErr = Math.max(maxErr, Math.abs(r.logits[i] - photo.logits[i]) / Math.max(1, Math.abs(photo.logits[i])));
    const wasmFiles = fetched.filter((u) => u.endsWith('.wasm')).map((u) => path.basename(u));
    return {
      median_ms: median(r.runsMs),
      min_ms: Math.min(...r.runsMs),
      max_ms: Math.max(...r.runsMs),
      runs_ms: r.runsMs,
      warmup_ms: r.warmupMs,
      session_ms: r.sessionMs,
      top1,
      reference_top1: { index: want.index, name: want.name },
      max_logit_error: maxErr,
      runtime: 'onnxruntime-web',
      version: ORT_VERSION,
      backend: 'wasm',
      wasm_file: wasmFiles.join(', '),
      simd: r.simd,
      threads: r.threads,
      proxy: r.proxy,
      cross_origin_isolated: r.crossOriginIsolated,
      chromium: browser.version(),
      image: path.relative(ROOT, png),
    };
  } finally {
    await context.close();
    server.close();
  }
}

// ---------------------------------------------------------------- on its own
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const opt = (name, dflt) => {
    const i = args.indexOf(name);
    return i >= 0 ? Number(args[i + 1]) : dflt;
  };
  const { launchChromium } = await import('./chromium.mjs');
  const browser = await launchChromium();
  try {
    const r = await timeOrtWeb(browser, { runs: opt('--runs', 5), warmup: opt('--warmup', 1) });
    if (args.includes('--json')) console.log(JSON.stringify(r, null, 1));
    else {
      console.log(`ONNX Runtime Web ${r.version} (${r.backend}, ${r.wasm_file}, SIMD, ${r.threads} thread, proxy ${r.proxy}), Chromium ${r.chromium}, ${r.image}:`);
      console.log(`  session ${r.session_ms.toFixed(0)} ms; warm-up ${r.warmup_ms.map((t) => t.toFixed(1)).join(' ')} ms; runs ${r.runs_ms.map((t) => t.toFixed(1)).join(' ')} ms`);
      console.log(`  median ${r.median_ms.toFixed(1)} ms (${r.min_ms.toFixed(1)}-${r.max_ms.toFixed(1)}); top-1 ${r.top1.index} ${r.top1.name} (reference ${r.reference_top1.index}); worst logit error ${r.max_logit_error.toExponential(2)}`);
    }
  } finally {
    await browser.close();
  }
}
