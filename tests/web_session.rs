//! The training page's session, natively: data, model, a short run in time slices, test
//! results, save and load, and failures that leave everything as it was.
// Native only (it reads files or uses native-only loaders); `wasm-pack test` compiles every
// test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

use convscope::app::session::{Session, Split, TrainSettings};
use convscope::data::folder::FileEntry;
use std::io::Cursor;

mod data_support;

fn settings(epochs: usize, seed: u64) -> TrainSettings {
    TrainSettings {
        epochs,
        batch_size: 16,
        learning_rate: 1e-3,
        patience: 0,
        seed,
        bn_momentum: None,
        augmentation: Default::default(),
    }
}

/// Trains to the end in slices of `budget_ms`; returns the per-epoch training losses.
fn train_to_end(s: &mut Session, settings: &TrainSettings, budget_ms: f64) -> Vec<f32> {
    let batches = s.start_training(settings).unwrap();
    assert!(batches > 0);
    let mut losses = Vec::new();
    for _ in 0..10_000 {
        let report = s.train_for(budget_ms).unwrap();
        losses.extend(report.epochs.iter().map(|e| e.loss));
        if report.finished.is_some() {
            return losses;
        }
    }
    panic!("training did not finish");
}

#[test]
fn synthetic_data_model_and_a_short_run() {
    let mut s = Session::new();
    let info = s.load_synthetic(64, 20, 3, "easy").unwrap();
    assert_eq!(
        (
            info.train,
            info.test,
            info.height,
            info.width,
            info.channels
        ),
        (64, 20, 64, 64, 3)
    );
    assert_eq!(info.train_counts.iter().sum::<usize>(), 64);
    let summary = s.build_model(None, 0).unwrap();
    assert_eq!(
        summary.total_params, 1_063_073,
        "the chapter model as Keras counts it"
    );
    assert_eq!(summary.rows.len(), 11);

    // A zero budget still trains one batch per call: 52 training images (80%), batch 16 = 4 batches.
    let first = train_to_end(&mut s, &settings(2, 5), 0.0);
    assert_eq!(first.len(), 2);
    // Same seed, same curve.
    let again = train_to_end(&mut s, &settings(2, 5), 1e9);
    assert_eq!(first, again);

    let r = s.evaluate_test().unwrap();
    assert_eq!(r.labels.len(), 20);
    assert_eq!(r.evaluation.confusion.iter().flatten().sum::<usize>(), 20);
    assert!(r.confidence.iter().all(|&p| (0.5..=1.0).contains(&p)));
    let p = s.predict_index(Split::Test, 3).unwrap();
    assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
    assert!(
        (p[1] - r.probability[3]).abs() < 1e-5,
        "predict and evaluate agree"
    );

    let rgba = s.images_rgba(Split::Train, &[0, 5]).unwrap();
    assert_eq!(rgba.len(), 2 * 64 * 64 * 4);
    assert!(rgba.chunks(4).all(|px| px[3] == 255));
    assert!(s.images_rgba(Split::Test, &[20]).is_err());
}

#[test]
fn stop_ends_a_run_and_save_load_keeps_predictions() {
    let mut s = Session::new();
    s.load_synthetic(40, 12, 1, "normal").unwrap();
    s.start_training(&settings(50, 1)).unwrap();
    s.train_for(0.0).unwrap();
    let finished = s.stop_training().unwrap();
    assert_eq!(finished.message, "stopped on request");
    assert!(
        s.train_for(0.0).unwrap().finished.is_some(),
        "a stopped run stays finished"
    );

    let before: Vec<Vec<f32>> = (0..12)
        .map(|i| s.predict_index(Split::Test, i).unwrap())
        .collect();
    let bytes = s.save(&serde_json::json!({"note": "test"})).unwrap();

    let mut fresh = Session::new();
    fresh.load_synthetic(40, 12, 1, "normal").unwrap();
    fresh.build_model(None, 99).unwrap();
    let (_, notes) = fresh.load(&bytes).unwrap();
    assert_eq!(notes["note"], "test");
    let after: Vec<Vec<f32>> = (0..12)
        .map(|i| fresh.predict_index(Split::Test, i).unwrap())
        .collect();
    assert_eq!(before, after);

    // A damaged model file is refused and the loaded model stays.
    let err = fresh
        .load(&bytes[..bytes.len() / 2])
        .unwrap_err()
        .to_string();
    assert!(!err.is_empty());
    assert_eq!(fresh.predict_index(Split::Test, 0).unwrap(), before[0]);
}

