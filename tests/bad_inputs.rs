//! The bad-input table of tests/README.md, for the cases no loader or model test already checks:
//! the explorer's controls, the training settings, the model description, memory for a batch
//! and a diverging run. Each test asserts the exact words (or a distinctive part) the student
//! gets; the table lists them.

use convscope::app::explorer::{diagnose, parse_padding, pool_shape, ConvSettings};
use convscope::app::session::{Session, TrainSettings};
use convscope::kernels::geometry::Padding;
use convscope::nn::*;

fn conv(kernel: usize, stride: usize, padding: Padding, dilation: usize) -> ConvSettings {
    ConvSettings {
        kernel,
        stride,
        padding,
        dilation,
    }
}

/// The first error message the explorer shows for these settings on a `side` x `side` input.
fn explorer_error(side: usize, s: ConvSettings) -> (&'static str, String) {
    let d = diagnose(side, side, &s)
        .into_iter()
        .find(|d| d.level == "error")
        .expect("these settings are an error");
    (d.control, d.message)
}

#[test]
fn explorer_settings_out_of_range_are_explained_at_their_control() {
    let valid = Padding::Valid;
    for (side, s, control, text) in [
        (
            0,
            conv(3, 1, valid, 1),
            "input",
            "the input must be between 1x1 and 256x256 (got 0x0)",
        ),
        (
            9,
            conv(0, 1, valid, 1),
            "kernel",
            "the kernel size must be between 1 and 15 (got 0)",
        ),
        (
            9,
            conv(99, 1, valid, 1),
            "kernel",
            "the kernel size must be between 1 and 15 (got 99)",
        ),
        (
            9,
            conv(3, 0, valid, 1),
            "stride",
            "the stride must be between 1 and 16 (got 0)",
        ),
        (
            9,
            conv(3, 1, valid, 0),
            "dilation",
            "the dilation must be between 1 and 8 (got 0)",
        ),
        (
            9,
            conv(3, 1, Padding::Explicit(99), 1),
            "padding",
            "the padding must be at most 16 (got 99)",
        ),
        (
            5,
            conv(7, 1, valid, 1),
            "kernel",
            "The 7x7 kernel does not fit in the padded input (5x5), so there is no output.",
        ),
    ] {
        let (c, message) = explorer_error(side, s);
        assert_eq!(c, control, "{message}");
        assert!(message.contains(text), "'{message}' should say '{text}'");
    }
    assert!(parse_padding("sideways", 0)
        .unwrap_err()
        .to_string()
        .contains("padding must be 'valid', 'same' or a number (got 'sideways')"));
    let err = pool_shape(64, 64, 3, 0, 2, Padding::Valid)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the pooling window must be at least 1x1"),
        "{err}"
    );
    let err = pool_shape(1 << 30, 64, 3, 2, 2, Padding::Valid)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("too large for the calculator (at most 1048576)"),
        "{err}"
    );
}

fn settings() -> TrainSettings {
    TrainSettings {
        epochs: 2,
        batch_size: 16,
        learning_rate: 1e-3,
        patience: 0,
        seed: 0,
        bn_momentum: None,
        augmentation: Default::default(),
    }
}

#[test]
fn nonsense_training_settings_are_refused_and_the_session_is_kept() {
    let mut s = Session::new();
    s.load_synthetic(30, 10, 2, "easy").unwrap();
    s.build_model(None, 0).unwrap();
    let before = s
        .predict_index(convscope::app::session::Split::Test, 0)
        .unwrap();
    for (bad, text) in [
        (
            TrainSettings {
                epochs: 1_000_000,
                ..settings()
            },
            "at most 1000 epochs, please (got 1000000)",
        ),
        (
            TrainSettings {
                epochs: 0,
                ..settings()
            },
            "train for at least one epoch",
        ),
        (
            TrainSettings {
                batch_size: 0,
                ..settings()
            },
            "the batch size must be at least 1",
        ),
        (
            TrainSettings {
                batch_size: 5000,
                ..settings()
            },
            "the batch size can be at most 1024 (got 5000)",
        ),
        (
            TrainSettings {
                learning_rate: -1.0,
                ..settings()
            },
            "the learning rate must be from 0.000001 to 10 (got -1)",
        ),
        (
            TrainSettings {
                learning_rate: f32::NAN,
                ..settings()
            },
            "the learning rate must be from 0.000001 to 10 (got NaN)",
        ),
        (
            TrainSettings {
                learning_rate: 11.0,
                ..settings()
            },
            "the learning rate must be from 0.000001 to 10 (got 11)",
        ),
    ] {
        let err = s.start_training(&bad).unwrap_err().to_string();
        assert!(err.contains(text), "'{err}' should say '{text}'");
    }
    assert_eq!(
        s.predict_index(convscope::app::session::Split::Test, 0)
            .unwrap(),
        before,
        "the model is untouched"
    );
}

#[test]
fn text_in_a_number_field_is_refused_in_words() {
    let err = serde_json::from_str::<TrainSettings>(
        r#"{"epochs": "ten", "batchSize": 8, "learningRate": 0.001, "patience": 0, "seed": 0}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("invalid type: string \"ten\", expected usize"),
        "{err}"
    );
    let err = ModelSpec::from_json(r#"{"input": {"height": 8, "width": 8, "channels": 1}, "layers": [{"type": "dense", "units": "many"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "the model description is not valid: invalid type: string \"many\", expected usize"
        ),
        "{err}"
    );
    let err = ModelSpec::from_json(
        r#"{"input": {"height": -8, "width": 8, "channels": 1}, "layers": []}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains(
            "the model description is not valid: invalid value: integer `-8`, expected usize"
        ),
        "{err}"
    );
}

