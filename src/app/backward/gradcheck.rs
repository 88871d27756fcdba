//! A gradient check the student can run: central finite differences of the loss against the
//! analytic gradient of every parameter tensor of a small network built on the explorer's
//! setup, and bugs to plant in the backward pass so that the check can be seen to fail.
//!
//! The network: the explorer's convolution (its picture, settings and filters) -> ReLU ->
//! batch norm -> 2x2 max pooling (SAME) -> a 3x3 SAME convolution to 2 maps -> dense to one
//! number y, with the loss L = (y - 1)^2. Every step is a training kernel; the planted bugs
//! replace one step of the backward pass with a plausible mistake. The picture gets a faint
//! seeded noise (at most 0.02) so that no value sits exactly on a kink of ReLU or max pooling.

use super::layers::batchnorm_paths;
use super::tenths;
use crate::app::explorer::ConvRun;
use crate::kernels::activation::{relu_backward, relu_forward};
use crate::kernels::batchnorm::{batchnorm_backward, batchnorm_forward_train, BatchNormConfig};
use crate::kernels::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward};
use crate::kernels::dense::{dense_backward, dense_forward};
use crate::kernels::geometry::{ConvGeometry, Padding, PoolGeometry};
use crate::kernels::pool::{pool_backward, pool_forward, PoolKind};
use crate::kernels::scratch::ConvScratch;
use crate::rng::rng_from_seed;
use crate::{invalid, Result};
use rand::seq::SliceRandom;
use rand::RngExt;
use serde::Serialize;

/// A mistake planted in the backward pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bug {
    /// The ReLU lets every gradient through, even where its output was 0.
    ReluMask,
    /// Batch norm's path through the mean forgets to divide by the number of values N.
    BatchNormMean,
    /// The second convolution's dX skips the windows that overlap its padding.
    PaddingGradient,
}

impl Bug {
    /// Reads the page's switch: `none`, `relu-mask`, `batchnorm-mean` or `padding`.
    pub fn parse(name: &str) -> Result<Option<Bug>> {
        match name {
            "none" | "" => Ok(None),
            "relu-mask" => Ok(Some(Bug::ReluMask)),
            "batchnorm-mean" => Ok(Some(Bug::BatchNormMean)),
            "padding" => Ok(Some(Bug::PaddingGradient)),
            _ => Err(invalid!("there is no planted bug called '{name}' (use none, relu-mask, batchnorm-mean or padding)")),
        }
    }
}

/// Names of the parameter tensors, in the order of [`Network::params`].
pub const TENSORS: [&str; 8] = [
    "conv 1 kernel",
    "conv 1 bias",
    "batch norm gamma",
    "batch norm beta",
    "conv 2 kernel",
    "conv 2 bias",
    "dense kernel",
    "dense bias",
];

/// Maps of the second convolution.
const CONV2_FILTERS: usize = 2;
/// The finite-difference step.
const STEP: f32 = 1e-3;
/// A tensor passes when ||analytic - numeric|| <= this * max(||analytic||, ||numeric||).
/// The kinks of ReLU and max pooling and float32 rounding keep central differences within a
/// few percent on the explorer's setups (at most 3.6% measured); the planted bugs are off by
/// 14% to 100% (tests/backward_explorer.rs).
pub const TOLERANCE: f32 = 5e-2;
/// Most multiply-adds the whole check may take (about ten seconds of one core in a browser);
/// a larger setup is sampled, and one too large for even a few values per tensor is refused.
const BUDGET: f64 = 3e9;
/// Largest change the seeded noise makes to a picture value.
const NOISE: f32 = 0.1;
/// Fewest values per tensor worth checking.
const MIN_SAMPLES: usize = 4;

/// The small network and its parameters.
#[derive(Debug, Clone)]
pub struct Network {
    input: Vec<f32>, // (H, W, C)
    g1: ConvGeometry,
    pool: PoolGeometry,
    g2: ConvGeometry,
    /// Inputs of the dense layer: the second convolution's outputs, flattened.
    flat: usize,
    pub params: Vec<Vec<f32>>,
}

/// What the forward pass keeps for the backward pass.
struct Forward {
    r1: Vec<f32>,
    mean: Vec<f32>,
    inv_std: Vec<f32>,
    argmax: Vec<u32>,
    p1: Vec<f32>,
    a2: Vec<f32>,
    y: f32,
}

