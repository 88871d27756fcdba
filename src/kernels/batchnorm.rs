//! Batch normalization over the last (channel) axis, as Keras's `BatchNormalization(axis=-1)`.
//!
//! The input is seen as (rows, C) where rows is everything before the channel axis: (N, H, W, C)
//! after a convolution, (N, C) after a dense layer. Each channel is normalized with the mean and
//! the biased variance (divided by rows, as `jnp.var`) of its rows in training, and with the
//! moving statistics at inference. Keras 3 moves them with the same biased batch variance:
//! `moving = moving * momentum + batch * (1 - momentum)`.
//!
//! The training cache is per channel: the batch `mean` and `inv_std = 1 / sqrt(var + eps)`;
//! backward recomputes the normalized input from them and the input, so nothing of size rows x C
//! is stored twice.
//!
//! Sums over many rows are taken in blocks: four-lane f32 partial sums over `BLOCK_ROWS` rows,
//! flushed into f64 totals, so that a 131 072-row batch (32 images of 64x64) loses no precision;
//! the mean is summed as deviations from the first row, so a large common offset costs none either
//! (the fixture case with mean 20 and std 0.1 checks it against float64).
//! Per-channel constants live on the stack, `CHANNEL_GROUP` channels at a time: no allocation.

use crate::{invalid, Result};

/// Momentum and epsilon of a batch-norm layer (Keras defaults: 0.99 and 1e-3). The momentum is
/// held in f64, as Keras holds it (a Python float), because 1 - momentum must be formed from it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormConfig {
    pub momentum: f64,
    pub epsilon: f32,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        Self {
            momentum: 0.99,
            epsilon: 1e-3,
        }
    }
}

impl BatchNormConfig {
    /// Checks settings that come from the user.
    pub fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(invalid!(
                "the batch-norm momentum must be between 0 and 1 (got {})",
                self.momentum
            ));
        }
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(invalid!(
                "the batch-norm epsilon must be a small positive number (got {})",
                self.epsilon
            ));
        }
        Ok(())
    }

    /// The two weights of the moving average, (momentum, 1 - momentum), each rounded once to f32
    /// from the f64 momentum, as Keras does (it subtracts in Python, then the float32 tensor
    /// meets a Python float). Forming 1 - momentum from an f32 momentum would be off: for 0.99,
    /// 0.0099999905 instead of 0.01.
    fn moving_weights(&self) -> (f32, f32) {
        (self.momentum as f32, (1.0 - self.momentum) as f32)
    }
}

/// Rows summed in f32 before they are flushed into the f64 totals.
const BLOCK_ROWS: usize = 256;
/// Channels whose per-channel constants are kept on the stack at once.
const CHANNEL_GROUP: usize = 64;
/// A zero centre correction for kernels whose centre is already an f32.
const ZEROS: [f32; CHANNEL_GROUP] = [0.0; CHANNEL_GROUP];

fn rows_of(len: usize, channels: usize) -> usize {
    assert!(
        channels > 0 && len.is_multiple_of(channels),
        "buffer length {len} is not a multiple of {channels} channels"
    );
    let rows = len / channels;
    assert!(rows > 0, "batch norm needs at least one row");
    rows
}

