//! The backward pass made visible: what the explorer shows when it runs a layer backwards.
//! Every number comes from the real backward kernels; the per-cell breakdowns beside them are
//! written out by hand, and the tests check that they add up to the kernels' results.
//!
//! - [`conv`]: a convolution's dW, dX and d bias, one output cell at a time, the ReLU mask,
//!   and dX seen as a convolution with the flipped kernel.
//! - [`pool`]: max pooling's routing to each window's winner, average pooling's even shares.
//! - [`layers`]: batch norm's three paths, dropout's mask, dense as an outer product.
//! - [`step`]: one training step of the chapter's model in slow motion, down to Adam's update.
//! - [`gradcheck`]: finite differences against the analytic gradient, with bugs to plant.

pub mod conv;
pub mod gradcheck;
pub mod layers;
pub mod pool;
pub mod step;

use crate::rng::rng_from_seed;
use crate::{invalid, Result};
use rand::RngExt;

/// Where the gradient arriving from above (dL/d out) comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Upstream {
    /// Seeded values in tenths between -1 and 1, easy to multiply in one's head.
    Random { seed: u64 },
    /// The mean squared error against a target the student painted, one value per output.
    Target(Vec<f32>),
}

impl Upstream {
    /// Reads the page's choice: `random` (with `seed`) or `target` (with the painted values).
    pub fn parse(kind: &str, seed: u64, target: &[f32]) -> Result<Self> {
        match kind {
            "random" => Ok(Upstream::Random { seed }),
            "target" => {
                if target.iter().any(|v| !v.is_finite()) {
                    return Err(invalid!(
                        "the target map holds a value that is not a number"
                    ));
                }
                Ok(Upstream::Target(target.to_vec()))
            }
            _ => Err(invalid!(
                "the upstream gradient comes from 'random' or 'target' (got '{kind}')"
            )),
        }
    }

    /// dL/d out for the layer's `output` (its values after any activation), and the loss when
    /// there is one. `shape` names the output in a message about a target of the wrong size.
    pub fn gradient(&self, output: &[f32], shape: &str) -> Result<(Vec<f32>, Option<f32>)> {
        match self {
            Upstream::Random { seed } => Ok((tenths(output.len(), *seed), None)),
            Upstream::Target(target) => {
                if target.len() != output.len() {
                    return Err(invalid!(
                        "the target has {} values but the output ({shape}) has {}: paint the target again on the current output",
                        target.len(),
                        output.len()
                    ));
                }
                Ok(mse(output, target))
            }
        }
    }
}

/// `n` seeded values from {-1.0, -0.9, ..., 1.0}.
pub fn tenths(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = rng_from_seed(seed);
    (0..n)
        .map(|_| (rng.random_range(0..21) as f32 - 10.0) / 10.0)
        .collect()
}

/// Mean squared error L = mean((y - t)^2) and its gradient 2 (y - t) / n.
pub fn mse(output: &[f32], target: &[f32]) -> (Vec<f32>, Option<f32>) {
    let n = output.len() as f32;
    let loss = output
        .iter()
        .zip(target)
        .map(|(&y, &t)| ((y - t) as f64).powi(2))
        .sum::<f64>()
        / output.len() as f64;
    let grad = output
        .iter()
        .zip(target)
        .map(|(&y, &t)| 2.0 * (y - t) / n)
        .collect();
    (grad, Some(loss as f32))
}

/// Input cells (row, column), counted from 1, listed in a message: the first few and how many.
fn name_cells(cells: &[(usize, usize)]) -> String {
    const SHOWN: usize = 6;
    let mut names: Vec<String> = cells
        .iter()
        .take(SHOWN)
        .map(|(r, c)| format!("row {}, column {}", r + 1, c + 1))
        .collect();
    if cells.len() > SHOWN {
        names.push(format!("and {} more", cells.len() - SHOWN));
    }
    names.join("; ")
}
