//! The page's ONNX exports: a convscope model file (the bytes "Save model" downloads) as an
//! `.onnx` file, by [`crate::app::export::onnx_from_model_file`], the call the command line's
//! `export --onnx` makes; and the loaded ImageNet network, alone or with a transfer head, from
//! the [`ImageNetModel`] handle (the worker keeps the network, not its 19 MB file). The worker
//! runs them, where the models are.

use super::imagenet_exports::ImageNetModel;
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

#[wasm_bindgen]
impl ImageNetModel {
    /// The ImageNet network as an ONNX file (input `image` (N, 3, 224, 224), output
    /// `probabilities` (N, 1000), the class names in its metadata).
    pub fn onnx(&self) -> Result<Vec<u8>, JsError> {
        Ok(self.net().onnx()?)
    }

    /// The network and the trained (or loaded) transfer head as one ONNX file.
    #[wasm_bindgen(js_name = transferOnnx)]
    pub fn transfer_onnx(&self) -> Result<Vec<u8>, JsError> {
        Ok(self.net().transfer_onnx()?)
    }
}
