//! The layers of a sequential model: each pairs its forward and backward pass, calling the
//! numeric kernels, and declares its named parameter tensors. A layer owns only its caches
//! (argmax, dropout mask, batch statistics, logits); the model owns the parameter and
//! activation buffers and hands them in, so that it can keep one flat buffer per layer.
//!
//! Contract shared by every layer (llm.c style):
//! - `forward(out, input, params, state, batch, mode, ctx)` overwrites `out`.
//! - `backward(d_input, d_out, out, input, params, d_params, batch, ...)` accumulates (+=) into
//!   `d_input` and `d_params`; the caller zeroes them. `d_out` may be overwritten (a fused ReLU
//!   masks it in place). A layer is backpropagated in the mode of its last forward.

mod batch_norm;
mod conv2d;
mod dense;
mod dropout;
mod pooling;

pub use batch_norm::BatchNorm;
pub use conv2d::Conv2d;
pub use dense::Dense;
pub use dropout::Dropout;
pub use pooling::Pooling;

use super::plan::{LayerPlan, Shape};
use super::spec::{Activation, LayerSpec};
use crate::kernels::scratch::ConvScratch;
use crate::rng::Rng;

/// Training (batch statistics, dropout on) or inference (moving statistics, dropout off),
/// Keras's `training=True/False`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Train,
    Infer,
}

/// Shared working memory handed to every layer call.
pub struct Context<'a> {
    pub scratch: &'a mut ConvScratch,
    /// Draws the dropout masks.
    pub rng: &'a mut Rng,
}

/// Where a named tensor lives: in the layer's trainable buffer or its non-trainable state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    Trainable,
    NonTrainable,
}

/// One named parameter tensor of a layer: a slice `offset..offset + len` of its buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// Keras's variable name: `kernel`, `bias`, `gamma`, `beta`, `moving_mean`, `moving_variance`.
    pub name: &'static str,
    /// Shape, e.g. (KH, KW, C_in, C_out) for a conv kernel.
    pub dims: Vec<usize>,
    pub storage: Storage,
    pub offset: usize,
    pub len: usize,
}

impl TensorInfo {
    fn new(name: &'static str, dims: Vec<usize>, storage: Storage, offset: usize) -> Self {
        let len = dims.iter().product();
        Self {
            name,
            dims,
            storage,
            offset,
            len,
        }
    }
}

/// The layer kinds, dispatched by `match` (no trait objects: the set is closed and small).
#[derive(Debug)]
pub enum LayerKind {
    Conv2d(Conv2d),
    BatchNorm(BatchNorm),
    Pooling(Pooling),
    Dropout(Dropout),
    /// Only reshapes: NHWC is already flat per example, so forward and backward copy.
    Flatten,
    Dense(Dense),
}

