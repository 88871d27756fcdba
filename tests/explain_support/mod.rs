//! Shared by the explanation tests: small models with every kind of layer and non-trivial
//! weights (batch-norm moving statistics away from 0 and 1, so that an accidental training
//! mode shows), random images, and the model's logits in inference mode.
#![allow(dead_code)] // each test file uses part of this

use convscope::nn::{Activation, InputShape, LayerSpec, Mode, ModelSpec, PaddingSpec, Sequential};
use convscope::rng::rng_from_seed;
use rand::RngExt;

pub fn conv(filters: usize, kernel: usize) -> LayerSpec {
    LayerSpec::conv2d(filters, kernel, PaddingSpec::Same, Activation::Relu)
}

/// 7x6x2 input (odd sizes) -> conv 4@3x3 relu -> BN -> max pool 2 -> dropout 0.3 ->
/// conv 3@3x3 relu -> flatten -> dense 5 relu -> dense `units` (sigmoid for 1, else softmax).
pub fn small_spec(units: usize) -> ModelSpec {
    let activation = if units == 1 {
        Activation::Sigmoid
    } else {
        Activation::Softmax
    };
    ModelSpec {
        input: InputShape {
            height: 7,
            width: 6,
            channels: 2,
        },
        layers: vec![
            conv(4, 3),
            LayerSpec::batch_norm(),
            LayerSpec::max_pool(2),
            LayerSpec::Dropout { rate: 0.3 },
            conv(3, 3),
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 5,
                activation: Activation::Relu,
            },
            LayerSpec::Dense { units, activation },
        ],
    }
}

/// The model of `spec` with random weights from `seed`: kernels ~U(-0.6, 0.6), biases ~U(0,
/// 0.1) (most ReLUs on), BN gamma ~U(0.7, 1.3), beta ~U(-0.2, 0.2), moving mean ~U(-0.3, 0.3),
/// moving variance ~U(0.5, 1.5).
pub fn random_model(spec: &ModelSpec, seed: u64) -> Sequential {
    let mut model = Sequential::new(spec, seed).unwrap();
    let mut rng = rng_from_seed(seed ^ 0x5eed);
    for i in 0..model.layers().len() {
        let layer = model.layer_mut(i);
        for t in layer.tensors().to_vec() {
            let (lo, hi) = match t.name {
                "kernel" => (-0.6, 0.6),
                "bias" => (0.0, 0.1),
                "gamma" => (0.7, 1.3),
                "beta" => (-0.2, 0.2),
                "moving_mean" => (-0.3, 0.3),
                _ => (0.5, 1.5),
            };
            for v in layer.tensor_mut(&t) {
                *v = lo + (hi - lo) * rng.random::<f32>();
            }
        }
    }
    model
}

pub fn random_image(len: usize, seed: u64) -> Vec<f32> {
    let mut rng = rng_from_seed(seed);
    (0..len).map(|_| rng.random::<f32>()).collect()
}

/// The logits of `image` in inference mode.
pub fn logits(model: &mut Sequential, image: &[f32]) -> Vec<f32> {
    model.forward(image, Mode::Infer);
    model.logits().to_vec()
}

/// Central differences of `f` at `x`, step `eps`, in f64.
pub fn finite_differences(x: &[f32], eps: f32, mut f: impl FnMut(&[f32]) -> f64) -> Vec<f32> {
    let mut x = x.to_vec();
    (0..x.len())
        .map(|i| {
            let v = x[i];
            x[i] = v + eps;
            let up = f(&x);
            x[i] = v - eps;
            let down = f(&x);
            x[i] = v;
            ((up - down) / (2.0 * eps as f64)) as f32
        })
        .collect()
}

/// ||a - b|| / ||b||.
pub fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    let diff: f32 = a
        .iter()
        .zip(b)
        .map(|(x, y)| (x - y) * (x - y))
        .sum::<f32>()
        .sqrt();
    let norm: f32 = b.iter().map(|y| y * y).sum::<f32>().sqrt();
    diff / norm
}

/// The layers after `layer` as a model of their own, with the same weights: its input is
/// `layer`'s output, so differentiating it gives d(logits)/d(that output) independently of
/// the full model's backprop.
pub fn head_after(model: &Sequential, layer: usize) -> Sequential {
    let dims = model.layers()[layer].plan.output.dims();
    let spec = ModelSpec {
        input: InputShape {
            height: dims[0],
            width: dims[1],
            channels: dims[2],
        },
        layers: model.spec().layers[layer + 1..].to_vec(),
    };
    let mut head = Sequential::new(&spec, 0).unwrap();
    for (i, src) in model.layers()[layer + 1..].iter().enumerate() {
        let dst = head.layer_mut(i);
        for t in src.tensors().to_vec() {
            dst.tensor_mut(&t).copy_from_slice(src.tensor(&t));
        }
    }
    head
}
