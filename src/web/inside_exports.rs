//! The "Look inside" view's wasm-bindgen surface: a second `impl TrainingSession` block over
//! [`crate::app::inside`]. Answers are plain JS objects; every map, gradient and picture goes out
//! as a Float32Array (a JS array of a hundred thousand numbers would be slow to make and to
//! post). A picture is image `index` of `split`, or `rgba` (the model's input size) when given.

use super::training::TrainingSession;
use super::{set, to_js, with_arrays};
use crate::app::inside::{Picture, ShortcutLab};
use crate::app::session::Split;
use crate::data::pixel::rgba_from_values;
use crate::explain::{ActmaxConfig, ActmaxResult, CamWeighting, GradCam};
use wasm_bindgen::prelude::*;

fn picture<'a>(split: &str, index: usize, rgba: Option<&'a [u8]>) -> Result<Picture<'a>, JsError> {
    Ok(match rgba {
        Some(bytes) => Picture::Rgba(bytes),
        None => Picture::Set(Split::parse(split)?, index),
    })
}

#[wasm_bindgen]
impl TrainingSession {
    /// Every layer's output for a picture: `{layers: [{index, name, kind, shape, values}],
    /// logits, probabilities}`, each `values` a Float32Array in its shape (channels last).
    #[wasm_bindgen(js_name = insideActivations)]
    pub fn inside_activations(
        &mut self,
        split: &str,
        index: usize,
        rgba: Option<Vec<u8>>,
    ) -> Result<JsValue, JsError> {
        let a = self
            .session_mut()
            .inside_activations(picture(split, index, rgba.as_deref())?)?;
        let answer =
            to_js(&serde_json::json!({ "logits": a.logits, "probabilities": a.probabilities }))?;
        let layers = js_sys::Array::new();
        for layer in &a.layers {
            let shape = serde_json::json!({ "index": layer.index, "name": layer.name, "kind": layer.kind, "shape": layer.shape });
            layers.push(&with_arrays(&shape, &[("values", &layer.values)])?);
        }
        set(&answer, "layers", &layers)?;
        Ok(answer)
    }

    /// Saliency of `class` (SmoothGrad when `smooth`): `{height, width, channels, class, score,
    /// evidence, magnitude}`, the maps (H, W) as Float32Arrays.
    #[wasm_bindgen(js_name = insideSaliency)]
    pub fn inside_saliency(
        &mut self,
        split: &str,
        index: usize,
        rgba: Option<Vec<u8>>,
        class: usize,
        smooth: bool,
    ) -> Result<JsValue, JsError> {
        let s = self.session_mut().inside_saliency(
            picture(split, index, rgba.as_deref())?,
            class,
            smooth,
        )?;
        let meta = serde_json::json!({ "height": s.height, "width": s.width, "channels": s.channels, "class": s.class, "score": s.score });
        with_arrays(
            &meta,
            &[("evidence", &s.evidence), ("magnitude", &s.magnitude)],
        )
    }

    /// Grad-CAM of `class` on convolution `layer` (the last when undefined), weighted
    /// "per-position" (the default) or "channel-mean": `{layer, layerName, class, score,
    /// weighting, mapHeight, mapWidth, height, width, map, heatmap}`.
    #[wasm_bindgen(js_name = insideGradCam)]
    pub fn inside_grad_cam(
        &mut self,
        split: &str,
        index: usize,
        rgba: Option<Vec<u8>>,
        class: usize,
        layer: Option<usize>,
        weighting: Option<String>,
    ) -> Result<JsValue, JsError> {
        let weighting = CamWeighting::parse_or_default(weighting.as_deref())?;
        let g = self.session_mut().inside_grad_cam(
            picture(split, index, rgba.as_deref())?,
            class,
            layer,
            weighting,
        )?;
        grad_cam_to_js(&g)
    }

    /// The first convolution's filters: `{layer, layerName, kernelHeight, kernelWidth, count,
    /// patches}`, patches (count, KH, KW, 3) in [0, 1].
    #[wasm_bindgen(js_name = insideFilters)]
    pub fn inside_filters(&mut self, shared_scale: bool) -> Result<JsValue, JsError> {
        let f = self.session_mut().inside_filters(shared_scale)?;
        let meta = serde_json::json!({ "layer": f.layer, "layerName": f.layer_name, "kernelHeight": f.kernel_height, "kernelWidth": f.kernel_width, "count": f.count });
        with_arrays(&meta, &[("patches", &f.patches)])
    }