impl Network {
    /// The network on the explorer's run: its input, geometry, filters and biases; the other
    /// layers' weights are seeded.
    pub fn on_explorer(run: &ConvRun, seed: u64) -> Result<Self> {
        let g1 = run.geometry;
        let f = g1.out_c;
        let pool = PoolGeometry::new(1, (g1.out_h, g1.out_w, f), 2, 2, Padding::Same)?;
        let g2 = ConvGeometry::new(
            1,
            (pool.out_h, pool.out_w, f),
            (3, 3, CONV2_FILTERS),
            1,
            1,
            Padding::Same,
        )?;
        let flat = g2.output_len();
        let scaled = |n: usize, seed: u64, scale: f32| -> Vec<f32> {
            tenths(n, seed).into_iter().map(|v| v * scale).collect()
        };
        let params = vec![
            run.weight.clone(),
            run.bias.clone(),
            scaled(f, seed, 0.5).into_iter().map(|v| 1.0 + v).collect(),
            scaled(f, seed + 1, 0.5),
            scaled(g2.weight_len(), seed + 2, 1.0 / (9.0 * f as f32).sqrt()),
            scaled(CONV2_FILTERS, seed + 3, 0.1),
            scaled(flat, seed + 4, 1.0 / (flat as f32).sqrt()),
            vec![0.1],
        ];
        // A faint seeded noise on the picture: drawn or painted pictures are flat, and flat
        // regions tie exactly in max pooling and put ReLU inputs exactly on their kink, where
        // the finite differences straddle two slopes and disagree with any gradient.
        // Continuous noise: values in tenths would put the sums back on a lattice, where two
        // different windows tie exactly.
        let mut rng = rng_from_seed(seed + 5);
        let input = run
            .input
            .data
            .iter()
            .map(|x| x + NOISE * (2.0 * rng.random::<f32>() - 1.0))
            .collect();
        Ok(Self {
            input,
            g1,
            pool,
            g2,
            flat,
            params,
        })
    }

    /// Multiply-adds of one forward pass.
    pub fn forward_cost(&self) -> f64 {
        let conv = |g: &ConvGeometry| (g.output_len() * g.patch_len()) as f64;
        conv(&self.g1) + conv(&self.g2) + self.flat as f64
    }

    fn forward(&self, p: &[Vec<f32>]) -> Forward {
        let (g1, g2) = (&self.g1, &self.g2);
        let mut scratch = ConvScratch::new();
        let mut a1 = vec![0.0; g1.output_len()];
        conv2d_forward(
            &mut a1,
            &self.input,
            &p[0],
            Some(&p[1]),
            false,
            g1,
            &mut scratch,
        );
        let mut r1 = vec![0.0; a1.len()];
        relu_forward(&mut r1, &a1);
        let c = g1.out_c;
        let (mut mean, mut inv_std) = (vec![0.0; c], vec![0.0; c]);
        let (mut moving_mean, mut moving_var) = (vec![0.0; c], vec![1.0; c]);
        let mut n1 = vec![0.0; r1.len()];
        batchnorm_forward_train(
            &mut n1,
            &mut mean,
            &mut inv_std,
            &mut moving_mean,
            &mut moving_var,
            &r1,
            &p[2],
            &p[3],
            c,
            BatchNormConfig::default(),
        );
        let mut p1 = vec![0.0; self.pool.output_len()];
        let mut argmax = vec![0u32; p1.len()];
        pool_forward(&mut p1, Some(&mut argmax), &n1, PoolKind::Max, &self.pool);
        let mut a2 = vec![0.0; g2.output_len()];
        conv2d_forward(&mut a2, &p1, &p[4], Some(&p[5]), false, g2, &mut scratch);
        let mut y = [0.0];
        dense_forward(&mut y, &a2, &p[6], Some(&p[7]), false, 1, self.flat, 1);
        Forward {
            r1,
            mean,
            inv_std,
            argmax,
            p1,
            a2,
            y: y[0],
        }
    }

    /// The loss (y - 1)^2 for these parameters.
    pub fn loss(&self, p: &[Vec<f32>]) -> f32 {
        let y = self.forward(p).y;
        (y - 1.0) * (y - 1.0)
    }

