//! The training worker's wasm-bindgen surface: a [`TrainingSession`] handle over
//! [`Session`] with a few coarse calls. Answers are plain JS objects (camelCase), images go
//! out as RGBA bytes, model files as bytes; every failure is a `JsError` with a sentence
//! for the student, and leaves the session as it was.

use crate::app::session::{Session, Split, TrainSettings};
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// A core error as the JS error the page shows (also used by the other export modules).
pub(crate) fn js_error(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// An answer as a plain JS object (also used by the other export modules).
pub(crate) fn to_js<T: Serialize>(value: &T) -> Result<JsValue, JsError> {
    // Maps become plain objects, so the page reads fields by name.
    let serializer = serde_wasm_bindgen::Serializer::json_compatible();
    value
        .serialize(&serializer)
        .map_err(|e| JsError::new(&format!("internal error while answering the page: {e}")))
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// Data, model and training run of one page, owned by the worker.
#[wasm_bindgen]
pub struct TrainingSession(Session);

#[wasm_bindgen]
impl TrainingSession {
    #[wasm_bindgen(constructor)]
    pub fn new() -> TrainingSession {
        TrainingSession(Session::new())
    }

    /// Generates the synthetic smiles: `difficulty` is `easy`, `normal` or `hard`. Returns the data info
    /// `{description, train, test, height, width, channels, classNames, trainCounts, testCounts}`.
    #[wasm_bindgen(js_name = loadSynthetic)]
    pub fn load_synthetic(
        &mut self,
        train: usize,
        test: usize,
        seed: u32,
        difficulty: &str,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .0
                .load_synthetic(train, test, seed as u64, difficulty)
                .map_err(js_error)?,
        )
    }

    /// Makes a dataset of webcam frames: (N, side, side, 4) RGBA bytes, a class index per
    /// frame and the class names; returns the data info.
    #[wasm_bindgen(js_name = loadCaptured)]
    pub fn load_captured(
        &mut self,
        rgba: &[u8],
        labels: &[u8],
        side: usize,
        class_names: Vec<String>,
        seed: u32,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .0
                .load_captured(rgba, labels, side, &class_names, seed as u64)
                .map_err(js_error)?,
        )
    }

    /// Builds a model from a JSON ModelSpec, or the chapter's model when `spec` is undefined;
    /// returns its summary `{rows: [{name, typeName, outputShape, params, trainableParams}], totalParams, ...}`.
    #[wasm_bindgen(js_name = buildModel)]
    pub fn build_model(&mut self, spec: Option<String>, seed: u32) -> Result<JsValue, JsError> {
        to_js(&SummaryMsg::from(
            self.0
                .build_model(spec.as_deref(), seed as u64)
                .map_err(js_error)?,
        ))
    }

    /// The model description as JSON (undefined before a model exists).
    #[wasm_bindgen(js_name = specJson)]
    pub fn spec_json(&self) -> Option<String> {
        self.0.spec_json()
    }

    /// Starts a fresh run from `{epochs, batchSize, learningRate, patience, seed}`; returns the
    /// number of batches per epoch.
    #[wasm_bindgen(js_name = startTraining)]
    pub fn start_training(&mut self, settings: JsValue) -> Result<usize, JsError> {
        let s: TrainSettings = serde_wasm_bindgen::from_value(settings)
            .map_err(|e| JsError::new(&format!("the training settings could not be read: {e}")))?;
        self.0.start_training(&s).map_err(js_error)
    }

    /// Trains for about `budgetMs` milliseconds; returns `{batch, batchesTrained, epochs: [...], finished}`.
    #[wasm_bindgen(js_name = trainFor)]
    pub fn train_for(&mut self, budget_ms: f64) -> Result<JsValue, JsError> {
        to_js(&self.0.train_for(budget_ms, &now_ms).map_err(js_error)?)
    }

    /// Ends the run between batches; returns `{stop, message, restoredEpoch}` (undefined if none).
    #[wasm_bindgen(js_name = stopTraining)]
    pub fn stop_training(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.0.stop_training())
    }

    /// Test-set results: `{loss, accuracy, precision, recall, f1, confusion, misclassified,
    /// predictions, labels, confidence, probability, classNames}`.
    pub fn evaluate(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.0.evaluate_test().map_err(js_error)?)
    }

    /// Class probabilities of image `index` of `split` (`train` or `test`).
    pub fn predict(&mut self, split: &str, index: usize) -> Result<Vec<f32>, JsError> {
        let split = Split::parse(split).map_err(js_error)?;
        self.0.predict_index(split, index).map_err(js_error)
    }

    /// Class probabilities of one (height, width, 4) RGBA frame of the model's input size.
    #[wasm_bindgen(js_name = predictRgba)]
    pub fn predict_rgba(
        &mut self,
        rgba: &[u8],
        height: usize,
        width: usize,
    ) -> Result<Vec<f32>, JsError> {
        self.0.predict_rgba(rgba, height, width).map_err(js_error)
    }

    /// The model file's bytes; `notes` (any JSON text) are stored with it.
    pub fn save(&self, notes: &str) -> Result<Vec<u8>, JsError> {
        let notes = serde_json::from_str(notes).unwrap_or(serde_json::Value::Null);
        self.0.save(&notes).map_err(js_error)
    }

    /// Loads a model file; returns `{summary, notes}`. On failure the current model stays.
    pub fn load(&mut self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let (summary, notes) = self.0.load(bytes).map_err(js_error)?;
        to_js(&LoadedMsg {
            summary: summary.into(),
            notes,
        })
    }

    /// Images `indices` of `split` as RGBA bytes, (H, W, 4) each, one after another.
    #[wasm_bindgen(js_name = imagesRgba)]
    pub fn images_rgba(&self, split: &str, indices: Vec<u32>) -> Result<Vec<u8>, JsError> {
        let split = Split::parse(split).map_err(js_error)?;
        let indices: Vec<usize> = indices.into_iter().map(|i| i as usize).collect();
        self.0.images_rgba(split, &indices).map_err(js_error)
    }

    /// Class index of every image of `split`.
    pub fn labels(&self, split: &str) -> Result<Vec<u8>, JsError> {
        self.0
            .labels(Split::parse(split).map_err(js_error)?)
            .map_err(js_error)
    }
}

impl TrainingSession {
    /// The session, for the "Look inside" exports ([`super::inside_exports`]).
    pub(crate) fn session_mut(&mut self) -> &mut Session {
        &mut self.0
    }
}

impl Default for TrainingSession {
    fn default() -> Self {
        Self::new()
    }
}

/// The summary with camelCase names, for the page.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SummaryMsg {
    rows: Vec<RowMsg>,
    total_params: usize,
    trainable_params: usize,
    non_trainable_params: usize,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RowMsg {
    name: String,
    type_name: String,
    output_shape: Vec<usize>,
    params: usize,
}

impl From<crate::nn::Summary> for SummaryMsg {
    fn from(s: crate::nn::Summary) -> Self {
        Self {
            rows: s
                .rows
                .into_iter()
                .map(|r| RowMsg {
                    name: r.name,
                    type_name: r.type_name,
                    output_shape: r.output_shape,
                    params: r.params,
                })
                .collect(),
            total_params: s.total_params,
            trainable_params: s.trainable_params,
            non_trainable_params: s.non_trainable_params,
        }
    }
}

#[derive(Serialize)]
struct LoadedMsg {
    summary: SummaryMsg,
    notes: serde_json::Value,
}
