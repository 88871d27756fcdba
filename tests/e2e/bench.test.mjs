// ./build.sh bench --quick --json: every runner of the issue-6 benchmark runs one tiny
// iteration and the report has every key the issue names. (The figures of a quick run mean
// nothing; bench/RESULTS.md holds the measured ones.) It uses the wasm builds of pkg/ (built
// already when this runs in ./build.sh test) and the native bench of the test profile;
// TF.js's cpu backend trains one image.

import test from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from './harness.mjs';

test('the quick bench runs every runner and reports every key', () => {
  const out = execFileSync(path.join(ROOT, 'build.sh'), ['bench', '--quick', '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60 * 1000 });
  const r = JSON.parse(out);
  assert.equal(r.quick, true);
  assert.equal(r.workload.params, 1063073);
  for (const k of ['convscope_wasm', 'convscope_native', 'tfjs_fastest_trainable']) assert.ok(r.epoch_s[k] > 0, `epoch_s.${k} = ${r.epoch_s[k]}`);
  for (const k of ['convscope_wasm', 'tfjs_wasm_simd']) assert.ok(r.infer150_s[k] > 0, `infer150_s.${k} = ${r.infer150_s[k]}`);
  assert.ok(r.simd128_peak_gflops > 0);
  // Both wasm builds ran; the reported one is the relaxed-SIMD build Chromium's page loads.
  assert.equal(r.wasm_build, 'relaxed-simd');
  assert.ok(r.epoch_s.convscope_wasm_simd128 > 0);
  assert.ok(r.relaxed_simd_peak_gflops > 0);
  for (const k of ['conv_fwd', 'conv_dx', 'conv_dw']) assert.ok(r.kernel_fraction_of_peak[k] > 0, `kernel_fraction_of_peak.${k}`);
  assert.ok(r.train_peak_memory_mb > 1 && r.train_peak_memory_mb < 4096, `${r.train_peak_memory_mb} MB`);
  assert.ok(r.details.wasm.losses.every(Number.isFinite));
  // The memory figure comes from a fresh instance that trained like the page's worker.
  assert.ok(r.train_memory.batches_trained >= 2 && r.train_memory.after_epochs_mb >= r.train_memory.after_first_batch_mb);
  assert.ok(r.wasm_gzip_bytes > 1000 && r.wasm_gzip_bytes < r.wasm_bytes);
  assert.ok(Object.keys(r.goals).length >= 9);
});