    /// Every parameter's gradient by backpropagation, with `bug` planted if given.
    pub fn gradients(&self, bug: Option<Bug>) -> Vec<Vec<f32>> {
        let p = &self.params;
        let fw = self.forward(p);
        let (g1, g2) = (&self.g1, &self.g2);
        let mut scratch = ConvScratch::new();
        let mut d: Vec<Vec<f32>> = p.iter().map(|t| vec![0.0; t.len()]).collect();
        let d_y = [2.0 * (fw.y - 1.0)];
        let mut d_a2 = vec![0.0; fw.a2.len()];
        {
            let (d6, rest) = d[6..].split_at_mut(1);
            dense_backward(
                Some(&mut d_a2),
                &mut d6[0],
                Some(&mut rest[0]),
                &d_y,
                &fw.a2,
                &p[6],
                1,
                self.flat,
                1,
            );
        }
        {
            let (d4, rest) = d[4..].split_at_mut(1);
            conv2d_backward_weight(
                &mut d4[0],
                Some(&mut rest[0]),
                &d_a2,
                &fw.p1,
                g2,
                &mut scratch,
            );
        }
        let mut d_p1 = vec![0.0; fw.p1.len()];
        if bug == Some(Bug::PaddingGradient) {
            input_gradient_skipping_padding(&mut d_p1, &d_a2, &p[4], g2);
        } else {
            conv2d_backward_input(&mut d_p1, &d_a2, &p[4], g2, &mut scratch);
        }
        let mut d_n1 = vec![0.0; fw.r1.len()];
        pool_backward(
            &mut d_n1,
            &d_p1,
            Some(&fw.argmax),
            PoolKind::Max,
            &self.pool,
        );
        let c = g1.out_c;
        let mut d_r1 = vec![0.0; fw.r1.len()];
        {
            let (d2, rest) = d[2..].split_at_mut(1);
            batchnorm_backward(
                &mut d_r1,
                &mut d2[0],
                &mut rest[0],
                &d_n1,
                &fw.mean,
                &fw.inv_std,
                &fw.r1,
                &p[2],
                c,
            );
        }
        if bug == Some(Bug::BatchNormMean) {
            // The mean path without its 1/N is N times itself: add the missing (N - 1) parts.
            let paths = batchnorm_paths(&d_n1, &fw.r1, &p[2], &fw.mean, &fw.inv_std, c);
            let n = (fw.r1.len() / c) as f32;
            for (d, m) in d_r1.iter_mut().zip(&paths.via_mean) {
                *d += m * (n - 1.0);
            }
        }
        let d_a1 = if bug == Some(Bug::ReluMask) {
            d_r1
        } else {
            let mut d_a1 = vec![0.0; d_r1.len()];
            relu_backward(&mut d_a1, &d_r1, &fw.r1);
            d_a1
        };
        {
            let (d0, rest) = d.split_at_mut(1);
            conv2d_backward_weight(
                &mut d0[0],
                Some(&mut rest[0]),
                &d_a1,
                &self.input,
                g1,
                &mut scratch,
            );
        }
        d
    }
}

/// The planted padding bug: dX of a convolution that leaves out every output cell whose window
/// overlaps the padding, as a hand-written loop that forgot the border would.
fn input_gradient_skipping_padding(
    d_input: &mut [f32],
    d_out: &[f32],
    weight: &[f32],
    g: &ConvGeometry,
) {
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            let (top, left) = (oy * g.stride, ox * g.stride);
            let span_h = g.dilation * (g.k_h - 1) + 1;
            let span_w = g.dilation * (g.k_w - 1) + 1;
            let inside = top >= g.pad_top
                && left >= g.pad_left
                && top + span_h <= g.pad_top + g.in_h
                && left + span_w <= g.pad_left + g.in_w;
            if !inside {
                continue;
            }
            for ky in 0..g.k_h {
                for kx in 0..g.k_w {
                    let iy = top + ky * g.dilation - g.pad_top;
                    let ix = left + kx * g.dilation - g.pad_left;
                    for c in 0..g.in_c {
                        for f in 0..g.out_c {
                            d_input[(iy * g.in_w + ix) * g.in_c + c] += d_out
                                [(oy * g.out_w + ox) * g.out_c + f]
                                * weight[((ky * g.k_w + kx) * g.in_c + c) * g.out_c + f];
                        }
                    }
                }
            }
        }
    }
}

/// One tensor's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TensorCheck {
    pub name: &'static str,
    pub values: usize,
    /// How many of its values were checked (all, or a seeded sample).
    pub checked: usize,
    /// ||analytic - numeric|| / max(||analytic||, ||numeric||) over the checked values.
    pub relative_error: f32,
    /// The checked value where the two disagree most, and both gradients there.
    pub worst_index: usize,
    pub worst_analytic: f32,
    pub worst_numeric: f32,
    pub passed: bool,
}

/// The whole check's report.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    pub tensors: Vec<TensorCheck>,
    pub passed: bool,
    pub bug: Option<&'static str>,
    /// Set when values were sampled: how and why.
    pub note: String,
    pub tolerance: f32,
    pub step: f32,
}

/// A gradient check that runs in slices (the worker reports progress between them).
#[derive(Debug, Clone)]
pub struct GradCheck {
    net: Network,
    bug: Option<Bug>,
    analytic: Vec<Vec<f32>>,
    /// (tensor, index) pairs to check, in order, and the numeric gradients found so far.
    todo: Vec<(usize, usize)>,
    numeric: Vec<f32>,
    note: String,
}

