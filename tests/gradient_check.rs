//! Finite-difference checks of whole models: the gradient of the loss with respect to every
//! parameter and to the input, through conv (ReLU fused), batch norm, max and average pooling,
//! flatten, dense and both output heads; and gradients sent down from a middle layer
//! ([`Sequential::backprop`], what saliency and Grad-CAM use), in training and inference mode.
//!
//! The models are tiny and random, the differences central with step 1e-3 in f32, and the
//! tolerance |fd - analytic| <= 2e-2 * |analytic| + 2e-3 * max|analytic| allows for f32
//! rounding of the loss (~1e-7 / 1e-3) and the rare ReLU or max-pool switch inside a step.

use convscope::nn::{
    Activation, InputShape, LayerSpec, Mode, ModelSpec, PaddingSpec, Sequential, Storage,
};
use convscope::rng::rng_from_seed;
use rand::RngExt;

const H: f32 = 1e-3;

fn random(n: usize, seed: u64, scale: f32) -> Vec<f32> {
    let mut rng = rng_from_seed(seed);
    (0..n)
        .map(|_| (rng.random::<f32>() * 2.0 - 1.0) * scale)
        .collect()
}

fn model_spec(head: LayerSpec) -> ModelSpec {
    use Activation::*;
    ModelSpec {
        input: InputShape {
            height: 7,
            width: 6,
            channels: 2,
        },
        layers: vec![
            LayerSpec::conv2d(3, 3, PaddingSpec::Same, Relu),
            LayerSpec::batch_norm(),
            LayerSpec::MaxPool {
                pool: 2,
                stride: 2,
                padding: PaddingSpec::Same,
            },
            LayerSpec::Conv2d {
                filters: 4,
                kernel: 2,
                stride: 1,
                padding: PaddingSpec::Valid,
                dilation: 1,
                activation: Linear,
            },
            LayerSpec::AvgPool {
                pool: 2,
                stride: 1,
                padding: PaddingSpec::Valid,
            },
            LayerSpec::Dropout { rate: 0.0 },
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 5,
                activation: Relu,
            },
            LayerSpec::batch_norm(),
            head,
        ],
    }
}

/// A model with random (not Keras-initial) BN parameters and moving statistics, so that
/// every term of the gradient matters.
fn build(spec: &ModelSpec, seed: u64) -> Sequential {
    let mut model = Sequential::new(spec, seed).unwrap();
    for i in 0..model.layers().len() {
        let layer = model.layer_mut(i);
        for (k, t) in layer.tensors().to_vec().iter().enumerate() {
            let noise = random(t.len, seed * 100 + i as u64 * 10 + k as u64, 0.3);
            let base = match t.name {
                "gamma" | "moving_variance" => 1.0,
                _ => 0.0,
            };
            if t.name != "kernel" {
                for (v, n) in layer.tensor_mut(t).iter_mut().zip(noise) {
                    *v = base + n;
                }
            }
        }
    }
    model
}

fn loss_at(model: &mut Sequential, x: &[f32], labels: &[u8]) -> f32 {
    model.forward(x, Mode::Train);
    model.loss(labels, false)
}

fn assert_close(what: &str, analytic: &[f32], numeric: &[f32]) {
    let max = analytic.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    assert!(
        max > 1e-4,
        "{what}: gradient is all (near) zero, the check would be empty"
    );
    for (i, (&a, &n)) in analytic.iter().zip(numeric).enumerate() {
        assert!(
            (a - n).abs() <= 2e-2 * a.abs() + 2e-3 * max,
            "{what}[{i}]: analytic {a} vs finite difference {n} (max {max})"
        );
    }
}

