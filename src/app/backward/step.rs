//! One training step of a Sequential model in slow motion, on one batch: every layer's output,
//! the loss, the backward pass layer by layer (each output gradient's norm and a map of it),
//! then Adam's update of one chosen weight written out, and the loss on the same batch after.
//! The numbers are the training code's own: the backward pass runs the model's layers one at a
//! time through [`Sequential::backprop`], and the update is the optimizer's step (a fresh Adam,
//! so this is its step 1), which a test checks against one `fit` step.

use crate::nn::plan::Shape;
use crate::nn::{Mode, Optimizer, OptimizerSpec, Sequential, Storage};
use crate::{invalid, Result};
use serde::Serialize;

/// What the student picks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StepChoice {
    /// The layer whose weight's update is written out, and the weight's index in that layer's
    /// trainable values (kernel first, then bias, as [`crate::nn::Layer::tensors`] lists them).
    pub layer: usize,
    pub weight: usize,
    /// The channel drawn for image-shaped outputs and gradients.
    pub channel: usize,
    pub learning_rate: f32,
    /// Seeds the dropout masks; the same masks serve the loss before and after the step.
    pub dropout_seed: u64,
}

/// One layer's output or gradient, as the page draws it: example 0's map of the chosen channel
/// (or the whole vector), its shape and its norm over the batch.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerPicture {
    pub layer: usize,
    pub name: String,
    /// (height, width, channels), or (1, length, 1) for a vector.
    pub shape: [usize; 3],
    pub values: Vec<f32>,
    /// L2 norm over the whole batch.
    pub norm: f32,
    /// Backward only: the L2 norm of the layer's weight gradient (None without weights).
    pub weight_gradient_norm: Option<f32>,
}

/// Adam's update of one weight, written out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AdamWriteout {
    pub layer: String,
    pub tensor: &'static str,
    /// Index within the tensor.
    pub index: usize,
    pub step: u32,
    pub before: f32,
    pub gradient: f32,
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    pub learning_rate: f32,
    /// m = beta_1 m + (1 - beta_1) g, v = beta_2 v + (1 - beta_2) g^2, from zero.
    pub m: f32,
    pub v: f32,
    /// The bias corrections m / (1 - beta_1^t) and v / (1 - beta_2^t).
    pub m_hat: f32,
    pub v_hat: f32,
    /// lr * m_hat / (sqrt(v_hat) + epsilon): the textbook step.
    pub textbook_step: f32,
    /// Keras puts epsilon beside sqrt(v), not sqrt(v_hat): lr * sqrt(1 - beta_2^t) /
    /// (1 - beta_1^t) * m / (sqrt(v) + epsilon), the step the optimizer takes.
    pub keras_step: f32,
    /// The weight after the optimizer's step.
    pub after: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlowStep {
    pub batch: usize,
    pub forward: Vec<LayerPicture>,
    pub loss_before: f32,
    /// From the output layer down: the gradient of each layer's output (the logits' for the
    /// last layer).
    pub backward: Vec<LayerPicture>,
    pub update: AdamWriteout,
    pub loss_after: f32,
}

fn picture(
    model: &Sequential,
    layer: usize,
    data: &[f32],
    shape: Shape,
    channel: usize,
    batch: usize,
) -> LayerPicture {
    let per_example = shape.len();
    let first = &data[..per_example];
    let (dims, values) = match shape {
        Shape::Image {
            height,
            width,
            channels,
        } => {
            let c = channel.min(channels - 1);
            (
                [height, width, channels],
                first.iter().skip(c).step_by(channels).copied().collect(),
            )
        }
        Shape::Flat(n) => ([1, n, 1], first.to_vec()),
    };
    debug_assert_eq!(data.len(), per_example * batch);
    LayerPicture {
        layer,
        name: model.layers()[layer].name().to_string(),
        shape: dims,
        values,
        norm: norm(data),
        weight_gradient_norm: None,
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|&x| (x as f64).powi(2)).sum::<f64>().sqrt() as f32
}

