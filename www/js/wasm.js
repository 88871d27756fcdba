// Loads the Rust core. One code path for the served site and the single-file page: the wasm
// bytes come from an embedded base64 block when the page has one, otherwise from pkg/.
//
// There are two builds of the same crate with the same exports (so one glue serves both): a
// plain SIMD128 one, and a relaxed-SIMD one whose register tile uses a multiply-add (faster
// where the engine fuses it). A module cannot detect features from inside, and one that uses
// relaxed-SIMD opcodes does not even validate in an engine without them, so a tiny probe
// module decides which build to load; the plain one is the fallback.

const GLUE_URL = 'pkg/convscope.js';
const BUILDS = {
  relaxed: { url: 'pkg/convscope_relaxed_bg.wasm', element: 'convscope-wasm-relaxed' },
  simd128: { url: 'pkg/convscope_bg.wasm', element: 'convscope-wasm' },
};

// (func (param v128 v128 v128) (result v128) local.get 0 local.get 1 local.get 2 f32x4.relaxed_madd)
const RELAXED_PROBE = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
  0x01, 0x08, 0x01, 0x60, 0x03, 0x7b, 0x7b, 0x7b, 0x01, 0x7b, // type: (v128 v128 v128) -> v128
  0x03, 0x02, 0x01, 0x00, // one function of that type
  0x0a, 0x0d, 0x01, 0x0b, 0x00, 0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfd, 0x85, 0x02, 0x0b, // its body
]);

/** Whether this engine accepts relaxed-SIMD instructions. */
export function relaxedSimdSupported() {
  try {
    return WebAssembly.validate(RELAXED_PROBE);
  } catch {
    return false;
  }
}

function base64ToBytes(text) {
  const bin = atob(text.trim());
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes;
}

// An embedded block holds base64 of the gzipped module (the single file stays small).
async function embeddedBytes(element) {
  const packed = base64ToBytes(element.textContent);
  if (element.dataset.encoding !== 'gzip') return packed;
  const stream = new Blob([packed]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

// The bytes of one build, or null when the page does not have it.
async function buildBytes({ url, element }) {
  const embedded = document.getElementById(element);
  if (embedded) return embeddedBytes(embedded);
  if (document.getElementById(BUILDS.simd128.element)) return null; // a single file without it
  const res = await fetch(url);
  if (!res.ok) return null;
  return new Uint8Array(await res.arrayBuffer());
}

let chosen = null;

// The module bytes this page runs: the relaxed-SIMD build where the engine validates it and
// the page has it, else the SIMD128 one. The choice is made once; the training worker gets
// the same bytes.
async function choose() {
  if (relaxedSimdSupported()) {
    const bytes = await buildBytes(BUILDS.relaxed).catch(() => null);
    if (bytes) return bytes;
  }
  const bytes = await buildBytes(BUILDS.simd128);
  if (!bytes) throw new Error(`could not load ${BUILDS.simd128.url}`);
  return bytes;
}

export function wasmBytes() {
  chosen ??= choose();
  return chosen;
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
