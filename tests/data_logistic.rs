//! Logistic regression on pixels: it learns what a linear model can, and refuses bad input.

use convscope::nn::logistic::{LogisticConfig, LogisticRegression};
use convscope::rng::rng_from_seed;
use rand::RngExt;

/// Points in 3 dimensions labelled by the side of a plane, with a margin.
fn separable(n: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut rng = rng_from_seed(seed);
    let (mut x, mut y) = (Vec::new(), Vec::new());
    while y.len() < n {
        let p: [f32; 3] = [rng.random(), rng.random(), rng.random()];
        let side = 2.0 * p[0] - p[1] + 0.5 * p[2] - 0.7;
        if side.abs() > 0.1 {
            x.extend_from_slice(&p);
            y.push((side > 0.0) as u8);
        }
    }
    (x, y)
}

#[test]
fn separates_linearly_separable_points() {
    let (x, y) = separable(200, 1);
    let config = LogisticConfig {
        epochs: 300,
        learning_rate: 0.5,
        l2: 0.0,
        ..LogisticConfig::default()
    };
    let model = LogisticRegression::fit(&x, &y, 3, &config).unwrap();
    assert_eq!(model.accuracy(&x, &y).unwrap(), 1.0);
    let (x_new, y_new) = separable(200, 2);
    assert!(model.accuracy(&x_new, &y_new).unwrap() >= 0.97);
    // The learnt plane points the right way: the first feature pushes towards label 1.
    assert!(model.weights[0] > 0.0 && model.weights[1] < 0.0);
}

#[test]
fn training_lowers_the_loss_from_log_two() {
    let (x, y) = separable(100, 3);
    let untrained = LogisticRegression {
        weights: vec![0.0; 3],
        bias: 0.0,
    };
    assert!((untrained.loss(&x, &y, 0.0).unwrap() - std::f32::consts::LN_2).abs() < 1e-6);
    let config = LogisticConfig {
        epochs: 50,
        learning_rate: 0.5,
        l2: 1e-3,
        ..LogisticConfig::default()
    };
    let model = LogisticRegression::fit(&x, &y, 3, &config).unwrap();
    assert!(model.loss(&x, &y, 1e-3).unwrap() < 0.4);
}

#[test]
fn l2_shrinks_the_weights() {
    let (x, y) = separable(100, 4);
    let norm = |l2: f32| {
        let config = LogisticConfig {
            epochs: 100,
            learning_rate: 0.5,
            l2,
            ..LogisticConfig::default()
        };
        let m = LogisticRegression::fit(&x, &y, 3, &config).unwrap();
        m.weights.iter().map(|w| w * w).sum::<f32>()
    };
    assert!(norm(0.1) < 0.5 * norm(0.0));
}

#[test]
fn same_seed_same_model() {
    let (x, y) = separable(64, 5);
    let config = LogisticConfig {
        epochs: 5,
        ..LogisticConfig::default()
    };
    let a = LogisticRegression::fit(&x, &y, 3, &config).unwrap();
    let b = LogisticRegression::fit(&x, &y, 3, &config).unwrap();
    let c = LogisticRegression::fit(&x, &y, 3, &LogisticConfig { seed: 9, ..config }).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn bad_input_is_refused() {
    let config = LogisticConfig::default();
    let err = LogisticRegression::fit(&[0.0; 6], &[0, 2], 3, &config).unwrap_err();
    assert!(err.to_string().contains("found label 2"), "{err}");
    let err = LogisticRegression::fit(&[0.0; 5], &[0, 1], 3, &config).unwrap_err();
    assert!(
        err.to_string().contains("got 5 values for 2 labels"),
        "{err}"
    );
    assert!(LogisticRegression::fit(&[], &[], 3, &config).is_err());
    let zero_rate = LogisticConfig {
        learning_rate: 0.0,
        ..LogisticConfig::default()
    };
    assert!(LogisticRegression::fit(&[0.0; 6], &[0, 1], 3, &zero_rate).is_err());
}
