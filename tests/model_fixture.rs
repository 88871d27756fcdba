//! The whole smile CNN against Keras 3 (JAX backend): for one fixed batch of 4 images and fixed
//! weights, every layer's output in inference mode (moving statistics), then the loss, every
//! layer's output in training mode (batch statistics), every parameter gradient, the batch-norm
//! moving statistics and every parameter after one Adam step.
//! Fixtures: tests/fixtures/model/make_fixtures.py (it documents what is stored and how).
//!
//! Dropout rates are 0 in this fixture, so that no random mask is involved; dropout is checked
//! on its own by the layer-kernel tests.
//!
//! Tolerance, per tensor:
//! - every tensor: norm-relative, ||ours - keras|| / ||keras|| <= 1e-4 (measured: <= 7e-6);
//! - outputs, loss, gradients and moving statistics also element by element:
//!   |ours - keras| <= 1e-4 * |keras| + 1e-5 * max|keras| (measured: <= 0.23 of that). The small
//!   absolute floor is there because a value that cancels to near zero (a sum of 400 products)
//!   carries the rounding of its terms, i.e. of the tensor's scale, not of its own size;
//! - the parameters after one Adam step only norm-relative: at step 1 Adam moves a value by
//!   lr * g / (|g| + 3.2e-6), so for a gradient near 3e-6 it multiplies the gradient's float
//!   rounding by ~300 (measured: 3e-4 of the tensor's largest value on one sampled element).

mod model_support;

use convscope::nn::{ModelSpec, Sequential};

#[test]
fn chapter_model_matches_keras_for_one_training_step() {
    let report = model_support::compare_with_keras();
    assert!(
        report.is_empty(),
        "differences from Keras beyond tolerance:\n{}",
        report.join("\n")
    );
}

#[test]
fn summary_text_is_keras_own() {
    let model = Sequential::new(&ModelSpec::chapter(), 0).unwrap();
    let ours = model.summary().to_text();
    assert_eq!(
        ours,
        model_support::KERAS_SUMMARY,
        "ours:\n{ours}\nkeras:\n{}",
        model_support::KERAS_SUMMARY
    );
}
