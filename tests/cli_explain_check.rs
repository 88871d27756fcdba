//! `convscope explain-check` end to end on a tiny configuration (hidden size flags): one JSON
//! object with every figure the issue asks for, each in range, and clear errors for a bad
//! model file or confound probability. (The real measurement, on the full data, is recorded in
//! bench/RESULTS.md.)

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

const TINY: [&str; 10] = [
    "--train-size",
    "24",
    "--test-size",
    "10",
    "--epochs",
    "2",
    "--actmax-iter",
    "20",
    "--scoreboard-images",
    "3",
];

#[test]
fn explain_check_prints_one_json_object_with_every_figure() {
    let dir = std::env::temp_dir().join(format!("convscope-explain-check-{}", std::process::id()));
    let dir = dir.to_string_lossy().into_owned();
    let mut args = vec![
        "explain-check",
        "--seed",
        "2",
        "--json",
        "--save-models",
        &dir,
    ];
    args.extend(TINY);
    let (ok, out, err) = convscope(&args);
    assert!(ok, "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "one JSON object: {out}");
    let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    let unit = |x: &serde_json::Value| x.as_f64().is_some_and(|x| (0.0..=1.0).contains(&x));
    for key in ["pointing_game_gradcam", "pointing_game_saliency"] {
        assert!(
            unit(&v[key]) || (v[key].is_null() && v["pointing_game_images"] == 0),
            "{key}: {}",
            v[key]
        );
    }
    assert!(
        v["randomization_rank_corr"]
            .as_f64()
            .is_some_and(|r| (-1.0..=1.0).contains(&r)),
        "{v}"
    );
    let s = &v["shortcut"];
    for key in ["confounded_test_acc", "clean_test_acc"] {
        assert!(unit(&s[key]), "{key}: {s}");
    }
    for key in ["mouth_mass_clean_model", "mouth_mass_confounded_model"] {
        assert!(unit(&s[key]) || s[key].is_null(), "{key}: {s}");
    }
    assert!(
        v["actmax_logit_gain"].as_f64().is_some_and(|g| g > 0.0),
        "ascent raises the scores: {v}"
    );
    assert_eq!(v["grad_cam_layer"], "conv2d_1");
    assert_eq!(v["grad_cam_weighting"], "per-position");
    // The headline figures are the chosen weighting's; the other's stand beside them.
    let by = &v["grad_cam_by_weighting"];
    let chosen = by["per-position"]["pointing_game"].as_f64();
    assert_eq!(
        chosen,
        v["pointing_game_gradcam"].as_f64().map(|p| p as f32 as f64),
        "{v}"
    );
    assert!(
        by["channel-mean"]["pointing_game"].is_number()
            || by["channel-mean"]["pointing_game"].is_null()
    );
    assert_eq!(v["targets_met"].as_object().unwrap().len(), 5);

    // The scoreboard: every method, each measure in its range, IG's completeness.
    let board = &v["scoreboard"];
    assert_eq!(board["images"], 3);
    let methods = board["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 9, "{board}");
    for m in methods {
        assert!(
            unit(&m["deletion_area"]) && unit(&m["insertion_area"]),
            "{m}"
        );
        assert!(
            m["randomization_rank_corr"]
                .as_f64()
                .is_some_and(|r| (-1.0..=1.0).contains(&r)),
            "{m}"
        );
        assert_eq!(
            m["completeness_error"].is_number(),
            m["method"] == "Integrated Gradients",
            "{m}"
        );
    }
    for key in ["best_deletion", "best_insertion", "best_randomization"] {
        assert!(
            methods.iter().any(|m| m["method"] == board[key]),
            "{key}: {board}"
        );
    }

    // The saved models load back and give the same figures.
    let clean = format!("{dir}/clean.safetensors");
    let confounded = format!("{dir}/confounded.safetensors");
    let mut again = vec![
        "explain-check",
        "--seed",
        "2",
        "--json",
        "--model",
        &clean,
        "--confounded-model",
        &confounded,
    ];
    again.extend(TINY);
    let (ok, out, err) = convscope(&again);
    assert!(ok, "{err}");
    let w: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(w, v);
}

#[test]
fn explain_check_refuses_bad_inputs() {
    let (ok, _, err) = convscope(&[
        "explain-check",
        "--model",
        "/nonexistent/model.safetensors",
        "--epochs",
        "1",
        "--train-size",
        "4",
        "--test-size",
        "2",
    ]);
    assert!(
        !ok && err.contains("cannot read '/nonexistent/model.safetensors'"),
        "{err}"
    );
    let (ok, _, err) = convscope(&[
        "explain-check",
        "--confound",
        "1.5",
        "--train-size",
        "4",
        "--test-size",
        "2",
    ]);
    assert!(
        !ok && err.contains("confound probability must be between 0 and 1"),
        "{err}"
    );
    let (ok, _, err) = convscope(&["explain-check", "--grad-cam-weighting", "average"]);
    assert!(
        !ok && err.contains("'average' is not a Grad-CAM weighting"),
        "{err}"
    );
}

#[test]
fn explain_check_on_other_data_runs_the_scoreboard_alone_and_places_the_evidence() {
    let (ok, out, err) = convscope(&[
        "explain-check",
        "--data",
        "synthetic:3,40,12",
        "--epochs",
        "1",
        "--scoreboard-images",
        "2",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert!(
        v.get("shortcut").is_none(),
        "the synthetic-only checks are left out: {v}"
    );
    let b = &v["scoreboard"];
    assert_eq!(b["images"], 2);
    assert_eq!(b["landmarks"], true);
    let area = b["face_area_share"].as_f64().unwrap();
    assert!((0.1..0.9).contains(&area), "{area}");
    let hiding = &b["hiding"];
    assert_eq!(
        hiding["images"], 12,
        "the hiding check runs on the whole test set"
    );
    for key in ["accuracy", "face_hidden", "face_only"] {
        let share = hiding[key].as_f64().unwrap() * 12.0;
        assert!(
            (share - share.round()).abs() < 1e-4,
            "{key} counts pictures: {hiding}"
        );
    }
    assert_eq!(b["methods"].as_array().unwrap().len(), 9);

    // Pictures that do not know where their faces are: no face figures, and no error.
    let folder =
        std::env::temp_dir().join(format!("convscope-explain-data-{}", std::process::id()));
    for (class, shade) in [("frown", 40u8), ("smile", 200u8)] {
        std::fs::create_dir_all(folder.join(class)).unwrap();
        for i in 0..6u8 {
            let img = image::RgbImage::from_pixel(16, 16, image::Rgb([shade + i, shade, 90]));
            img.save(folder.join(class).join(format!("{i}.png")))
                .unwrap();
        }
    }
    let spec = format!("folder:{}", folder.display());
    let (ok, out, err) = convscope(&[
        "explain-check",
        "--data",
        &spec,
        "--epochs",
        "1",
        "--scoreboard-images",
        "2",
        "--json",
    ]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let b = &v["scoreboard"];
    assert_eq!(b["landmarks"], false);
    assert!(
        b["face_area_share"].is_null() && b["hiding"].is_null(),
        "{b}"
    );
    assert!(b["methods"][0]["face_evidence"].is_null());
    std::fs::remove_dir_all(&folder).ok();
}
