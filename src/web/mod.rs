//! The only module that knows wasm-bindgen: thin, coarse calls for the page.
//! Every export returns `Result<_, JsError>` so that no panic reaches the student.
//!
//! - [`presets`], [`filters`], [`upload`]: the explorer's inputs and kernels.
//! - [`explorer`]: convolution and pooling as the explorer shows them (no wasm-bindgen, tested natively).
//! - [`api`]: the exports the page calls.
//! - [`session`]: data, model and training run of the training page (no wasm-bindgen, tested natively).
//! - [`training`]: the training worker's exports, a [`training::TrainingSession`] handle.
//! - [`inside`]: explanations and the shortcut lab on a session (no wasm-bindgen, tested natively).
//! - [`inside_exports`]: the worker's exports for them, more methods of `TrainingSession`.
//! - [`file_exports`]: the worker's exports for the student's files (the browser decodes).

pub mod api;
pub mod bench;
pub mod explorer;
pub mod file_exports;
pub mod filters;
pub mod inside;
pub mod inside_exports;
pub mod presets;
pub mod session;
pub mod training;
pub mod upload;

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
