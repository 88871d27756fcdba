//! The model in the browser: the whole-model Keras fixture through the SIMD128 kernels, the
//! summary, and a short seeded training run (the wasm clock, reproducibility, learning).
//! Run with `wasm-pack test --headless --chrome`.
#![cfg(target_arch = "wasm32")]

mod model_support;

use convscope::nn::{fit_timed, Examples, FitConfig, ModelSpec, Sequential, Silent, StopReason};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn chapter_model_matches_keras_in_wasm() {
    assert!(
        convscope::simd_enabled(),
        "the wasm build lost its +simd128 flag"
    );
    let report = model_support::compare_with_keras();
    assert!(
        report.is_empty(),
        "differences from Keras beyond tolerance:\n{}",
        report.join("\n")
    );
}

#[wasm_bindgen_test]
fn summary_text_is_keras_own_in_wasm() {
    assert_eq!(
        Sequential::new(&ModelSpec::chapter(), 0)
            .unwrap()
            .summary()
            .to_text(),
        model_support::KERAS_SUMMARY
    );
}

#[wasm_bindgen_test]
fn seeded_training_is_reproducible_and_learns_in_wasm() {
    // Left half brighter than the right half is class 1.
    let n = 96;
    let x: Vec<f32> = (0..n * 36)
        .map(|i| {
            let (example, column) = (i / 36, i % 6);
            let noise = ((i * 7919) % 101) as f32 / 202.0;
            noise
                + if (column < 3) == (example % 2 == 1) {
                    0.5
                } else {
                    0.0
                }
        })
        .collect();
    let y: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    let data = Examples::new(&x, &y, 36).unwrap();
    let spec = ModelSpec::from_json(
        r#"{"input": {"height": 6, "width": 6, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "batch_norm", "momentum": 0.9}, {"type": "max_pool"}, {"type": "dropout", "rate": 0.2},
        {"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#,
    )
    .unwrap();
    let config = FitConfig {
        epochs: 12,
        batch_size: 8,
        seed: 3,
        validation_split: 0.25,
        early_stopping: None,
        ..FitConfig::recommended()
    };
    let run = || {
        let mut model = Sequential::new(&spec, 3).unwrap();
        fit_timed(
            &mut model,
            &data,
            None,
            config,
            &mut Silent,
            convscope::web::training::now_ms,
        )
        .unwrap()
    };
    let (a, b) = (run(), run());
    let numbers = |h: &convscope::nn::History| {
        h.epochs
            .iter()
            .map(|e| (e.loss, e.accuracy, e.val_loss, e.val_accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(numbers(&a), numbers(&b));
    assert_eq!(a.stop, Some(StopReason::Completed));
    // The clock moves (a stopped one reports no time at all). One tiny epoch may still fit
    // between two ticks of the browser's coarsened clock, so the run as a whole is asked.
    assert!(
        a.epochs.iter().all(|e| e.seconds >= 0.0)
            && a.epochs.iter().map(|e| e.seconds).sum::<f64>() > 0.0
            && a.epochs.iter().any(|e| e.images_per_second > 0.0),
        "the wasm clock works: {:?}",
        a.epochs.iter().map(|e| e.seconds).collect::<Vec<_>>()
    );
    assert!(
        a.epochs.last().unwrap().val_accuracy.unwrap() >= 0.85,
        "{:?}",
        a.epochs.last()
    );
}
