//! The only module that knows wasm-bindgen: thin, coarse calls for the page.
//! Every export returns `Result<_, JsError>` so that no panic reaches the student.
//!
//! Each export is a few lines over [`crate::app`], where the behaviour lives and is tested natively.
//!
//! - [`api`]: the explorer's exports (the page's main thread).
//! - [`training`]: the training worker's exports, a [`training::TrainingSession`] handle.
//! - [`inside_exports`]: the worker's explanations, more methods of `TrainingSession`.
//! - [`file_exports`]: the worker's exports for the student's files (the browser decodes).
//! - [`bench`]: the benchmark handle.

pub mod api;
pub mod bench;
pub mod file_exports;
pub mod inside_exports;
pub mod training;

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

/// Whether the module is the relaxed-SIMD build (the page shows which build it loaded).
#[wasm_bindgen(js_name = relaxedSimdEnabled)]
pub fn relaxed_simd_enabled() -> bool {
    crate::relaxed_simd_enabled()
}