/// Training forward: normalizes with this batch's statistics, caches them, and moves the moving
/// statistics toward them. Overwrites `out`, `mean`, `inv_std`; updates `moving_mean`, `moving_var`.
/// out (rows, C); mean (C) cache; inv_std (C) cache; moving_mean (C); moving_var (C);
/// input (rows, C); gamma (C); beta (C).
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_train(
    out: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
    moving_mean: &mut [f32],
    moving_var: &mut [f32],
    input: &[f32],
    gamma: &[f32],
    beta: &[f32],
    channels: usize,
    cfg: BatchNormConfig,
) {
    let rows = rows_of(input.len(), channels);
    assert_eq!(out.len(), input.len());
    for s in [&*mean, &*inv_std, &*moving_mean, &*moving_var, gamma, beta] {
        assert_eq!(s.len(), channels);
    }
    let (keep_old, keep_new) = cfg.moving_weights();
    for c0 in (0..channels).step_by(CHANNEL_GROUP) {
        let c1 = (c0 + CHANNEL_GROUP).min(channels);
        let w = c1 - c0;
        let mut totals = [0f64; CHANNEL_GROUP];
        let mut mean_lo = [0f32; CHANNEL_GROUP];

        // Sum deviations from the first row rather than raw values: with |mean| >> std, f32
        // partial sums of raw values would lose the digits that tell the rows apart.
        let mut first_row = [0f32; CHANNEL_GROUP];
        first_row[..w].copy_from_slice(&input[c0..c1]);
        let origin = Centre {
            hi: &first_row[..w],
            lo: &ZEROS[..w],
        };
        sum_rows(
            &mut totals[..w],
            input,
            Term::Deviation { centre: origin },
            channels,
            c0,
        );
        for k in 0..w {
            // The f64 mean as hi + lo: (x - hi) - lo is exact up to one f32 rounding even when
            // |mean| >> std, where the rounded f32 mean alone would shift every normalized value
            // by up to ulp(mean) / 2 * inv_std.
            let m = first_row[k] as f64 + totals[k] / rows as f64;
            mean[c0 + k] = m as f32;
            mean_lo[k] = (m - mean[c0 + k] as f64) as f32;
        }
        // Two passes (mean, then squared deviations) as jnp.var: no cancellation.
        let centre = Centre {
            hi: &mean[c0..c1],
            lo: &mean_lo[..w],
        };
        sum_rows(
            &mut totals[..w],
            input,
            Term::SquaredDeviation { centre },
            channels,
            c0,
        );

        let mut scale = [0f32; CHANNEL_GROUP];
        let mut shift = [0f32; CHANNEL_GROUP];
        for k in 0..w {
            let c = c0 + k;
            let var = (totals[k] / rows as f64) as f32;
            inv_std[c] = 1.0 / (var + cfg.epsilon).sqrt();
            moving_mean[c] = moving_mean[c] * keep_old + mean[c] * keep_new;
            moving_var[c] = moving_var[c] * keep_old + var * keep_new;
            scale[k] = inv_std[c] * gamma[c];
            shift[k] = beta[c];
        }
        affine_rows(out, input, centre, &scale[..w], &shift[..w], channels, c0);
    }
}

/// Inference forward with the moving statistics. Overwrites `out`.
/// out (rows, C); input (rows, C); gamma, beta, moving_mean, moving_var (C).
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_infer(
    out: &mut [f32],
    input: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moving_mean: &[f32],
    moving_var: &[f32],
    channels: usize,
    epsilon: f32,
) {
    rows_of(input.len(), channels);
    assert_eq!(out.len(), input.len());
    for s in [gamma, beta, moving_mean, moving_var] {
        assert_eq!(s.len(), channels);
    }
    for c0 in (0..channels).step_by(CHANNEL_GROUP) {
        let c1 = (c0 + CHANNEL_GROUP).min(channels);
        let w = c1 - c0;
        let mut scale = [0f32; CHANNEL_GROUP];
        for k in 0..w {
            scale[k] = gamma[c0 + k] / (moving_var[c0 + k] + epsilon).sqrt();
        }
        let centre = Centre {
            hi: &moving_mean[c0..c1],
            lo: &ZEROS[..w],
        };
        affine_rows(out, input, centre, &scale[..w], &beta[c0..c1], channels, c0);
    }
}

/// Training backward. Accumulates into `d_input`, `d_gamma`, `d_beta`.
/// d_input (rows, C) +=; d_gamma (C) +=; d_beta (C) +=; d_out (rows, C);
/// mean, inv_std (C) from [`batchnorm_forward_train`]; input (rows, C); gamma (C).
///
/// With xhat = (x - mean) * inv_std and M rows:
/// d_x = gamma * inv_std * (dy - mean(dy) - xhat * mean(dy * xhat)).
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_backward(
    d_input: &mut [f32],
    d_gamma: &mut [f32],
    d_beta: &mut [f32],
    d_out: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    input: &[f32],
    gamma: &[f32],
    channels: usize,
) {
    let rows = rows_of(input.len(), channels);
    assert!(d_input.len() == input.len() && d_out.len() == input.len());
    for s in [&*d_gamma, &*d_beta, mean, inv_std, gamma] {
        assert_eq!(s.len(), channels);
    }
    for c0 in (0..channels).step_by(CHANNEL_GROUP) {
        let c1 = (c0 + CHANNEL_GROUP).min(channels);
        let w = c1 - c0;
        let mut sum_dy = [0f64; CHANNEL_GROUP];
        let mut sum_dy_centred = [0f64; CHANNEL_GROUP];
        sum_rows(&mut sum_dy[..w], d_out, Term::Value, channels, c0);
        sum_rows(
            &mut sum_dy_centred[..w],
            input,
            Term::WeightedDeviation {
                centre: Centre {
                    hi: &mean[c0..c1],
                    lo: &ZEROS[..w],
                },
                weight: d_out,
            },
            channels,
            c0,
        );

        // d_x = k_dy * dy + k_x * (x - mean) + k_0 per channel, with the constants below.
        let mut k_dy = [0f32; CHANNEL_GROUP];
        let mut k_x = [0f32; CHANNEL_GROUP];
        let mut k_0 = [0f32; CHANNEL_GROUP];
        for k in 0..w {
            let c = c0 + k;
            let s_dy = sum_dy[k] as f32;
            let s_dy_xhat = (sum_dy_centred[k] * inv_std[c] as f64) as f32;
            d_beta[c] += s_dy;
            d_gamma[c] += s_dy_xhat;
            let g = gamma[c] * inv_std[c];
            let mean_dy = s_dy / rows as f32;
            let mean_dy_xhat = s_dy_xhat / rows as f32;
            // g * (dy - mean_dy - (x - mean) * inv_std * mean_dy_xhat)
            k_dy[k] = g;
            k_x[k] = -g * inv_std[c] * mean_dy_xhat;
            k_0[k] = -g * mean_dy;
        }
        let coefs = BackwardCoefs {
            k_dy: &k_dy[..w],
            k_x: &k_x[..w],
            k_0: &k_0[..w],
            centre: &mean[c0..c1],
        };
        backward_rows(d_input, d_out, input, coefs, channels, c0);
    }
}