fn check_loss_gradients(spec: &ModelSpec, labels: &[u8], seed: u64) {
    let mut model = build(spec, seed);
    let x = random(labels.len() * model.input_len(), seed + 7, 1.0);
    model.forward(&x, Mode::Train);
    model.loss(labels, true);
    model.zero_grads();
    model.backward_loss();
    for i in 0..model.layers().len() {
        let tensors: Vec<_> = model.layers()[i]
            .tensors()
            .iter()
            .filter(|t| t.storage == Storage::Trainable)
            .cloned()
            .collect();
        for t in tensors {
            let analytic = model.layers()[i].tensor_grad(&t).to_vec();
            let numeric: Vec<f32> = (0..t.len)
                .map(|k| {
                    let original = model.layers()[i].tensor(&t)[k];
                    model.layer_mut(i).tensor_mut(&t)[k] = original + H;
                    let up = loss_at(&mut model, &x, labels);
                    model.layer_mut(i).tensor_mut(&t)[k] = original - H;
                    let down = loss_at(&mut model, &x, labels);
                    model.layer_mut(i).tensor_mut(&t)[k] = original;
                    (up - down) / (2.0 * H)
                })
                .collect();
            assert_close(
                &format!("{}.{}", model.layers()[i].name(), t.name),
                &analytic,
                &numeric,
            );
        }
    }

    // The input gradient of the loss, through the same pass, by sending d(loss)/d(logits) down.
    model.forward(&x, Mode::Train);
    let n = labels.len();
    let units = model.output_kind().units();
    let d_logits = loss_gradient_wrt_logits(&model, labels, n * units);
    let last = model.layers().len() - 1;
    let analytic = model.backprop(last, &d_logits, 0, false).to_vec();
    let mut x2 = x.clone();
    let mut numeric = vec![0.0; x.len()];
    for k in 0..x.len() {
        x2[k] = x[k] + H;
        let up = loss_at(&mut model, &x2, labels);
        x2[k] = x[k] - H;
        let down = loss_at(&mut model, &x2, labels);
        x2[k] = x[k];
        numeric[k] = (up - down) / (2.0 * H);
    }
    assert_close("d loss / d input", &analytic, &numeric);
}

/// d(mean cross-entropy)/d(logits) in closed form, (p - y) / N for sigmoid and softmax alike:
/// the seed sent down by `backprop`, whose result is then checked against finite differences.
fn loss_gradient_wrt_logits(model: &Sequential, labels: &[u8], len: usize) -> Vec<f32> {
    let n = labels.len();
    let units = len / n;
    let p = model.probabilities().to_vec();
    (0..len)
        .map(|i| {
            let (row, col) = (i / units, i % units);
            let y = if units == 1 {
                labels[row] as f32
            } else {
                (labels[row] as usize == col) as u8 as f32
            };
            (p[i] - y) / n as f32
        })
        .collect()
}

#[test]
fn binary_model_gradients_match_finite_differences() {
    check_loss_gradients(
        &model_spec(LayerSpec::Dense {
            units: 1,
            activation: Activation::Sigmoid,
        }),
        &[1, 0, 0, 1, 1],
        3,
    );
}

#[test]
fn softmax_model_gradients_match_finite_differences() {
    check_loss_gradients(
        &model_spec(LayerSpec::Dense {
            units: 3,
            activation: Activation::Softmax,
        }),
        &[2, 0, 1, 1],
        5,
    );
}

/// d(sum(logits * w)) / d(input) in inference mode (moving statistics, as explanations run on a
/// trained model), and composition of backprop through a middle layer.
#[test]
fn backprop_from_any_layer_in_inference_mode() {
    let spec = model_spec(LayerSpec::Dense {
        units: 3,
        activation: Activation::Softmax,
    });
    let mut model = build(&spec, 11);
    let n = 2;
    let x = random(n * model.input_len(), 12, 1.0);
    let w = random(n * 3, 13, 1.0);
    let score = |m: &mut Sequential, x: &[f32]| -> f32 {
        m.forward(x, Mode::Infer);
        m.logits().iter().zip(&w).map(|(a, b)| a * b).sum()
    };
    model.forward(&x, Mode::Infer);
    let last = model.layers().len() - 1;
    let direct = model.backprop(last, &w, 0, false).to_vec();
    let mut numeric = vec![0.0; x.len()];
    let mut x2 = x.clone();
    for k in 0..x.len() {
        x2[k] = x[k] + H;
        let up = score(&mut model, &x2);
        x2[k] = x[k] - H;
        let down = score(&mut model, &x2);
        x2[k] = x[k];
        numeric[k] = (up - down) / (2.0 * H);
    }
    assert_close("d score / d input (inference)", &direct, &numeric);

    // Down to the output of layer 2 (the max pooling: Grad-CAM's kind of target), then on to
    // the input: the same as going down in one call.
    model.forward(&x, Mode::Infer);
    let at_pool = model.backprop(last, &w, 3, false).to_vec();
    assert_eq!(at_pool.len(), n * model.layers()[2].plan.output.len());
    let chained = model.backprop(2, &at_pool, 0, false).to_vec();
    for (a, b) in chained.iter().zip(&direct) {
        assert!(
            (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
            "chained {a} vs direct {b}"
        );
    }
    // Each layer's output stays readable after backprop.
    assert_eq!(
        model.output(2).len(),
        n * model.layers()[2].plan.output.len()
    );
}
