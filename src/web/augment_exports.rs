//! The worker's exports for augmentation and the cross-dataset test: a preview of what
//! training with the augmentation settings shows the model, and the trained model tested on
//! pictures it never saw ([`crate::app::session`]'s `augmentation_preview` and `cross_test_*`).

use super::file_exports::with_happy_arrays;
use super::to_js;
use super::training::TrainingSession;
use crate::app::session::Split;
use crate::data::augment::Augmentation;
use crate::data::pixel;
use wasm_bindgen::prelude::*;

/// The suggested augmentation (`{flipHorizontal, rotationDegrees, ...}`), for the page's button.
#[wasm_bindgen(js_name = suggestedAugmentation)]
pub fn suggested_augmentation() -> Result<JsValue, JsError> {
    to_js(&Augmentation::suggested())
}

/// The augmentation that changes nothing.
#[wasm_bindgen(js_name = noAugmentation)]
pub fn no_augmentation() -> Result<JsValue, JsError> {
    to_js(&Augmentation::default())
}

#[wasm_bindgen]
impl TrainingSession {
    /// `count` augmented variants of image `index` of `split` under `settings`
    /// (`{flipHorizontal, rotationDegrees, ...}`), as RGBA bytes (count, H, W, 4).
    #[wasm_bindgen(js_name = augmentationPreview)]
    pub fn augmentation_preview(
        &mut self,
        split: &str,
        index: usize,
        settings: JsValue,
        count: usize,
        seed: u32,
    ) -> Result<Vec<u8>, JsError> {
        let settings: Augmentation = serde_wasm_bindgen::from_value(settings).map_err(|e| {
            JsError::new(&format!("the augmentation settings could not be read: {e}"))
        })?;
        let session = self.session_mut();
        let values = session.augmentation_preview(
            Split::parse(split)?,
            index,
            &settings,
            count,
            seed as u64,
        )?;
        let channels = session.sets()?.0.channels();
        Ok(pixel::rgba_from_values(&values, channels))
    }

    /// The trained model on `count` synthetic faces of `seed` and `difficulty`; returns
    /// `{description, count, ownAccuracy, otherAccuracy, gap, other, notes}`.
    #[wasm_bindgen(js_name = crossTestSynthetic)]
    pub fn cross_test_synthetic(
        &mut self,
        count: usize,
        seed: u32,
        difficulty: &str,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session_mut()
                .cross_test_synthetic(count, seed as u64, difficulty)?,
        )
    }

    /// The trained model on every picture of a Happy House file's checked part (as
    /// `loadHappyArrays` takes it).
    #[wasm_bindgen(js_name = crossTestHappy)]
    pub fn cross_test_happy(
        &mut self,
        part: &str,
        pixels: &[u8],
        x_shape: Vec<u32>,
        labels: Vec<f64>,
        y_shape: Vec<u32>,
        file_name: &str,
    ) -> Result<JsValue, JsError> {
        with_happy_arrays(pixels, &x_shape, &labels, &y_shape, |arrays| {
            to_js(
                &self
                    .session_mut()
                    .cross_test_happy(part, arrays, file_name)?,
            )
        })
    }

    /// The trained model on webcam frames (as `loadCaptured` takes them).
    #[wasm_bindgen(js_name = crossTestCaptured)]
    pub fn cross_test_captured(
        &mut self,
        rgba: &[u8],
        labels: &[u8],
        side: usize,
        class_names: Vec<String>,
    ) -> Result<JsValue, JsError> {
        to_js(
            &self
                .session_mut()
                .cross_test_captured(rgba, labels, side, &class_names)?,
        )
    }
}