/// Backward of the inference forward (the moving statistics are constants): what saliency and
/// Grad-CAM need through a trained model. Accumulates into `d_input`.
/// d_input (rows, C) +=; d_out (rows, C); gamma, moving_var (C).
pub fn batchnorm_backward_infer(
    d_input: &mut [f32],
    d_out: &[f32],
    gamma: &[f32],
    moving_var: &[f32],
    channels: usize,
    epsilon: f32,
) {
    rows_of(d_out.len(), channels);
    assert_eq!(d_input.len(), d_out.len());
    assert!(gamma.len() == channels && moving_var.len() == channels);
    for c0 in (0..channels).step_by(CHANNEL_GROUP) {
        let c1 = (c0 + CHANNEL_GROUP).min(channels);
        let w = c1 - c0;
        let mut scale = [0f32; CHANNEL_GROUP];
        for k in 0..w {
            scale[k] = gamma[c0 + k] / (moving_var[c0 + k] + epsilon).sqrt();
        }
        let coefs = BackwardCoefs {
            k_dy: &scale[..w],
            k_x: &ZEROS[..w],
            k_0: &ZEROS[..w],
            centre: &ZEROS[..w],
        };
        backward_rows(d_input, d_out, d_out, coefs, channels, c0);
    }
}

/// Scalar reference of the training forward: f64 sums, one element at a time.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_train_reference(
    out: &mut [f32],
    mean: &mut [f32],
    inv_std: &mut [f32],
    moving_mean: &mut [f32],
    moving_var: &mut [f32],
    input: &[f32],
    gamma: &[f32],
    beta: &[f32],
    channels: usize,
    cfg: BatchNormConfig,
) {
    let rows = rows_of(input.len(), channels);
    let (keep_old, keep_new) = cfg.moving_weights();
    for c in 0..channels {
        let column = || input.iter().skip(c).step_by(channels).map(|&x| x as f64);
        let m = column().sum::<f64>() / rows as f64;
        let var = column().map(|x| (x - m) * (x - m)).sum::<f64>() / rows as f64;
        mean[c] = m as f32;
        inv_std[c] = 1.0 / (var as f32 + cfg.epsilon).sqrt();
        moving_mean[c] = moving_mean[c] * keep_old + mean[c] * keep_new;
        moving_var[c] = moving_var[c] * keep_old + var as f32 * keep_new;
        for r in 0..rows {
            let i = r * channels + c;
            out[i] = ((input[i] as f64 - m) * inv_std[c] as f64 * gamma[c] as f64 + beta[c] as f64)
                as f32;
        }
    }
}

/// Scalar reference of the inference forward.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_forward_infer_reference(
    out: &mut [f32],
    input: &[f32],
    gamma: &[f32],
    beta: &[f32],
    moving_mean: &[f32],
    moving_var: &[f32],
    channels: usize,
    epsilon: f32,
) {
    rows_of(input.len(), channels);
    for (i, (y, &x)) in out.iter_mut().zip(input).enumerate() {
        let c = i % channels;
        *y = (x - moving_mean[c]) / (moving_var[c] + epsilon).sqrt() * gamma[c] + beta[c];
    }
}

