//! The pretrained ImageNet network's wasm-bindgen surface: a handle the worker makes from the
//! model file's bytes, over [`crate::app::imagenet`]. Maps and pictures go out as typed arrays.

use super::inside_exports::{actmax_config, actmax_to_js, grad_cam_to_js};
use super::training::TrainingSession;
use super::{to_js, with_arrays};
use crate::app::imagenet::ImageNet;
use crate::data::picture::from_rgba;
use crate::data::pixel::rgba_from_values;
use crate::explain::CamWeighting;
use crate::nn::io::save_model;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
pub struct ImageNetModel {
    net: ImageNet,
}

impl ImageNetModel {
    /// The network, for the exports of other files of `web`.
    pub(crate) fn net(&self) -> &ImageNet {
        &self.net
    }
}

#[wasm_bindgen]
impl ImageNetModel {
    /// Reads a converted model file (tools/imagenet); a smile model, another file or a cut one
    /// is refused with a message that says which.
    #[wasm_bindgen(constructor)]
    pub fn new(bytes: &[u8]) -> Result<ImageNetModel, JsError> {
        Ok(Self {
            net: ImageNet::from_bytes(bytes)?,
        })
    }

    /// The 1,000 class names, in the network's order.
    #[wasm_bindgen(js_name = classNames)]
    pub fn class_names(&self) -> Vec<String> {
        self.net.class_names().to_vec()
    }

    /// A class's number from its name (or its number as text); an unknown name is an error.
    #[wasm_bindgen(js_name = classIndex)]
    pub fn class_index(&self, name: &str) -> Result<usize, JsError> {
        Ok(self.net.class_index(name)?)
    }

    /// The stem's, each block's and the head's output: `[{index, name, height, width, channels}]`.
    pub fn blocks(&self) -> Result<JsValue, JsError> {
        to_js(&self.net.blocks())
    }

    /// Takes a decoded photo (RGBA, any size from 32 pixels a side) as the picture to explain:
    /// `{top: [{index, name, probability}], side, rgba}` with the 224x224 crop it sees.
    pub fn look(
        &mut self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
        k: usize,
    ) -> Result<JsValue, JsError> {
        let picture = from_rgba(rgba, width, height)?;
        let top = self.net.look(&picture, k)?;
        let side = self.net.input_side();
        let answer = to_js(&serde_json::json!({ "top": top, "side": side }))?;
        let crop = rgba_from_values(self.net.photo()?, 3);
        super::set(
            &answer,
            "rgba",
            &js_sys::Uint8Array::from(crop.as_slice()).into(),
        )?;
        Ok(answer)
    }

    /// The logits for the photo, computed again: one inference, what the bench times.
    pub fn infer(&mut self) -> Result<Vec<f32>, JsError> {
        Ok(self.net.logits()?)
    }

    /// The photo's values (H, W, 3) in [0, 1], by the one pixel rule: where activation
    /// maximization starts "from the photo".
    #[wasm_bindgen(js_name = photoValues)]
    pub fn photo_values(&self) -> Result<Vec<f32>, JsError> {
        Ok(self.net.photo()?.to_vec())
    }

    /// Saliency of `class` for the photo: `{height, width, class, score, evidence, magnitude}`.
    pub fn saliency(&mut self, class: usize, smooth: bool) -> Result<JsValue, JsError> {
        let s = self.net.saliency(class, smooth)?;
        let meta = serde_json::json!({ "height": s.height, "width": s.width, "class": s.class, "score": s.score });
        with_arrays(
            &meta,
            &[("evidence", &s.evidence), ("magnitude", &s.magnitude)],
        )
    }

    /// Grad-CAM of `class` on layer `layer` (the head when undefined): as the smile model's.
    #[wasm_bindgen(js_name = gradCam)]
    pub fn grad_cam(
        &mut self,
        class: usize,
        layer: Option<usize>,
        weighting: Option<String>,
    ) -> Result<JsValue, JsError> {
        let weighting = CamWeighting::parse_or_default(weighting.as_deref())?;
        grad_cam_to_js(&self.net.grad_cam(class, layer, weighting)?)
    }

