//! The only module that knows wasm-bindgen: thin, coarse calls for the page.
//! Every export returns `Result<_, JsError>` so that no panic reaches the student.
//!
//! Each export is a few lines over [`crate::app`], where the behaviour lives and is tested natively.
//!
//! - [`api`]: the explorer's exports (the page's main thread).
//! - [`backward_exports`]: the explorer's backward mode, the gradient check, the slow-motion step.
//! - [`training`]: the training worker's exports, a [`training::TrainingSession`] handle.
//! - [`inside_exports`]: the worker's explanations, more methods of `TrainingSession`.
//! - [`compare_exports`]: the explanation methods side by side and the faithfulness scoreboard.
//! - [`imagenet_exports`]: the pretrained ImageNet network, an [`imagenet_exports::ImageNetModel`] handle.
//! - [`file_exports`]: the worker's exports for the student's files (the browser decodes).
//! - [`augment_exports`]: the augmentation preview and the cross-dataset test.
//! - [`onnx_exports`]: a model file as an ONNX file, for other tools.
//! - [`bench`]: the benchmark handle.

pub mod api;
pub mod augment_exports;
pub mod backward_exports;
pub mod bench;
pub mod compare_exports;
pub mod file_exports;
pub mod imagenet_exports;
pub mod inside_exports;
pub mod onnx_exports;
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

/// Every numeric control's range, `{key: {uiMin, uiMax, min, max}}`: the page builds its
/// sliders and its link parser from it (see [`crate::limits::control_ranges`]).
#[wasm_bindgen(js_name = controlRanges)]
pub fn control_ranges() -> Result<JsValue, JsError> {
    let table: std::collections::BTreeMap<&str, crate::limits::ControlRange> =
        crate::limits::control_ranges()
            .into_iter()
            .map(|c| (c.key, c))
            .collect();
    to_js(&table)
}

/// An answer as a plain JS object (maps become objects, so the page reads fields by name).
pub(crate) fn to_js<T: serde::Serialize>(value: &T) -> Result<JsValue, JsError> {
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| JsError::new(&format!("internal error while answering the page: {e}")))
}

/// `value` as a JS object with its bulk `arrays` (fields the struct skips in serde) added as
/// Float32Arrays: a JS array of a hundred thousand numbers would be slow to make and to post.
pub(crate) fn with_arrays<T: serde::Serialize>(
    value: &T,
    arrays: &[(&str, &[f32])],
) -> Result<JsValue, JsError> {
    let answer = to_js(value)?;
    for (key, values) in arrays {
        set(&answer, key, &js_sys::Float32Array::from(*values).into())?;
    }
    Ok(answer)
}

/// Sets one field of a JS object.
pub(crate) fn set(target: &JsValue, key: &str, value: &JsValue) -> Result<(), JsError> {
    js_sys::Reflect::set(target, &JsValue::from_str(key), value)
        .map(|_| ())
        .map_err(|_| JsError::new("internal error while answering the page"))
}
