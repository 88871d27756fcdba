//! Every layer's output for one image (Keras's multi-output "activation model"): what the
//! page draws as grids of feature maps, with each layer's name, kind and shape.

use super::target::forward_logits;
use crate::nn::Sequential;
use crate::Result;
use serde::Serialize;

/// One layer's output for the image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LayerActivation {
    /// Position in the model, from 0.
    pub index: usize,
    /// Keras-style name, e.g. `conv2d_1`.
    pub name: String,
    /// Keras class name, e.g. `Conv2D`, `BatchNormalization`.
    pub kind: String,
    /// [H, W, C] for feature maps, [N] for a flat vector.
    pub shape: Vec<usize>,
    /// The values, in that shape (channels last); probabilities for the output layer.
    pub values: Vec<f32>,
}

/// All layers' outputs and the prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Activations {
    pub layers: Vec<LayerActivation>,
    /// Class scores before the sigmoid/softmax. (K)
    pub logits: Vec<f32>,
    /// (K): one value, P(class 1), for a sigmoid output.
    pub probabilities: Vec<f32>,
}

/// Runs `image` (H, W, C) through `model` in inference mode and keeps every layer's output.
pub fn activations(model: &mut Sequential, image: &[f32]) -> Result<Activations> {
    let logits = forward_logits(model, image)?;
    let layers = model
        .layers()
        .iter()
        .enumerate()
        .map(|(index, layer)| LayerActivation {
            index,
            name: layer.name().to_string(),
            kind: layer.plan.spec.type_name().to_string(),
            shape: layer.plan.output.dims(),
            values: model.output(index).to_vec(),
        })
        .collect();
    Ok(Activations {
        layers,
        logits,
        probabilities: model.probabilities().to_vec(),
    })
}
