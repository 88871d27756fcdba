//! Training: the chapter's model learns a small synthetic subset; same seed, same numbers;
//! early stopping with Keras's rules; a stop request between batches; a diverging loss caught
//! with the last good weights kept; the step-wise trainer; metrics and batched prediction.

use convscope::data::synthetic::{generate, Difficulty, SyntheticParams};
use convscope::nn::early_stopping::EarlyStoppingState;
use convscope::nn::metrics::score;
use convscope::nn::*;
use convscope::rng::rng_from_seed;
use rand::RngExt;

/// A small model on 6x6x1 images, for the tests that are about the training loop, not accuracy.
fn tiny_spec() -> ModelSpec {
    ModelSpec::from_json(
        r#"{"input": {"height": 6, "width": 6, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "batch_norm"}, {"type": "max_pool"}, {"type": "dropout", "rate": 0.2},
        {"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#,
    )
    .unwrap()
}

/// Images whose class is whether the left half is brighter than the right: learnable.
fn tiny_data(n: usize, seed: u64) -> (Vec<f32>, Vec<u8>) {
    let mut rng = rng_from_seed(seed);
    let mut x = Vec::with_capacity(n * 36);
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let label = (i % 3 == 0) as u8;
        for _ in 0..6 {
            for c in 0..6 {
                let bright = (c < 3) == (label == 1);
                x.push(rng.random::<f32>() * 0.5 + if bright { 0.5 } else { 0.0 });
            }
        }
        y.push(label);
    }
    (x, y)
}

fn config(epochs: usize, seed: u64) -> FitConfig {
    FitConfig {
        epochs,
        batch_size: 8,
        seed,
        validation_split: 0.25,
        early_stopping: None,
        ..FitConfig::recommended()
    }
}

#[test]
fn chapter_model_learns_a_small_synthetic_subset() {
    let (train, test) = generate(&SyntheticParams {
        train: 192,
        test: 96,
        seed: 5,
        difficulty: Difficulty::Easy,
        confound: None,
    })
    .unwrap();
    // A faster batch-norm momentum than Keras's 0.99: with only 24 batches an epoch, 0.99 would
    // leave the moving statistics (used at test time) far behind for dozens of epochs.
    let mut spec = ModelSpec::chapter();
    for layer in &mut spec.layers {
        if let LayerSpec::BatchNorm { momentum, .. } = layer {
            *momentum = 0.8;
        }
    }
    let mut model = Sequential::new(&spec, 2).unwrap();
    let train_examples = train.examples();
    let cfg = FitConfig {
        epochs: 8,
        batch_size: 8,
        seed: 2,
        validation_split: 0.0,
        early_stopping: None,
        ..FitConfig::recommended()
    };
    let history = fit(&mut model, &train_examples, None, cfg, &mut Silent).unwrap();
    let first = history.epochs.first().unwrap();
    let last = history.epochs.last().unwrap();
    assert!(
        last.loss < first.loss,
        "training loss must fall: {history:?}"
    );
    let result = evaluate(&mut model, &test.examples(), 32).unwrap();
    println!(
        "train accuracy {:.3} -> {:.3}, test accuracy {:.3}",
        first.accuracy, last.accuracy, result.accuracy
    );
    assert!(
        result.accuracy >= 0.7,
        "test accuracy {} is not clearly above chance",
        result.accuracy
    );
}

#[test]
fn same_seed_gives_the_same_numbers() {
    let (x, y) = tiny_data(60, 1);
    let data = Examples::new(&x, &y, 36).unwrap();
    let run = |seed: u64| {
        let mut model = Sequential::new(&tiny_spec(), seed).unwrap();
        let history = fit(&mut model, &data, None, config(3, seed), &mut Silent).unwrap();
        (history, model.snapshot())
    };
    let (h1, w1) = run(7);
    let (h2, w2) = run(7);
    let strip = |h: &History| {
        h.epochs
            .iter()
            .map(|e| (e.loss, e.accuracy, e.val_loss, e.val_accuracy))
            .collect::<Vec<_>>()
    };
    assert_eq!(strip(&h1), strip(&h2));
    assert_eq!(w1, w2);
    let (h3, w3) = run(8);
    assert_ne!(strip(&h1), strip(&h3));
    assert_ne!(w1, w3);
}

