//! The other layers run backwards, each written out term by term beside the training kernel's
//! result: batch norm's dx through its three paths, dropout's mask, dense as an outer product.

use crate::kernels::batchnorm::{batchnorm_backward, batchnorm_forward_train, BatchNormConfig};
use crate::kernels::dense::dense_backward;
use crate::kernels::dropout::{dropout_backward, dropout_forward_train, validate_rate};
use crate::rng::rng_from_seed;
use crate::{invalid, Result};
use serde::Serialize;

/// Batch norm's training backward over (rows, C) values, per channel.
#[derive(Debug, Clone)]
pub struct BatchNormBackward {
    pub rows: usize,
    pub channels: usize,
    pub input: Vec<f32>, // (rows, C)
    pub gamma: Vec<f32>, // (C)
    pub d_out: Vec<f32>, // (rows, C)
    /// This batch's statistics, from the forward kernel. (C)
    pub mean: Vec<f32>,
    pub inv_std: Vec<f32>,
    /// From the backward kernel: (C), (C), (rows, C).
    pub d_gamma: Vec<f32>,
    pub d_beta: Vec<f32>,
    pub d_input: Vec<f32>,
    /// dx split into its paths, computed apart from the kernel. (rows, C) each
    pub paths: BatchNormPaths,
}

/// dx = direct + through the mean + through the variance. With xhat = (x - mean) * inv_std,
/// dxhat = gamma * dy and M rows:
/// direct = dxhat * inv_std; via_mean = -inv_std / M * sum(dxhat);
/// via_variance = -xhat * inv_std / M * sum(dxhat * xhat).
#[derive(Debug, Clone, PartialEq)]
pub struct BatchNormPaths {
    pub direct: Vec<f32>,
    pub via_mean: Vec<f32>,
    pub via_variance: Vec<f32>,
}

/// The three paths (f64 sums) for d_out over input with this batch's mean and inv_std.
pub fn batchnorm_paths(
    d_out: &[f32],
    input: &[f32],
    gamma: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    channels: usize,
) -> BatchNormPaths {
    let rows = input.len() / channels;
    let m = rows as f64;
    let mut paths = BatchNormPaths {
        direct: vec![0.0; input.len()],
        via_mean: vec![0.0; input.len()],
        via_variance: vec![0.0; input.len()],
    };
    for c in 0..channels {
        let s = inv_std[c] as f64;
        let xhat = |r: usize| (input[r * channels + c] as f64 - mean[c] as f64) * s;
        let dxhat = |r: usize| gamma[c] as f64 * d_out[r * channels + c] as f64;
        let sum_dxhat: f64 = (0..rows).map(dxhat).sum();
        let sum_dxhat_xhat: f64 = (0..rows).map(|r| dxhat(r) * xhat(r)).sum();
        for r in 0..rows {
            let i = r * channels + c;
            paths.direct[i] = (dxhat(r) * s) as f32;
            paths.via_mean[i] = (-s / m * sum_dxhat) as f32;
            paths.via_variance[i] = (-xhat(r) * s / m * sum_dxhat_xhat) as f32;
        }
    }
    paths
}

/// One value's gradient written out.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BatchNormTerms {
    pub row: usize,
    pub channel: usize,
    pub x: f32,
    pub xhat: f32,
    pub dy: f32,
    pub gamma: f32,
    pub mean: f32,
    pub variance: f32,
    pub inv_std: f32,
    pub rows: usize,
    pub direct: f32,
    pub via_mean: f32,
    pub via_variance: f32,
    /// direct + via_mean + via_variance.
    pub sum: f32,
    /// The backward kernel's dx.
    pub kernel: f32,
    /// The channel's d gamma = sum(dy * xhat) and d beta = sum(dy), from the kernel.
    pub d_gamma: f32,
    pub d_beta: f32,
}

