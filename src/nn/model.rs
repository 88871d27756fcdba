//! The Sequential model: layers built from a [`ModelSpec`], their activations and the gradient
//! buffers, all preallocated for the largest batch seen (see [`Sequential::reserve`]), so that
//! a training step allocates nothing once the first batch has run.
//!
//! Every layer's output from the last forward pass stays readable ([`Sequential::output`]), and
//! any gradient can be sent down from any layer to any lower one ([`Sequential::backprop`]):
//! what activation maps, saliency and Grad-CAM need.

use super::layer::Layer;
use super::layers::{Context, Mode};
use super::plan::{ModelPlan, OutputKind};
use super::spec::ModelSpec;
use crate::kernels::loss::{
    binary_cross_entropy_with_logits_backward, binary_cross_entropy_with_logits_forward,
    categorical_cross_entropy_with_logits_backward, categorical_cross_entropy_with_logits_forward,
};
use crate::kernels::scratch::ConvScratch;
use crate::rng::{rng_from_seed, Rng};
use crate::{invalid, Result};
use rand::RngExt;

#[derive(Debug)]
pub struct Sequential {
    spec: ModelSpec,
    plan: ModelPlan,
    layers: Vec<Layer>,
    /// Examples the buffers hold.
    capacity: usize,
    /// Examples in the last forward pass (0 before the first).
    batch: usize,
    /// The last forward's input. (capacity, H, W, C)
    input: Vec<f32>,
    /// Each layer's output from the last forward. outputs[i]: (capacity, layer i's output shape)
    outputs: Vec<Vec<f32>>,
    /// Ping-pong gradient buffers: the gradient of a layer's output and of its input.
    /// (capacity, largest activation of the model)
    grad_out: Vec<f32>,
    grad_in: Vec<f32>,
    /// Loss targets as floats: labels (N) for a sigmoid output, one-hot rows (N, K) for softmax.
    targets: Vec<f32>,
    /// Softmax probabilities written by the categorical loss. (N, K)
    loss_probs: Vec<f32>,
    scratch: ConvScratch,
    /// Draws the dropout masks; seeded, so training is reproducible.
    dropout_rng: Rng,
}

impl Sequential {
    /// Builds the model and initializes it the Keras way (glorot-uniform kernels, zero biases,
    /// BN gamma 1, beta 0, moving mean 0, moving variance 1) from `seed`.
    pub fn new(spec: &ModelSpec, seed: u64) -> Result<Self> {
        let plan = spec.plan()?;
        let layers: Vec<Layer> = plan.layers.iter().cloned().map(Layer::new).collect();
        let mut rng = rng_from_seed(seed);
        let mut model = Self {
            spec: spec.clone(),
            outputs: vec![Vec::new(); layers.len()],
            plan,
            layers,
            capacity: 0,
            batch: 0,
            input: Vec::new(),
            grad_out: Vec::new(),
            grad_in: Vec::new(),
            targets: Vec::new(),
            loss_probs: Vec::new(),
            scratch: ConvScratch::new(),
            dropout_rng: rng_from_seed(0),
        };
        for layer in &mut model.layers {
            let (params, state) = (&mut layer.params, &mut layer.state);
            layer.kind.initialize(params, state, &mut rng);
        }
        model.dropout_rng = rng_from_seed(rng.random::<u64>());
        Ok(model)
    }

    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    pub fn plan(&self) -> &ModelPlan {
        &self.plan
    }

    /// The Keras-style summary (`summary().to_text()` prints the table).
    pub fn summary(&self) -> super::summary::Summary {
        super::summary::Summary::from_plan(&self.plan)
    }

    pub fn output_kind(&self) -> OutputKind {
        self.plan.output
    }

    pub fn layers(&self) -> &[Layer] {
        &self.layers
    }

    /// A layer, to overwrite its weights (loading a file, tests).
    pub fn layer_mut(&mut self, index: usize) -> &mut Layer {
        &mut self.layers[index]
    }