#[test]
fn the_tiny_model_learns_and_the_history_is_complete() {
    let (x, y) = tiny_data(120, 2);
    let data = Examples::new(&x, &y, 36).unwrap();
    let mut model = Sequential::new(&tiny_spec(), 3).unwrap();
    let mut batches = 0;
    let mut observer = |p: &BatchProgress| {
        batches += 1;
        assert!(
            p.batch >= 1 && p.batch <= p.batches && p.loss.is_finite() && p.images_per_second > 0.0
        );
        Control::Continue
    };
    let history = fit(&mut model, &data, None, config(25, 3), &mut observer).unwrap();
    assert_eq!(history.epochs.len(), 25);
    assert_eq!(history.stop, Some(StopReason::Completed));
    assert_eq!(
        batches,
        25 * 90usize.div_ceil(8),
        "90 training examples (the last 30 validate), batches of 8, last one partial"
    );
    let last = history.epochs.last().unwrap();
    assert!(last.val_accuracy.unwrap() >= 0.85, "{last:?}");
    assert!(last.accuracy >= 0.85, "{last:?}");
}

#[test]
fn early_stopping_follows_keras_rules() {
    let model = Sequential::new(&tiny_spec(), 0).unwrap();
    // Keras: patience 2 -> stops when 2 epochs in a row fail to beat the best.
    let mut es = EarlyStoppingState::new(EarlyStopping {
        patience: 2,
        ..EarlyStopping::default()
    });
    let stops: Vec<bool> = [1.0, 0.8, 0.9, 0.85]
        .iter()
        .enumerate()
        .map(|(e, &v)| es.on_epoch_end(e, v, &model))
        .collect();
    assert_eq!(stops, [false, false, false, true]);
    assert_eq!(es.best_epoch(), Some(1));
    // min_delta: smaller gains do not count.
    let mut es = EarlyStoppingState::new(EarlyStopping {
        patience: 1,
        min_delta: 0.05,
        ..EarlyStopping::default()
    });
    assert!(!es.on_epoch_end(0, 1.0, &model));
    assert!(
        es.on_epoch_end(1, 0.96, &model),
        "0.04 better is not an improvement with min_delta 0.05"
    );
    // start_from_epoch: nothing is watched before it; accuracy improves upwards.
    let mut es = EarlyStoppingState::new(EarlyStopping {
        monitor: Monitor::ValAccuracy,
        patience: 1,
        start_from_epoch: 2,
        ..EarlyStopping::default()
    });
    assert!(!es.on_epoch_end(0, 0.9, &model) && !es.on_epoch_end(1, 0.1, &model));
    assert!(!es.on_epoch_end(2, 0.5, &model));
    assert!(!es.on_epoch_end(3, 0.6, &model));
    assert!(es.on_epoch_end(4, 0.6, &model));
    assert_eq!(es.best_value(), Some(0.6));
    // Patience 0 stops at the first epoch without improvement, but never at epoch 0.
    let mut es = EarlyStoppingState::new(EarlyStopping::default());
    assert!(!es.on_epoch_end(0, 1.0, &model));
    assert!(es.on_epoch_end(1, 1.0, &model));
}

