//! The pretrained ImageNet network (EfficientNet-Lite0) as convscope runs it, against logits
//! computed by an implementation that is not ours (tests/fixtures/imagenet/make_reference.py:
//! JAX in float64 from the original weights). The model file is the one `./build.sh` converts
//! (tools/imagenet/fetch_and_convert.py); `./build.sh test` makes it first and sets
//! CONVSCOPE_REQUIRE_IMAGENET=1, so there its absence fails. A plain `cargo test` without it
//! skips these tests with a message.
//!
//! Also: graphs that cannot work are explained, and each loader refuses the other's files.
#![cfg(not(target_arch = "wasm32"))]

use convscope::nn::graph::{softmax, top_k, GraphModel, GraphSpec};
use convscope::nn::io::{load_graph_model, load_model, save_model, LoadedGraph};
use convscope::nn::{ModelSpec, Sequential};
use serde::Deserialize;
use std::path::{Path, PathBuf};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/imagenet");

#[derive(Deserialize)]
struct Reference {
    photos: Vec<Photo>,
}

#[derive(Deserialize)]
struct Photo {
    file: String,
    logits: Vec<f64>,
    top5: Vec<Ranked>,
}

#[derive(Deserialize)]
struct Ranked {
    index: usize,
    name: String,
}

fn model_path() -> PathBuf {
    std::env::var_os("CONVSCOPE_IMAGENET_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("build/imagenet/efficientnet-lite0.safetensors")
        })
}

/// The converted model, or None (with a message) where it was not made and not required.
fn load() -> Option<LoadedGraph> {
    let path = model_path();
    match std::fs::read(&path) {
        Ok(bytes) => Some(load_graph_model(&bytes).expect("the converted model loads")),
        Err(e) => {
            assert!(
                std::env::var_os("CONVSCOPE_REQUIRE_IMAGENET").is_none(),
                "{}: {e} (python3 tools/imagenet/fetch_and_convert.py makes it)",
                path.display()
            );
            eprintln!(
                "skipped: no ImageNet model at {} (python3 tools/imagenet/fetch_and_convert.py makes it)",
                path.display()
            );
            None
        }
    }
}

/// A committed 224x224 RGB crop as pixels in [0, 1], (H, W, 3).
fn pixels(file: &str) -> Vec<f32> {
    let img = image::open(Path::new(FIXTURES).join(file))
        .expect(file)
        .to_rgb8();
    assert_eq!(img.dimensions(), (224, 224), "{file}");
    img.as_raw().iter().map(|&b| b as f32 / 255.0).collect()
}

#[test]
fn logits_and_top5_match_the_float64_reference() {
    let Some(mut loaded) = load() else { return };
    assert_eq!(loaded.classes.len(), 1000);
    assert_eq!(loaded.model.classes(), 1000);
    let reference: Reference = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIXTURES).join("reference.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(reference.photos.len(), 4);
    // All four photos in one batch: the batch path is what the page's transfer learning uses.
    let batch: Vec<f32> = reference
        .photos
        .iter()
        .flat_map(|p| pixels(&p.file))
        .collect();
    let logits = loaded
        .model
        .forward(&batch, reference.photos.len())
        .unwrap()
        .to_vec();
    for (p, got) in reference.photos.iter().zip(logits.chunks_exact(1000)) {
        let mut worst = 0f64;
        for (k, (&g, &want)) in got.iter().zip(&p.logits).enumerate() {
            let err = (g as f64 - want).abs() / want.abs().max(1.0);
            assert!(
                err <= 1e-4,
                "{}: logit {k} is {g}, the reference {want}",
                p.file
            );
            worst = worst.max(err);
        }
        let top: Vec<usize> = top_k(got, 5);
        let want: Vec<usize> = p.top5.iter().map(|r| r.index).collect();
        assert_eq!(top, want, "{}: the top-5", p.file);
        assert_eq!(
            loaded.classes[top[0]], p.top5[0].name,
            "{}: the class names",
            p.file
        );
        eprintln!(
            "{}: worst logit error {worst:.2e} (relative to max(1, |ref|)); top-1 {} {:.3}",
            p.file,
            loaded.classes[top[0]],
            softmax(got)[top[0]]
        );
    }
    // The cat is a cat: ImageNet's cat classes are 281-285.
    let cat = top_k(&logits[..1000], 1)[0];
    assert!((281..=285).contains(&cat), "the cat's top-1 is class {cat}");
}

