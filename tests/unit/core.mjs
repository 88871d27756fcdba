// The real Rust core for the unit tests: the page's own wasm build from pkg/ (built by
// `./build.sh build`), started in Node the way the bench starts it (bench/load_pkg.mjs).

import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConvscope } from '../../bench/load_pkg.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

let core = null;
export function loadCore() {
  core ??= loadConvscope(ROOT);
  return core;
}
