//! Helpers shared by the layer-kernel tests: fixture loading, tolerant comparison, random data.
#![allow(dead_code)] // each test binary uses a different subset

pub mod checks;

use convscope::kernels::geometry::Padding;
use convscope::rng::{rng_from_seed, Rng};
use rand::RngExt;
use serde_json::Value;
use std::sync::OnceLock;

/// The fixtures written by tests/fixtures/layers/make_fixtures.py (Keras 3, JAX backend),
/// compiled in so that the wasm tests, which have no file system, check them too.
pub fn fixtures() -> &'static Value {
    static FIXTURES: OnceLock<Value> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        serde_json::from_str(include_str!("../fixtures/layers/layers.json"))
            .expect("layers.json is valid JSON")
    })
}

/// A stored array: (shape, flat data).
pub fn array(v: &Value) -> (Vec<usize>, Vec<f32>) {
    let shape = v["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect();
    (shape, data)
}

pub fn data(v: &Value) -> Vec<f32> {
    array(v).1
}

pub fn number(v: &Value) -> f32 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}")) as f32
}

/// The project's fixture tolerance: |a - e| <= 1e-5 + 1e-4 |e|.
pub fn assert_close(actual: &[f32], expected: &[f32], what: &str) {
    assert_close_tol(actual, expected, 1e-5, 1e-4, what);
}

pub fn assert_close_tol(actual: &[f32], expected: &[f32], abs: f32, rel: f32, what: &str) {
    assert_eq!(actual.len(), expected.len(), "{what}: lengths differ");
    for (i, (&a, &e)) in actual.iter().zip(expected).enumerate() {
        assert!(
            (a - e).abs() <= abs + rel * e.abs(),
            "{what}: element {i} is {a}, expected {e} (|diff| {})",
            (a - e).abs()
        );
    }
}

pub fn padding_from(name: &str) -> Padding {
    match name {
        "same" => Padding::Same,
        "valid" => Padding::Valid,
        other => panic!("unknown padding {other}"),
    }
}

/// Uniform values in [-1, 1).
pub fn random_vec(len: usize, rng: &mut Rng) -> Vec<f32> {
    (0..len).map(|_| rng.random::<f32>() * 2.0 - 1.0).collect()
}

pub fn seeded(seed: u64) -> Rng {
    rng_from_seed(seed)
}

/// Central finite differences of a scalar function, evaluated in f32 and summed in f64.
pub fn numeric_gradient(x: &[f32], eps: f32, mut f: impl FnMut(&[f32]) -> f64) -> Vec<f32> {
    let mut probe = x.to_vec();
    (0..x.len())
        .map(|i| {
            probe[i] = x[i] + eps;
            let up = f(&probe);
            probe[i] = x[i] - eps;
            let down = f(&probe);
            probe[i] = x[i];
            ((up - down) / (2.0 * eps as f64)) as f32
        })
        .collect()
}

/// sum(a * w) in f64: the scalar "loss" whose gradient with respect to a is w.
pub fn weighted_sum(a: &[f32], w: &[f32]) -> f64 {
    a.iter().zip(w).map(|(&x, &y)| x as f64 * y as f64).sum()
}