#[test]
fn one_image_gives_the_same_logits_as_in_a_batch() {
    let Some(mut loaded) = load() else { return };
    let cat = pixels("chelsea.png");
    let coffee = pixels("coffee.png");
    let alone = loaded.model.forward(&coffee, 1).unwrap().to_vec();
    let both: Vec<f32> = cat.iter().chain(&coffee).copied().collect();
    let batched = loaded.model.forward(&both, 2).unwrap()[1000..].to_vec();
    for (a, b) in alone.iter().zip(&batched) {
        assert!(
            (a - b).abs() <= 1e-5 * a.abs().max(1.0),
            "{a} alone, {b} in a batch"
        );
    }
    // Every node's output stays readable, with its shape.
    let (stem, shape) = loaded.model.output_of("stem_relu6").unwrap();
    assert_eq!(stem.len(), 2 * shape.len());
    assert!(stem.iter().all(|v| (0.0..=6.0).contains(v)));
}

fn spec(nodes: &str) -> GraphSpec {
    GraphSpec::from_json(&format!(
        r#"{{"graph": {{"input": {{"height": 4, "width": 4, "channels": 2}},
            "normalize": {{"mean": [0, 0], "std": [1, 1]}}, "nodes": [{nodes}], "output": "fc", "head": "softmax"}}}}"#
    ))
    .unwrap()
}

const POOL_FC: &str = r#"{"name": "pool", "op": "global_avg_pool", "inputs": ["image"]},
    {"name": "fc", "op": "dense", "inputs": ["pool"], "units": 3}"#;

#[test]
fn a_small_graph_computes_what_its_nodes_say() {
    // The image's two channels averaged, then fc = kernel^T mean + bias, by hand.
    let mut model = GraphModel::new(spec(POOL_FC)).unwrap();
    for t in model.tensors_mut() {
        match t.name.as_str() {
            "fc.kernel" => t.values.copy_from_slice(&[1.0, 0.0, 2.0, 0.0, 1.0, -1.0]),
            "fc.bias" => t.values.copy_from_slice(&[0.5, 0.0, 0.0]),
            other => panic!("unexpected tensor {other}"),
        }
    }
    // Channel 0 is 1 everywhere, channel 1 is 3: means (1, 3).
    let image: Vec<f32> = (0..32)
        .map(|i| if i % 2 == 0 { 1.0 } else { 3.0 })
        .collect();
    assert_eq!(model.forward(&image, 1).unwrap(), &[1.5, 3.0, -1.0]);
}