/// Scalar reference of the training backward: the textbook formula with f64 sums.
#[allow(clippy::too_many_arguments)]
pub fn batchnorm_backward_reference(
    d_input: &mut [f32],
    d_gamma: &mut [f32],
    d_beta: &mut [f32],
    d_out: &[f32],
    mean: &[f32],
    inv_std: &[f32],
    input: &[f32],
    gamma: &[f32],
    channels: usize,
) {
    let rows = rows_of(input.len(), channels);
    for c in 0..channels {
        let xhat = |r: usize| ((input[r * channels + c] - mean[c]) * inv_std[c]) as f64;
        let dy = |r: usize| d_out[r * channels + c] as f64;
        let sum_dy: f64 = (0..rows).map(dy).sum();
        let sum_dy_xhat: f64 = (0..rows).map(|r| dy(r) * xhat(r)).sum();
        d_beta[c] += sum_dy as f32;
        d_gamma[c] += sum_dy_xhat as f32;
        let m = rows as f64;
        for r in 0..rows {
            let g = (gamma[c] * inv_std[c]) as f64;
            d_input[r * channels + c] +=
                (g * (dy(r) - sum_dy / m - xhat(r) * sum_dy_xhat / m)) as f32;
        }
    }
}

// Row kernels over the channel group [c0, c0 + w) of every row.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// What [`sum_rows`] adds up per channel.
#[derive(Clone, Copy)]
enum Term<'a> {
    /// x
    Value,
    /// x - centre
    Deviation { centre: Centre<'a> },
    /// (x - centre)^2
    SquaredDeviation { centre: Centre<'a> },
    /// (x - centre) * weight, with weight a (rows, C) buffer like x
    WeightedDeviation {
        centre: Centre<'a>,
        weight: &'a [f32],
    },
}

/// totals[k] = sum over rows of the term at channel c0 + k: f32 partial sums per block of rows,
/// flushed into f64.
fn sum_rows(totals: &mut [f64], x: &[f32], term: Term, channels: usize, c0: usize) {
    let w = totals.len();
    totals.fill(0.0);
    let rows = x.len() / channels;
    let mut partial = [0f32; CHANNEL_GROUP];
    for block in (0..rows).step_by(BLOCK_ROWS) {
        partial[..w].fill(0.0);
        for r in block..(block + BLOCK_ROWS).min(rows) {
            let s = r * channels + c0;
            let xr = &x[s..s + w];
            match term {
                Term::Value => accumulate(&mut partial[..w], xr, None),
                Term::Deviation { centre } => accumulate(&mut partial[..w], xr, Some(centre)),
                Term::SquaredDeviation { centre } => {
                    accumulate_squared(&mut partial[..w], xr, centre)
                }
                Term::WeightedDeviation { centre, weight } => {
                    accumulate_weighted(&mut partial[..w], xr, &weight[s..s + w], centre)
                }
            }
        }
        for (t, &p) in totals.iter_mut().zip(&partial[..w]) {
            *t += p as f64;
        }
    }
}

/// A per-channel centre hi + lo, subtracted as (x - hi) - lo.
#[derive(Clone, Copy)]
struct Centre<'a> {
    hi: &'a [f32],
    lo: &'a [f32],
}

impl Centre<'_> {
    fn subtract_from_lane(&self, x: f32, k: usize) -> f32 {
        (x - self.hi[k]) - self.lo[k]
    }

    /// Lanes k..k + 4 of (x - hi) - lo.
    ///
    /// # Safety
    /// k + 4 must not exceed the length of `hi` and `lo`.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    unsafe fn subtract_from(&self, x: v128, k: usize) -> v128 {
        let hi = v128_load(self.hi.as_ptr().add(k) as *const v128);
        let lo = v128_load(self.lo.as_ptr().add(k) as *const v128);
        f32x4_sub(f32x4_sub(x, hi), lo)
    }
}

/// acc += x, or x - centre when a centre is given.
fn accumulate(acc: &mut [f32], x: &[f32], centre: Option<Centre>) {
    let w = acc.len();
    #[allow(unused_mut)]
    let mut k = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while k + 4 <= w {
        // SAFETY: k + 4 <= w and all slices have length w.
        unsafe {
            let a = acc.as_mut_ptr().add(k) as *mut v128;
            let v = v128_load(x.as_ptr().add(k) as *const v128);
            let v = match centre {
                Some(c) => c.subtract_from(v, k),
                None => v,
            };
            v128_store(a, f32x4_add(v128_load(a), v));
        }
        k += 4;
    }
    for k in k..w {
        acc[k] += match centre {
            Some(c) => c.subtract_from_lane(x[k], k),
            None => x[k],
        };
    }
}