/// Runs one step on `model` (which it changes: the weights take the step) over the batch
/// `x` (N, H, W, C) with `labels` (N).
pub fn slow_step(
    model: &mut Sequential,
    x: &[f32],
    labels: &[u8],
    choice: StepChoice,
) -> Result<SlowStep> {
    let layer_count = model.layers().len();
    let trainable: Vec<(usize, &'static str, usize, usize)> = model
        .layers()
        .get(choice.layer)
        .ok_or_else(|| {
            invalid!(
                "there is no layer {} (the model has {layer_count})",
                choice.layer + 1
            )
        })?
        .tensors()
        .iter()
        .filter(|t| t.storage == Storage::Trainable)
        .map(|t| (choice.layer, t.name, t.offset, t.len))
        .collect();
    let count: usize = trainable.iter().map(|t| t.3).sum();
    let Some(&(_, tensor, offset, _)) = trainable
        .iter()
        .find(|t| (t.2..t.2 + t.3).contains(&choice.weight))
    else {
        return Err(invalid!(
            "layer {} ({}) has {count} trainable weights, so there is no weight number {}",
            choice.layer + 1,
            model.layers()[choice.layer].name(),
            choice.weight + 1
        ));
    };
    let spec = OptimizerSpec::adam(choice.learning_rate);
    let mut optimizer = Optimizer::new(spec, model)?;
    let n = labels.len();
    if n == 0 || x.len() != n * model.input_len() {
        return Err(invalid!(
            "the batch needs one label per image ({} images, {} labels)",
            x.len() / model.input_len().max(1),
            n
        ));
    }

    model.seed_dropout(choice.dropout_seed);
    model.forward(x, Mode::Train);
    let forward = (0..layer_count)
        .map(|i| {
            picture(
                model,
                i,
                model.output(i),
                model.layers()[i].plan.output,
                choice.channel,
                n,
            )
        })
        .collect();
    let loss_before = model.loss(labels, true);
    model.zero_grads();
    let mut gradient = model.loss_gradient().to_vec();
    let mut backward = Vec::with_capacity(layer_count);
    for i in (0..layer_count).rev() {
        let shape = if i == layer_count - 1 {
            Shape::Flat(gradient.len() / n)
        } else {
            model.layers()[i].plan.output
        };
        let mut p = picture(model, i, &gradient, shape, choice.channel, n);
        let below = model.backprop(i, &gradient, i, true).to_vec();
        let grads = model.layers()[i].grads();
        p.weight_gradient_norm = (!grads.is_empty()).then(|| norm(grads));
        backward.push(p);
        gradient = below;
    }

    let before = model.layers()[choice.layer].params()[choice.weight];
    let g = model.layers()[choice.layer].grads()[choice.weight];
    optimizer.step(model);
    let after = model.layers()[choice.layer].params()[choice.weight];
    let OptimizerSpec::Adam {
        beta_1,
        beta_2,
        epsilon,
        learning_rate,
    } = spec
    else {
        unreachable!("the step uses Adam");
    };
    let (b1, b2) = (beta_1 as f32, beta_2 as f32);
    let t = 1;
    let m = (1.0 - beta_1) as f32 * g;
    let v = (1.0 - beta_2) as f32 * g * g;
    let m_hat = m / (1.0 - b1.powi(t));
    let v_hat = v / (1.0 - b2.powi(t));
    let alpha = learning_rate * (1.0 - b2.powi(t)).sqrt() / (1.0 - b1.powi(t));
    let update = AdamWriteout {
        layer: model.layers()[choice.layer].name().to_string(),
        tensor,
        index: choice.weight - offset,
        step: t as u32,
        before,
        gradient: g,
        beta_1: b1,
        beta_2: b2,
        epsilon,
        learning_rate,
        m,
        v,
        m_hat,
        v_hat,
        textbook_step: learning_rate * m_hat / (v_hat.sqrt() + epsilon),
        keras_step: alpha * m / (v.sqrt() + epsilon),
        after,
    };

    model.seed_dropout(choice.dropout_seed);
    model.forward(x, Mode::Train);
    let loss_after = model.loss(labels, false);
    Ok(SlowStep {
        batch: n,
        forward,
        loss_before,
        backward,
        update,
        loss_after,
    })
}

/// [`slow_step`] on a copy of the session's model, over the first `batch` training images.
pub fn slow_step_on_session(
    session: &mut crate::app::session::Session,
    batch: usize,
    choice: StepChoice,
) -> Result<SlowStep> {
    const MOST: usize = 64;
    if batch == 0 || batch > MOST {
        return Err(invalid!(
            "the slow-motion step takes a batch of 1 to {MOST} images (got {batch})"
        ));
    }
    let (model, data) = session.model_and_data();
    let (Some(model), Some((train, _))) = (model, data) else {
        return Err(invalid!(
            "load data and build the model in Model & training first"
        ));
    };
    let mut copy = Sequential::new(model.spec(), 0)?;
    copy.restore(&model.snapshot())?;
    let n = batch.min(train.len());
    let mut x = Vec::with_capacity(n * train.image_len());
    for i in 0..n {
        x.extend_from_slice(&train.image(i));
    }
    slow_step(&mut copy, &x, &train.labels()[..n], choice)
}

/// The session model's layers for the page's choice: (index, name, trainable weights).
pub fn step_layers(session: &mut crate::app::session::Session) -> Vec<(usize, String, usize)> {
    let (model, _) = session.model_and_data();
    model.map_or_else(Vec::new, |m| {
        m.layers()
            .iter()
            .enumerate()
            .map(|(i, l)| (i, l.name().to_string(), l.params().len()))
            .collect()
    })
}
