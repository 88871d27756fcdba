// Loads the page's own wasm builds (pkg/, built by `./build.sh build`) in Node, so the bench
// measures exactly what the page ships and needs no separate Node build. The glue is
// wasm-bindgen's no-modules script: evaluated once per call, it gives a fresh instance.

import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';

// Returns the exports of pkg/convscope.js started on pkg/convscope_bg.wasm (SIMD128) or
// pkg/convscope_relaxed_bg.wasm (relaxed SIMD; Node 20 needs --experimental-wasm-relaxed-simd).
export function loadConvscope(root, { relaxed = false } = {}) {
  const glue = path.join(root, 'pkg/convscope.js');
  const wasm = path.join(root, relaxed ? 'pkg/convscope_relaxed_bg.wasm' : 'pkg/convscope_bg.wasm');
  for (const f of [glue, wasm]) {
    if (!fs.existsSync(f)) throw new Error(`${path.relative(root, f)} is missing: run ./build.sh build`);
  }
  const exports = vm.runInThisContext(`(() => { ${fs.readFileSync(glue, 'utf8')}\n return wasm_bindgen; })()`, { filename: glue });
  exports.initSync({ module: fs.readFileSync(wasm) });
  return exports;
}

// The file a build's wasm is read from, relative to the root.
export const wasmFile = (relaxed) => (relaxed ? 'pkg/convscope_relaxed_bg.wasm' : 'pkg/convscope_bg.wasm');