#[test]
fn damaged_h5_leaves_data_and_model_untouched() {
    let mut s = Session::new();
    let info = s.load_synthetic(30, 10, 2, "easy").unwrap();
    s.build_model(None, 0).unwrap();
    let p = s.predict_index(Split::Test, 1).unwrap();
    for bytes in [
        b"not an hdf5 file at all".to_vec(),
        vec![0x89, b'H', b'D', b'F', b'\r', b'\n', 0x1a, b'\n', 0, 0, 0],
    ] {
        let err = s
            .load_happy_h5(&bytes, "train_happy.h5", 0)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("train_happy.h5: "), "{err}");
    }
    assert_eq!(s.data_info().unwrap().description, info.description);
    assert_eq!(s.predict_index(Split::Test, 1).unwrap(), p);
}

#[test]
fn bad_settings_are_explained() {
    let mut s = Session::new();
    assert!(s
        .start_training(&settings(1, 0))
        .unwrap_err()
        .to_string()
        .contains("load some data"));
    s.load_synthetic(30, 10, 2, "easy").unwrap();
    let bad = TrainSettings {
        learning_rate: 0.0,
        ..settings(1, 0)
    };
    assert!(s
        .start_training(&bad)
        .unwrap_err()
        .to_string()
        .contains("learning rate"));
    let bad = TrainSettings {
        epochs: 0,
        ..settings(1, 0)
    };
    assert!(s
        .start_training(&bad)
        .unwrap_err()
        .to_string()
        .contains("at least one epoch"));
    assert!(s
        .load_synthetic(30, 10, 2, "medium")
        .unwrap_err()
        .to_string()
        .contains("easy, normal or hard"));
    assert!(s.build_model(Some("{\"input\": 3}"), 0).is_err());
}

#[test]
fn real_happy_house_test_file_alone_asks_for_the_training_file() {
    let Some(dir) = data_support::happy_house_dir() else {
        eprintln!("skipped: the shared Happy House data is not present");
        return;
    };
    let bytes = std::fs::read(dir.join("test_happy.h5")).unwrap();
    let mut s = Session::new();
    s.load_synthetic(30, 10, 2, "easy").unwrap();
    let err = s
        .load_happy_h5(&bytes, "test_happy.h5", 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("training file"), "{err}");
    assert_eq!(s.data_info().unwrap().train, 30);
}

/// A `w` x `h` PNG of one colour, with a white square in the middle when `marked`.
fn png(w: u32, h: u32, rgb: [u8; 3], marked: bool) -> Vec<u8> {
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let centre = x >= w / 3 && x < 2 * w / 3 && y >= h / 3 && y < 2 * h / 3;
        image::Rgb(if marked && centre {
            [255, 255, 255]
        } else {
            rgb
        })
    });
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A dropped folder "faces/<class>/<i>.png" with `n` images per class.
fn folder(classes: &[&str], n: usize) -> Vec<FileEntry> {
    let mut entries = Vec::new();
    for (c, class) in classes.iter().enumerate() {
        for i in 0..n {
            entries.push(FileEntry {
                path: format!("faces/{class}/{i:02}.png"),
                bytes: png(40 + i as u32, 30, [200, 40 * c as u8, 10 * i as u8], c == 1),
            });
        }
    }
    entries
}

