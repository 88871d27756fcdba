//! What an explanation explains: the score of one class, taken before the sigmoid/softmax.
//!
//! With one sigmoid unit (the chapter's model) the logit z is the evidence for class 1
//! ("smile") and -z the evidence for class 0 ("no smile"): sigmoid(-z) = 1 - sigmoid(z).
//! With a softmax, class k's score is its own logit. Also the checks every explanation makes on
//! its inputs, so that a bad request is an error in words, never a panic.

use super::model::Explainable;
use crate::nn::OutputKind;
use crate::{invalid, Result};

/// Checks that `image` is one input example of `model`, (H, W, C), with finite values.
pub fn check_image(model: &impl Explainable, image: &[f32]) -> Result<()> {
    let i = model.input_shape();
    let want = i.height * i.width * i.channels;
    if image.len() != want {
        return Err(invalid!(
            "the image has {} values, but this model takes {}x{}x{} images ({} values)",
            image.len(),
            i.height,
            i.width,
            i.channels,
            want
        ));
    }
    if let Some(p) = image.iter().position(|v| !v.is_finite()) {
        return Err(invalid!(
            "the image's value at position {p} is not a number"
        ));
    }
    Ok(())
}

/// Checks that `class` is one of the model's classes.
pub fn check_class(model: &impl Explainable, class: usize) -> Result<()> {
    let classes = model.output_kind().classes();
    if class >= classes {
        return Err(invalid!(
            "class {class} does not exist: this model tells {classes} classes apart (0 to {})",
            classes - 1
        ));
    }
    Ok(())
}

/// Checks that `layer` is a map layer of the model (a convolution of the chapter's model) and
/// returns its output (H, W, C).
pub fn check_conv_layer(model: &impl Explainable, layer: usize) -> Result<(usize, usize, usize)> {
    model.map_layer(layer)
}

/// `layer`, or the model's last map layer when `None`: where every class activation map
/// (Grad-CAM and its variants) looks by default, the most abstract maps that keep a place.
pub fn cam_layer(model: &impl Explainable, layer: Option<usize>) -> Result<usize> {
    match layer {
        Some(l) => Ok(l),
        None => conv_layers(model).last().copied().ok_or_else(|| {
            invalid!("a class activation map needs a convolution layer, and this model has none")
        }),
    }
}

/// Indices of the model's map layers (a Sequential's convolutions), in order.
pub fn conv_layers(model: &impl Explainable) -> Vec<usize> {
    model.map_layers()
}

/// The score of `class` from one example's logits (K).
pub fn class_score(kind: OutputKind, logits: &[f32], class: usize) -> f32 {
    match kind {
        OutputKind::Binary if class == 0 => -logits[0],
        OutputKind::Binary => logits[0],
        OutputKind::Categorical { .. } => logits[class],
    }
}

/// d(score of `class`)/d(logits) for each of the `n` examples: (n, K), written into `d_logits`.
pub fn class_score_gradient(kind: OutputKind, class: usize, n: usize, d_logits: &mut Vec<f32>) {
    let units = kind.units();
    d_logits.clear();
    d_logits.resize(n * units, 0.0);
    for row in d_logits.chunks_exact_mut(units) {
        match kind {
            OutputKind::Binary => row[0] = if class == 0 { -1.0 } else { 1.0 },
            OutputKind::Categorical { .. } => row[class] = 1.0,
        }
    }
}

/// Runs the model on one checked image in inference mode; returns its logits (K).
pub fn forward_logits(model: &mut impl Explainable, image: &[f32]) -> Result<Vec<f32>> {
    check_image(model, image)?;
    Ok(model.infer(image)?.to_vec())
}
