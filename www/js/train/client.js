// Starts the training worker and talks to it. The worker is a classic script made from the
// wasm-bindgen glue followed by worker.js in one Blob URL (a module worker or a file URL
// would not start from file://); the wasm bytes are posted to it. `call(op, args)` returns a
// promise of the answer; events (progress, finished, failed) go to `onEvent`.

import { decodePicture } from '../picture.js';
import { glueSource, wasmBytes } from '../wasm.js';

// worker.js's text, put in by tools/build-site.mjs (esbuild `define`).
/* global __CONVSCOPE_WORKER_SOURCE__ */
const WORKER_SOURCE = __CONVSCOPE_WORKER_SOURCE__;

export async function startWorker(onEvent) {
  const [glue, bytes] = await Promise.all([glueSource(), wasmBytes()]);
  const url = URL.createObjectURL(new Blob([glue, '\n;\n', WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  URL.revokeObjectURL(url);
  const pending = new Map();
  let next = 1;
  worker.onmessage = (e) => {
    const m = e.data;
    if (m.decode) {
      // The worker's picture, decoded here (see worker.js decodeOnPage).
      decodePicture(new Uint8Array(m.bytes)).then(
        (picture) => worker.postMessage({ decoded: m.decode, picture }, [picture.rgba.buffer]),
        (err) => worker.postMessage({ decoded: m.decode, error: err.message }),
      );
      return;
    }
    if (m.event) {
      onEvent(m);
      return;
    }
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if ('error' in m) p.reject(new Error(m.error));
    else p.resolve(m.result);
  };
  worker.onerror = (e) => {
    e.preventDefault();
    const err = new Error(`the training worker failed: ${e.message || 'unknown error'}`);
    for (const p of pending.values()) p.reject(err);
    pending.clear();
    onEvent({ event: 'failed', message: err.message });
  };
  const call = (op, args = {}, transfer = []) =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, op, ...args }, transfer);
    });
  const copy = bytes.slice();
  await call('init', { bytes: copy }, [copy.buffer]);
  return { call, terminate: () => worker.terminate() };
}
