//! The training worker's wasm-bindgen surface: a [`TrainingSession`] handle over
//! [`Session`] with a few coarse calls. Answers are plain JS objects (camelCase), images go
//! out as RGBA bytes, model files as bytes; every failure is a `JsError` with a sentence
//! for the student, and leaves the session as it was.

use super::to_js;
use crate::app::session::{Session, Split, TrainSettings};
use crate::nn::Layout;
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
extern "C" {
    /// `performance.now()`: there in pages, workers and Node.
    #[wasm_bindgen(js_namespace = performance, js_name = now)]
    fn performance_now() -> f64;
}

/// JavaScript's monotonic clock in milliseconds: what the core's training runs are timed by.
/// Not `Date.now()`: its whole milliseconds read 0 for a small epoch (a wasm test saw an
/// epoch of no time at all), and it jumps when the system clock is set.
pub fn now_ms() -> f64 {
    performance_now()
}

/// Data, model and training run of one page, owned by the worker.
#[wasm_bindgen]
pub struct TrainingSession(Session);

#[wasm_bindgen]
impl TrainingSession {
    #[wasm_bindgen(constructor)]
    pub fn new() -> TrainingSession {
        TrainingSession(Session::with_clock(now_ms))
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
                .load_synthetic(train, test, seed as u64, difficulty)?,
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
                .load_captured(rgba, labels, side, &class_names, seed as u64)?,
        )
    }

    /// Builds a model from a JSON ModelSpec, or the chapter's model when `spec` is undefined;
    /// returns its summary `{rows: [{name, typeName, outputShape, params, trainableParams}], totalParams, ...}`.
    #[wasm_bindgen(js_name = buildModel)]
    pub fn build_model(&mut self, spec: Option<String>, seed: u32) -> Result<JsValue, JsError> {
        to_js(&self.0.build_model(spec.as_deref(), seed as u64)?)
    }

    /// Builds the model editor's layout `{blocks: [{filters, kernel, batchNorm, pool, dropout}],
    /// dense}` for the loaded data (the output head follows its classes); returns its summary.
    #[wasm_bindgen(js_name = buildLayout)]
    pub fn build_layout(&mut self, layout: JsValue, seed: u32) -> Result<JsValue, JsError> {
        let layout: Layout = serde_wasm_bindgen::from_value(layout)
            .map_err(|e| JsError::new(&format!("the model layout could not be read: {e}")))?;
        to_js(&self.0.build_layout(&layout, seed as u64)?)
    }

    /// The editor layout of the current model, or undefined when it has another shape.
    #[wasm_bindgen(js_name = modelLayout)]
    pub fn model_layout(&self) -> Result<JsValue, JsError> {
        to_js(&self.0.layout())
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
        self.0.start_training(&s).map_err(JsError::from)
    }

    /// Trains for about `budgetMs` milliseconds; returns `{batch, batchesTrained, epochs: [...], finished}`.
    #[wasm_bindgen(js_name = trainFor)]
    pub fn train_for(&mut self, budget_ms: f64) -> Result<JsValue, JsError> {
        to_js(&self.0.train_for(budget_ms)?)
    }

    /// Ends the run between batches; returns `{stop, message, restoredEpoch}` (undefined if none).
    #[wasm_bindgen(js_name = stopTraining)]
    pub fn stop_training(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.0.stop_training())
    }

    /// Test-set results: `{loss, accuracy, precision, recall, f1, confusion, misclassified,
    /// predictions, labels, confidence, probability, classNames}`.
    pub fn evaluate(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.0.evaluate_test()?)
    }

    /// Class probabilities of image `index` of `split` (`train` or `test`).
    pub fn predict(&mut self, split: &str, index: usize) -> Result<Vec<f32>, JsError> {
        let split = Split::parse(split)?;
        self.0.predict_index(split, index).map_err(JsError::from)
    }

    /// Class probabilities of one (height, width, 4) RGBA frame of the model's input size.
    #[wasm_bindgen(js_name = predictRgba)]
    pub fn predict_rgba(
        &mut self,
        rgba: &[u8],
        height: usize,
        width: usize,
    ) -> Result<Vec<f32>, JsError> {
        self.0
            .predict_rgba(rgba, height, width)
            .map_err(JsError::from)
    }

    /// The model file's bytes; `notes` (any JSON text) are stored with it.
    pub fn save(&self, notes: &str) -> Result<Vec<u8>, JsError> {
        let notes = serde_json::from_str(notes).unwrap_or(serde_json::Value::Null);
        self.0.save(&notes).map_err(JsError::from)
    }

    /// Loads a model file; returns `{summary, notes}`. On failure the current model stays.
    pub fn load(&mut self, bytes: &[u8]) -> Result<JsValue, JsError> {
        let (summary, notes) = self.0.load(bytes)?;
        to_js(&LoadedMsg { summary, notes })
    }

    /// Images `indices` of `split` as RGBA bytes, (H, W, 4) each, one after another.
    #[wasm_bindgen(js_name = imagesRgba)]
    pub fn images_rgba(&self, split: &str, indices: Vec<u32>) -> Result<Vec<u8>, JsError> {
        let split = Split::parse(split)?;
        let indices: Vec<usize> = indices.into_iter().map(|i| i as usize).collect();
        self.0.images_rgba(split, &indices).map_err(JsError::from)
    }

    /// Class index of every image of `split`.
    pub fn labels(&self, split: &str) -> Result<Vec<u8>, JsError> {
        self.0.labels(Split::parse(split)?).map_err(JsError::from)
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

#[derive(serde::Serialize)]
struct LoadedMsg {
    summary: crate::nn::Summary,
    notes: serde_json::Value,
}
