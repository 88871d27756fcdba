// Loads the Rust core. One code path for the served site and the single-file page: the wasm
// bytes come from an embedded base64 block of the gzipped module when the page has one
// (gzip: the single file stays small; the browser's DecompressionStream undoes it),
// otherwise from pkg/.

const WASM_URL = 'pkg/convscope_bg.wasm';
const GLUE_URL = 'pkg/convscope.js';

function base64ToBytes(text) {
  const bin = atob(text.trim());
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

async function gunzip(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function wasmBytes() {
  const embedded = document.getElementById('convscope-wasm');
  if (embedded) return gunzip(base64ToBytes(embedded.textContent));
  const res = await fetch(WASM_URL);
  if (!res.ok) throw new Error(`could not load ${WASM_URL} (HTTP ${res.status})`);
  return new Uint8Array(await res.arrayBuffer());
}

// Starts the module and returns its exports. The no-modules glue declares `let wasm_bindgen`
// at the top level of a classic script: a global binding, but not a property of globalThis.
export async function loadCore() {
  // eslint-disable-next-line no-undef
  const core = typeof wasm_bindgen === 'function' ? wasm_bindgen : undefined;
  if (typeof core !== 'function') throw new Error('the WebAssembly glue (convscope.js) did not load');
  await core({ module_or_path: await wasmBytes() });
  return core;
}

// The glue's source text, for starting the same module in a classic Blob-URL worker (which is
// what works from file://). The single-file page has it inline; the site serves it.
export async function glueSource() {
  const inline = document.getElementById('convscope-glue');
  if (inline) return inline.textContent;
  const res = await fetch(GLUE_URL);
  if (!res.ok) throw new Error(`could not load ${GLUE_URL} (HTTP ${res.status})`);
  return res.text();
}

export { wasmBytes };
