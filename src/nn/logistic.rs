//! Logistic regression on raw pixels, trained by mini-batch gradient descent with an L2
//! penalty: one weight per pixel value, so it can only learn a fixed template. A dataset
//! whose cue moves around (a mouth in a face that moves) defeats it; a CNN does not.

use rand::seq::SliceRandom;

use crate::rng::rng_from_seed;
use crate::{invalid, Result};

/// Training settings. The defaults suit 64x64 images with values in [0, 1].
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    /// Weight of `0.5 * |w|^2` in the loss.
    pub l2: f32,
    pub seed: u64,
}

impl Default for LogisticConfig {
    fn default() -> Self {
        LogisticConfig {
            epochs: 100,
            batch_size: 32,
            learning_rate: 1e-2,
            l2: 1e-3,
            seed: 0,
        }
    }
}

/// A linear classifier of two classes: `P(label = 1) = sigmoid(w . x + b)`.
#[derive(Clone, Debug, PartialEq)]
pub struct LogisticRegression {
    pub weights: Vec<f32>, // (F,)
    pub bias: f32,
}

fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + libm::expf(-z))
}

/// Binary cross-entropy from the logit, stable for large |z|: `max(z, 0) - z y + log(1 + e^-|z|)`.
fn bce_from_logit(z: f32, y: f32) -> f32 {
    z.max(0.0) - z * y + libm::log1pf(libm::expf(-z.abs()))
}

fn check_inputs(x: &[f32], labels: &[u8], features: usize) -> Result<()> {
    if features == 0 || labels.is_empty() || x.len() != labels.len() * features {
        return Err(invalid!(
            "logistic regression needs one row of {features} values per label: got {} values for {} labels",
            x.len(),
            labels.len()
        ));
    }
    if let Some(bad) = labels.iter().find(|&&l| l > 1) {
        return Err(invalid!(
            "logistic regression separates two classes (labels 0 and 1), found label {bad}"
        ));
    }
    Ok(())
}

impl LogisticRegression {
    /// Fits `x` `(N, F)` to `labels` `(N,)` in {0, 1}, starting from zero weights.
    pub fn fit(x: &[f32], labels: &[u8], features: usize, config: &LogisticConfig) -> Result<Self> {
        check_inputs(x, labels, features)?;
        if config.batch_size == 0 || !(config.learning_rate > 0.0) || !(config.l2 >= 0.0) {
            return Err(invalid!("logistic regression needs a positive batch size and learning rate and a non-negative L2"));
        }
        let n = labels.len();
        // Gradient descent runs on centred features: the bias is not penalised, so the
        // optimum is the same, but pixels all near 0.5 make one direction so steep that
        // raw features would need a tiny step. The mean is folded back into the bias.
        let mut mean = vec![0.0f32; features]; // (F,)
        for row in x.chunks_exact(features) {
            for (m, &v) in mean.iter_mut().zip(row) {
                *m += v / n as f32;
            }
        }
        let mut model = LogisticRegression {
            weights: vec![0.0; features],
            bias: 0.0,
        };
        let mut d_weights = vec![0.0f32; features]; // (F,)
        let mut order: Vec<usize> = (0..n).collect();
        let mut rng = rng_from_seed(config.seed);
        for _ in 0..config.epochs {
            order.shuffle(&mut rng);
            for batch in order.chunks(config.batch_size) {
                d_weights.iter_mut().for_each(|d| *d = 0.0);
                let mut d_bias = 0.0;
                for &i in batch {
                    let row = &x[i * features..(i + 1) * features];
                    let logit = model
                        .weights
                        .iter()
                        .zip(row)
                        .zip(&mean)
                        .map(|((w, v), m)| w * (v - m))
                        .sum::<f32>()
                        + model.bias;
                    // d loss / d logit of the cross-entropy is simply p - y.
                    let d_logit = sigmoid(logit) - labels[i] as f32;
                    for ((d, &v), m) in d_weights.iter_mut().zip(row).zip(&mean) {
                        *d += d_logit * (v - m);
                    }
                    d_bias += d_logit;
                }
                let step = config.learning_rate / batch.len() as f32;
                let decay = config.learning_rate * config.l2;
                for (w, d) in model.weights.iter_mut().zip(&d_weights) {
                    *w -= step * d + decay * *w;
                }
                model.bias -= step * d_bias;
            }
        }
        model.bias -= model
            .weights
            .iter()
            .zip(&mean)
            .map(|(w, m)| w * m)
            .sum::<f32>();
        Ok(model)
    }

    /// `w . x + b` for one row `(F,)`.
    pub fn logit(&self, row: &[f32]) -> f32 {
        self.weights
            .iter()
            .zip(row)
            .map(|(w, v)| w * v)
            .sum::<f32>()
            + self.bias
    }

    /// Mean cross-entropy over `x` `(N, F)` plus the L2 penalty `0.5 * l2 * |w|^2`.
    pub fn loss(&self, x: &[f32], labels: &[u8], l2: f32) -> Result<f32> {
        check_inputs(x, labels, self.weights.len())?;
        let f = self.weights.len();
        let data: f32 = labels
            .iter()
            .enumerate()
            .map(|(i, &y)| bce_from_logit(self.logit(&x[i * f..(i + 1) * f]), y as f32))
            .sum();
        let penalty = 0.5 * l2 * self.weights.iter().map(|w| w * w).sum::<f32>();
        Ok(data / labels.len() as f32 + penalty)
    }

    /// Predicted label (probability >= 0.5) per row of `x` `(N, F)`.
    pub fn predict(&self, x: &[f32]) -> Vec<u8> {
        x.chunks_exact(self.weights.len())
            .map(|row| (self.logit(row) >= 0.0) as u8)
            .collect()
    }

    /// Fraction of rows of `x` `(N, F)` whose predicted label equals `labels`.
    pub fn accuracy(&self, x: &[f32], labels: &[u8]) -> Result<f32> {
        check_inputs(x, labels, self.weights.len())?;
        let correct = self
            .predict(x)
            .iter()
            .zip(labels)
            .filter(|(p, y)| p == y)
            .count();
        Ok(correct as f32 / labels.len() as f32)
    }
}
