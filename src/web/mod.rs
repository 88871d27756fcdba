//! The only module that knows wasm-bindgen: thin, coarse calls for the page.
//! Every export returns `Result<_, JsError>` so that no panic reaches the student.

use wasm_bindgen::prelude::*;

/// Installs the panic hook once, so that a bug shows a readable message in the console.
#[wasm_bindgen(start)]
pub fn start() {
    console_error_panic_hook::set_once();
}

/// Whether the module was built with SIMD128 (the page shows it; tests assert it).
#[wasm_bindgen(js_name = simdEnabled)]
pub fn simd_enabled() -> bool {
    crate::simd_enabled()
}