#[test]
fn early_stopping_restores_the_best_epoch() {
    let (x, y) = tiny_data(80, 4);
    let data = Examples::new(&x, &y, 36).unwrap();
    let early = EarlyStopping {
        monitor: Monitor::ValLoss,
        patience: 2,
        restore_best_weights: true,
        ..EarlyStopping::default()
    };
    // A learning rate far too high makes the validation loss jump around, so early stopping
    // has something to do.
    let cfg = FitConfig {
        optimizer: OptimizerSpec::adam(0.3),
        early_stopping: Some(early),
        ..config(40, 5)
    };
    let mut model = Sequential::new(&tiny_spec(), 5).unwrap();
    let mut trainer = Trainer::new(&mut model, &data, None, cfg).unwrap();
    let mut weights_by_epoch = Vec::new();
    let stop = loop {
        let step = trainer.step(&mut model, &data, None).unwrap();
        if step.epoch.is_some() {
            weights_by_epoch.push(model.snapshot());
        }
        if let Some(stop) = step.finished {
            break stop;
        }
    };
    let history = trainer.history().clone();
    let StopReason::EarlyStopped { epoch } = stop else {
        panic!("expected early stopping, got {stop:?}")
    };
    assert_eq!(epoch, history.epochs.len());
    let best = history
        .epochs
        .iter()
        .min_by(|a, b| a.val_loss.partial_cmp(&b.val_loss).unwrap())
        .unwrap()
        .epoch;
    assert_eq!(history.restored_epoch, Some(best));
    assert!(best < epoch, "stopped {epoch}, best {best}");
    assert_eq!(
        model.snapshot(),
        weights_by_epoch[best - 1],
        "the model ends with the best epoch's weights"
    );
}

#[test]
fn early_stopping_needs_validation_data() {
    let (x, y) = tiny_data(20, 1);
    let data = Examples::new(&x, &y, 36).unwrap();
    let mut model = Sequential::new(&tiny_spec(), 0).unwrap();
    let cfg = FitConfig {
        validation_split: 0.0,
        early_stopping: Some(EarlyStopping::default()),
        ..config(2, 0)
    };
    let e = fit(&mut model, &data, None, cfg, &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("val_loss") && e.contains("no validation data"),
        "{e}"
    );
}

#[test]
fn a_stop_request_ends_training_between_batches() {
    let (x, y) = tiny_data(80, 3);
    let data = Examples::new(&x, &y, 36).unwrap();
    let mut model = Sequential::new(&tiny_spec(), 1).unwrap();
    let mut seen = 0;
    let history = fit(
        &mut model,
        &data,
        None,
        config(10, 1),
        &mut |_: &BatchProgress| {
            seen += 1;
            if seen == 3 {
                Control::Stop
            } else {
                Control::Continue
            }
        },
    )
    .unwrap();
    assert_eq!(seen, 3);
    assert_eq!(history.stop, Some(StopReason::StoppedByUser));
    assert!(history.epochs.is_empty());
}

#[test]
fn a_diverging_loss_stops_with_the_last_good_weights() {
    let (mut x, y) = tiny_data(40, 6);
    // Example 21 is the 6th of the third batch of 8 in an unshuffled epoch.
    x[21 * 36 + 5] = f32::INFINITY;
    let data = Examples::new(&x, &y, 36).unwrap();
    let cfg = FitConfig {
        shuffle: false,
        validation_split: 0.0,
        ..config(3, 2)
    };
    let mut model = Sequential::new(&tiny_spec(), 2).unwrap();
    let history = fit(&mut model, &data, None, cfg, &mut Silent).unwrap();
    let Some(StopReason::Diverged {
        epoch,
        batch,
        cause,
        message,
    }) = history.stop.clone()
    else {
        panic!("{history:?}")
    };
    assert_eq!((epoch, batch), (1, 3));
    assert!(
        cause.starts_with("the loss")
            && message.starts_with(&format!("{cause} at epoch 1, batch 3")),
        "{cause} / {message}"
    );
    assert!(
        message.contains("epoch 1, batch 3") && message.contains("kept"),
        "{message}"
    );

    // The same run stopped by request after two batches has exactly these weights.
    let mut reference = Sequential::new(&tiny_spec(), 2).unwrap();
    let mut count = 0;
    fit(
        &mut reference,
        &data,
        None,
        cfg,
        &mut |_: &BatchProgress| {
            count += 1;
            if count == 2 {
                Control::Stop
            } else {
                Control::Continue
            }
        },
    )
    .unwrap();
    assert_eq!(
        model.snapshot(),
        reference.snapshot(),
        "weights and batch-norm statistics from before the bad batch"
    );
}

