//! The page's ONNX export: a convscope model file (the bytes "Save model" downloads) as an
//! `.onnx` file, by [`crate::app::export::onnx_from_model_file`], the call the command line's
//! `export --onnx` makes. The worker runs it, where the model file is made.

use wasm_bindgen::prelude::*;

/// The ONNX bytes of the model file `bytes`: input `image` (N, C, H, W) pixels in [0, 1],
/// output `probabilities`. A transfer-learning head needs `backbone`, the ImageNet network's
/// model file, to be exported in front of it (without it the call fails and says so).
#[wasm_bindgen(js_name = onnxFromModelFile)]
pub fn onnx_from_model_file(bytes: &[u8], backbone: Option<Vec<u8>>) -> Result<Vec<u8>, JsError> {
    Ok(crate::app::export::onnx_from_model_file(
        bytes,
        backbone.as_deref(),
    )?)
}