    /// Values in one input example (H * W * C).
    pub fn input_len(&self) -> usize {
        self.plan.input.len()
    }

    /// Restarts the dropout masks from `seed` (the trainer does, so that a run is reproducible).
    pub fn seed_dropout(&mut self, seed: u64) {
        self.dropout_rng = rng_from_seed(seed);
    }

    /// Examples the buffers currently hold.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The batch to score sets in: at most `largest`, and no larger than the buffers the model
    /// already holds (a trained model holds its training batch's), so that scoring does not
    /// grow its memory (64 after training in batches of 32 would add ~50 MB, past the 128 MB
    /// budget of issue 6). Inference gives the same probabilities in any batch size.
    pub fn scoring_batch(&self, largest: usize) -> usize {
        match self.capacity {
            0 => largest,
            c => c.min(largest),
        }
    }

    /// Grows every buffer to hold `batch` examples; later passes with at most that many
    /// examples allocate nothing.
    pub fn reserve(&mut self, batch: usize) {
        if batch <= self.capacity {
            return;
        }
        let grow = |v: &mut Vec<f32>, len: usize| {
            if v.len() < len {
                v.resize(len, 0.0);
            }
        };
        grow(&mut self.input, batch * self.plan.input.len());
        let mut largest = self.plan.input.len();
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let len = layer.plan.output.len();
            largest = largest.max(len);
            grow(&mut self.outputs[i], batch * len);
            layer.kind.reserve(batch, &mut self.scratch);
        }
        grow(&mut self.grad_out, batch * largest);
        grow(&mut self.grad_in, batch * largest);
        let units = self.plan.output.units();
        grow(&mut self.targets, batch * units);
        grow(&mut self.loss_probs, batch * units);
        self.capacity = batch;
    }

    /// Runs the model on `x` (N, H, W, C), N >= 1; returns the output probabilities (N, K).
    /// `Mode::Train` uses batch statistics, moves the BN moving statistics and applies dropout.
    pub fn forward(&mut self, x: &[f32], mode: Mode) -> &[f32] {
        let per_example = self.plan.input.len();
        assert!(
            !x.is_empty() && x.len().is_multiple_of(per_example),
            "input length {} is not a whole number of {per_example}-value examples",
            x.len()
        );
        let n = x.len() / per_example;
        self.reserve(n);
        self.batch = n;
        self.input[..x.len()].copy_from_slice(x);
        let mut ctx = Context {
            scratch: &mut self.scratch,
            rng: &mut self.dropout_rng,
        };
        for (i, layer) in self.layers.iter_mut().enumerate() {
            let (before, rest) = self.outputs.split_at_mut(i);
            let input = if i == 0 {
                &self.input[..x.len()]
            } else {
                &before[i - 1][..n * layer.plan.input.len()]
            };
            let out = &mut rest[0][..n * layer.plan.output.len()];
            layer.kind.forward(
                out,
                input,
                &layer.params,
                &mut layer.state,
                n,
                mode,
                &mut ctx,
            );
        }
        self.probabilities()
    }

    /// Examples in the last forward pass.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// The input of the last forward pass. (N, H, W, C)
    pub fn input(&self) -> &[f32] {
        &self.input[..self.batch * self.plan.input.len()]
    }

    /// Layer `index`'s output from the last forward pass, (N, its output shape): what Keras
    /// shows as that layer's activations (probabilities for the output layer).
    pub fn output(&self, index: usize) -> &[f32] {
        &self.outputs[index][..self.batch * self.layers[index].plan.output.len()]
    }

    /// The output probabilities of the last forward pass. (N, K)
    pub fn probabilities(&self) -> &[f32] {
        self.output(self.layers.len() - 1)
    }

    /// The output layer's logits (scores before the sigmoid/softmax) of the last forward. (N, K)
    pub fn logits(&self) -> &[f32] {
        self.layers
            .last()
            .and_then(|l| l.logits(self.batch))
            .expect("the plan guarantees a sigmoid or softmax output layer")
    }

    /// The predicted class of example `i` of the last forward: for one sigmoid unit, 1 when the
    /// probability is above 0.5 (Keras's `binary_accuracy`); for softmax, the most probable class.
    pub fn predicted_class(&self, i: usize) -> usize {
        let units = self.plan.output.units();
        let p = &self.probabilities()[i * units..(i + 1) * units];
        match self.plan.output {
            OutputKind::Binary => usize::from(p[0] > 0.5),
            OutputKind::Categorical { .. } => argmax(p),
        }
    }

    /// Mean loss of the last forward pass against `labels` (N class indices), computed from the
    /// logits: binary cross-entropy for a sigmoid output, categorical for softmax. With
    /// `gradient`, also leaves d(loss)/d(logits) ready for [`Sequential::backward_loss`].
    pub fn loss(&mut self, labels: &[u8], gradient: bool) -> f32 {
        let n = self.batch;
        assert_eq!(
            labels.len(),
            n,
            "one label per example of the last forward pass"
        );
        let last = self.layers.len() - 1;
        let logits = self.layers[last]
            .logits(n)
            .expect("output layer keeps logits");
        let d_logits = &mut self.grad_out[..logits.len()];
        match self.plan.output {
            OutputKind::Binary => {
                let targets = &mut self.targets[..n];
                for (t, &y) in targets.iter_mut().zip(labels) {
                    assert!(y <= 1, "label {y} is not 0 or 1");
                    *t = y as f32;
                }
                let loss = binary_cross_entropy_with_logits_forward(logits, targets);
                if gradient {
                    d_logits.fill(0.0);
                    binary_cross_entropy_with_logits_backward(d_logits, logits, targets, 1.0);
                }
                loss
            }
            OutputKind::Categorical { classes } => {
                let targets = &mut self.targets[..n * classes];
                targets.fill(0.0);
                for (row, &y) in targets.chunks_exact_mut(classes).zip(labels) {
                    row[y as usize] = 1.0;
                }
                let probs = &mut self.loss_probs[..n * classes];
                let loss =
                    categorical_cross_entropy_with_logits_forward(probs, logits, targets, classes);
                if gradient {
                    d_logits.fill(0.0);
                    categorical_cross_entropy_with_logits_backward(
                        d_logits, probs, targets, classes, 1.0,
                    );
                }
                loss
            }
        }
    }

    /// d(loss)/d(logits) left by the last `loss(labels, true)`, (N, K): where
    /// [`Sequential::backward_loss`] starts; a step shown layer by layer starts there too.
    pub fn loss_gradient(&self) -> &[f32] {
        &self.grad_out[..self.batch * self.plan.output.units()]
    }

    /// Sets every parameter gradient to zero (backward accumulates into them).
    pub fn zero_grads(&mut self) {
        for layer in &mut self.layers {
            layer.grads.fill(0.0);
        }
    }

    /// Backpropagates the gradient left by `loss(labels, true)` through the whole model,
    /// accumulating every parameter gradient (the input gradient is not computed).
    pub fn backward_loss(&mut self) {
        let last = self.layers.len() - 1;
        self.run_backward(last, 0, true, false);
    }

    /// Sends `d_output` down from layer `from` to layer `down_to` (inclusive) and returns the
    /// gradient with respect to `down_to`'s input, (N, its input shape); `down_to = 0` gives
    /// the gradient of the image. `d_output` is (N, layer `from`'s output shape), except for the
    /// output layer, where it is the gradient of the logits (explanations work on the logit).
    /// With `param_grads`, parameter gradients accumulate too (zero them first).
    /// Runs in the mode of the last forward pass, on its batch.
    pub fn backprop(
        &mut self,
        from: usize,
        d_output: &[f32],
        down_to: usize,
        param_grads: bool,
    ) -> &[f32] {
        assert!(self.batch > 0, "backprop needs a forward pass first");
        assert!(
            down_to <= from && from < self.layers.len(),
            "backprop goes from a layer down to an earlier one"
        );
        let n = self.batch;
        let len = n * self.layers[from].plan.output.len();
        assert_eq!(
            d_output.len(),
            len,
            "d_output must be (N, output shape of layer {from})"
        );
        self.grad_out[..len].copy_from_slice(d_output);
        self.run_backward(from, down_to, param_grads, true);
        &self.grad_out[..n * self.layers[down_to].plan.input.len()]
    }

    /// Backward from layer `from` (its output gradient in `grad_out`) down to `down_to`; the
    /// input gradient of `down_to` ends in `grad_out`, if `bottom_input_grad`.
    fn run_backward(
        &mut self,
        from: usize,
        down_to: usize,
        param_grads: bool,
        bottom_input_grad: bool,
    ) {
        let n = self.batch;
        for i in (down_to..=from).rev() {
            let layer = &mut self.layers[i];
            let in_len = n * layer.plan.input.len();
            let out_len = n * layer.plan.output.len();
            let want_d_input = i > down_to || bottom_input_grad;
            let d_input = &mut self.grad_in[..in_len];
            d_input.fill(0.0);
            let input = if i == 0 {
                &self.input[..in_len]
            } else {
                &self.outputs[i - 1][..in_len]
            };
            let out = &self.outputs[i][..out_len];
            let d_params = param_grads.then_some(&mut layer.grads[..]);
            let d_out = &mut self.grad_out[..out_len];
            layer.kind.backward(
                d_input,
                want_d_input,
                d_out,
                out,
                input,
                &layer.params,
                &layer.state,
                d_params,
                n,
                &mut self.scratch,
            );
            std::mem::swap(&mut self.grad_out, &mut self.grad_in);
        }
    }

    /// Copies every trainable and non-trainable value (for restoring the best epoch).
    pub fn snapshot(&self) -> Weights {
        Weights {
            params: self.layers.iter().map(|l| l.params.clone()).collect(),
            state: self.layers.iter().map(|l| l.state.clone()).collect(),
        }
    }

    /// Copies `weights` into the snapshot's buffers, reusing them (no allocation).
    pub fn snapshot_into(&self, weights: &mut Weights) {
        for (l, (p, s)) in self
            .layers
            .iter()
            .zip(weights.params.iter_mut().zip(weights.state.iter_mut()))
        {
            p.copy_from_slice(&l.params);
            s.copy_from_slice(&l.state);
        }
    }

    /// Puts back weights taken with [`Sequential::snapshot`] from a model of the same spec.
    pub fn restore(&mut self, weights: &Weights) -> Result<()> {
        if weights.params.len() != self.layers.len()
            || self
                .layers
                .iter()
                .zip(&weights.params)
                .any(|(l, p)| l.params.len() != p.len())
            || self
                .layers
                .iter()
                .zip(&weights.state)
                .any(|(l, s)| l.state.len() != s.len())
        {
            return Err(invalid!("these weights belong to a different model"));
        }
        for (l, (p, s)) in self
            .layers
            .iter_mut()
            .zip(weights.params.iter().zip(&weights.state))
        {
            l.params.copy_from_slice(p);
            l.state.copy_from_slice(s);
        }
        Ok(())
    }

    /// Mutable access to each layer's trainable values and their gradients, for the optimizer.
    pub(crate) fn params_and_grads(&mut self) -> impl Iterator<Item = (&mut [f32], &[f32])> {
        self.layers
            .iter_mut()
            .map(|l| (&mut l.params[..], &l.grads[..]))
    }
}

/// Every trainable and non-trainable value of a model, per layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    pub params: Vec<Vec<f32>>,
    pub state: Vec<Vec<f32>>,
}

/// Index of the largest value (the first one on ties).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        if v > values[best] {
            best = i;
        }
    }
    best
}