#[test]
fn graphs_that_cannot_work_are_explained() {
    let err = |nodes: &str| GraphModel::new(spec(nodes)).unwrap_err().to_string();
    assert!(
        err(r#"{"name": "fc", "op": "dense", "inputs": ["nothing"], "units": 3}"#)
            .contains(r#"node "fc" reads "nothing", which no earlier node makes"#)
    );
    assert!(
        err(r#"{"name": "fc", "op": "dense", "inputs": ["image"], "units": 3}"#)
            .contains("needs a vector input")
    );
    assert!(err(&format!(
        r#"{{"name": "c", "op": "conv2d", "inputs": ["image"], "filters": 4, "kernel": [3, 3], "stride": [1, 1],
            "pads": [1, 1, 1, 1], "dilation": [1, 1], "groups": 2, "use_bias": false}}, {POOL_FC}"#
    ))
    .contains("convolutions with 2 groups are not supported"));
    assert!(err(&format!(
        r#"{{"name": "c", "op": "conv2d", "inputs": ["image"], "filters": 2, "kernel": [9, 9], "stride": [1, 1],
            "pads": [0, 0, 0, 0], "dilation": [1, 1], "groups": 1, "use_bias": false}}, {POOL_FC}"#
    ))
    .starts_with(r#"node "c": "#));
    assert!(err(&format!(
        r#"{{"name": "a", "op": "add", "inputs": ["image"]}}, {POOL_FC}"#
    ))
    .contains("takes 2 input(s), not 1"));
    let bad_json = GraphSpec::from_json(r#"{"graph": {"nodes": []}}"#)
        .unwrap_err()
        .to_string();
    assert!(
        bad_json.starts_with("the graph model description cannot be read"),
        "{bad_json}"
    );
    let mut model = GraphModel::new(spec(POOL_FC)).unwrap();
    let short = model.forward(&[0.0; 31], 1).unwrap_err().to_string();
    assert!(
        short.contains("the graph takes 4x4x2 images: 31 values do not make 1 of them"),
        "{short}"
    );
}

#[test]
fn the_graph_loader_refuses_a_smile_model() {
    let smile = save_model(
        &Sequential::new(&ModelSpec::chapter(), 0).unwrap(),
        &serde_json::Value::Null,
    )
    .unwrap();
    let msg = load_graph_model(&smile).unwrap_err().to_string();
    assert!(
        msg.contains("holds a model of the kind trained here (format version 1)"),
        "{msg}"
    );
}

#[test]
fn the_smile_loader_refuses_the_imagenet_model_and_a_cut_file_is_explained() {
    let Some(_) = load() else { return };
    let graph_bytes = std::fs::read(model_path()).unwrap();
    let msg = load_model(&graph_bytes).unwrap_err().to_string();
    assert!(
        msg.contains("holds a graph model (format version 2"),
        "{msg}"
    );
    // Cut short: a message, never a panic.
    let msg = load_graph_model(&graph_bytes[..graph_bytes.len() / 2])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("truncated"), "{msg}");
}

/// Runs `convscope imagenet predict ARGS...` with the converted model.
fn predict(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args([
            "imagenet",
            "predict",
            "--model",
            model_path().to_str().unwrap(),
        ])
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn the_command_line_names_the_cat_and_the_espresso() {
    let Some(_) = load() else { return };
    let (cat, coffee) = (
        format!("{FIXTURES}/chelsea.png"),
        format!("{FIXTURES}/coffee.png"),
    );
    let out = predict(&["--json", &cat, &coffee]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<serde_json::Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    let first = |i: usize| lines[i]["top5"][0].clone();
    assert_eq!(
        (first(0)["index"].as_u64(), first(0)["name"].as_str()),
        (Some(285), Some("Egyptian cat"))
    );
    assert_eq!(first(1)["name"], "espresso");
    let p = first(1)["probability"].as_f64().unwrap();
    assert!((p - 0.9423).abs() < 1e-3, "P(espresso) = {p}");
    assert_eq!(lines[0]["top5"].as_array().unwrap().len(), 5);
}

#[test]
fn the_command_line_explains_bad_photos_and_a_wrong_model() {
    let Some(_) = load() else { return };
    let dir = std::env::temp_dir().join(format!("convscope-imagenet-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let tiny = dir.join("tiny.png");
    image::RgbImage::from_pixel(1, 1, image::Rgb([9, 9, 9]))
        .save(&tiny)
        .unwrap();
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a photo").unwrap();
    for (file, says) in [
        (tiny.to_str().unwrap(), "tiny.png: this photo is only 1x1 pixels; the ImageNet network needs at least 32 pixels a side"),
        (text.to_str().unwrap(), "notes.txt: this file is not a PNG or JPEG picture"),
    ] {
        let out = predict(&[file]);
        assert!(!out.status.success());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(says), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
    // A smile model where the ImageNet one is expected.
    let smile = dir.join("smile.safetensors");
    std::fs::write(
        &smile,
        save_model(
            &Sequential::new(&ModelSpec::chapter(), 0).unwrap(),
            &serde_json::Value::Null,
        )
        .unwrap(),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args([
            "imagenet",
            "predict",
            "--model",
            smile.to_str().unwrap(),
            &format!("{FIXTURES}/chelsea.png"),
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds a model of the kind trained here"));
    std::fs::remove_dir_all(&dir).ok();
}