#[test]
fn image_folder_loads_splits_and_trains() {
    let mut s = Session::new();
    let info = s
        .load_image_folder(
            &folder(&["no_smile", "smile"], 10),
            "images from the folder faces",
            4,
        )
        .unwrap();
    assert_eq!(
        (
            info.train,
            info.test,
            info.height,
            info.width,
            info.channels
        ),
        (16, 4, 64, 64, 3)
    );
    assert_eq!(info.class_names, ["no_smile", "smile"]);
    assert_eq!(
        (info.train_counts.clone(), info.test_counts.clone()),
        (vec![8, 8], vec![2, 2])
    );
    assert!(
        info.description
            .starts_with("images from the folder faces (10 no_smile, 10 smile;"),
        "{}",
        info.description
    );
    s.build_model(None, 0).unwrap();
    train_to_end(&mut s, &settings(1, 0), 1e9);
    assert_eq!(s.evaluate_test().unwrap().labels.len(), 4);
}

#[test]
fn one_class_folder_and_broken_pictures_leave_the_data_as_they_were() {
    let mut s = Session::new();
    let info = s.load_synthetic(30, 10, 2, "easy").unwrap();
    s.build_model(None, 0).unwrap();
    let p = s.predict_index(Split::Test, 1).unwrap();

    let err = s
        .load_image_folder(&folder(&["smile"], 5), "one", 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("only one class (smile)"), "{err}");
    let mut entries = folder(&["a", "b"], 3);
    entries[4] = FileEntry {
        path: "faces/b/notes.png".into(),
        bytes: b"hello".to_vec(),
    };
    let err = s
        .load_image_folder(&entries, "text", 0)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("notes.png") && err.contains("not a PNG or JPEG"),
        "{err}"
    );
    let err = s
        .load_zip(b"PK not really", "faces.zip", 0)
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("faces.zip: "), "{err}");

    assert_eq!(s.data_info().unwrap().description, info.description);
    assert_eq!(
        s.predict_index(Split::Test, 1).unwrap(),
        p,
        "the model is untouched"
    );
}

#[test]
fn webcam_frames_become_a_stratified_dataset() {
    let side = 64;
    let frame = |v: u8| vec![v; side * side * 4];
    let labels: Vec<u8> = (0..12).map(|i| (i % 2) as u8).collect();
    let rgba: Vec<u8> = labels
        .iter()
        .flat_map(|&l| frame(if l == 1 { 220 } else { 30 }))
        .collect();
    let names = vec!["no smile".to_string(), "smile".to_string()];
    let mut s = Session::new();
    let info = s.load_captured(&rgba, &labels, side, &names, 1).unwrap();
    assert_eq!(
        (info.train_counts.clone(), info.test_counts.clone()),
        (vec![5, 5], vec![1, 1])
    );
    assert!(
        info.description
            .starts_with("webcam frames (6 no smile, 6 smile"),
        "{}",
        info.description
    );
    // Each split keeps the frames' pixels (alpha dropped).
    let test_labels = s.labels(Split::Test).unwrap();
    let px = s.images_rgba(Split::Test, &[0]).unwrap();
    assert_eq!(px[0], if test_labels[0] == 1 { 220 } else { 30 });

    // Too few frames of a class, or bytes that do not match, are explained.
    let err = s
        .load_captured(&rgba[..3 * side * side * 4], &[0, 0, 1], side, &names, 1)
        .unwrap_err()
        .to_string();
    assert!(err.contains("at least two frames of “smile”"), "{err}");
    assert!(s
        .load_captured(&rgba[..10], &labels, side, &names, 1)
        .is_err());
    assert_eq!(
        s.data_info().unwrap().train,
        10,
        "the frames loaded before stay"
    );

    s.build_model(None, 0).unwrap();
    let p = s.predict_rgba(&frame(220), side, side).unwrap();
    assert!((p[0] + p[1] - 1.0).abs() < 1e-6);
    assert!(s.predict_rgba(&frame(220)[..100], side, side).is_err());
}