    /// The convolution layers: `[{index, name, filters}]`.
    #[wasm_bindgen(js_name = insideConvLayers)]
    pub fn inside_conv_layers(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.session_mut().inside_conv_layers()?)
    }

    /// Activation maximization for an ActmaxConfig given as JSON text (snake_case fields, see
    /// `crate::explain::ActmaxConfig`); `start` (H, W, C), when given, replaces the config's start.
    /// Returns `{height, width, channels, objectiveStart, objectiveEnd, logitsStart, logitsEnd,
    /// image, frames: [{iteration, image, rgba}]}` (`rgba`: the frame to draw, (H, W, 4) bytes).
    #[wasm_bindgen(js_name = insideActmax)]
    pub fn inside_actmax(
        &mut self,
        config: &str,
        start: Option<Vec<f32>>,
    ) -> Result<JsValue, JsError> {
        let config = actmax_config(config, start)?;
        actmax_to_js(&self.session_mut().inside_actmax(&config)?)
    }

    /// Loads the shortcut lab's data from `{train, test, seed, confound}`; returns the data info.
    #[wasm_bindgen(js_name = loadShortcutLab)]
    pub fn load_shortcut_lab(&mut self, lab: JsValue) -> Result<JsValue, JsError> {
        let lab = read_lab(lab)?;
        to_js(&self.session_mut().load_shortcut_lab(&lab)?)
    }

    /// `{confoundedTestAccuracy, cleanTestAccuracy}` of the model on the lab `{train, test, seed, confound}`.
    #[wasm_bindgen(js_name = shortcutAccuracies)]
    pub fn shortcut_accuracies(&mut self, lab: JsValue) -> Result<JsValue, JsError> {
        let lab = read_lab(lab)?;
        to_js(&self.session_mut().shortcut_accuracies(&lab)?)
    }
}

fn read_lab(lab: JsValue) -> Result<ShortcutLab, JsError> {
    serde_wasm_bindgen::from_value(lab).map_err(|e| {
        JsError::new(&format!(
            "the shortcut lab's settings could not be read: {e}"
        ))
    })
}

/// The page's activation-maximization settings (JSON) with the picture to start from, if any.
pub(crate) fn actmax_config(
    config: &str,
    start: Option<Vec<f32>>,
) -> Result<ActmaxConfig, JsError> {
    let mut config: ActmaxConfig = serde_json::from_str(config).map_err(|e| {
        JsError::new(&format!(
            "the activation-maximization settings could not be read: {e}"
        ))
    })?;
    if let Some(pixels) = start {
        config.start = crate::explain::actmax::Start::Image(pixels);
    }
    Ok(config)
}

/// `{height, width, channels, objectiveStart, objectiveEnd, logitsStart, logitsEnd, image,
/// frames: [{iteration, image, rgba}]}`, the pictures as Float32Arrays and each frame's RGBA.
pub(crate) fn actmax_to_js(r: &ActmaxResult) -> Result<JsValue, JsError> {
    let meta = serde_json::json!({
        "height": r.height, "width": r.width, "channels": r.channels,
        "objectiveStart": r.objective_start, "objectiveEnd": r.objective_end,
        "logitsStart": r.logits_start, "logitsEnd": r.logits_end,
    });
    let answer = with_arrays(&meta, &[("image", &r.image)])?;
    let frames = js_sys::Array::new();
    for f in &r.frames {
        let frame = with_arrays(
            &serde_json::json!({ "iteration": f.iteration }),
            &[("image", &f.image)],
        )?;
        // What to draw, by the one pixel rule.
        let rgba = rgba_from_values(&f.image, r.channels);
        set(
            &frame,
            "rgba",
            &js_sys::Uint8Array::from(rgba.as_slice()).into(),
        )?;
        frames.push(&frame);
    }
    set(&answer, "frames", &frames)?;
    Ok(answer)
}

/// A Grad-CAM answer: `{layer, layerName, class, score, weighting, mapHeight, mapWidth, height,
/// width, map, heatmap}`, the maps as Float32Arrays.
pub(crate) fn grad_cam_to_js(g: &GradCam) -> Result<JsValue, JsError> {
    let meta = serde_json::json!({
        "layer": g.layer, "layerName": g.layer_name, "class": g.class, "score": g.score,
        "weighting": g.weighting,
        "mapHeight": g.map_height, "mapWidth": g.map_width, "height": g.height, "width": g.width,
    });
    with_arrays(&meta, &[("map", &g.map), ("heatmap", &g.heatmap)])
}
