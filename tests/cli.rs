//! The command line end to end: summary, a short training run with --json and --save, evaluate
//! on the saved model, and clear errors (exit status 1) for bad data sources and damaged files.

use std::process::Command;

fn convscope(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .output()
        .expect("run convscope");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("convscope-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name).to_string_lossy().into_owned()
}

#[test]
fn summary_prints_the_keras_table() {
    let (ok, out, _) = convscope(&["summary"]);
    assert!(ok);
    assert!(
        out.contains("conv2d (Conv2D)") && out.contains(" Total params: 1,063,073 (4.06 MB)"),
        "{out}"
    );
    let (ok, out, _) = convscope(&["summary", "--channels", "1", "--json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["totalParams"], 1_062_273);
    assert_eq!(v["rows"].as_array().unwrap().len(), 11);
}

#[test]
fn train_with_json_then_evaluate_the_saved_model() {
    let model = temp("tiny.safetensors");
    let (ok, out, err) = convscope(&[
        "train",
        "--data",
        "synthetic:3,24,12",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--json",
        "--save",
        &model,
    ]);
    assert!(ok, "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "two epochs and the result: {out}");
    assert_eq!(lines[0]["event"], "epoch");
    assert_eq!(lines[1]["epoch"], 2);
    assert!(lines[1]["val_loss"].as_f64().is_some());
    let result = &lines[2];
    assert_eq!(result["event"], "result");
    let confusion = result["test"]["confusion_matrix"].as_array().unwrap();
    let total: u64 = confusion
        .iter()
        .flat_map(|r| r.as_array().unwrap())
        .map(|c| c.as_u64().unwrap())
        .sum();
    assert_eq!(total, 12);
    let accuracy = result["test"]["accuracy"].as_f64().unwrap();

    let (ok, out, err) = convscope(&[
        "evaluate",
        "--model",
        &model,
        "--data",
        "synthetic:3,24,12",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["test"]["accuracy"].as_f64().unwrap(),
        accuracy,
        "the saved model gives the same test accuracy"
    );
}

#[test]
fn bad_inputs_give_clear_errors() {
    let cases: [(&[&str], &str); 6] = [
        (&["train", "--data", "mnist"], "not a data source"),
        (&["train", "--data", "h5:only-one.h5"], "2 comma-separated"),
        (
            &["train", "--data", "h5:/nonexistent/a.h5,/nonexistent/b.h5"],
            "cannot read '/nonexistent/a.h5'",
        ),
        (&["train", "--data", "synthetic:x"], "whole numbers"),
        (
            &["train", "--data", "synthetic:1,10,10", "--epochs", "0"],
            "at least one epoch",
        ),
        (
            &[
                "evaluate",
                "--model",
                "/nonexistent/model",
                "--data",
                "synthetic",
            ],
            "cannot read '/nonexistent/model'",
        ),
    ];
    for (args, needle) in cases {
        let (ok, _, err) = convscope(args);
        assert!(!ok, "{args:?} should fail");
        assert!(
            err.contains(needle),
            "{args:?}: '{err}' should mention '{needle}'"
        );
    }
    let damaged = temp("damaged.safetensors");
    std::fs::write(&damaged, b"\x10\x00\x00\x00\x00\x00\x00\x00{\"a\":1}").unwrap();
    let (ok, _, err) = convscope(&[
        "evaluate",
        "--model",
        &damaged,
        "--data",
        "synthetic:1,10,10",
    ]);
    assert!(
        !ok && err.starts_with("error: ") && err.contains("model file"),
        "{err}"
    );
}

/// Three class folders (reddish, greenish and bluish pictures with noise, as a student's
/// "three kinds of things" would be sorted) train with the default model: its head follows the
/// classes (a softmax over three), and the result has a 3x3 confusion matrix.
#[test]
fn a_three_class_folder_trains_with_the_default_model() {
    let root = std::path::PathBuf::from(temp("three-classes"));
    let mut state = 7u32;
    let mut noise = move || {
        state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
        (state >> 24) as u8 / 4
    };
    for (c, class) in ["blue", "green", "red"].iter().enumerate() {
        let dir = root.join(class);
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..15 {
            let picture = image::RgbImage::from_fn(20, 20, |_, _| {
                let mut px = [noise(), noise(), noise()];
                px[2 - c] = 180 + noise();
                image::Rgb(px)
            });
            picture.save(dir.join(format!("{i}.png"))).unwrap();
        }
    }
    let data = format!("folder:{}", root.display());
    let (ok, out, err) = convscope(&[
        "train",
        "--data",
        &data,
        "--epochs",
        "4",
        "--batch-size",
        "8",
        "--json",
    ]);
    assert!(ok, "{err}");
    let result: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let confusion = result["test"]["confusion_matrix"].as_array().unwrap();
    assert_eq!(confusion.len(), 3, "{result}");
    assert!(confusion
        .iter()
        .all(|row| row.as_array().unwrap().len() == 3));
    let total: u64 = confusion
        .iter()
        .flat_map(|row| row.as_array().unwrap())
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(total, 9, "a fifth of 45 pictures is the test set: {result}");
    let accuracy = result["test"]["accuracy"].as_f64().unwrap();
    assert!(
        accuracy > 0.5,
        "colours this distinct are learned: {result}"
    );
}

#[test]
fn train_with_augmentation_and_a_cross_dataset_test() {
    // Synthetic faces of one data seed, tested on those of another, all in gray.
    let (ok, out, err) = convscope(&[
        "train",
        "--data",
        "synthetic:3,48,16",
        "--channels",
        "1",
        "--epochs",
        "2",
        "--augment",
        "--rotate",
        "30",
        "--elastic",
        "1",
        "--cross-test",
        "synthetic:9,8,24",
        "--json",
    ]);
    assert!(ok, "{err}");
    let result: serde_json::Value = serde_json::from_str(out.lines().last().unwrap()).unwrap();
    let a = &result["augmentation"];
    assert_eq!(
        a["rotationDegrees"], 30.0,
        "--rotate overrides the suggested ±10°"
    );
    assert_eq!(a["elasticPixels"], 1.0);
    assert_eq!(
        a["flipHorizontal"], true,
        "--augment starts from the suggested set"
    );
    let cross = &result["cross_test"];
    assert!(
        cross["data"].as_str().unwrap().contains("data seed 9"),
        "{cross}"
    );
    assert_eq!(
        cross["test"]["confusion_matrix"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|r| r.as_array().unwrap())
            .map(|v| v.as_u64().unwrap())
            .sum::<u64>(),
        24
    );
    let gap = cross["gap"].as_f64().unwrap();
    let own = result["test"]["accuracy"].as_f64().unwrap();
    assert!((own - cross["accuracy"].as_f64().unwrap() - gap).abs() < 1e-6);

    for (flags, words) in [
        (
            &["--rotate", "720"][..],
            "rotation must be from 0° to 180° (got 720°)",
        ),
        (
            &["--zoom", "0"][..],
            "zoom factor must be from 1x to 2x (got 0x)",
        ),
        (
            &["--cross-test", "folder:/no/such/folder"][..],
            "/no/such/folder",
        ),
    ] {
        let mut args = vec!["train", "--data", "synthetic:3,16,8", "--epochs", "1"];
        args.extend(flags);
        let (ok, _, err) = convscope(&args);
        assert!(!ok && err.contains(words), "{flags:?}: {err}");
    }
}
