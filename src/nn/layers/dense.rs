//! Dense layer: kernel (in, out) and bias (out) in one flat buffer. A hidden Dense fuses its
//! ReLU into the kernel. The output layer keeps its logits beside its probabilities: the loss
//! and the explanations work on the logits, the summary and predictions show probabilities.

use super::{mask_by_relu, Storage, TensorInfo};
use crate::kernels::activation::sigmoid_forward;
use crate::kernels::dense::{dense_backward, dense_forward};
use crate::kernels::gemm::{gemm, Epilogue, Operand};
use crate::kernels::init::{dense_fans, glorot_uniform, zeros};
use crate::kernels::loss::softmax_forward;
use crate::nn::spec::Activation;
use crate::rng::Rng;

#[derive(Debug)]
pub struct Dense {
    pub inputs: usize,
    pub units: usize,
    pub activation: Activation,
    /// Pre-activation scores of the last forward, for sigmoid/softmax outputs. (N, units)
    logits: Vec<f32>,
}

impl Dense {
    pub fn new(inputs: usize, units: usize, activation: Activation) -> Self {
        Self {
            inputs,
            units,
            activation,
            logits: Vec::new(),
        }
    }

    fn kernel_len(&self) -> usize {
        self.inputs * self.units
    }

    /// True for the output layer (sigmoid or softmax), whose backward takes d(loss)/d(logits).
    pub fn has_logits(&self) -> bool {
        matches!(self.activation, Activation::Sigmoid | Activation::Softmax)
    }

    /// The logits of the last forward's `batch` examples. (N, units)
    pub fn logits(&self, batch: usize) -> &[f32] {
        assert!(self.has_logits(), "only an output layer keeps logits");
        &self.logits[..batch * self.units]
    }

    pub fn tensors(&self) -> Vec<TensorInfo> {
        vec![
            TensorInfo::new(
                "kernel",
                vec![self.inputs, self.units],
                Storage::Trainable,
                0,
            ),
            TensorInfo::new(
                "bias",
                vec![self.units],
                Storage::Trainable,
                self.kernel_len(),
            ),
        ]
    }

    pub fn initialize(&self, params: &mut [f32], rng: &mut Rng) {
        let (kernel, bias) = params.split_at_mut(self.kernel_len());
        let (fan_in, fan_out) = dense_fans(self.inputs, self.units);
        glorot_uniform(kernel, fan_in, fan_out, rng);
        zeros(bias);
    }

    pub fn reserve(&mut self, batch: usize) {
        if self.has_logits() && self.logits.len() < batch * self.units {
            self.logits.resize(batch * self.units, 0.0);
        }
    }

    /// out (N, units); input (N, inputs); params = kernel (inputs, units) ++ bias (units).
    pub fn forward(&mut self, out: &mut [f32], input: &[f32], params: &[f32], batch: usize) {
        let (kernel, bias) = params.split_at(self.kernel_len());
        let (n, i, o) = (batch, self.inputs, self.units);
        match self.activation {
            Activation::Linear | Activation::Relu => dense_forward(
                out,
                input,
                kernel,
                Some(bias),
                self.activation == Activation::Relu,
                n,
                i,
                o,
            ),
            Activation::Sigmoid | Activation::Softmax => {
                let logits = &mut self.logits[..n * o];
                dense_forward(logits, input, kernel, Some(bias), false, n, i, o);
                if self.activation == Activation::Sigmoid {
                    sigmoid_forward(out, logits);
                } else {
                    softmax_forward(out, logits, o);
                }
            }
        }
    }

    /// d_input (N, inputs) +=; d_out (N, units): for a hidden layer the gradient of its output
    /// (masked in place by the ReLU), for the output layer the gradient of its logits;
    /// out (N, units); input (N, inputs); d_params (kernel ++ bias) +=.
    #[allow(clippy::too_many_arguments)]
    pub fn backward(
        &self,
        d_input: &mut [f32],
        want_d_input: bool,
        d_out: &mut [f32],
        out: &[f32],
        input: &[f32],
        params: &[f32],
        d_params: Option<&mut [f32]>,
        batch: usize,
    ) {
        if self.activation == Activation::Relu {
            mask_by_relu(d_out, out);
        }
        let kernel = &params[..self.kernel_len()];
        let (n, i, o) = (batch, self.inputs, self.units);
        let d_input = want_d_input.then_some(d_input);
        match d_params {
            Some(d_params) => {
                let (d_kernel, d_bias) = d_params.split_at_mut(self.kernel_len());
                dense_backward(
                    d_input,
                    d_kernel,
                    Some(d_bias),
                    d_out,
                    input,
                    kernel,
                    n,
                    i,
                    o,
                );
            }
            None => {
                if let Some(d_input) = d_input {
                    input_gradient(d_input, d_out, kernel, n, i, o);
                }
            }
        }
    }
}

/// d_input (N, I) += d_out (N, O) · kernel^T; kernel (I, O). The input half of
/// `dense_backward`, for explanations, which need no weight gradient.
fn input_gradient(
    d_input: &mut [f32],
    d_out: &[f32],
    kernel: &[f32],
    n: usize,
    i: usize,
    o: usize,
) {
    let accumulate = Epilogue {
        accumulate: true,
        ..Epilogue::default()
    };
    gemm(
        d_input,
        i,
        Operand::plain(d_out, o),
        Operand::transposed(kernel, o),
        accumulate,
        n,
        i,
        o,
    );
}
