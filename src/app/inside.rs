//! The "Look inside" view's requests on a training session: every layer's maps, saliency,
//! Grad-CAM, the first layer's filters and activation maximization for the session's model,
//! and the shortcut lab's data (synthetic smiles with a planted confound) with its two test
//! accuracies. Plain Rust over [`crate::explain`], tested natively; `web::inside_exports`
//! wraps it for the worker.

use super::session::{DataInfo, Session, Split};
use crate::data::pixel::values_from_rgba;
use crate::data::synthetic::{generate, Confound, Difficulty, SyntheticParams};
use crate::data::Dataset;
use crate::explain::target::conv_layers;
use crate::explain::{
    activation_maximization, activations, first_layer_filters, grad_cam, saliency,
};
use crate::explain::{
    Activations, ActmaxConfig, ActmaxResult, CamWeighting, FilterPatches, FilterScale, GradCam,
    Saliency, SmoothGrad,
};
use crate::nn::metrics::evaluate;
use crate::nn::Sequential;
use crate::{invalid, Result};
use serde::{Deserialize, Serialize};

/// SmoothGrad as the page offers it: 24 noisy copies at 15% of the pixel range (the paper's
/// 10-20%), a fixed seed so that the same picture gives the same map.
pub const PAGE_SMOOTHGRAD: SmoothGrad = SmoothGrad {
    samples: 24,
    sigma: 0.15,
    seed: 0,
};

/// The picture to explain.
#[derive(Debug, Clone, Copy)]
pub enum Picture<'a> {
    /// Image `index` of the training or test set.
    Set(Split, usize),
    /// (H, W, 4) RGBA bytes of the model's input size: a photo or a webcam frame.
    Rgba(&'a [u8]),
}

/// A convolution layer the page can pick for Grad-CAM or as an activation-maximization target.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvLayer {
    pub index: usize,
    pub name: String,
    pub filters: usize,
}

/// The shortcut lab's data: easy synthetic smiles (the bright-background shortcut shows
/// within a few epochs: 86% vs 55% at 300 faces, 4 epochs, seed 11) whose training set has
/// the confound planted with `confound` (0: a clean set, the control).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShortcutLab {
    pub train: usize,
    pub test: usize,
    pub seed: u64,
    pub confound: f32,
}

impl ShortcutLab {
    /// The lab's (training, test) pair: `confound_in_test` plants the confound in the test
    /// set too (the same faces: the sets come from the same seed).
    fn generate(&self, confound_in_test: bool) -> Result<(Dataset, Dataset)> {
        if !(0.0..=1.0).contains(&self.confound) {
            return Err(invalid!(
                "the confound's probability must be between 0 and 1 (got {})",
                self.confound
            ));
        }
        let confound = Some(Confound {
            probability: self.confound,
            in_test: confound_in_test,
        });
        generate(&SyntheticParams {
            train: self.train,
            test: self.test,
            seed: self.seed,
            difficulty: Difficulty::Easy,
            confound,
        })
    }
}

/// The lab's verdict: accuracy on test faces that carry the confound and on clean ones.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ShortcutAccuracies {
    pub confounded_test_accuracy: f32,
    pub clean_test_accuracy: f32,
}

impl Session {
    /// The model and the picture as the model takes it: (H, W, C) values in [0, 1].
    pub(crate) fn model_and_picture(
        &mut self,
        picture: Picture,
    ) -> Result<(&mut Sequential, Vec<f32>)> {
        let (model, data) = self.model_and_data();
        let model = model.ok_or_else(|| invalid!("build or train a model first"))?;
        let image = match picture {
            Picture::Set(split, index) => {
                let (train, test) = data.ok_or_else(|| invalid!("load some data first"))?;
                let set = if split == Split::Train { train } else { test };
                if index >= set.len() {
                    return Err(invalid!(
                        "there is no image {index}: the set has {} images",
                        set.len()
                    ));
                }
                set.image(index).to_vec()
            }
            Picture::Rgba(rgba) => {
                let input = model.spec().input;
                if rgba.len() != input.height * input.width * 4 {
                    return Err(invalid!(
                        "the model takes {}x{} pictures ({} RGBA bytes), not {} bytes",
                        input.height,
                        input.width,
                        input.height * input.width * 4,
                        rgba.len()
                    ));
                }
                values_from_rgba(rgba, input.channels)
            }
        };
        Ok((model, image))
    }

