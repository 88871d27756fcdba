//! Look inside's method comparison for the worker: one method's map of a picture, and the
//! faithfulness scoreboard as a handle advanced a few pairs at a time ([`crate::app::compare`]).

use super::training::TrainingSession;
use super::{to_js, with_arrays};
use crate::app::compare::{MethodSettings, ScoreboardJob};
use crate::app::inside::Picture;
use crate::app::scoreboard::{Method, METHODS};
use crate::app::session::Split;
use wasm_bindgen::prelude::*;

fn settings(value: JsValue) -> Result<MethodSettings, JsError> {
    serde_wasm_bindgen::from_value(value)
        .map_err(|e| JsError::new(&format!("the explanation settings could not be read: {e}")))
}

/// The methods in the scoreboard's order: `[{id, name}]`.
#[wasm_bindgen(js_name = explanationMethods)]
pub fn explanation_methods() -> Result<JsValue, JsError> {
    let list: Vec<_> = METHODS
        .iter()
        .map(|m| serde_json::json!({ "id": m.id(), "name": m.name() }))
        .collect();
    to_js(&list)
}

#[wasm_bindgen]
impl TrainingSession {
    /// `method`'s map of `class` for image `index` of `split` (or `rgba`): `{method, name,
    /// height, width, signed, map}`, the map (H, W) a Float32Array.
    #[wasm_bindgen(js_name = insideMethodMap)]
    pub fn inside_method_map(
        &mut self,
        split: &str,
        index: usize,
        rgba: Option<Vec<u8>>,
        class: usize,
        method: &str,
        settings_value: JsValue,
    ) -> Result<JsValue, JsError> {
        let picture = match rgba.as_deref() {
            Some(bytes) => Picture::Rgba(bytes),
            None => Picture::Set(Split::parse(split)?, index),
        };
        let m = self.session_mut().inside_method_map(
            picture,
            class,
            Method::parse(method)?,
            &settings(settings_value)?,
        )?;
        let meta = serde_json::json!({ "method": m.method, "name": m.name, "height": m.height, "width": m.width, "signed": m.signed });
        with_arrays(&meta, &[("map", &m.map)])
    }

    /// Starts the scoreboard on the test set (`settings.images` of them).
    #[wasm_bindgen(js_name = startScoreboard)]
    pub fn start_scoreboard(&mut self, settings_value: JsValue) -> Result<ScoreboardTask, JsError> {
        Ok(ScoreboardTask(
            self.session_mut()
                .start_scoreboard(&settings(settings_value)?)?,
        ))
    }
}

/// A scoreboard in progress.
#[wasm_bindgen]
pub struct ScoreboardTask(ScoreboardJob);

#[wasm_bindgen]
impl ScoreboardTask {
    /// Scores up to `pairs` more (method, image) pairs; true when done.
    pub fn advance(
        &mut self,
        session: &mut TrainingSession,
        pairs: usize,
    ) -> Result<bool, JsError> {
        Ok(self.0.advance(session.session_mut(), pairs)?)
    }

    /// `[done, total]` pairs.
    pub fn progress(&self) -> Vec<u32> {
        let (done, total) = self.0.progress();
        vec![done as u32, total as u32]
    }

    /// `{images, landmarks, pointing_images, face_area_share, methods: [{method,
    /// deletion_area, insertion_area, randomization_rank_corr, pointing_game, face_evidence,
    /// completeness_error}], best_deletion, ...}`.
    pub fn report(&self) -> Result<JsValue, JsError> {
        to_js(&self.0.report()?)
    }
}
