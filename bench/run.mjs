// The performance benchmark of issue 6 (run it with ./build.sh bench [--json] [--quick] [--with-keras]).
//
// One run measures, on the chapter's model (1,063,073 params) and the same synthetic 64x64x3
// images: convscope's wasm build in this Node process (one thread), convscope's native release
// build (a child process), TensorFlow.js 4.22 in this process (`cpu` backend training, a short
// run extrapolated per image to an epoch; `wasm` SIMD backend inference), and Keras 3 on JAX
// pinned to one core when a Python is given. It prints a table (medians, min-max, the issue's
// ratios and goals) or, with --json, one JSON object.
//
// V8 runs a wasm function in its baseline compiler (Liftoff) until it is hot and never swaps
// the code of a call already running, so every wasm measurement here comes after warm-up calls
// (one whole training epoch; warm-up calls of the peak loop followed by a pause that lets the
// optimizing compiler finish). Node runs without --no-liftoff, as a browser would.
//
// convscope has two wasm builds, both in pkg/ as the page ships them (bench/load_pkg.mjs loads
// them in Node): SIMD128, and SIMD128 + relaxed SIMD (the register tile's multiply-add), which
// the page loads wherever the engine validates it, as Chromium does. Node 20 needs --experimental-wasm-relaxed-simd for
// it, so the bench re-runs itself with that flag when relaxed SIMD does not validate, and
// measures both builds; `convscope_wasm` is the build the page would use in Chromium.
//
// Options (build.sh passes the paths):
//   --json            one JSON object on stdout (the table and everything else go to stderr)
//   --quick           one tiny iteration of everything (checks that the bench runs, measures nothing)
//   --native PATH     the native bench binary (examples/bench_native.rs, release build)
//   --keras-python P  a Python with keras and jax: include Keras/JAX on one core
//   --chromium        also run the training epoch in a Web Worker of headless Chromium, and time
//                     the single-file page's cold opens from disk until it is interactive
//   --tfjs-batches N  batches of 32 the TF.js cpu backend trains (default 2; each takes minutes)
//   --imagenet        (needs --chromium) also the row "ImageNet 224x224 inference, one thread":
//                     EfficientNet-Lite0 on one photo in headless Chromium, ONNX Runtime Web's wasm
//                     backend (bench/imagenet_ort.mjs; needs build/imagenet/efficientnet-lite0.onnx
//                     from tools/imagenet/make_onnx.py) and, once it is added, convscope's graph model

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { execFileSync, spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { filterGradientCase, maxDifference, patchConv2dFilterGradient } from './tfjs_filter_grad.mjs';
import { loadConvscope, wasmFile } from './load_pkg.mjs';

// Every wasm function (ours and TF.js's) runs optimized code from its first call. With V8's
// dynamic tiering, calls of a few milliseconds (one conv kernel) kept running baseline code
// for a while in some processes and not in others: the kernel figures came out bimodal (up to
// 1.6x apart). Epochs, timed after a warm-up epoch, reach optimized code either way.
v8.setFlagsFromString('--no-wasm-dynamic-tiering');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

// (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd),
// the probe www/js/wasm.js uses.
const RELAXED_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 8, 1, 0x60, 3, 0x7b, 0x7b, 0x7b, 1, 0x7b, 3, 2, 1, 0, 10, 13, 1, 11, 0, 0x20, 0, 0x20, 1, 0x20, 2, 0xfd, 0x85, 0x02, 0x0b]);
const RELAXED_FLAG = '--experimental-wasm-relaxed-simd';
const relaxedSimd = WebAssembly.validate(RELAXED_PROBE);
if (!relaxedSimd && !process.execArgv.includes(RELAXED_FLAG)) {
  const r = spawnSync(process.execPath, [RELAXED_FLAG, ...process.execArgv, fileURLToPath(import.meta.url), ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}

// Libraries print on console.log (TF.js greets Node users); keep stdout for the report.
const print = console.log.bind(console);
console.log = console.error;
const note = (...a) => console.error('  ' + a.join(' '));

function parseArgs(argv) {
  const o = { json: false, quick: false, native: null, kerasPython: null, chromium: false, imagenet: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') o.json = true;
    else if (a === '--quick') o.quick = true;
    else if (a === '--chromium') o.chromium = true;
    else if (a === '--imagenet') o.imagenet = true;
    else if (a === '--native') o.native = argv[++i];
    else if (a === '--keras-python') o.kerasPython = argv[++i];
    else if (a === '--tfjs-batches') o.tfjsBatches = Number(argv[++i]);
    else throw new Error(`unknown option ${a}`);
  }
  if (o.imagenet && !o.chromium) throw new Error('--imagenet runs in headless Chromium: give --chromium too');
  return o;
}

const opts = parseArgs(process.argv.slice(2));
// The issue's workload, or one tiny iteration of it.
const C = opts.quick
  ? { images: 8, batch: 4, epochs: 1, reps: 1, infer: 4, tfjsTrainImages: 1, tfjsBatches: 1, tfjsCpuInferReps: 1, peakIterations: 1e5, pageOpens: 1, memoryEpochs: 1, kernelRounds: 1, imagenetRuns: 5, imagenetActmax: 10 }
  : { images: 600, batch: 32, epochs: 5, reps: 5, infer: 150, tfjsTrainImages: 32, tfjsBatches: opts.tfjsBatches ?? 2, tfjsCpuInferReps: 1, peakIterations: 5e7, pageOpens: 5, memoryEpochs: 2, kernelRounds: 15, imagenetRuns: 20, imagenetActmax: 200 };
const PARAMS = 1063073;
const IMAGE_LEN = 64 * 64 * 3;

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const stats = (xs) => ({ median: median(xs), min: Math.min(...xs), max: Math.max(...xs), runs: xs });
const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function seconds(f) {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
}
async function secondsAsync(f) {
  const t = performance.now();
  await f();
  return (performance.now() - t) / 1000;
}
const say = (s) => console.error(`\x1b[1m--> ${s}\x1b[0m`);

// ---------------------------------------------------------------- convscope, wasm in Node
// GFLOP/s of C.reps timed runs of a peak loop (`loop(iterations)` returns [flops, checksum]),
// after warm-up calls and a pause for the optimizing compiler.
async function peakRuns(loop) {
  for (let i = 0; i < 20; i++) loop(1e5);
  await sleep(300);
  const runs = [];
  for (let r = 0; r < C.reps; r++) {
    let flops = 0;
    const s = seconds(() => ([flops] = loop(C.peakIterations)));
    runs.push(flops / s / 1e9);
  }
  return runs;
}

// The conv kernels on the chapter's two shapes, in rounds. This VM has periods, seconds to
// minutes long, in which code that reads memory runs at about 0.6x while the register-only peak
// loop keeps its speed (a neighbour on the host's shared caches; bench/RESULTS.md, 2026-11-29).
// So a kernel is measured like the peak, at its least disturbed: each round times every case a
// few times (interleaved, so a disturbed period slows all cases alike), a round's figure is the
// median of its calls, and the figure held to the peak is the best round's. The median over all
// calls is reported beside it.
function measureKernels(bench) {
  const shapes = bench.convShapes();
  const cases = ['fwd', 'dx', 'dw'].flatMap((k) => shapes.map((sh, i) => ({ k, i, sh, rounds: [], all: [] })));
  // V8 swaps in optimized code only between calls: a few warm-up calls first.
  for (const c of cases) for (let w = 0; w < (opts.quick ? 1 : 3); w++) bench.runKernel(c.i, c.k, 1);
  const [rounds, callsPerRound] = opts.quick ? [1, 1] : [C.kernelRounds, 3];
  for (let r = 0; r < rounds; r++) {
    for (const c of cases) {
      const times = [];
      for (let t = 0; t < callsPerRound; t++) times.push(seconds(() => bench.runKernel(c.i, c.k, 1)));
      c.rounds.push(median(times));
      c.all.push(...times);
    }
  }
  const kernels = {};
  for (const c of cases) {
    const best = Math.min(...c.rounds);
    (kernels[c.k] ??= []).push({
      shape: `${c.sh.batch}x${c.sh.height}x${c.sh.width}x${c.sh.inChannels} * ${c.sh.kernel}x${c.sh.kernel}x${c.sh.inChannels}x${c.sh.outChannels}`,
      flops: c.sh.flops,
      seconds: stats(c.all),
      roundSeconds: c.rounds,
      gflops: c.sh.flops / best / 1e9,
      gflopsAllCalls: c.sh.flops / median(c.all) / 1e9,
    });
  }
  return kernels;
}

// One wasm build of pkg/: SIMD128 or relaxed SIMD.
async function benchWasm(relaxed) {
  say(`convscope wasm (${relaxed ? 'relaxed SIMD' : 'SIMD128'}) in Node: chapter model, ${C.images} images, batch ${C.batch}`);
  const cs = loadConvscope(ROOT, { relaxed });
  if (!cs.simdEnabled()) throw new Error('the wasm build lacks SIMD128');
  if (cs.relaxedSimdEnabled() !== relaxed) throw new Error(`${wasmFile(relaxed)} is ${relaxed ? 'not ' : ''}the relaxed-SIMD build`);
  const bench = new cs.Bench(C.images, C.batch, 1);
  if (bench.paramCount() !== PARAMS) throw new Error(`the model has ${bench.paramCount()} params, not ${PARAMS}`);
  const losses = [bench.trainEpoch()]; // warm-up epoch (Liftoff -> TurboFan)
  const epochs = [];
  for (let e = 0; e < C.epochs; e++) epochs.push(seconds(() => losses.push(bench.trainEpoch())));
  note(`epochs (s): ${epochs.map((s) => s.toFixed(3)).join(' ')}; losses ${losses.map((l) => l.toFixed(3)).join(' ')}`);
  if (!losses.every(Number.isFinite)) throw new Error('the wasm training loss is not finite');
  const memoryBytes = cs.Bench.memoryBytes();

  bench.infer(C.infer, C.batch);
  bench.infer(1, 1);
  const infer = [];
  const single = [];
  for (let r = 0; r < C.reps; r++) {
    infer.push(seconds(() => bench.infer(C.infer, C.batch)));
    // Single-image latency: the median of 20 calls, as one figure per repetition.
    const one = [];
    for (let i = 0; i < (opts.quick ? 1 : 20); i++) one.push(seconds(() => bench.infer(1, 1)));
    single.push(median(one));
  }

  // The SIMD128 mul+add peak, and the relaxed build's multiply-add peak: a peak is the best
  // run, the least disturbed one.
  const peak = await peakRuns(cs.Bench.simdPeakLoop);
  const peakGflops = Math.max(...peak);
  const relaxedPeakGflops = relaxed ? Math.max(...(await peakRuns(cs.Bench.relaxedPeakLoop))) : null;

  const kernels = measureKernels(bench);
  bench.free();
  return { build: relaxed ? 'relaxed-simd' : 'simd128', epoch: stats(epochs), losses, memoryBytes, infer: stats(infer), single: stats(single), peak: stats(peak), peakGflops, relaxedPeakGflops, kernels };
}

// ---------------------------------------------------------------- training memory, page worker's path
// A fresh wasm instance in a child process that does only what the page's worker does (load the
// data, build the model, train); see bench/train_memory.mjs.
function benchTrainMemory() {
  say(`training memory: a fresh wasm instance training like the page's worker (${C.images} images, ${C.memoryEpochs} epoch(s))`);
  const script = path.join(ROOT, 'bench/train_memory.mjs');
  const out = execFileSync(process.execPath, [script, C.images, C.batch, C.memoryEpochs].map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(out);
  note(`MB after data ${r.after_data_mb.toFixed(1)}, model ${r.after_model_mb.toFixed(1)}, first batch ${r.after_first_batch_mb.toFixed(1)}, ${r.batches_trained} batches ${r.after_epochs_mb.toFixed(1)}, test-set scoring ${r.after_evaluate_mb.toFixed(1)}`);
  return r;
}

// ---------------------------------------------------------------- the page's size
function pageSizes() {
  // build.sh has just built the site: the page's own wasm and single file.
  const wasm = path.join(ROOT, wasmFile(false));
  const html = path.join(ROOT, 'dist/convscope.html');
  const bytes = fs.readFileSync(wasm);
  return {
    wasm_file: path.relative(ROOT, wasm),
    wasm_bytes: bytes.length,
    wasm_gzip_bytes: zlib.gzipSync(bytes, { level: 9 }).length,
    page_html_bytes: fs.statSync(html).size,
  };
}

// ---------------------------------------------------------------- convscope, native
function benchNative() {
  if (!opts.native) return null;
  say('convscope native (release build)');
  const out = execFileSync(opts.native, [C.images, C.batch, C.epochs, C.reps].map(String), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const r = JSON.parse(out);
  note(`epochs (s): ${r.epoch_s.map((s) => s.toFixed(3)).join(' ')}`);
  const kernels = {};
  for (const k of r.kernels) (kernels[k.kernel] ??= []).push({ flops: k.flops, gflops: k.flops / median(k.seconds) / 1e9 });
  return { epoch: stats(r.epoch_s), infer: stats(r.infer_s), single: stats(r.single_s), kernels };
}

// ---------------------------------------------------------------- Keras 3 on JAX, one core
// One thread for XLA, and its classic CPU runtime: the newer "thunk" runtime (JAX 0.4.32 on)
// took twice as long per epoch on this model here (13.4 vs 6.5 s, same run, same load).
const KERAS_XLA_FLAGS = '--xla_cpu_multi_thread_eigen=false --xla_cpu_use_thunk_runtime=false';

function benchKeras(images, labels) {
  if (!opts.kerasPython) return null;
  say('Keras 3 on JAX, native, pinned to one core');
  const dir = path.join(ROOT, 'build/bench');
  fs.mkdirSync(dir, { recursive: true });
  const [xPath, yPath] = [path.join(dir, 'images.f32'), path.join(dir, 'labels.u8')];
  fs.writeFileSync(xPath, Buffer.from(images.buffer, images.byteOffset, images.byteLength));
  fs.writeFileSync(yPath, Buffer.from(labels.buffer, labels.byteOffset, labels.byteLength));
  const script = [path.join(ROOT, 'bench/keras_bench.py'), xPath, yPath, C.epochs, C.reps, C.batch].map(String);
  const hasTaskset = spawnSync('taskset', ['--version']).status === 0;
  const [cmd, args] = hasTaskset ? ['taskset', ['-c', '0', opts.kerasPython, ...script]] : [opts.kerasPython, script];
  if (!hasTaskset) note('taskset is missing: Keras is limited to one thread by XLA flags only');
  const env = { ...process.env, KERAS_BACKEND: 'jax', XLA_FLAGS: KERAS_XLA_FLAGS, TF_CPP_MIN_LOG_LEVEL: '2' };
  const p = spawnSync(cmd, args, { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  if (p.status !== 0) throw new Error(`the Keras bench failed:\n${p.stderr}`);
  const r = JSON.parse(p.stdout.trim().split('\n').pop());
  if (r.params !== PARAMS) throw new Error(`the Keras model has ${r.params} params, not ${PARAMS}`);
  note(`keras ${r.keras} (${r.backend}), ${r.cpus_allowed} cpu(s) allowed; warm-up epoch ${r.warmup_epoch_s.toFixed(2)} s; epochs (s): ${r.epoch_s.map((s) => s.toFixed(3)).join(' ')}`);
  return { version: r.keras, epoch: stats(r.epoch_s), infer: stats(r.infer_s), cpus: r.cpus_allowed };
}

// ---------------------------------------------------------------- TensorFlow.js 4.22
function tfModel(tf) {
  const m = tf.sequential();
  const block = (filters, first) => {
    m.add(tf.layers.conv2d({ filters, kernelSize: 5, padding: 'same', activation: 'relu', ...(first ? { inputShape: [64, 64, 3] } : {}) }));
    m.add(tf.layers.batchNormalization({ momentum: 0.99, epsilon: 1e-3 }));
    m.add(tf.layers.maxPooling2d({ poolSize: 2 }));
    m.add(tf.layers.dropout({ rate: 0.1 }));
  };
  block(16, true);
  block(32, false);
  m.add(tf.layers.flatten());
  m.add(tf.layers.dense({ units: 128, activation: 'relu' }));
  m.add(tf.layers.dense({ units: 1, activation: 'sigmoid' }));
  m.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
  if (m.countParams() !== PARAMS) throw new Error(`the TF.js model has ${m.countParams()} params, not ${PARAMS}`);
  return m;
}

async function benchTfjs(images, labels) {
  const tf = require('@tensorflow/tfjs');
  const wasmBackend = require('@tensorflow/tfjs-backend-wasm');
  const wasmDir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist') + path.sep;
  wasmBackend.setWasmPaths(wasmDir); // the .wasm files of the npm package, read from disk
  const batchOf = (n) => [tf.tensor4d(images.subarray(0, n * IMAGE_LEN), [n, 64, 64, 3]), tf.tensor2d(Float32Array.from(labels.subarray(0, n)), [n, 1])];

  say(`TensorFlow.js ${tf.version.tfjs} cpu backend: training ${C.tfjsBatches} batch(es) of ${C.tfjsTrainImages}`);
  await tf.setBackend('cpu');
  let model = tfModel(tf);
  let [x, y] = batchOf(C.tfjsTrainImages);
  const batches = [];
  for (let b = 0; b < C.tfjsBatches; b++) {
    batches.push(await secondsAsync(() => model.trainOnBatch(x, y)));
    note(`batch ${b + 1}: ${batches[b].toFixed(1)} s`);
  }
  tf.dispose([x, y]);
  // Per image, times the epoch's images: 600 / 32 = 18.75 batches.
  const perImage = batches.map((s) => s / C.tfjsTrainImages);
  const cpuEpoch = perImage.map((s) => s * C.images);
  // TF.js's own filter gradient on a small case, before the wasm backend's patch replaces it.
  const filterGradReference = filterGradientCase(tf);
  [x] = batchOf(C.infer);
  model.predict(x.slice(0, 1)).dispose();
  const cpuInfer = [];
  for (let r = 0; r < C.tfjsCpuInferReps; r++) cpuInfer.push(await secondsAsync(async () => (model.predict(x, { batchSize: C.batch })).data()));
  model.dispose();

  say('TensorFlow.js wasm backend (SIMD, one thread): inference; can it train?');
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  if (!(await tf.setBackend('wasm'))) throw new Error('the TF.js wasm backend did not start');
  const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
  model = tfModel(tf);
  x = tf.tensor4d(images.subarray(0, C.infer * IMAGE_LEN), [C.infer, 64, 64, 3]);
  const predict = async () => {
    const out = model.predict(x, { batchSize: C.batch });
    await out.data();
    out.dispose();
  };
  await predict();
  const wasmInfer = [];
  for (let r = 0; r < C.reps; r++) wasmInfer.push(await secondsAsync(predict));
  let wasmTrainError = null;
  const [x1, y1] = batchOf(1);
  try {
    await model.trainOnBatch(x1, y1);
  } catch (e) {
    wasmTrainError = String(e.message || e).split('\n')[0];
  }
  note(`wasm backend training: ${wasmTrainError ?? 'works'}`);
  tf.dispose([x, x1, y1]);
  model.dispose();

  say('TensorFlow.js wasm backend with a filter gradient patched in (bench/tfjs_filter_grad.mjs): training');
  patchConv2dFilterGradient(tf);
  const patchError = maxDifference(filterGradientCase(tf), filterGradReference);
  note(`patched filter gradient vs TF.js's own (cpu), largest difference: ${patchError.toExponential(2)}`);
  if (!(patchError < 1e-3)) throw new Error(`the patched filter gradient is wrong (difference ${patchError})`);
  model = tfModel(tf);
  const epoch = async () => {
    for (let start = 0; start < C.images; start += C.batch) {
      const n = Math.min(C.batch, C.images - start);
      const [bx, by] = tf.tidy(() => [
        tf.tensor4d(images.subarray(start * IMAGE_LEN, (start + n) * IMAGE_LEN), [n, 64, 64, 3]),
        tf.tensor2d(Float32Array.from(labels.subarray(start, start + n)), [n, 1]),
      ]);
      await model.trainOnBatch(bx, by);
      tf.dispose([bx, by]);
    }
  };
  const warm = await secondsAsync(epoch);
  const wasmEpochs = [];
  for (let e = 0; e < C.epochs; e++) wasmEpochs.push(await secondsAsync(epoch));
  note(`warm-up epoch ${warm.toFixed(2)} s; epochs (s): ${wasmEpochs.map((s) => s.toFixed(2)).join(' ')}`);
  model.dispose();
  return { version: tf.version.tfjs, cpuBatch: stats(batches), cpuEpoch: stats(cpuEpoch), cpuInfer: stats(cpuInfer), wasmInfer: stats(wasmInfer), wasmSimd: simd, wasmTrainError, wasmPatchedEpoch: stats(wasmEpochs), patchError };
}

// ---------------------------------------------------------------- the same epoch in Chromium
async function benchChromium() {
  if (!opts.chromium) return null;
  say('convscope wasm in a Web Worker of headless Chromium');
  const { runInChromium, pageInteractive } = await import('./chromium.mjs');
  const r = await runInChromium({ images: C.images, batch: C.batch, epochs: C.epochs });
  note(`${r.build} build; epochs (s): ${r.epochs.map((s) => s.toFixed(3)).join(' ')}`);
  say(`dist/convscope.html from file://: ${C.pageOpens} cold open(s) until the Train button is enabled`);
  const page = await pageInteractive({ opens: C.pageOpens });
  note(`Train enabled after (s): ${page.seconds.map((s) => s.toFixed(3)).join(' ')}; the explorer ready after ${page.explorerSeconds.map((s) => s.toFixed(3)).join(' ')}`);
  return { epoch: stats(r.epochs), chromium: r.version, build: r.build, interactive: stats(page.seconds), explorerReady: stats(page.explorerSeconds) };
}

// ---------------------------------------------------------------- ImageNet 224x224 inference in Chromium
// EfficientNet-Lite0 on one photo (tests/fixtures/imagenet/chelsea.png), one thread, in one
// headless Chromium: ONNX Runtime Web's wasm backend on the .onnx that tools/imagenet/make_onnx.py
// makes from convscope's graph model file; convscope's own graph-model inference is to sit
// beside it (the contract: the top of bench/imagenet_ort.mjs).
async function benchImagenet() {
  if (!opts.imagenet) return null;
  say(`ImageNet 224x224 inference, one thread, headless Chromium: EfficientNet-Lite0, 1 warm-up + ${C.imagenetRuns} runs`);
  const { launchChromium } = await import('./chromium.mjs');
  const { timeOrtWeb } = await import('./imagenet_ort.mjs');
  const browser = await launchChromium();
  try {
    const ortWeb = await timeOrtWeb(browser, { warmup: 1, runs: C.imagenetRuns });
    note(`ONNX Runtime Web ${ortWeb.version} (${ortWeb.wasm_file}, ${ortWeb.threads} thread, proxy ${ortWeb.proxy}): session ${ortWeb.session_ms.toFixed(0)} ms; warm-up ${ortWeb.warmup_ms.map((t) => t.toFixed(1)).join(' ')} ms; runs (ms) ${ortWeb.runs_ms.map((t) => t.toFixed(1)).join(' ')}; top-1 ${ortWeb.top1.index} ${ortWeb.top1.name}; worst logit error ${ortWeb.max_logit_error.toExponential(1)}`);
    const { timeConvscope } = await import('./imagenet_convscope.mjs');
    const convscope = await timeConvscope(browser, { warmup: 1, runs: C.imagenetRuns, actmaxIterations: C.imagenetActmax });
    note(`convscope ${convscope.build} in a Web Worker: model read in ${convscope.load_ms.toFixed(0)} ms; warm-up ${convscope.warmup_ms.map((t) => t.toFixed(1)).join(' ')} ms; runs (ms) ${convscope.runs_ms.map((t) => t.toFixed(1)).join(' ')}; saliency (ms) ${convscope.saliency_runs_ms.map((t) => t.toFixed(1)).join(' ')}; ${convscope.actmax_iterations} activation-maximization iterations in ${(convscope.actmax_ms / 1000).toFixed(1)} s (logit ${convscope.actmax_logit.map((v) => v.toFixed(1)).join(' -> ')}); wasm memory ${convscope.memory_mb.toFixed(0)} MB; top-1 ${convscope.top1.index} ${convscope.top1.name}`);
    if (convscope.top1.index !== ortWeb.top1.index) throw new Error(`convscope's top-1 (${convscope.top1.index}) is not ONNX Runtime Web's (${ortWeb.top1.index})`);
    return { ort_web: ortWeb, convscope };
  } finally {
    await browser.close();
  }
}

// ---------------------------------------------------------------- report
function machine() {
  const commit = (() => {
    try {
      return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    } catch {
      return 'unknown';
    }
  })();
  return { date: new Date().toISOString(), commit, cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, node: process.version, loadavg: os.loadavg().map((l) => +l.toFixed(2)) };
}

function kernelSummary(kernels, peak) {
  // Per kernel over both conv shapes: all their flops over all their times (best rounds'
  // medians; and the medians of all calls).
  const out = {};
  for (const [k, cases] of Object.entries(kernels)) {
    const over = (key) => sum(cases.map((c) => c.flops)) / sum(cases.map((c) => c.flops / c[key]));
    const gflops = over('gflops');
    const allCalls = cases.every((c) => c.gflopsAllCalls != null) ? over('gflopsAllCalls') : null;
    out[k] = { gflops, fraction: peak ? gflops / peak : null, per_shape_gflops: cases.map((c) => c.gflops), gflops_all_calls: allCalls, fraction_all_calls: peak && allCalls ? allCalls / peak : null };
  }
  return out;
}

async function main() {
  const m0 = machine();
  const wasmSimd128 = await benchWasm(false);
  const wasmRelaxed = relaxedSimd ? await benchWasm(true) : null;
  // The figures of the build the page loads in Chromium: relaxed SIMD when this Node has it.
  const wasm = wasmRelaxed ?? wasmSimd128;
  // The other runners train on the very images convscope generated.
  const cs = loadConvscope(ROOT);
  const dataHandle = new cs.Bench(C.images, C.batch, 1);
  const images = dataHandle.images();
  const labels = dataHandle.labels();
  dataHandle.free();
  const memory = benchTrainMemory();
  const sizes = pageSizes();
  const native = benchNative();
  const keras = benchKeras(images, labels);
  const chromium = await benchChromium();
  const imagenet = await benchImagenet();
  const tfjs = await benchTfjs(images, labels);
  const m1 = machine();

  // Kernels of the page's build, as fractions of a peak measured here. A kernel is measured
  // against the peak of the instructions it runs: the relaxed build's tile
  // does one multiply-add where the SIMD128 one does a mul and an add, so it can outrun the
  // mul+add loop (26 GFLOP/s here: two vector ops per cycle) and is held to the relaxed peak.
  const yardstick = Math.max(wasmSimd128.peakGflops, wasmRelaxed?.relaxedPeakGflops ?? 0);
  const kernels = kernelSummary(wasm.kernels, yardstick);
  const relaxedKernels = wasmRelaxed ? kernelSummary(wasmRelaxed.kernels, wasmRelaxed.relaxedPeakGflops) : null;
  const e = wasm.epoch.median;
  const ratios = {
    wasm_epoch_over_keras_1core: keras ? e / keras.epoch.median : null,
    wasm_simd128_epoch_over_relaxed: wasmRelaxed ? wasmSimd128.epoch.median / wasmRelaxed.epoch.median : null,
    tfjs_fastest_trainable_over_wasm: tfjs.wasmPatchedEpoch.median / e,
    tfjs_cpu_over_wasm: tfjs.cpuEpoch.median / e,
    infer150_tfjs_wasm_over_convscope_wasm: tfjs.wasmInfer.median / wasm.infer.median,
    chromium_worker_over_node: chromium ? chromium.epoch.median / e : null,
    imagenet_convscope_over_ort_web: imagenet?.convscope ? imagenet.convscope.median_ms / imagenet.ort_web.median_ms : null,
  };
  const goals = {
    'training: wasm epoch <= 0.8x Keras 1 core': keras ? ratios.wasm_epoch_over_keras_1core <= 0.8 : null,
    'training: >= 8x faster than the fastest trainable TF.js path': ratios.tfjs_fastest_trainable_over_wasm >= 8,
    'training: >= 700x faster than TF.js cpu': ratios.tfjs_cpu_over_wasm >= 700,
    'inference: 150 images >= 1.5x faster than TF.js wasm SIMD': ratios.infer150_tfjs_wasm_over_convscope_wasm >= 1.5,
    'inference: single image < 2 ms': wasm.single.median < 0.002,
    'kernels: conv fwd >= 70% of the peak (larger of mul+add and relaxed)': kernels.fwd.fraction >= 0.7,
    'kernels: conv dx >= 70% of the peak (larger of mul+add and relaxed)': kernels.dx.fraction >= 0.7,
    'kernels: conv dw >= 70% of the peak (larger of mul+add and relaxed)': kernels.dw.fraction >= 0.7,
    'memory: training peak <= 128 MB': memory.train_peak_memory_mb <= 128,
    'memory: no growth after the first batch': !memory.grew_after_first_batch,
    'page: wasm <= 400 KB gzipped': sizes.wasm_gzip_bytes <= 400 * 1024,
    'page: dist/convscope.html <= 2 MB': sizes.page_html_bytes == null ? null : sizes.page_html_bytes <= 2 * 2 ** 20,
    'page: interactive (Train enabled) within 1 s from disk (Chromium)': chromium ? chromium.interactive.median <= 1 : null,
    'browser worker epoch within 1.2x of Node': chromium ? ratios.chromium_worker_over_node <= 1.2 : null,
  };
  const report = {
    quick: opts.quick,
    workload: { params: PARAMS, images: C.images, batch: C.batch, timed_epochs: C.epochs, warmup_epochs: 1, infer_images: C.infer, reps: C.reps },
    machine: { ...m0, loadavg_end: m1.loadavg },
    wasm_build: wasm.build,
    epoch_s: {
      convscope_wasm: e,
      convscope_wasm_simd128: wasmSimd128.epoch.median,
      convscope_native: native ? native.epoch.median : null,
      tfjs_fastest_trainable: tfjs.wasmPatchedEpoch.median,
      tfjs_wasm_patched: tfjs.wasmPatchedEpoch.median,
      tfjs_cpu: tfjs.cpuEpoch.median,
      ...(keras ? { keras_1core: keras.epoch.median } : {}),
      ...(chromium ? { convscope_wasm_chromium_worker: chromium.epoch.median } : {}),
    },
    tfjs_fastest_trainable_is: `wasm SIMD backend with the filter gradient patched in (bench/tfjs_filter_grad.mjs; largest difference from TF.js's own gradient ${tfjs.patchError.toExponential(1)}), ${C.epochs} epochs after a warm-up; as shipped it cannot train: ${tfjs.wasmTrainError ?? 'it did train'}. TF.js cpu: ${C.tfjsBatches} batch(es) of ${C.tfjsTrainImages} timed, extrapolated per image to ${C.images} images`,
    infer150_s: { convscope_wasm: wasm.infer.median, convscope_wasm_simd128: wasmSimd128.infer.median, tfjs_wasm_simd: tfjs.wasmInfer.median, tfjs_cpu: tfjs.cpuInfer.median, convscope_native: native?.infer.median ?? null, ...(keras ? { keras_1core: keras.infer.median } : {}) },
    single_image_s: { convscope_wasm: wasm.single.median, convscope_native: native?.single.median ?? null },
    simd128_peak_gflops: wasmSimd128.peakGflops,
    relaxed_simd_peak_gflops: wasmRelaxed?.relaxedPeakGflops ?? null,
    kernel_gflops: Object.fromEntries(Object.entries(kernels).map(([k, v]) => [`conv_${k}`, v.gflops])),
    kernel_gflops_per_shape: Object.fromEntries(Object.entries(kernels).map(([k, v]) => [`conv_${k}`, v.per_shape_gflops])),
    kernel_fraction_of_peak: Object.fromEntries(Object.entries(kernels).map(([k, v]) => [`conv_${k}`, v.fraction])),
    kernel_gflops_all_calls: Object.fromEntries(Object.entries(kernels).map(([k, v]) => [`conv_${k}`, v.gflops_all_calls])),
    kernel_fraction_of_peak_all_calls: Object.fromEntries(Object.entries(kernels).map(([k, v]) => [`conv_${k}`, v.fraction_all_calls])),
    kernel_fraction_of_relaxed_peak: relaxedKernels ? Object.fromEntries(Object.entries(relaxedKernels).map(([k, v]) => [`conv_${k}`, v.fraction])) : null,
    kernel_gflops_simd128: Object.fromEntries(Object.entries(kernelSummary(wasmSimd128.kernels, null)).map(([k, v]) => [`conv_${k}`, v.gflops])),
    native_kernel_gflops: native ? Object.fromEntries(Object.entries(kernelSummary(native.kernels, null)).map(([k, v]) => [`conv_${k}`, v.gflops])) : null,
    train_peak_memory_mb: memory.train_peak_memory_mb,
    train_memory: memory,
    // Not the goal's figure: the bench's own Workload also holds a second copy of the images
    // and the kernel cases' buffers, in the instance that ran everything above.
    bench_workload_memory_mb: wasm.memoryBytes / 2 ** 20,
    wasm_bytes: sizes.wasm_bytes,
    wasm_gzip_bytes: sizes.wasm_gzip_bytes,
    wasm_file: sizes.wasm_file,
    page_html_bytes: sizes.page_html_bytes,
    page_interactive_s: chromium ? chromium.interactive.median : null,
    page_explorer_ready_s: chromium ? chromium.explorerReady.median : null,
    imagenet_224_inference_ms: imagenet ? { ort_web: imagenet.ort_web.median_ms, convscope: imagenet.convscope?.median_ms ?? null } : null,
    ratios,
    goals,
    details: { wasm, wasm_simd128: wasmSimd128, wasm_relaxed: wasmRelaxed, native, keras, tfjs, chromium, imagenet },
    notes: [
      'wasm: one warm-up epoch, then the timed ones; Node without --no-liftoff',
      wasmRelaxed
        ? `convscope wasm = the relaxed-SIMD build (Node ${RELAXED_FLAG}), the one Chromium's page loads; kernels are those of that build, as fractions of the larger of the SIMD128 mul+add and relaxed multiply-add peaks`
        : 'relaxed SIMD does not validate in this Node: convscope wasm = the SIMD128 build',
      `kernel GFLOP/s: 2 * N*OH*OW*KH*KW*CI*CO flops per call, summed over the two conv shapes, over the summed times of each case's least disturbed round (${C.kernelRounds} rounds interleaving the cases, 3 calls each, a round's time the median of its calls; after 3 warm-up calls; Node runs with --no-wasm-dynamic-tiering); "all calls": the same over the medians of every timed call`,
      keras ? `Keras ${keras.version} on JAX, taskset to ${keras.cpus} cpu, XLA_FLAGS ${KERAS_XLA_FLAGS}` : 'Keras/JAX skipped: run ./build.sh bench --with-keras',
      native ? null : 'native skipped (no --native binary)',
      chromium ? null : 'Chromium worker skipped (run with --chromium)',
      imagenet ? `ImageNet row: EfficientNet-Lite0 (build/imagenet/efficientnet-lite0.onnx from tools/imagenet/make_onnx.py), ${imagenet.ort_web.image} (pixels / 255), median of ${imagenet.ort_web.runs_ms.length} runs after ${imagenet.ort_web.warmup_ms.length} warm-up, performance.now() around one session.run on the page's main thread; ONNX Runtime Web ${imagenet.ort_web.version} wasm backend (${imagenet.ort_web.wasm_file}), SIMD, numThreads 1, no proxy worker, graph optimization 'all'; convscope: ${imagenet.convscope.build} build in a Web Worker, performance.now() around one ImageNetModel.infer (saliency: one forward and one backward), wasm memory after both ${imagenet.convscope.memory_mb.toFixed(0)} MB` : 'ImageNet row skipped (run with --chromium --imagenet)',
    ].filter(Boolean),
  };
  if (opts.json) {
    console.error(table(report));
    print(JSON.stringify(report, null, 1));
  } else print(table(report));
}

function table(r) {
  const f = (s, d = 3) => (s == null ? '-' : s.toFixed(d));
  const range = (st, d = 3) => (st ? `${f(st.median, d)} (${f(st.min, d)}-${f(st.max, d)})` : '-');
  const d = r.details;
  const rows = [
    [`convscope wasm (${d.wasm.build}), Node, 1 thread`, range(d.wasm.epoch), range(d.wasm.infer), range(d.wasm.single, 5)],
    ...(d.wasm_relaxed ? [['convscope wasm (simd128), Node, 1 thread', range(d.wasm_simd128.epoch), range(d.wasm_simd128.infer), range(d.wasm_simd128.single, 5)]] : []),
    ['convscope native, release', range(d.native?.epoch), range(d.native?.infer), range(d.native?.single, 5)],
    [`convscope wasm, Chromium worker${d.chromium ? ` (${d.chromium.build})` : ''}`, range(d.chromium?.epoch), '-', '-'],
    ['Keras 3 / JAX, 1 core', range(d.keras?.epoch), range(d.keras?.infer), '-'],
    [`TF.js ${d.tfjs.version} cpu (extrapolated)`, range(d.tfjs.cpuEpoch, 1), range(d.tfjs.cpuInfer, 2), '-'],
    [`TF.js ${d.tfjs.version} wasm SIMD=${d.tfjs.wasmSimd}, filter gradient patched in`, range(d.tfjs.wasmPatchedEpoch), range(d.tfjs.wasmInfer), '-'],
  ];
  const lines = [];
  const m = r.machine;
  lines.push(`${r.quick ? 'QUICK RUN (one tiny iteration; the figures mean nothing)\n' : ''}${m.date}  commit ${m.commit}  ${m.cpu} x${m.cores}  node ${m.node}  load ${m.loadavg.join(' ')} -> ${m.loadavg_end.join(' ')}`);
  lines.push(`chapter model ${r.workload.params} params, ${r.workload.images} images 64x64x3, batch ${r.workload.batch}; medians (min-max) of ${r.workload.timed_epochs} epochs after ${r.workload.warmup_epochs} warm-up, ${r.workload.reps} inference runs`);
  lines.push('');
  lines.push('| runner | epoch (s) | 150-image inference (s) | single image (s) |');
  lines.push('|---|---|---|---|');
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  lines.push('');
  if (d.imagenet) {
    const o = d.imagenet.ort_web;
    const cs = d.imagenet.convscope;
    const ms = (x) => `${f(x.median_ms, 1)} (${f(x.min_ms, 1)}-${f(x.max_ms, 1)})`;
    lines.push(`| EfficientNet-Lite0, ${path.basename(o.image)}, Chromium ${o.chromium}; median (min-max) ms of ${o.runs_ms.length} runs after ${o.warmup_ms.length} warm-up | ORT Web ${o.version} wasm SIMD | convscope graph model | convscope / ORT Web |`);
    lines.push('|---|---|---|---|');
    lines.push(`| ImageNet 224x224 inference, one thread | ${ms(o)}, top-1 ${o.top1.index} | ${ms(cs)}, top-1 ${cs.top1.index}; saliency ${f(cs.saliency_median_ms, 1)} ms (${f(cs.saliency_median_ms / cs.median_ms, 2)}x one inference); ${cs.actmax_iterations} actmax iterations ${f(cs.actmax_ms / 1000, 1)} s; wasm memory ${f(cs.memory_mb, 0)} MB | ${f(r.ratios.imagenet_convscope_over_ort_web, 2)} |`);
    lines.push('');
  }
  lines.push(`SIMD128 f32x4 mul+add peak (this bench's loop): ${f(r.simd128_peak_gflops, 1)} GFLOP/s; relaxed-SIMD f32x4 multiply-add peak: ${f(r.relaxed_simd_peak_gflops, 1)} GFLOP/s`);
  lines.push(`| conv kernel (${r.wasm_build} build) | GFLOP/s (both shapes) | per shape (conv1, conv2) | fraction of the larger peak | fraction of relaxed peak | all calls: GFLOP/s, fraction | simd128 build GFLOP/s | native GFLOP/s |`);
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const k of ['conv_fwd', 'conv_dx', 'conv_dw']) {
    lines.push(`| ${k} | ${f(r.kernel_gflops[k], 1)} | ${r.kernel_gflops_per_shape[k].map((g) => f(g, 1)).join(', ')} | ${f(r.kernel_fraction_of_peak[k], 2)} | ${f(r.kernel_fraction_of_relaxed_peak?.[k], 2)} | ${f(r.kernel_gflops_all_calls[k], 1)}, ${f(r.kernel_fraction_of_peak_all_calls[k], 2)} | ${f(r.kernel_gflops_simd128[k], 1)} | ${f(r.native_kernel_gflops?.[k], 1)} |`);
  }
  const tm = r.train_memory;
  lines.push(`training peak wasm memory (fresh instance, the page worker's path: ${tm.train_images} images, ${tm.batches_trained} batches, then scoring the test set): ${f(r.train_peak_memory_mb, 1)} MB; after the first batch ${f(tm.after_first_batch_mb, 1)} MB${tm.grew_after_first_batch ? ' (it GREW after the first batch)' : ' (no growth after it)'}`);
  lines.push(`  (the bench workload's own instance, which also holds the kernel cases and a copy of the images: ${f(r.bench_workload_memory_mb, 1)} MB)`);
  lines.push(`wasm (${r.wasm_file}): ${r.wasm_bytes} bytes, ${f(r.wasm_gzip_bytes / 1024, 1)} KB gzip -9; dist/convscope.html: ${r.page_html_bytes == null ? 'not measured (run with --chromium)' : `${f(r.page_html_bytes / 1024, 1)} KB`}; from file:// in Chromium, Train enabled after ${r.page_interactive_s == null ? '- (run with --chromium)' : `${range(d.chromium.interactive)} s, the explorer ready after ${range(d.chromium.explorerReady)} s (medians of ${d.chromium.interactive.runs.length} cold opens)`}`);
  lines.push('');
  lines.push('| ratio | value |');
  lines.push('|---|---|');
  for (const [k, v] of Object.entries(r.ratios)) lines.push(`| ${k} | ${f(v, 2)} |`);
  lines.push('');
  lines.push('| goal | holds |');
  lines.push('|---|---|');
  for (const [k, v] of Object.entries(r.goals)) lines.push(`| ${k} | ${v == null ? 'not measured' : v ? 'yes' : 'NO'} |`);
  lines.push('');
  for (const n of r.notes) lines.push(`- ${n}`);
  lines.push(`- TF.js fastest trainable: ${r.tfjs_fastest_trainable_is}`);
  return lines.join('\n');
}

main().catch((e) => {
  console.error(e.stack || String(e));
  process.exit(1);
});