    fn model(&mut self) -> Result<&mut Sequential> {
        self.model_and_data()
            .0
            .ok_or_else(|| invalid!("build or train a model first"))
    }

    /// Every layer's output and the prediction for `picture`.
    pub fn inside_activations(&mut self, picture: Picture) -> Result<Activations> {
        let (model, image) = self.model_and_picture(picture)?;
        activations(model, &image)
    }

    /// The saliency of `class` for `picture`, with SmoothGrad ([`PAGE_SMOOTHGRAD`]) if `smooth`.
    pub fn inside_saliency(
        &mut self,
        picture: Picture,
        class: usize,
        smooth: bool,
    ) -> Result<Saliency> {
        let (model, image) = self.model_and_picture(picture)?;
        saliency(model, &image, class, smooth.then_some(PAGE_SMOOTHGRAD))
    }

    /// Grad-CAM of `class` for `picture` on convolution `layer` (the last one when `None`).
    pub fn inside_grad_cam(
        &mut self,
        picture: Picture,
        class: usize,
        layer: Option<usize>,
        weighting: CamWeighting,
    ) -> Result<GradCam> {
        let (model, image) = self.model_and_picture(picture)?;
        grad_cam(model, &image, class, layer, weighting)
    }

    /// The first convolution's filters as RGB patches, each on its own scale or all on one.
    pub fn inside_filters(&mut self, shared_scale: bool) -> Result<FilterPatches> {
        first_layer_filters(
            self.model()?,
            if shared_scale {
                FilterScale::Shared
            } else {
                FilterScale::PerFilter
            },
        )
    }

    /// The model's convolution layers, in order.
    pub fn inside_conv_layers(&mut self) -> Result<Vec<ConvLayer>> {
        let model = self.model()?;
        Ok(conv_layers(model)
            .into_iter()
            .map(|index| {
                let layer = &model.layers()[index];
                ConvLayer {
                    index,
                    name: layer.name().to_string(),
                    filters: layer.plan.output.dims().last().copied().unwrap_or(0),
                }
            })
            .collect())
    }

    /// Activation maximization on the session's model (the page runs it in slices of a few
    /// iterations, each starting from the last one's picture, to show progress).
    pub fn inside_actmax(&mut self, config: &ActmaxConfig) -> Result<ActmaxResult> {
        activation_maximization(self.model()?, config)
    }

    /// Loads the shortcut lab's data: the training set with the planted confound, the test
    /// set clean (what exposes a model that learnt the background instead of the mouth).
    pub fn load_shortcut_lab(&mut self, lab: &ShortcutLab) -> Result<DataInfo> {
        let (train, test) = lab.generate(false)?;
        let description = if lab.confound > 0.0 {
            format!("shortcut lab: synthetic smiles on brighter backgrounds with probability {} (seed {})", lab.confound, lab.seed)
        } else {
            format!(
                "shortcut lab: clean synthetic smiles, no confound (seed {})",
                lab.seed
            )
        };
        Ok(self.set_data(train, test, description))
    }

    /// The model's accuracy on the lab's test faces with the confound planted and without.
    pub fn shortcut_accuracies(&mut self, lab: &ShortcutLab) -> Result<ShortcutAccuracies> {
        let (_, clean) = lab.generate(false)?;
        let (_, confounded) = lab.generate(true)?;
        let model = self.model()?;
        if model.input_len() != clean.image_len() {
            return Err(invalid!("the shortcut lab's faces are 64x64x3, and this model takes other images: build the chapter's model"));
        }
        let mut accuracy =
            |set: &Dataset| -> Result<f32> { Ok(evaluate(model, &set.examples(), 64)?.accuracy) };
        Ok(ShortcutAccuracies {
            confounded_test_accuracy: accuracy(&confounded)?,
            clean_test_accuracy: accuracy(&clean)?,
        })
    }
}
