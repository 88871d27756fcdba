//! Conv2D layer: kernel (KH, KW, C_in, C_out) and bias (C_out) in one flat buffer, with the
//! ReLU fused into the forward kernel (Keras's `Conv2D(..., activation="relu")`).

use super::{mask_by_relu, Storage, TensorInfo};
use crate::kernels::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward};
use crate::kernels::geometry::{ConvGeometry, Padding};
use crate::kernels::init::{conv_fans, glorot_uniform, zeros};
use crate::kernels::scratch::ConvScratch;
use crate::rng::Rng;

#[derive(Debug)]
pub struct Conv2d {
    /// (H, W, C_in) of one input example.
    pub input: (usize, usize, usize),
    pub filters: usize,
    pub kernel: usize,
    pub stride: usize,
    pub dilation: usize,
    pub padding: Padding,
    pub relu: bool,
}

impl Conv2d {
    /// The geometry for a batch of `batch` examples; the plan validated it for any batch.
    pub fn geometry(&self, batch: usize) -> ConvGeometry {
        ConvGeometry::new(
            batch,
            self.input,
            (self.kernel, self.kernel, self.filters),
            self.stride,
            self.dilation,
            self.padding,
        )
        .expect("the model plan validated this convolution")
    }

    fn kernel_len(&self) -> usize {
        self.kernel * self.kernel * self.input.2 * self.filters
    }

    pub fn tensors(&self) -> Vec<TensorInfo> {
        let k = self.kernel;
        vec![
            TensorInfo::new(
                "kernel",
                vec![k, k, self.input.2, self.filters],
                Storage::Trainable,
                0,
            ),
            TensorInfo::new(
                "bias",
                vec![self.filters],
                Storage::Trainable,
                self.kernel_len(),
            ),
        ]
    }

    pub fn initialize(&self, params: &mut [f32], rng: &mut Rng) {
        let (kernel, bias) = params.split_at_mut(self.kernel_len());
        let (fan_in, fan_out) = conv_fans(self.kernel, self.kernel, self.input.2, self.filters);
        glorot_uniform(kernel, fan_in, fan_out, rng);
        zeros(bias);
    }

    pub fn reserve(&self, batch: usize, scratch: &mut ConvScratch) {
        scratch.reserve(&self.geometry(batch));
    }

    /// out (N, OH, OW, CO); input (N, H, W, CI); params = kernel (KH, KW, CI, CO) ++ bias (CO).
    pub fn forward(
        &self,
        out: &mut [f32],
        input: &[f32],
        params: &[f32],
        batch: usize,
        scratch: &mut ConvScratch,
    ) {
        let (kernel, bias) = params.split_at(self.kernel_len());
        conv2d_forward(
            out,
            input,
            kernel,
            Some(bias),
            self.relu,
            &self.geometry(batch),
            scratch,
        );
    }

    /// d_input (N, H, W, CI) +=; d_out (N, OH, OW, CO), masked in place by the fused ReLU;
    /// out (N, OH, OW, CO); input (N, H, W, CI); d_params (kernel ++ bias) +=.
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
        scratch: &mut ConvScratch,
    ) {
        let g = self.geometry(batch);
        if self.relu {
            mask_by_relu(d_out, out);
        }
        if let Some(d_params) = d_params {
            let (d_kernel, d_bias) = d_params.split_at_mut(self.kernel_len());
            conv2d_backward_weight(d_kernel, Some(d_bias), d_out, input, &g, scratch);
        }
        if want_d_input {
            conv2d_backward_input(d_input, d_out, &params[..self.kernel_len()], &g, scratch);
        }
    }
}
