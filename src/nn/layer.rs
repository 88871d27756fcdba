//! One layer of a built model: its checked plan, its runtime kind (caches and kernel calls) and
//! its flat parameter buffers. Trainable values (kernel then bias, or gamma then beta) live in
//! `params` with their gradients in `grads`; non-trainable values (batch-norm moving mean then
//! moving variance) live in `state`.

use super::layers::{LayerKind, Storage, TensorInfo};
use super::plan::LayerPlan;

#[derive(Debug)]
pub struct Layer {
    pub plan: LayerPlan,
    pub(crate) kind: LayerKind,
    tensors: Vec<TensorInfo>,
    pub(crate) params: Vec<f32>,
    pub(crate) grads: Vec<f32>,
    pub(crate) state: Vec<f32>,
}

impl Layer {
    /// The layer for a checked plan, with zeroed buffers (call `initialize` or load weights).
    pub fn new(plan: LayerPlan) -> Self {
        let kind = LayerKind::from_plan(&plan);
        let tensors = kind.tensors();
        let size = |s: Storage| {
            tensors
                .iter()
                .filter(|t| t.storage == s)
                .map(|t| t.len)
                .sum::<usize>()
        };
        let (trainable, non_trainable) = (size(Storage::Trainable), size(Storage::NonTrainable));
        debug_assert_eq!(
            (trainable, non_trainable),
            (plan.trainable_params, plan.non_trainable_params)
        );
        Self {
            plan,
            kind,
            tensors,
            params: vec![0.0; trainable],
            grads: vec![0.0; trainable],
            state: vec![0.0; non_trainable],
        }
    }

    /// Keras-style name, e.g. `conv2d_1`.
    pub fn name(&self) -> &str {
        &self.plan.name
    }

    /// The named tensors (kernel, bias, gamma, ...), each located in `params` or `state`.
    pub fn tensors(&self) -> &[TensorInfo] {
        &self.tensors
    }

    /// The values of one tensor.
    pub fn tensor(&self, t: &TensorInfo) -> &[f32] {
        let buffer = match t.storage {
            Storage::Trainable => &self.params,
            Storage::NonTrainable => &self.state,
        };
        &buffer[t.offset..t.offset + t.len]
    }

    /// The values of one tensor, to overwrite (loading a model, tests).
    pub fn tensor_mut(&mut self, t: &TensorInfo) -> &mut [f32] {
        let buffer = match t.storage {
            Storage::Trainable => &mut self.params,
            Storage::NonTrainable => &mut self.state,
        };
        &mut buffer[t.offset..t.offset + t.len]
    }

    /// The gradient of a trainable tensor from the last backward pass.
    pub fn tensor_grad(&self, t: &TensorInfo) -> &[f32] {
        assert_eq!(
            t.storage,
            Storage::Trainable,
            "only trainable tensors have gradients"
        );
        &self.grads[t.offset..t.offset + t.len]
    }

    /// All trainable values, flat (kernel then bias, or gamma then beta).
    pub fn params(&self) -> &[f32] {
        &self.params
    }

    /// Gradients of all trainable values, same layout as [`Layer::params`].
    pub fn grads(&self) -> &[f32] {
        &self.grads
    }

    /// All non-trainable values (batch-norm moving mean then moving variance).
    pub fn state(&self) -> &[f32] {
        &self.state
    }

    /// The output layer's logits for the last forward pass (sigmoid/softmax layers only).
    pub(crate) fn logits(&self, batch: usize) -> Option<&[f32]> {
        match &self.kind {
            LayerKind::Dense(d) if d.has_logits() => Some(d.logits(batch)),
            _ => None,
        }
    }
}