impl BatchNormBackward {
    /// Batch norm in training mode over `input` (rows, C) with `gamma`, `beta` (C), and the
    /// backward pass of `d_out` (rows, C).
    pub fn new(
        input: Vec<f32>,
        channels: usize,
        gamma: Vec<f32>,
        beta: Vec<f32>,
        d_out: Vec<f32>,
    ) -> Result<Self> {
        if channels == 0 || input.is_empty() || !input.len().is_multiple_of(channels) {
            return Err(invalid!(
                "batch norm needs at least one row of {channels} channels (got {} values)",
                input.len()
            ));
        }
        if gamma.len() != channels || beta.len() != channels || d_out.len() != input.len() {
            return Err(invalid!("gamma and beta need one value per channel ({channels}) and the gradient one per input value ({})", input.len()));
        }
        if input
            .iter()
            .chain(&gamma)
            .chain(&beta)
            .chain(&d_out)
            .any(|v| !v.is_finite())
        {
            return Err(invalid!(
                "a value given to batch norm is not a finite number"
            ));
        }
        let rows = input.len() / channels;
        let cfg = BatchNormConfig::default();
        let (mut mean, mut inv_std) = (vec![0.0; channels], vec![0.0; channels]);
        let (mut moving_mean, mut moving_var) = (vec![0.0; channels], vec![1.0; channels]);
        let mut out = vec![0.0; input.len()];
        batchnorm_forward_train(
            &mut out,
            &mut mean,
            &mut inv_std,
            &mut moving_mean,
            &mut moving_var,
            &input,
            &gamma,
            &beta,
            channels,
            cfg,
        );
        let (mut d_gamma, mut d_beta) = (vec![0.0; channels], vec![0.0; channels]);
        let mut d_input = vec![0.0; input.len()];
        batchnorm_backward(
            &mut d_input,
            &mut d_gamma,
            &mut d_beta,
            &d_out,
            &mean,
            &inv_std,
            &input,
            &gamma,
            channels,
        );
        let paths = batchnorm_paths(&d_out, &input, &gamma, &mean, &inv_std, channels);
        Ok(Self {
            rows,
            channels,
            input,
            gamma,
            d_out,
            mean,
            inv_std,
            d_gamma,
            d_beta,
            d_input,
            paths,
        })
    }

    /// Value (row, channel) written out.
    pub fn terms(&self, row: usize, channel: usize) -> Result<BatchNormTerms> {
        if row >= self.rows || channel >= self.channels {
            return Err(invalid!(
                "there is no value at row {} of channel {} ({} rows, {} channels)",
                row + 1,
                channel + 1,
                self.rows,
                self.channels
            ));
        }
        let i = row * self.channels + channel;
        let s = self.inv_std[channel];
        let p = &self.paths;
        Ok(BatchNormTerms {
            row,
            channel,
            x: self.input[i],
            xhat: (self.input[i] - self.mean[channel]) * s,
            dy: self.d_out[i],
            gamma: self.gamma[channel],
            mean: self.mean[channel],
            variance: 1.0 / (s * s) - BatchNormConfig::default().epsilon,
            inv_std: s,
            rows: self.rows,
            direct: p.direct[i],
            via_mean: p.via_mean[i],
            via_variance: p.via_variance[i],
            sum: p.direct[i] + p.via_mean[i] + p.via_variance[i],
            kernel: self.d_input[i],
            d_gamma: self.d_gamma[channel],
            d_beta: self.d_beta[channel],
        })
    }
}

/// Dropout in training: the mask drawn by the kernel, and the gradient through it.
#[derive(Debug, Clone, PartialEq)]
pub struct DropoutBackward {
    pub rate: f32,
    /// 0 where a unit was dropped, 1 / (1 - rate) where it was kept.
    pub mask: Vec<f32>,
    pub d_out: Vec<f32>,
    /// d_out * mask, from the kernel.
    pub d_input: Vec<f32>,
}