impl GradCheck {
    /// Plans the check: every value when the budget allows, else a seeded sample per tensor;
    /// refuses a setup too large for even a few values per tensor.
    pub fn new(run: &ConvRun, bug: Option<Bug>, seed: u64) -> Result<Self> {
        let net = Network::on_explorer(run, seed)?;
        let cost = net.forward_cost();
        let per_tensor = (BUDGET / (2.0 * cost * TENSORS.len() as f64)) as usize;
        if per_tensor < MIN_SAMPLES {
            return Err(invalid!(
                "this setup is too large for a gradient check in the page: one forward pass takes {:.0} million multiply-adds. Use a smaller picture (at most 64x64) or fewer or smaller filters.",
                cost / 1e6
            ));
        }
        let mut rng = rng_from_seed(seed);
        let mut todo = Vec::new();
        let mut sampled = Vec::new();
        for (t, tensor) in net.params.iter().enumerate() {
            let mut indices: Vec<usize> = (0..tensor.len()).collect();
            if tensor.len() > per_tensor {
                indices.shuffle(&mut rng);
                indices.truncate(per_tensor);
                indices.sort_unstable();
                sampled.push(format!(
                    "{} of the {} values of the {}",
                    per_tensor,
                    tensor.len(),
                    TENSORS[t]
                ));
            }
            todo.extend(indices.into_iter().map(|i| (t, i)));
        }
        let note = if sampled.is_empty() {
            String::new()
        } else {
            format!(
                "To finish in seconds, the check looks at {}, picked at random.",
                sampled.join(", ")
            )
        };
        let analytic = net.gradients(bug);
        Ok(Self {
            net,
            bug,
            analytic,
            numeric: Vec::with_capacity(todo.len()),
            todo,
            note,
        })
    }

    /// Values checked so far and in all.
    pub fn progress(&self) -> (usize, usize) {
        (self.numeric.len(), self.todo.len())
    }

    pub fn is_done(&self) -> bool {
        self.numeric.len() == self.todo.len()
    }

    /// Checks up to `count` more values; returns true when all are done.
    pub fn advance(&mut self, count: usize) -> bool {
        let mut params = self.net.params.clone();
        for _ in 0..count {
            let Some(&(t, i)) = self.todo.get(self.numeric.len()) else {
                break;
            };
            let original = params[t][i];
            params[t][i] = original + STEP;
            let up = self.net.loss(&params) as f64;
            params[t][i] = original - STEP;
            let down = self.net.loss(&params) as f64;
            params[t][i] = original;
            self.numeric
                .push(((up - down) / (2.0 * STEP as f64)) as f32);
        }
        self.is_done()
    }

    /// The verdict per tensor over the values checked so far.
    pub fn report(&self) -> CheckReport {
        let mut tensors = Vec::new();
        for (t, name) in TENSORS.iter().enumerate() {
            let pairs: Vec<(usize, f32, f32)> = self
                .todo
                .iter()
                .zip(&self.numeric)
                .filter(|((tt, _), _)| *tt == t)
                .map(|(&(_, i), &n)| (i, self.analytic[t][i], n))
                .collect();
            let norm = |f: &dyn Fn(&(usize, f32, f32)) -> f64| {
                pairs.iter().map(|p| f(p).powi(2)).sum::<f64>().sqrt()
            };
            let diff = norm(&|p| (p.1 - p.2) as f64);
            let scale = norm(&|p| p.1 as f64).max(norm(&|p| p.2 as f64));
            let relative_error = if scale > 0.0 {
                (diff / scale) as f32
            } else {
                0.0
            };
            let worst = pairs
                .iter()
                .max_by(|a, b| (a.1 - a.2).abs().total_cmp(&(b.1 - b.2).abs()))
                .copied()
                .unwrap_or((0, 0.0, 0.0));
            tensors.push(TensorCheck {
                name,
                values: self.net.params[t].len(),
                checked: pairs.len(),
                relative_error,
                worst_index: worst.0,
                worst_analytic: worst.1,
                worst_numeric: worst.2,
                passed: relative_error <= TOLERANCE,
            });
        }
        CheckReport {
            passed: tensors.iter().all(|t| t.passed),
            tensors,
            bug: self.bug.map(|b| match b {
                Bug::ReluMask => "relu-mask",
                Bug::BatchNormMean => "batchnorm-mean",
                Bug::PaddingGradient => "padding",
            }),
            note: self.note.clone(),
            tolerance: TOLERANCE,
            step: STEP,
        }
    }
}
