//! Evaluation on a labelled set: loss, accuracy, precision, recall, F1, the confusion matrix
//! and the indices of the misclassified examples; and batched prediction. Everything runs in
//! inference mode (moving batch-norm statistics, no dropout), as Keras's `evaluate`/`predict`.

use super::examples::Examples;
use super::layers::Mode;
use super::model::Sequential;
use crate::{invalid, Result};
use serde::Serialize;

/// Metrics of a model on a labelled set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Mean cross-entropy, computed from the logits.
    pub loss: f32,
    pub accuracy: f32,
    /// For two classes: of the class-1 predictions, the fraction that are right (0 if none).
    /// For more classes: the mean over classes (macro average).
    pub precision: f32,
    /// For two classes: of the class-1 examples, the fraction found. Macro average otherwise.
    pub recall: f32,
    /// Harmonic mean of precision and recall (per class, then averaged, for more classes).
    pub f1: f32,
    /// confusion[true class][predicted class] = count.
    pub confusion: Vec<Vec<usize>>,
    /// Indices (into the evaluated set) of the examples predicted wrong, in order.
    pub misclassified: Vec<usize>,
    /// The predicted class of every example.
    pub predictions: Vec<usize>,
}

/// Runs `model` on every example, `batch_size` at a time, and scores it.
pub fn evaluate(model: &mut Sequential, data: &Examples, batch_size: usize) -> Result<Evaluation> {
    let classes = model.output_kind().classes();
    data.check_for(model.input_len(), classes, "the evaluation images")?;
    if batch_size == 0 {
        return Err(invalid!("the batch size must be at least 1"));
    }
    let mut loss_sum = 0.0f64;
    let mut predictions = Vec::with_capacity(data.len());
    for start in (0..data.len()).step_by(batch_size) {
        let end = (start + batch_size).min(data.len());
        let batch = data.range(start, end);
        model.forward(&batch.images(), Mode::Infer);
        loss_sum += model.loss(batch.labels(), false) as f64 * (end - start) as f64;
        predictions.extend((0..end - start).map(|i| model.predicted_class(i)));
    }
    let loss = (loss_sum / data.len() as f64) as f32;
    Ok(score(loss, data.labels(), predictions, classes))
}

/// Output probabilities (N, K) for `images` (N, H, W, C), `batch_size` at a time.
pub fn predict(model: &mut Sequential, images: &[f32], batch_size: usize) -> Result<Vec<f32>> {
    let len = model.input_len();
    if images.is_empty() || !images.len().is_multiple_of(len) {
        return Err(invalid!(
            "expected whole images of {len} values each, got {} values",
            images.len()
        ));
    }
    if batch_size == 0 {
        return Err(invalid!("the batch size must be at least 1"));
    }
    let mut out = Vec::with_capacity(images.len() / len * model.output_kind().units());
    for chunk in images.chunks(batch_size * len) {
        out.extend_from_slice(model.forward(chunk, Mode::Infer));
    }
    Ok(out)
}

/// Output probabilities (N, K) for the examples' images, `batch_size` at a time (8-bit
/// images are turned into floats one batch at a time, never all at once).
pub fn predict_examples(
    model: &mut Sequential,
    data: &Examples,
    batch_size: usize,
) -> Result<Vec<f32>> {
    if batch_size == 0 {
        return Err(invalid!("the batch size must be at least 1"));
    }
    if data.image_len() != model.input_len() {
        return Err(invalid!(
            "the images have {} values each, but the model takes {}",
            data.image_len(),
            model.input_len()
        ));
    }
    let mut out = Vec::with_capacity(data.len() * model.output_kind().units());
    for start in (0..data.len()).step_by(batch_size) {
        let end = (start + batch_size).min(data.len());
        out.extend_from_slice(model.forward(&data.range(start, end).images(), Mode::Infer));
    }
    Ok(out)
}

/// Metrics from true and predicted classes.
pub fn score(loss: f32, labels: &[u8], predictions: Vec<usize>, classes: usize) -> Evaluation {
    let mut confusion = vec![vec![0usize; classes]; classes];
    let mut misclassified = Vec::new();
    for (i, (&y, &p)) in labels.iter().zip(&predictions).enumerate() {
        confusion[y as usize][p] += 1;
        if y as usize != p {
            misclassified.push(i);
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f32 / b as f32 };
    let per_class = |c: usize| {
        let tp = confusion[c][c];
        let predicted: usize = (0..classes).map(|t| confusion[t][c]).sum();
        let actual: usize = confusion[c].iter().sum();
        let (p, r) = (ratio(tp, predicted), ratio(tp, actual));
        let f1 = if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        };
        (p, r, f1)
    };
    let (precision, recall, f1) = if classes == 2 {
        per_class(1)
    } else {
        let sums = (0..classes)
            .map(per_class)
            .fold((0.0, 0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1, a.2 + b.2));
        let k = classes as f32;
        (sums.0 / k, sums.1 / k, sums.2 / k)
    };
    let correct = labels.len() - misclassified.len();
    Evaluation {
        loss,
        accuracy: ratio(correct, labels.len()),
        precision,
        recall,
        f1,
        confusion,
        misclassified,
        predictions,
    }
}

/// Number of examples of the last forward pass whose predicted class equals the label.
pub fn count_correct(model: &Sequential, labels: &[u8]) -> usize {
    labels
        .iter()
        .enumerate()
        .filter(|(i, &y)| model.predicted_class(*i) == y as usize)
        .count()
}