impl DropoutBackward {
    pub fn new(input: &[f32], rate: f32, seed: u64, d_out: Vec<f32>) -> Result<Self> {
        validate_rate(rate)?;
        if d_out.len() != input.len() {
            return Err(invalid!(
                "the gradient needs one value per input value ({})",
                input.len()
            ));
        }
        let mut mask = vec![0.0; input.len()];
        let mut out = vec![0.0; input.len()];
        dropout_forward_train(&mut out, &mut mask, input, rate, &mut rng_from_seed(seed));
        let mut d_input = vec![0.0; input.len()];
        dropout_backward(&mut d_input, &d_out, &mask);
        Ok(Self {
            rate,
            mask,
            d_out,
            d_input,
        })
    }
}

/// A dense layer y = x W + b run backwards: dW is the outer product of x and dy, summed over
/// the batch; dx = dy W^T; d bias = sum of dy.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseBackward {
    pub batch: usize,
    pub inputs: usize,
    pub units: usize,
    pub input: Vec<f32>,  // (N, I)
    pub weight: Vec<f32>, // (I, O)
    pub d_out: Vec<f32>,  // (N, O)
    /// From the kernel: (I, O), (O), (N, I).
    pub d_weight: Vec<f32>,
    pub d_bias: Vec<f32>,
    pub d_input: Vec<f32>,
}

/// dW[i][j] written out: x[n][i] * dy[n][j] for every example.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OuterTerms {
    pub input: usize,
    pub unit: usize,
    pub x: Vec<f32>,
    pub dy: Vec<f32>,
    pub products: Vec<f32>,
    pub sum: f32,
    pub kernel: f32,
}

impl DenseBackward {
    pub fn new(
        input: Vec<f32>,
        weight: Vec<f32>,
        d_out: Vec<f32>,
        inputs: usize,
        units: usize,
    ) -> Result<Self> {
        if inputs == 0 || units == 0 || input.is_empty() || !input.len().is_multiple_of(inputs) {
            return Err(invalid!(
                "a dense layer needs whole rows of {inputs} inputs (got {} values)",
                input.len()
            ));
        }
        let batch = input.len() / inputs;
        if weight.len() != inputs * units || d_out.len() != batch * units {
            return Err(invalid!(
                "{inputs} inputs and {units} units need {} weights and {} gradient values (got {} and {})",
                inputs * units,
                batch * units,
                weight.len(),
                d_out.len()
            ));
        }
        let mut d_weight = vec![0.0; weight.len()];
        let mut d_bias = vec![0.0; units];
        let mut d_input = vec![0.0; input.len()];
        dense_backward(
            Some(&mut d_input),
            &mut d_weight,
            Some(&mut d_bias),
            &d_out,
            &input,
            &weight,
            batch,
            inputs,
            units,
        );
        Ok(Self {
            batch,
            inputs,
            units,
            input,
            weight,
            d_out,
            d_weight,
            d_bias,
            d_input,
        })
    }

    /// dW[i][j] as the sum over the batch of x[n][i] * dy[n][j].
    pub fn outer(&self, i: usize, j: usize) -> Result<OuterTerms> {
        if i >= self.inputs || j >= self.units {
            return Err(invalid!(
                "there is no weight from input {} to unit {} ({} inputs, {} units)",
                i + 1,
                j + 1,
                self.inputs,
                self.units
            ));
        }
        let x: Vec<f32> = (0..self.batch)
            .map(|n| self.input[n * self.inputs + i])
            .collect();
        let dy: Vec<f32> = (0..self.batch)
            .map(|n| self.d_out[n * self.units + j])
            .collect();
        let products: Vec<f32> = x.iter().zip(&dy).map(|(a, b)| a * b).collect();
        Ok(OuterTerms {
            input: i,
            unit: j,
            sum: products.iter().sum(),
            x,
            dy,
            products,
            kernel: self.d_weight[i * self.units + j],
        })
    }
}
