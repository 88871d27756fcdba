//! Saliency: the gradient of a class score with respect to the input pixels, taken on the
//! logit (Simonyan et al., 2014; the chapter swaps the last sigmoid for a linear activation
//! for this reason), with SmoothGrad (Smilkov et al., 2017) as an option: the gradient
//! averaged over copies of the image with Gaussian noise added, which removes much of the
//! speckle of a single gradient.
//!
//! Two maps per image, one value per pixel, each the maximum over the colour channels:
//! - `evidence`: the positive part of d(score)/d(pixel), where brightening a pixel would make
//!   the network more sure of the class. For a sigmoid model, class 1's evidence is the positive
//!   part of d(logit)/dx and class 0's the negative part (its score is minus the logit);
//! - `magnitude`: |d(score)/d(pixel)|, where any change matters (the map most papers show,
//!   and the one the randomization sanity check compares).

use super::model::{Explainable, Point};
use super::target::{check_class, check_image, class_score, class_score_gradient};
use crate::rng::rng_from_seed;
use crate::{invalid, Result};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// Most noisy copies SmoothGrad may average (each costs one forward and one backward pass).
pub const MAX_SMOOTHGRAD_SAMPLES: usize = 512;

/// SmoothGrad's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SmoothGrad {
    /// Noisy copies averaged (1 to [`MAX_SMOOTHGRAD_SAMPLES`]).
    pub samples: usize,
    /// Standard deviation of the noise, in pixel units (images are in [0, 1]; the paper finds
    /// 10-20% of the value range works well, so 0.1-0.2 here).
    pub sigma: f32,
    /// Seeds the noise: same seed, same map.
    pub seed: u64,
}

/// A saliency map for one image and one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Saliency {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// The class whose score was differentiated.
    pub class: usize,
    /// That class's score (on the logit) for the clean image.
    pub score: f32,
    /// d(score)/d(image), averaged over the noisy copies with SmoothGrad. (H, W, C)
    pub gradient: Vec<f32>,
    /// max over channels of max(gradient, 0). (H, W)
    pub evidence: Vec<f32>,
    /// max over channels of |gradient|. (H, W)
    pub magnitude: Vec<f32>,
}

/// The saliency of `class` for `image` (H, W, C); `smooth` for SmoothGrad.
pub fn saliency(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    smooth: Option<SmoothGrad>,
) -> Result<Saliency> {
    check_image(model, image)?;
    check_class(model, class)?;
    if let Some(s) = smooth {
        if s.samples == 0 || s.samples > MAX_SMOOTHGRAD_SAMPLES {
            return Err(invalid!(
                "SmoothGrad needs between 1 and {MAX_SMOOTHGRAD_SAMPLES} noisy copies (got {})",
                s.samples
            ));
        }
        if !(s.sigma.is_finite() && s.sigma >= 0.0) {
            return Err(invalid!(
                "SmoothGrad's noise level must be a number of at least 0 (got {})",
                s.sigma
            ));
        }
    }
    let kind = model.output_kind();
    let input = model.input_shape();
    let len = image.len();

    let score = class_score(kind, model.infer(image)?, class);

    let mut gradient = vec![0.0f32; len]; // (H, W, C)
    let mut d_logits = Vec::new();
    match smooth {
        None => {
            class_score_gradient(kind, class, 1, &mut d_logits);
            gradient.copy_from_slice(model.backprop(Point::Logits, &d_logits, Point::Image)?);
        }
        Some(s) => {
            let mut rng = rng_from_seed(s.seed);
            // Copies run through the model together, as many as its memory allows.
            let chunk = model.batch_limit();
            let mut noisy = Vec::with_capacity(chunk * len); // (n, H, W, C)
            let mut done = 0;
            while done < s.samples {
                let n = chunk.min(s.samples - done);
                noisy.clear();
                for _ in 0..n {
                    noisy.extend(
                        image
                            .iter()
                            .map(|&v| v + s.sigma * standard_normal(&mut rng)),
                    );
                }
                gradient_sum(model, &noisy, class, &mut d_logits, &mut gradient)?;
                done += n;
            }
            let scale = 1.0 / s.samples as f32;
            gradient.iter_mut().for_each(|g| *g *= scale);
        }
    }
    let (evidence, magnitude) = channel_maps(&gradient, input.channels);
    Ok(Saliency {
        height: input.height,
        width: input.width,
        channels: input.channels,
        class,
        score,
        gradient,
        evidence,
        magnitude,
    })
}

/// gradient (H, W, C) += the sum over the images of `batch` (n, H, W, C) of d(score)/d(image).
fn gradient_sum(
    model: &mut impl Explainable,
    batch: &[f32],
    class: usize,
    d_logits: &mut Vec<f32>,
    gradient: &mut [f32],
) -> Result<()> {
    let len = gradient.len();
    let n = batch.len() / len;
    model.infer(batch)?;
    class_score_gradient(model.output_kind(), class, n, d_logits);
    // In inference mode the examples do not interact, so each row is that copy's own gradient.
    for row in model
        .backprop(Point::Logits, d_logits, Point::Image)?
        .chunks_exact(len)
    {
        for (g, &d) in gradient.iter_mut().zip(row) {
            *g += d;
        }
    }
    Ok(())
}

/// (evidence, magnitude), each (H, W), from a gradient (H, W, C).
fn channel_maps(gradient: &[f32], channels: usize) -> (Vec<f32>, Vec<f32>) {
    gradient
        .chunks_exact(channels)
        .map(|px| {
            (
                px.iter().fold(0.0f32, |m, &g| m.max(g)),
                px.iter().fold(0.0f32, |m, &g| m.max(g.abs())),
            )
        })
        .unzip()
}

/// One draw from N(0, 1) (Box-Muller; `libm` so that wasm and native agree).
pub(crate) fn standard_normal(rng: &mut crate::rng::Rng) -> f32 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]: the logarithm stays finite
    let u2: f64 = rng.random::<f64>();
    (libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(std::f64::consts::TAU * u2)) as f32
}
