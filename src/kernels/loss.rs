//! Losses computed from logits: binary cross-entropy (sigmoid) and categorical cross-entropy
//! (softmax), each the mean over the batch, with the gradient with respect to the logits.
//!
//! Why from the logit: Keras, given probabilities, clips them to [1e-7, 1 - 1e-7] before the
//! log. Once a sigmoid saturates (|z| > ~16 in f32) the probability is exactly 0 or 1, the clip
//! flattens the loss at -ln(1e-7) = 16.1, and the gradient through the clip is 0: a confidently
//! wrong model stops learning. From the logit, BCE = max(z, 0) - z y + ln(1 + e^-|z|) is exact
//! for every z and its gradient sigmoid(z) - y never vanishes while the answer is wrong.
//! [`binary_cross_entropy_from_probabilities`] reproduces Keras's clipped number, for showing the
//! loss a Keras user would read.

use super::activation::sigmoid;

/// Keras's `backend.epsilon()`, the clip of probability-based losses.
pub const KERAS_EPSILON: f32 = 1e-7;

/// Mean binary cross-entropy of sigmoid(logits) against labels in [0, 1].
/// logits (N); labels (N).
pub fn binary_cross_entropy_with_logits_forward(logits: &[f32], labels: &[f32]) -> f32 {
    assert!(logits.len() == labels.len() && !logits.is_empty());
    let sum: f64 = logits
        .iter()
        .zip(labels)
        .map(|(&z, &y)| (z.max(0.0) - z * y + (-z.abs()).exp().ln_1p()) as f64)
        .sum();
    (sum / logits.len() as f64) as f32
}

/// d_logits += d_loss * (sigmoid(z) - y) / N.
/// d_logits (N) +=; logits (N); labels (N); d_loss: the gradient arriving at the loss (1 to train).
pub fn binary_cross_entropy_with_logits_backward(
    d_logits: &mut [f32],
    logits: &[f32],
    labels: &[f32],
    d_loss: f32,
) {
    assert!(d_logits.len() == logits.len() && labels.len() == logits.len());
    let scale = d_loss / logits.len() as f32;
    for ((d, &z), &y) in d_logits.iter_mut().zip(logits).zip(labels) {
        *d += scale * (sigmoid(z) - y);
    }
}

/// Keras's binary cross-entropy from probabilities, clipped to [1e-7, 1 - 1e-7]: the number
/// `model.evaluate` prints for a sigmoid output. For display only; train with the logit version.
/// probs (N); labels (N).
pub fn binary_cross_entropy_from_probabilities(probs: &[f32], labels: &[f32]) -> f32 {
    assert!(probs.len() == labels.len() && !probs.is_empty());
    let sum: f64 = probs
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = p.clamp(KERAS_EPSILON, 1.0 - KERAS_EPSILON);
            -(y * p.ln() + (1.0 - y) * (1.0 - p).ln()) as f64
        })
        .sum();
    (sum / probs.len() as f64) as f32
}

/// Row-wise softmax, shifted by the row maximum so that no exp overflows.
/// probs (N, K); logits (N, K).
pub fn softmax_forward(probs: &mut [f32], logits: &[f32], classes: usize) {
    assert!(classes > 0 && logits.len().is_multiple_of(classes) && probs.len() == logits.len());
    for (p, z) in probs
        .chunks_exact_mut(classes)
        .zip(logits.chunks_exact(classes))
    {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0;
        for (pi, &zi) in p.iter_mut().zip(z) {
            *pi = (zi - max).exp();
            sum += *pi;
        }
        for pi in p.iter_mut() {
            *pi /= sum;
        }
    }
}

/// Mean categorical cross-entropy of softmax(logits) against label distributions (one-hot or
/// soft), computed as logsumexp(z) - sum(y z) per row. Writes the probabilities into `probs`,
/// the cache backward needs. probs (N, K); logits (N, K); labels (N, K).
pub fn categorical_cross_entropy_with_logits_forward(
    probs: &mut [f32],
    logits: &[f32],
    labels: &[f32],
    classes: usize,
) -> f32 {
    assert!(labels.len() == logits.len() && !logits.is_empty());
    softmax_forward(probs, logits, classes);
    let mut sum = 0.0f64;
    for (z, y) in logits
        .chunks_exact(classes)
        .zip(labels.chunks_exact(classes))
    {
        let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let log_sum_exp = max as f64
            + z.iter()
                .map(|&zi| ((zi - max) as f64).exp())
                .sum::<f64>()
                .ln();
        let y_sum: f64 = y.iter().map(|&yi| yi as f64).sum();
        let y_dot_z: f64 = z
            .iter()
            .zip(y)
            .map(|(&zi, &yi)| zi as f64 * yi as f64)
            .sum();
        sum += y_sum * log_sum_exp - y_dot_z;
    }
    (sum / (logits.len() / classes) as f64) as f32
}

/// d_logits += d_loss * (sum(y) p - y) / N, i.e. (p - y) / N for labels that sum to 1.
/// d_logits (N, K) +=; probs (N, K) from the forward; labels (N, K).
pub fn categorical_cross_entropy_with_logits_backward(
    d_logits: &mut [f32],
    probs: &[f32],
    labels: &[f32],
    classes: usize,
    d_loss: f32,
) {
    assert!(
        d_logits.len() == probs.len()
            && labels.len() == probs.len()
            && probs.len().is_multiple_of(classes)
    );
    let scale = d_loss / (probs.len() / classes) as f32;
    for ((d, p), y) in d_logits
        .chunks_exact_mut(classes)
        .zip(probs.chunks_exact(classes))
        .zip(labels.chunks_exact(classes))
    {
        let y_sum: f32 = y.iter().sum();
        for ((di, &pi), &yi) in d.iter_mut().zip(p).zip(y) {
            *di += scale * (y_sum * pi - yi);
        }
    }
}