#[test]
fn an_exploding_but_finite_loss_also_stops_the_run() {
    let (mut x, y) = tiny_data(40, 6);
    // Inputs a million times too large: the first batch's logits, and its loss, are huge.
    x.iter_mut().for_each(|v| *v *= 1e6);
    let data = Examples::new(&x, &y, 36).unwrap();
    let cfg = FitConfig {
        shuffle: false,
        validation_split: 0.0,
        ..config(3, 2)
    };
    // No batch norm, which would scale the inputs back.
    let spec = ModelSpec::from_json(
        r#"{"input": {"height": 6, "width": 6, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#,
    )
    .unwrap();
    let mut model = Sequential::new(&spec, 2).unwrap();
    let initial = model.snapshot();
    let history = fit(&mut model, &data, None, cfg, &mut Silent).unwrap();
    let Some(StopReason::Diverged {
        epoch,
        batch,
        message,
        ..
    }) = history.stop.clone()
    else {
        panic!("{history:?}")
    };
    assert_eq!((epoch, batch), (1, 1));
    assert!(message.contains("the loss exploded to"), "{message}");
    assert_eq!(model.snapshot(), initial, "no step was taken");
}

#[test]
fn bad_training_input_is_refused_in_words() {
    let (x, mut y) = tiny_data(20, 1);
    let mut model = Sequential::new(&tiny_spec(), 0).unwrap();
    y[4] = 2;
    let data = Examples::new(&x, &y, 36).unwrap();
    let e = fit(&mut model, &data, None, config(1, 0), &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("image 4 has label 2"), "{e}");
    let e = Examples::new(&x[..100], &y, 36).unwrap_err().to_string();
    assert!(e.contains("20 labels"), "{e}");
    let y = vec![0u8; 20];
    let wrong_size = Examples::new(&x[..20 * 25], &y, 25).unwrap();
    let e = fit(&mut model, &wrong_size, None, config(1, 0), &mut Silent)
        .unwrap_err()
        .to_string();
    assert!(e.contains("25 values per image") && e.contains("36"), "{e}");
    let data = Examples::new(&x, &y, 36).unwrap();
    for (cfg, needle) in [
        (
            FitConfig {
                epochs: 0,
                ..config(1, 0)
            },
            "at least one epoch",
        ),
        (
            FitConfig {
                batch_size: 0,
                ..config(1, 0)
            },
            "batch size",
        ),
        (
            FitConfig {
                validation_split: 1.5,
                ..config(1, 0)
            },
            "validation split",
        ),
        (
            FitConfig {
                optimizer: OptimizerSpec::adam(-1.0),
                ..config(1, 0)
            },
            "learning rate",
        ),
        (
            FitConfig {
                optimizer: OptimizerSpec::sgd(0.1, 1.5),
                ..config(1, 0)
            },
            "momentum",
        ),
    ] {
        let e = fit(&mut model, &data, None, cfg, &mut Silent)
            .unwrap_err()
            .to_string();
        assert!(e.contains(needle), "'{e}' should mention '{needle}'");
    }
}

#[test]
fn sgd_with_momentum_trains_too() {
    let (x, y) = tiny_data(120, 9);
    let data = Examples::new(&x, &y, 36).unwrap();
    let mut model = Sequential::new(&tiny_spec(), 4).unwrap();
    let history = fit(
        &mut model,
        &data,
        None,
        FitConfig {
            optimizer: OptimizerSpec::sgd(0.05, 0.9),
            ..config(15, 4)
        },
        &mut Silent,
    )
    .unwrap();
    let (first, last) = (history.epochs[0], *history.epochs.last().unwrap());
    assert!(last.loss < first.loss * 0.7, "{first:?} -> {last:?}");
}

