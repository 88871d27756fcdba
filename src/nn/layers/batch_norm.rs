//! BatchNormalization layer over the last axis: gamma and beta are trainable, the moving mean
//! and variance are not (Keras's split, which `summary()` reports). The batch mean and
//! 1/std of the last training forward are cached for backward.

use super::{Mode, Storage, TensorInfo};
use crate::kernels::batchnorm::{
    batchnorm_backward, batchnorm_backward_infer, batchnorm_forward_infer, batchnorm_forward_train,
    BatchNormConfig,
};
use crate::kernels::init::{ones, zeros};

#[derive(Debug)]
pub struct BatchNorm {
    pub channels: usize,
    pub config: BatchNormConfig,
    /// Statistics of the last training batch: mean (C), 1 / sqrt(var + eps) (C).
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    /// Parameter gradients that nobody asked for land here (the kernel always writes them).
    discard: Vec<f32>,
    last_mode: Mode,
}

impl BatchNorm {
    pub fn new(channels: usize, momentum: f64, epsilon: f32) -> Self {
        Self {
            channels,
            config: BatchNormConfig { momentum, epsilon },
            mean: vec![0.0; channels],
            inv_std: vec![0.0; channels],
            discard: vec![0.0; 2 * channels],
            last_mode: Mode::Infer,
        }
    }

    pub fn tensors(&self) -> Vec<TensorInfo> {
        let c = self.channels;
        vec![
            TensorInfo::new("gamma", vec![c], Storage::Trainable, 0),
            TensorInfo::new("beta", vec![c], Storage::Trainable, c),
            TensorInfo::new("moving_mean", vec![c], Storage::NonTrainable, 0),
            TensorInfo::new("moving_variance", vec![c], Storage::NonTrainable, c),
        ]
    }

    pub fn initialize(&self, params: &mut [f32], state: &mut [f32]) {
        let c = self.channels;
        ones(&mut params[..c]);
        zeros(&mut params[c..]);
        zeros(&mut state[..c]);
        ones(&mut state[c..]);
    }

    /// out (rows, C); input (rows, C); params = gamma (C) ++ beta (C);
    /// state = moving_mean (C) ++ moving_var (C), moved toward the batch statistics in training.
    pub fn forward(
        &mut self,
        out: &mut [f32],
        input: &[f32],
        params: &[f32],
        state: &mut [f32],
        mode: Mode,
    ) {
        let c = self.channels;
        let (gamma, beta) = params.split_at(c);
        let (moving_mean, moving_var) = state.split_at_mut(c);
        match mode {
            Mode::Train => batchnorm_forward_train(
                out,
                &mut self.mean,
                &mut self.inv_std,
                moving_mean,
                moving_var,
                input,
                gamma,
                beta,
                c,
                self.config,
            ),
            Mode::Infer => batchnorm_forward_infer(
                out,
                input,
                gamma,
                beta,
                moving_mean,
                moving_var,
                c,
                self.config.epsilon,
            ),
        }
        self.last_mode = mode;
    }

    /// d_input (rows, C) +=; d_out (rows, C); input (rows, C); d_params (gamma ++ beta) +=.
    /// After an inference forward the moving statistics are constants and only d_input is
    /// computed (what saliency and Grad-CAM need).
    pub fn backward(
        &mut self,
        d_input: &mut [f32],
        d_out: &[f32],
        input: &[f32],
        params: &[f32],
        state: &[f32],
        d_params: Option<&mut [f32]>,
    ) {
        let c = self.channels;
        let gamma = &params[..c];
        match self.last_mode {
            Mode::Train => {
                let d_params = match d_params {
                    Some(d) => d,
                    None => &mut self.discard[..],
                };
                let (d_gamma, d_beta) = d_params.split_at_mut(c);
                batchnorm_backward(
                    d_input,
                    d_gamma,
                    d_beta,
                    d_out,
                    &self.mean,
                    &self.inv_std,
                    input,
                    gamma,
                    c,
                );
            }
            Mode::Infer => {
                batchnorm_backward_infer(d_input, d_out, gamma, &state[c..], c, self.config.epsilon)
            }
        }
    }
}