#[test]
fn oversized_model_settings_are_refused_in_words() {
    let tiny = |layers: &str| {
        ModelSpec::from_json(&format!(
            r#"{{"input": {{"height": 8, "width": 8, "channels": 1}}, "layers": [{layers}]}}"#
        ))
        .unwrap()
    };
    let head = r#"{"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}"#;
    for (layers, text) in [
        (
            format!(r#"{{"type": "conv2d", "filters": 2, "kernel": 3, "stride": 5000}}, {head}"#),
            "layer 1 (Conv2D): the stride is 5000, more than the 4096 allowed",
        ),
        (
            format!(
                r#"{{"type": "conv2d", "filters": 2, "kernel": 3, "padding": {{"explicit": 9999}}}}, {head}"#
            ),
            "the padding is 9999, more than the 4096 allowed",
        ),
        (
            format!(r#"{{"type": "max_pool", "pool": 100000}}, {head}"#),
            "layer 1 (MaxPooling2D): the pooling window is 100000, more than the 4096 allowed",
        ),
        (
            format!(r#"{{"type": "conv2d", "filters": 100000000, "kernel": 1}}, {head}"#),
            "100000000 filters are more than the 16000000 allowed",
        ),
    ] {
        let err = tiny(&layers).plan().unwrap_err().to_string();
        assert!(err.contains(text), "'{err}' should say '{text}'");
    }
}

/// The chapter's model and `n` random 64x64x3 images with labels 0, 1, 0, ...
fn chapter_examples(n: usize) -> (Vec<f32>, Vec<u8>) {
    (
        (0..n * 64 * 64 * 3)
            .map(|i| (i % 251) as f32 / 251.0)
            .collect(),
        (0..n).map(|i| (i % 2) as u8).collect(),
    )
}

#[test]
fn a_batch_too_large_for_the_page_memory_is_refused_before_allocating() {
    let mut model = Sequential::new(&ModelSpec::chapter(), 0).unwrap();
    let (x, y) = chapter_examples(1100);
    let data = Examples::new(&x, &y, 64 * 64 * 3).unwrap();
    let config = FitConfig {
        batch_size: 1024,
        validation_split: 0.0,
        early_stopping: None,
        ..FitConfig::recommended()
    };
    let err = Trainer::new(&mut model, &data, None, config)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("a batch of 1024 images needs")
            && err.contains("more than the 1024 MB the page allows; use a batch size of at most"),
        "{err}"
    );
    // The batch size the message offers is the largest that fits.
    let offered: usize = err.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(offered > 100 && offered < 1024, "{offered}");
    assert!(
        model.plan().batch_activation_values(offered)
            <= convscope::limits::MAX_BATCH_ACTIVATION_VALUES
    );
    assert!(
        model.plan().batch_activation_values(offered + 1)
            > convscope::limits::MAX_BATCH_ACTIVATION_VALUES
    );
}

/// Runs `config` step by step until training ends; returns the stop reason, and whether the
/// model's weights at the end equal those taken just before the last batch was tried.
fn run_to_the_end(
    spec: &ModelSpec,
    x: &[f32],
    y: &[u8],
    image_len: usize,
    config: FitConfig,
) -> (StopReason, bool) {
    let mut model = Sequential::new(spec, 3).unwrap();
    let data = Examples::new(x, y, image_len).unwrap();
    let mut trainer = Trainer::new(&mut model, &data, None, config).unwrap();
    loop {
        let before = model.snapshot();
        let step = trainer.step(&mut model, &data, None).unwrap();
        if let Some(stop) = step.finished {
            return (stop, model.snapshot() == before);
        }
    }
}

#[test]
fn a_huge_learning_rate_diverges_and_says_where_keeping_the_last_good_weights() {
    let spec = ModelSpec::from_json(
        r#"{"input": {"height": 6, "width": 6, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 3, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "flatten"}, {"type": "dense", "units": 8, "activation": "relu"},
        {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#,
    )
    .unwrap();
    let x: Vec<f32> = (0..64 * 36)
        .map(|i| ((i * 37) % 101) as f32 / 10.0)
        .collect();
    let y: Vec<u8> = (0..64).map(|i| (i % 2) as u8).collect();
    let config = FitConfig {
        epochs: 50,
        batch_size: 8,
        validation_split: 0.0,
        early_stopping: None,
        optimizer: OptimizerSpec::sgd(1e30, 0.0),
        ..FitConfig::recommended()
    };
    let (stop, kept) = run_to_the_end(&spec, &x, &y, 36, config);
    let StopReason::Diverged {
        epoch,
        batch,
        message,
        ..
    } = stop
    else {
        panic!("expected divergence, got {stop:?}")
    };
    assert!(
        message.starts_with(&format!("the loss became NaN (not a number) at epoch {epoch}, batch {batch}; training stopped there and the weights from before that batch are kept. Try a smaller learning rate"))
            || message.contains(&format!("became NaN or infinite at epoch {epoch}, batch {batch};"))
            || message.starts_with(&format!("the loss became infinite at epoch {epoch}, batch {batch};"))
            || (message.starts_with("the loss exploded to ") && message.contains(&format!(" at epoch {epoch}, batch {batch}; training stopped there"))),
        "{message}"
    );
    assert!(
        message.ends_with("Try a smaller learning rate"),
        "{message}"
    );
    assert!(kept, "the weights are those from before the diverged batch");
}