/// acc += (x - centre)^2.
fn accumulate_squared(acc: &mut [f32], x: &[f32], centre: Centre) {
    let w = acc.len();
    #[allow(unused_mut)]
    let mut k = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while k + 4 <= w {
        // SAFETY: k + 4 <= w and all slices have length w.
        unsafe {
            let a = acc.as_mut_ptr().add(k) as *mut v128;
            let d = centre.subtract_from(v128_load(x.as_ptr().add(k) as *const v128), k);
            v128_store(a, f32x4_add(v128_load(a), f32x4_mul(d, d)));
        }
        k += 4;
    }
    for k in k..w {
        let d = centre.subtract_from_lane(x[k], k);
        acc[k] += d * d;
    }
}

/// acc += (x - centre) * weight.
fn accumulate_weighted(acc: &mut [f32], x: &[f32], weight: &[f32], centre: Centre) {
    let w = acc.len();
    #[allow(unused_mut)]
    let mut k = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while k + 4 <= w {
        // SAFETY: k + 4 <= w and all slices have length w.
        unsafe {
            let a = acc.as_mut_ptr().add(k) as *mut v128;
            let d = centre.subtract_from(v128_load(x.as_ptr().add(k) as *const v128), k);
            v128_store(
                a,
                f32x4_add(
                    v128_load(a),
                    f32x4_mul(d, v128_load(weight.as_ptr().add(k) as *const v128)),
                ),
            );
        }
        k += 4;
    }
    for k in k..w {
        acc[k] += centre.subtract_from_lane(x[k], k) * weight[k];
    }
}

/// out = (x - centre) * scale + shift on the channel group of every row.
fn affine_rows(
    out: &mut [f32],
    x: &[f32],
    centre: Centre,
    scale: &[f32],
    shift: &[f32],
    channels: usize,
    c0: usize,
) {
    let w = scale.len();
    for r in 0..x.len() / channels {
        let s = r * channels + c0;
        let (o, xr) = (&mut out[s..s + w], &x[s..s + w]);
        #[allow(unused_mut)]
        let mut k = 0;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        while k + 4 <= w {
            // SAFETY: k + 4 <= w and all slices have length w.
            unsafe {
                let ld = |p: &[f32]| v128_load(p.as_ptr().add(k) as *const v128);
                let d = centre.subtract_from(ld(xr), k);
                v128_store(
                    o.as_mut_ptr().add(k) as *mut v128,
                    f32x4_add(f32x4_mul(d, ld(scale)), ld(shift)),
                );
            }
            k += 4;
        }
        for k in k..w {
            o[k] = centre.subtract_from_lane(xr[k], k) * scale[k] + shift[k];
        }
    }
}

/// Per-channel constants of the backward row kernel.
#[derive(Clone, Copy)]
struct BackwardCoefs<'a> {
    k_dy: &'a [f32],
    k_x: &'a [f32],
    k_0: &'a [f32],
    centre: &'a [f32],
}

/// d_input += k_dy * dy + k_x * (x - centre) + k_0 on the channel group of every row.
/// (x - centre) is formed first: folding `centre` into k_0 would cancel badly when |mean| >> std.
fn backward_rows(
    d_input: &mut [f32],
    d_out: &[f32],
    x: &[f32],
    f: BackwardCoefs,
    channels: usize,
    c0: usize,
) {
    let w = f.k_dy.len();
    for r in 0..x.len() / channels {
        let s = r * channels + c0;
        let (di, dy, xr) = (&mut d_input[s..s + w], &d_out[s..s + w], &x[s..s + w]);
        #[allow(unused_mut)]
        let mut k = 0;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        while k + 4 <= w {
            // SAFETY: k + 4 <= w and all slices have length w.
            unsafe {
                let ld = |p: &[f32]| v128_load(p.as_ptr().add(k) as *const v128);
                let centred = f32x4_sub(ld(xr), ld(f.centre));
                let v = f32x4_add(
                    f32x4_add(f32x4_mul(ld(f.k_dy), ld(dy)), f32x4_mul(ld(f.k_x), centred)),
                    ld(f.k_0),
                );
                let p = di.as_mut_ptr().add(k) as *mut v128;
                v128_store(p, f32x4_add(v128_load(p), v));
            }
            k += 4;
        }
        for k in k..w {
            di[k] += f.k_dy[k] * dy[k] + f.k_x[k] * (xr[k] - f.centre[k]) + f.k_0[k];
        }
    }
}
