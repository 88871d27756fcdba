//! convscope: a CNN you can train in your browser and see inside.
//!
//! Module map (arrows point from caller to callee):
//! - [`kernels`]: numeric kernels on flat NHWC slices, each with a scalar reference
//!   and a SIMD128 variant chosen at compile time. They know nothing of layers or JS.
//! - [`nn`]: the declarative model spec, layers, the Sequential model, summary, training
//!   with early stopping, metrics and model files; calls [`kernels`].
//! - [`explain`]: activations, saliency, Grad-CAM, activation maximization and first-layer
//!   filters of a model, and the measures that check them; calls [`nn`].
//! - [`data`]: synthetic faces, Happy House files, image folders; one pixel rule.
//! - [`app`]: the page's use cases (training session, explorer, look inside, presets, bench
//!   workload) in plain Rust, shared by the page and the command line.
//! - [`web`]: the only module that knows wasm-bindgen; thin handles over [`app`] for the page.
//!
//! Nothing points back up: `web` -> `app` -> (`nn`, `explain`, `data`) -> `kernels`.

pub mod app;
pub mod data;
pub mod error;
pub mod explain;
pub mod kernels;
pub mod limits;
pub mod nn;
pub mod rng;
pub mod web;

pub use error::{Error, Result};

/// True when this build was compiled with WebAssembly SIMD128 (the wasm target's
/// `.cargo/config.toml` flag). Tests assert it so that a lost flag fails loudly.
pub fn simd_enabled() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "simd128"))
}

/// True when this build also uses relaxed SIMD (the multiply-add of the register tile).
/// Only an engine that validates relaxed-SIMD opcodes can load such a build, so the page
/// ships a plain SIMD128 build beside it and picks one (see `www/js/wasm.js`).
pub fn relaxed_simd_enabled() -> bool {
    cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"))
}