#[test]
fn validation_split_takes_the_last_examples_as_keras() {
    let (x, y) = tiny_data(10, 1);
    let data = Examples::new(&x, &y, 36).unwrap();
    let (train, val) = data.split_validation(0.25).unwrap();
    assert_eq!(
        (train.len(), val.len()),
        (7, 3),
        "floor(10 * 0.75) = 7 train"
    );
    assert_eq!(val.image(0), data.image(7));
    assert!(data
        .split_validation(0.95)
        .unwrap_err()
        .to_string()
        .contains("0 for training"));
}

#[test]
fn metrics_from_predictions() {
    // true:      1 1 1 1 0 0 0 1
    // predicted: 1 0 1 1 1 0 0 1
    let e = score(
        0.5,
        &[1, 1, 1, 1, 0, 0, 0, 1],
        vec![1, 0, 1, 1, 1, 0, 0, 1],
        2,
    );
    assert_eq!(e.confusion, vec![vec![2, 1], vec![1, 4]]);
    assert_eq!(e.misclassified, vec![1, 4]);
    assert_eq!(e.accuracy, 0.75);
    assert_eq!(e.precision, 0.8);
    assert_eq!(e.recall, 0.8);
    assert!((e.f1 - 0.8).abs() < 1e-6);
    // No positive prediction: precision 0, not NaN.
    let e = score(0.1, &[1, 0], vec![0, 0], 2);
    assert_eq!((e.precision, e.recall, e.f1), (0.0, 0.0, 0.0));
    // Three classes: macro averages.
    let e = score(0.0, &[0, 1, 2, 2], vec![0, 2, 2, 2], 3);
    assert_eq!(
        e.confusion,
        vec![vec![1, 0, 0], vec![0, 0, 1], vec![0, 0, 2]]
    );
    assert!((e.precision - (1.0 + 0.0 + 2.0 / 3.0) / 3.0).abs() < 1e-6);
    assert!((e.recall - (1.0 + 0.0 + 1.0) / 3.0).abs() < 1e-6);
}

#[test]
fn predict_in_batches_equals_one_pass() {
    let (x, y) = tiny_data(23, 5);
    let mut model = Sequential::new(&tiny_spec(), 6).unwrap();
    let all = model.forward(&x, Mode::Infer).to_vec();
    assert_eq!(predict(&mut model, &x, 5).unwrap(), all);
    let eval = evaluate(&mut model, &Examples::new(&x, &y, 36).unwrap(), 4).unwrap();
    let predicted: Vec<usize> = all.iter().map(|&p| (p > 0.5) as usize).collect();
    assert_eq!(eval.predictions, predicted);
    assert!(predict(&mut model, &x[..50], 5)
        .unwrap_err()
        .to_string()
        .contains("whole images"));
}

#[test]
fn a_softmax_model_learns_three_classes() {
    // Class = which third of the image (left, middle, right columns) is bright.
    let mut rng = rng_from_seed(11);
    let n = 150;
    let mut x = Vec::with_capacity(n * 36);
    let labels: Vec<u8> = (0..n).map(|i| (i % 3) as u8).collect();
    for &label in &labels {
        for _ in 0..6 {
            for c in 0..6 {
                x.push(rng.random::<f32>() * 0.5 + if c / 2 == label as usize { 0.5 } else { 0.0 });
            }
        }
    }
    let spec = ModelSpec::from_json(
        r#"{"input": {"height": 6, "width": 6, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 4, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "batch_norm", "momentum": 0.9}, {"type": "flatten"},
        {"type": "dense", "units": 3, "activation": "softmax"}]}"#,
    )
    .unwrap();
    let mut model = Sequential::new(&spec, 1).unwrap();
    let data = Examples::new(&x, &labels, 36).unwrap();
    let history = fit(&mut model, &data, None, config(15, 1), &mut Silent).unwrap();
    let last = history.epochs.last().unwrap();
    assert!(last.val_accuracy.unwrap() >= 0.9, "{last:?}");
    let eval = evaluate(&mut model, &data, 16).unwrap();
    assert_eq!(eval.confusion.len(), 3);
    let probs = predict(&mut model, &data.image(0), 1).unwrap();
    assert_eq!(probs.len(), 3);
    assert!((probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
}