#[test]
fn a_photo_is_decoded_cut_and_predicted() {
    let mut s = Session::new();
    s.load_synthetic(30, 10, 2, "easy").unwrap();
    assert!(s
        .predict_photo(&png(10, 10, [1, 2, 3], false))
        .unwrap_err()
        .to_string()
        .contains("model first"));
    s.build_model(None, 0).unwrap();
    // A 300x100 photo with a mark over its middle third: the centred 100x100 square is cut out,
    // so the mark spans the whole width of what the model sees (squashing would leave a third).
    let p = s.predict_photo(&png(300, 100, [0, 0, 0], true)).unwrap();
    assert_eq!((p.height, p.width, p.rgba.len()), (64, 64, 64 * 64 * 4));
    assert!((p.probabilities.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    let at = |x: usize, y: usize| p.rgba[(y * 64 + x) * 4];
    assert_eq!(
        (at(32, 32), at(2, 32), at(32, 2)),
        (255, 255, 0),
        "the mark fills the middle band of the cut square"
    );
    for (bytes, needle) in [
        (&b"just some text"[..], "not a PNG or JPEG"),
        (b"GIF89a\x01\x00\x01\x00", "only PNG or JPEG"),
    ] {
        let err = s.predict_photo(bytes).unwrap_err().to_string();
        assert!(err.contains(needle), "{err}");
    }
}

#[test]
fn a_divergent_learning_rate_stops_with_the_last_good_weights() {
    let mut s = Session::new();
    s.load_synthetic(64, 16, 1, "easy").unwrap();
    s.build_model(None, 0).unwrap();
    let lr10 = TrainSettings {
        learning_rate: 10.0,
        ..settings(20, 0)
    };
    s.start_training(&lr10).unwrap();
    let finished = loop {
        let r = s.train_for(1e9).unwrap();
        if let Some(f) = r.finished {
            break f;
        }
    };
    // Adam at 10 sends the loss into the millions within a few batches (finite, from the logit).
    assert!(
        finished.message.contains("the loss exploded to"),
        "{}",
        finished.message
    );
    assert!(matches!(
        finished.stop,
        convscope::nn::StopReason::Diverged { .. }
    ));
    // The kept weights still give numbers.
    assert!(s
        .predict_index(Split::Test, 0)
        .unwrap()
        .iter()
        .all(|p| p.is_finite()));
    assert!(s
        .start_training(&TrainSettings {
            learning_rate: 11.0,
            ..settings(1, 0)
        })
        .unwrap_err()
        .to_string()
        .contains("from 0.000001 to 10"));
}

/// The page's HDF5 reader hands the core JS numbers as labels: the core checks them (moved
/// from the wasm boundary into the session, so it is tested here) and keeps the data it had.
#[test]
fn happy_arrays_from_the_page_are_checked() {
    use convscope::app::session::HappyArrays;
    let mut s = Session::new();
    s.load_synthetic(20, 10, 1, "easy").unwrap();
    let pixels = vec![128u8; 10 * 64 * 64 * 3];
    let arrays = |labels: &'static [f64]| HappyArrays {
        pixels: &pixels,
        x_shape: &[10, 64, 64, 3],
        labels,
        y_shape: &[10],
    };
    const GOOD: [f64; 10] = [0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    const HALF: [f64; 10] = [0.0, 1.0, 0.5, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0];
    let err = s
        .load_happy_arrays("train", &arrays(&HALF), "train_happy.h5", 0)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "train_happy.h5: train_set_y: label 0.5 at position 2 is not 0 (not smiling) or 1 (smiling)"
    );
    assert_eq!(
        s.data_info().unwrap().train,
        20,
        "the data loaded before stay"
    );
    let info = s
        .load_happy_arrays("train", &arrays(&GOOD), "train_happy.h5", 0)
        .unwrap();
    assert_eq!(
        (info.train, info.test),
        (8, 2),
        "a training file alone: a fifth kept for testing"
    );
}