    /// Layer `layer`'s maps for the photo: `{height, width, channels, values}` (channels last).
    pub fn maps(&mut self, layer: usize) -> Result<JsValue, JsError> {
        let (values, (height, width, channels)) = self.net.maps(layer)?;
        with_arrays(
            &serde_json::json!({ "height": height, "width": width, "channels": channels }),
            &[("values", &values)],
        )
    }

    /// Activation maximization (settings as the smile model's, JSON), from `start` when given.
    pub fn actmax(&mut self, config: &str, start: Option<Vec<f32>>) -> Result<JsValue, JsError> {
        actmax_to_js(&self.net.actmax(&actmax_config(config, start)?)?)
    }

    /// Starts transfer learning on a copy of the session's loaded sets: `{done, total}`.
    #[wasm_bindgen(js_name = transferBegin)]
    pub fn transfer_begin(&mut self, session: &mut TrainingSession) -> Result<JsValue, JsError> {
        let (train, test) = session.session_mut().sets()?;
        let (done, total) = self.net.transfer_begin(train, test)?;
        to_js(&serde_json::json!({ "done": done, "total": total }))
    }

    /// Starts transfer learning with a saved head on a copy of the session's sets: `{done, total}`
    /// (only the test pictures' features remain to compute).
    #[wasm_bindgen(js_name = transferLoad)]
    pub fn transfer_load(
        &mut self,
        bytes: &[u8],
        session: &mut TrainingSession,
    ) -> Result<JsValue, JsError> {
        let (train, test) = session.session_mut().sets()?;
        let (done, total) = self.net.transfer_load(bytes, train, test)?;
        to_js(&serde_json::json!({ "done": done, "total": total }))
    }

    /// The loaded head's test metrics on the loaded data: `{test, class_names}`.
    #[wasm_bindgen(js_name = transferEvaluate)]
    pub fn transfer_evaluate(&mut self) -> Result<JsValue, JsError> {
        let (test, class_names) = self.net.transfer_evaluate()?;
        to_js(&serde_json::json!({ "test": test, "class_names": class_names, "epochs": [] }))
    }

    /// Features of up to `count` more pictures: `{done, total}`.
    #[wasm_bindgen(js_name = transferStep)]
    pub fn transfer_step(&mut self, count: usize) -> Result<JsValue, JsError> {
        let (done, total) = self.net.transfer_step(count)?;
        to_js(&serde_json::json!({ "done": done, "total": total }))
    }

    /// Trains the head: `{epochs: [{epoch, loss, accuracy, val_loss, val_accuracy, ...}],
    /// restored_epoch, test: {loss, accuracy, precision, recall, f1, confusion, ...}, class_names}`.
    #[wasm_bindgen(js_name = transferTrain)]
    pub fn transfer_train(&mut self, seed: u32) -> Result<JsValue, JsError> {
        to_js(&self.net.transfer_train(seed as u64)?)
    }

    /// Test picture `index` explained for `class` through the network and the head:
    /// `{rgba, height, width, saliency, heatmap, layerName}` (maps as Float32Arrays).
    #[wasm_bindgen(js_name = transferExplain)]
    pub fn transfer_explain(
        &mut self,
        index: usize,
        class: usize,
        layer: Option<usize>,
    ) -> Result<JsValue, JsError> {
        let (picture, s, g) =
            self.net
                .transfer_explain(index, class, layer, CamWeighting::default())?;
        let answer = with_arrays(
            &serde_json::json!({ "height": s.height, "width": s.width, "layerName": g.layer_name, "score": s.score }),
            &[("saliency", &s.magnitude), ("heatmap", &g.heatmap)],
        )?;
        let rgba = rgba_from_values(&picture, 3);
        super::set(
            &answer,
            "rgba",
            &js_sys::Uint8Array::from(rgba.as_slice()).into(),
        )?;
        Ok(answer)
    }

    /// The trained head as a model file (the kind trained here, on the network's 1,280 features).
    #[wasm_bindgen(js_name = transferSave)]
    pub fn transfer_save(&self) -> Result<Vec<u8>, JsError> {
        let notes = serde_json::json!({ "transfer": { "backbone": "EfficientNet-Lite0 (ImageNet), frozen", "features": "pool" } });
        Ok(save_model(self.net.transfer_head()?, &notes)?)
    }
}