impl LayerKind {
    /// The runtime layer for one checked layer plan.
    pub fn from_plan(plan: &LayerPlan) -> Self {
        let image = |s: Shape| match s {
            Shape::Image {
                height,
                width,
                channels,
            } => (height, width, channels),
            Shape::Flat(_) => unreachable!("the plan checked that this layer gets feature maps"),
        };
        match plan.spec {
            LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding,
                dilation,
                activation,
            } => LayerKind::Conv2d(Conv2d {
                input: image(plan.input),
                filters,
                kernel,
                stride,
                dilation,
                padding: padding.to_kernel(),
                relu: activation == Activation::Relu,
            }),
            LayerSpec::BatchNorm { momentum, epsilon } => {
                LayerKind::BatchNorm(BatchNorm::new(plan.input.channels(), momentum, epsilon))
            }
            LayerSpec::MaxPool {
                pool,
                stride,
                padding,
            }
            | LayerSpec::AvgPool {
                pool,
                stride,
                padding,
            } => {
                let kind = if matches!(plan.spec, LayerSpec::MaxPool { .. }) {
                    crate::kernels::pool::PoolKind::Max
                } else {
                    crate::kernels::pool::PoolKind::Average
                };
                LayerKind::Pooling(Pooling::new(
                    kind,
                    image(plan.input),
                    pool,
                    stride,
                    padding.to_kernel(),
                ))
            }
            LayerSpec::Dropout { rate } => LayerKind::Dropout(Dropout::new(rate, plan.input.len())),
            LayerSpec::Flatten => LayerKind::Flatten,
            LayerSpec::Dense { units, activation } => {
                LayerKind::Dense(Dense::new(plan.input.len(), units, activation))
            }
        }
    }

    /// The layer's named tensors, in file and optimizer order.
    pub fn tensors(&self) -> Vec<TensorInfo> {
        match self {
            LayerKind::Conv2d(l) => l.tensors(),
            LayerKind::BatchNorm(l) => l.tensors(),
            LayerKind::Dense(l) => l.tensors(),
            LayerKind::Pooling(_) | LayerKind::Dropout(_) | LayerKind::Flatten => Vec::new(),
        }
    }

    /// Fresh Keras-default values: glorot-uniform kernels, zero biases, BN gamma 1, beta 0,
    /// moving mean 0, moving variance 1.
    pub fn initialize(&self, params: &mut [f32], state: &mut [f32], rng: &mut Rng) {
        match self {
            LayerKind::Conv2d(l) => l.initialize(params, rng),
            LayerKind::BatchNorm(l) => l.initialize(params, state),
            LayerKind::Dense(l) => l.initialize(params, rng),
            LayerKind::Pooling(_) | LayerKind::Dropout(_) | LayerKind::Flatten => {}
        }
    }

    /// Grows the layer's caches to hold `batch` examples (never shrinks).
    pub fn reserve(&mut self, batch: usize, scratch: &mut ConvScratch) {
        match self {
            LayerKind::Conv2d(l) => l.reserve(batch, scratch),
            LayerKind::Pooling(l) => l.reserve(batch),
            LayerKind::Dropout(l) => l.reserve(batch),
            LayerKind::Dense(l) => l.reserve(batch),
            LayerKind::BatchNorm(_) | LayerKind::Flatten => {}
        }
    }

    /// out (N, out shape) overwritten; input (N, in shape).
    #[allow(clippy::too_many_arguments)]
    pub fn forward(
        &mut self,
        out: &mut [f32],
        input: &[f32],
        params: &[f32],
        state: &mut [f32],
        batch: usize,
        mode: Mode,
        ctx: &mut Context,
    ) {
        match self {
            LayerKind::Conv2d(l) => l.forward(out, input, params, batch, ctx.scratch),
            LayerKind::BatchNorm(l) => l.forward(out, input, params, state, mode),
            LayerKind::Pooling(l) => l.forward(out, input, batch),
            LayerKind::Dropout(l) => l.forward(out, input, mode, ctx.rng),
            LayerKind::Flatten => out.copy_from_slice(input),
            LayerKind::Dense(l) => l.forward(out, input, params, batch),
        }
    }

    /// d_input (N, in shape) +=, computed only if `want_d_input` for the layers where it costs
    /// (conv, dense); d_out (N, out shape), may be overwritten; d_params (len of params) += or
    /// none when parameter gradients are not wanted.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &mut self,
        d_input: &mut [f32],
        want_d_input: bool,
        d_out: &mut [f32],
        out: &[f32],
        input: &[f32],
        params: &[f32],
        state: &[f32],
        d_params: Option<&mut [f32]>,
        batch: usize,
        scratch: &mut ConvScratch,
    ) {
        match self {
            LayerKind::Conv2d(l) => l.backward(
                d_input,
                want_d_input,
                d_out,
                out,
                input,
                params,
                d_params,
                batch,
                scratch,
            ),
            LayerKind::BatchNorm(l) => l.backward(d_input, d_out, input, params, state, d_params),
            LayerKind::Pooling(l) => l.backward(d_input, d_out, batch),
            LayerKind::Dropout(l) => l.backward(d_input, d_out),
            LayerKind::Flatten => add_into(d_input, d_out),
            LayerKind::Dense(l) => l.backward(
                d_input,
                want_d_input,
                d_out,
                out,
                input,
                params,
                d_params,
                batch,
            ),
        }
    }
}

/// d_input += d_out, element by element. d_input (len) +=; d_out (len).
fn add_into(d_input: &mut [f32], d_out: &[f32]) {
    for (a, &b) in d_input.iter_mut().zip(d_out) {
        *a += b;
    }
}

/// The gradient through a fused ReLU: zero where the unit was off (out <= 0), in place.
/// d_out (len) masked; out (len) the ReLU's output.
fn mask_by_relu(d_out: &mut [f32], out: &[f32]) {
    for (d, &y) in d_out.iter_mut().zip(out) {
        if y <= 0.0 {
            *d = 0.0;
        }
    }
}
