//! ONNX export, checked by the other side: each model is exported, and
//! `tools/onnx/check_export.py` (in a throwaway virtualenv with onnx and onnxruntime) runs
//! `onnx.checker` and compares ONNX Runtime's probabilities with convscope's, at most 1e-5
//! apart. `./build.sh test` makes the virtualenv first and sets CONVSCOPE_REQUIRE_ONNX=1, so
//! there a missing virtualenv fails; a plain `cargo test` where the package registry cannot be
//! reached skips with a message.
//!
//! Models: the chapter's model trained for an epoch on Happy House (the 150 test photos; the
//! synthetic faces where the shared data are absent), an edited model with every padding,
//! stride, dilation and pooling the page offers, a graph model with a depthwise block and a
//! residual add, a transfer head on that graph, and the pretrained ImageNet network when made.
#![cfg(not(target_arch = "wasm32"))]

mod data_support;

use convscope::data::h5::read_happy_h5;
use convscope::data::synthetic::{generate, Difficulty, SyntheticParams};
use convscope::data::Dataset;
use convscope::nn::graph::{softmax, GraphModel, GraphSpec};
use convscope::nn::onnx::{graph_to_onnx, sequential_to_onnx, transfer_to_onnx};
use convscope::nn::{
    fit, predict, Activation, FitConfig, InputShape, LayerSpec, ModelSpec, PaddingSpec, Sequential,
    Silent,
};
use std::path::{Path, PathBuf};
use std::process::Command;

const TOLERANCE: f64 = 1e-5;

/// A small deterministic generator (the test needs varied numbers, not good random ones).
struct Numbers(u64);

impl Numbers {
    fn uniform(&mut self, low: f32, high: f32) -> f32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        low + (high - low) * ((self.0 >> 40) as f32 / (1u64 << 24) as f32)
    }
}

/// Writes the case for check_export.py and runs it; `false` when skipped (no virtualenv).
fn check_in_onnx_runtime(
    case: &str,
    onnx: &[u8],
    images: &[f32],
    shape: InputShape,
    expected: &[f32],
) -> bool {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("onnx_export")
        .join(case);
    std::fs::create_dir_all(&dir).unwrap();
    let per = shape.height * shape.width * shape.channels;
    let n = images.len() / per;
    let outputs = expected.len() / n;
    let f32s = |v: &[f32]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
    std::fs::write(dir.join("model.onnx"), onnx).unwrap();
    std::fs::write(dir.join("images.f32"), f32s(images)).unwrap();
    std::fs::write(dir.join("expected.f32"), f32s(expected)).unwrap();
    let case_json = serde_json::json!({"n": n, "height": shape.height, "width": shape.width,
        "channels": shape.channels, "outputs": outputs, "tolerance": TOLERANCE});
    std::fs::write(dir.join("case.json"), case_json.to_string()).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/onnx/check_export.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&dir)
        .output()
        .expect("python3 runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    match out.status.code() {
        Some(0) => {
            println!("{case}: {}", text.trim());
            true
        }
        Some(3) if std::env::var_os("CONVSCOPE_REQUIRE_ONNX").is_none() => {
            eprintln!("skipped: {case}: {}", text.trim());
            false
        }
        _ => panic!("{case}: the ONNX check failed:\n{text}"),
    }
}

/// Test photos and a model trained for four epochs (the Happy House test photos where the shared
/// data are here: the RGB training file is not, and agreement with ONNX Runtime does not need
/// unseen photos; else the synthetic faces).
fn trained_chapter_model() -> (Sequential, Dataset) {
    let (train, test) = match data_support::happy_house_dir() {
        Some(dir) => {
            let photos = read_happy_h5(&std::fs::read(dir.join("test_happy.h5")).unwrap())
                .unwrap()
                .1;
            (photos.clone(), photos)
        }
        None => generate(&SyntheticParams {
            train: 600,
            test: 150,
            seed: 3,
            difficulty: Difficulty::Easy,
            confound: None,
        })
        .unwrap(),
    };
    let mut spec = ModelSpec::chapter_for(train.channels(), 2);
    // A quick momentum, so that one epoch moves the moving statistics well away from (0, 1).
    for layer in &mut spec.layers {
        if let LayerSpec::BatchNorm { momentum, .. } = layer {
            *momentum = 0.5;
        }
    }
    let mut model = Sequential::new(&spec, 7).unwrap();
    let config = FitConfig {
        epochs: 4,
        batch_size: 32,
        seed: 7,
        validation_split: 0.0,
        early_stopping: None,
        ..FitConfig::recommended()
    };
    fit(&mut model, &train.examples(), None, config, &mut Silent).unwrap();
    (model, test)
}

#[test]
fn the_chapter_model_runs_the_same_in_onnx_runtime_on_the_test_photos() {
    let (mut model, test) = trained_chapter_model();
    let images = test.images().into_owned();
    let expected = predict(&mut model, &images, 32).unwrap();
    // A model that always says the same would hide a wrong layout: it must separate the photos.
    let smiling = expected.iter().filter(|&&p| p > 0.5).count();
    assert!(
        smiling > 10 && smiling < expected.len() - 10,
        "{smiling} of {} above 0.5",
        expected.len()
    );
    let onnx = sequential_to_onnx(&model, &["not smiling".into(), "smiling".into()]).unwrap();
    check_in_onnx_runtime("chapter", &onnx, &images, model.spec().input, &expected);
}

/// Sets every weight to a varied value: kernels and biases in +-0.5, batch norm's scale near
/// 1 and its moving variance in [0.5, 2] (a real one is positive).
fn vary<'a>(tensors: impl Iterator<Item = (&'a str, &'a mut [f32])>, numbers: &mut Numbers) {
    for (name, values) in tensors {
        let (low, high) = match name.rsplit('.').next().unwrap() {
            "gamma" => (0.6, 1.4),
            "moving_variance" => (0.5, 2.0),
            "moving_mean" | "beta" => (-0.3, 0.3),
            _ => (-0.5, 0.5),
        };
        values
            .iter_mut()
            .for_each(|v| *v = numbers.uniform(low, high));
    }
}

fn vary_sequential(model: &mut Sequential, numbers: &mut Numbers) {
    for i in 0..model.layers().len() {
        let layer = model.layer_mut(i);
        let name = layer.name().to_string();
        for t in layer.tensors().to_vec() {
            let full = format!("{name}.{}", t.name);
            vary(
                std::iter::once((full.as_str(), layer.tensor_mut(&t))),
                numbers,
            );
        }
    }
}

fn random_images(n: usize, shape: InputShape, numbers: &mut Numbers) -> Vec<f32> {
    (0..n * shape.height * shape.width * shape.channels)
        .map(|_| numbers.uniform(0.0, 1.0))
        .collect()
}

#[test]
fn an_edited_model_with_every_padding_stride_and_pooling_runs_the_same() {
    let conv = |filters, kernel, stride, padding, dilation| LayerSpec::Conv2d {
        filters,
        kernel,
        stride,
        padding,
        dilation,
        activation: Activation::Relu,
    };
    let input = InputShape {
        height: 23,
        width: 19,
        channels: 1,
    };
    let spec = ModelSpec {
        input,
        layers: vec![
            // Odd sizes: "same" with stride 2 pads unevenly (the extra row at the bottom).
            conv(6, 4, 2, PaddingSpec::Same, 1),
            LayerSpec::batch_norm(),
            LayerSpec::MaxPool {
                pool: 3,
                stride: 2,
                padding: PaddingSpec::Same,
            },
            conv(5, 3, 1, PaddingSpec::Explicit(2), 2),
            LayerSpec::AvgPool {
                pool: 2,
                stride: 1,
                padding: PaddingSpec::Same,
            },
            conv(4, 3, 1, PaddingSpec::Valid, 1),
            LayerSpec::Dropout { rate: 0.3 },
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 7,
                activation: Activation::Relu,
            },
            LayerSpec::Dense {
                units: 3,
                activation: Activation::Softmax,
            },
        ],
    };
    let mut model = Sequential::new(&spec, 1).unwrap();
    let mut numbers = Numbers(11);
    vary_sequential(&mut model, &mut numbers);
    let images = random_images(40, input, &mut numbers);
    let expected = predict(&mut model, &images, 16).unwrap();
    let onnx = sequential_to_onnx(&model, &[]).unwrap();
    check_in_onnx_runtime("edited", &onnx, &images, input, &expected);
}

/// A graph with what the ImageNet network uses: a strided stem with TensorFlow's uneven pads,
/// batch norm, ReLU6, a depthwise convolution, a 1x1 projection added to the stem's output,
/// global average pooling and a dense classifier; a normalization that is not the identity.
fn small_graph() -> GraphModel {
    let spec = GraphSpec::from_json(
        r#"{"graph": {"input": {"height": 15, "width": 17, "channels": 3},
        "normalize": {"mean": [0.4, 0.5, 0.6], "std": [0.2, 0.25, 0.3]},
        "nodes": [
          {"name": "stem", "op": "conv2d", "inputs": ["image"], "filters": 8, "kernel": [3, 3],
           "stride": [2, 2], "pads": [0, 1, 0, 1], "dilation": [1, 1], "groups": 1, "use_bias": false},
          {"name": "stem_bn", "op": "batch_norm", "inputs": ["stem"], "epsilon": 0.001, "momentum": 0.99},
          {"name": "stem_relu6", "op": "relu6", "inputs": ["stem_bn"]},
          {"name": "dw", "op": "conv2d", "inputs": ["stem_relu6"], "filters": 8, "kernel": [3, 3],
           "stride": [1, 1], "pads": [1, 1, 1, 1], "dilation": [1, 1], "groups": 8, "use_bias": true},
          {"name": "dw_relu6", "op": "relu6", "inputs": ["dw"]},
          {"name": "project", "op": "conv2d", "inputs": ["dw_relu6"], "filters": 8, "kernel": [1, 1],
           "stride": [1, 1], "pads": [0, 0, 0, 0], "dilation": [1, 1], "groups": 1, "use_bias": false},
          {"name": "project_bn", "op": "batch_norm", "inputs": ["project"], "epsilon": 0.001, "momentum": 0.99},
          {"name": "residual", "op": "add", "inputs": ["project_bn", "stem_relu6"]},
          {"name": "pool", "op": "global_avg_pool", "inputs": ["residual"]},
          {"name": "fc", "op": "dense", "inputs": ["pool"], "units": 5}],
        "output": "fc", "head": "softmax"}}"#,
    )
    .unwrap();
    let mut model = GraphModel::new(spec).unwrap();
    let mut numbers = Numbers(5);
    vary(
        model
            .tensors_mut()
            .map(|t| (t.name.as_str(), t.values.as_mut_slice())),
        &mut numbers,
    );
    model
}

fn graph_probabilities(model: &mut GraphModel, images: &[f32], n: usize) -> Vec<f32> {
    let logits = model.forward(images, n).unwrap().to_vec();
    logits.chunks(model.classes()).flat_map(softmax).collect()
}

#[test]
fn a_graph_model_with_depthwise_and_residual_runs_the_same() {
    let mut model = small_graph();
    let input = model.spec().input;
    let images = random_images(12, input, &mut Numbers(3));
    let expected = graph_probabilities(&mut model, &images, 12);
    let names: Vec<String> = (0..5).map(|i| format!("class {i}")).collect();
    let onnx = graph_to_onnx(&model, &names).unwrap();
    check_in_onnx_runtime("graph", &onnx, &images, input, &expected);
}

#[test]
fn a_graph_model_with_relu_pooling_and_flatten_runs_the_same() {
    // The operators graph models gained for ONNX import: ReLU, max and average pooling with
    // uneven pads, and a flatten (convscope's (H, W, C) order) into a dense layer.
    // tests/fixtures/onnx/pooling_graph.json, also the import test's graph.
    let spec = GraphSpec::from_json(include_str!("fixtures/onnx/pooling_graph.json")).unwrap();
    let mut model = GraphModel::new(spec).unwrap();
    vary(
        model
            .tensors_mut()
            .map(|t| (t.name.as_str(), t.values.as_mut_slice())),
        &mut Numbers(9),
    );
    let input = model.spec().input;
    let images = random_images(12, input, &mut Numbers(10));
    let expected = graph_probabilities(&mut model, &images, 12);
    let onnx = graph_to_onnx(&model, &[]).unwrap();
    check_in_onnx_runtime("graph_pooling", &onnx, &images, input, &expected);
}

#[test]
fn a_transfer_head_on_a_graph_runs_the_same_as_one_model() {
    for classes in [2, 3] {
        let mut backbone = small_graph();
        let input = backbone.spec().input;
        let mut head =
            Sequential::new(&convscope::app::transfer::head_spec(8, classes), 2).unwrap();
        vary_sequential(&mut head, &mut Numbers(8));
        let images = random_images(10, input, &mut Numbers(4));
        backbone.forward(&images, 10).unwrap();
        let features = backbone.output_of("pool").unwrap().0.to_vec();
        let expected = predict(&mut head, &features, 10).unwrap();
        let onnx = transfer_to_onnx(&backbone, "pool", &head, &[]).unwrap();
        check_in_onnx_runtime(
            &format!("transfer{classes}"),
            &onnx,
            &images,
            input,
            &expected,
        );
    }
}

/// The converted ImageNet network's model file, or None (with a message) where it was not made
/// and not required.
fn imagenet_model_file() -> Option<Vec<u8>> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("build/imagenet/efficientnet-lite0.safetensors");
    let Ok(bytes) = std::fs::read(&path) else {
        assert!(
            std::env::var_os("CONVSCOPE_REQUIRE_IMAGENET").is_none(),
            "no {}",
            path.display()
        );
        eprintln!("skipped: no ImageNet model at {} (python3 tools/imagenet/fetch_and_convert.py makes it)", path.display());
        return None;
    };
    Some(bytes)
}

#[test]
fn the_pretrained_imagenet_network_runs_the_same() {
    let Some(bytes) = imagenet_model_file() else {
        return;
    };
    let mut loaded = convscope::nn::io::load_graph_model(&bytes).unwrap();
    let input = loaded.model.spec().input;
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/imagenet");
    let mut images = Vec::new();
    for photo in ["chelsea.png", "coffee.png"] {
        let img = image::open(fixtures.join(photo)).unwrap().to_rgb8();
        images.extend(img.as_raw().iter().map(|&b| b as f32 / 255.0));
    }
    let expected = graph_probabilities(&mut loaded.model, &images, 2);
    let onnx = convscope::app::export::onnx_from_model_file(&bytes, None).unwrap();
    check_in_onnx_runtime("imagenet", &onnx, &images, input, &expected);
}

/// The page exports the ImageNet network, alone and behind a transfer head, from the network
/// it has loaded (its worker keeps no copy of the 19 MB file): the very bytes the export of
/// the model files makes, which the test above and the transfer test run in ONNX Runtime.
#[test]
fn the_pages_imagenet_exports_are_those_of_the_model_files() {
    use convscope::app::export::onnx_from_model_file;
    use convscope::app::imagenet::ImageNet;
    let Some(bytes) = imagenet_model_file() else {
        return;
    };
    let mut net = ImageNet::from_bytes(&bytes).unwrap();
    assert_eq!(
        net.onnx().unwrap(),
        onnx_from_model_file(&bytes, None).unwrap()
    );
    let e = net.transfer_onnx().unwrap_err().to_string();
    assert!(e.contains("start transfer learning first"), "{e}");

    let (train, test) = generate(&SyntheticParams {
        train: 4,
        test: 2,
        seed: 3,
        ..SyntheticParams::default()
    })
    .unwrap();
    let mut head = Sequential::new(&convscope::app::transfer::head_spec(1280, 2), 7).unwrap();
    vary_sequential(&mut head, &mut Numbers(9));
    let notes = serde_json::json!({ "transfer": { "features": "pool" }, "class_names": train.class_names() });
    let head_file = convscope::nn::io::save_model(&head, &notes).unwrap();
    net.transfer_load(&head_file, &train, &test).unwrap();
    let page = net.transfer_onnx().unwrap();
    assert_eq!(
        page,
        onnx_from_model_file(&head_file, Some(&bytes)).unwrap()
    );
    let classes = serde_json::to_string(train.class_names()).unwrap();
    assert!(
        page.windows(classes.len()).any(|w| w == classes.as_bytes()),
        "the head's class names {classes} are in the file"
    );
}

#[test]
fn what_cannot_be_exported_is_said() {
    let model = small_graph();
    let e = transfer_to_onnx(
        &model,
        "nowhere",
        &Sequential::new(&convscope::app::transfer::head_spec(8, 2), 1).unwrap(),
        &[],
    )
    .unwrap_err();
    assert_eq!(e.to_string(), "the graph has no node \"nowhere\"");
    let head = Sequential::new(&convscope::app::transfer::head_spec(8, 2), 1).unwrap();
    let file = convscope::nn::io::save_model(
        &head,
        &serde_json::json!({"transfer": {"features": "pool"}}),
    )
    .unwrap();
    let e = convscope::app::export::onnx_from_model_file(&file, None).unwrap_err();
    assert!(e.to_string().contains("transfer-learning head"), "{e}");
    let e = convscope::app::export::onnx_from_model_file(b"not a model", None).unwrap_err();
    assert!(!e.to_string().is_empty());
}

/// Runs the `convscope` command line; its stdout, or a panic with what it said.
fn convscope_cli(args: &[&str]) -> Result<String, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_convscope"))
        .args(args)
        .output()
        .expect("run convscope");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if out.status.success() {
        Ok(text(&out.stdout))
    } else {
        Err(text(&out.stderr))
    }
}

#[test]
fn the_command_line_exports_a_trained_model_that_onnx_runtime_runs_the_same() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("onnx_export")
        .join("cli");
    std::fs::create_dir_all(&dir).unwrap();
    let (model_path, onnx_path) = (dir.join("model.safetensors"), dir.join("exported.onnx"));
    let (model_arg, onnx_arg) = (model_path.to_str().unwrap(), onnx_path.to_str().unwrap());
    convscope_cli(&[
        "train",
        "--data",
        "synthetic:3,40,20",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--save",
        model_arg,
    ])
    .unwrap();
    let said = convscope_cli(&["export", "--onnx", model_arg, onnx_arg]).unwrap();
    assert!(
        said.contains("wrote") && said.contains("opset 17"),
        "{said}"
    );

    let mut model = convscope::nn::io::load_model(&std::fs::read(&model_path).unwrap())
        .unwrap()
        .model;
    let (_, test) = generate(&SyntheticParams {
        train: 40,
        test: 20,
        seed: 3,
        ..SyntheticParams::default()
    })
    .unwrap();
    let images = test.images().into_owned();
    let expected = predict(&mut model, &images, 8).unwrap();
    check_in_onnx_runtime(
        "cli",
        &std::fs::read(&onnx_path).unwrap(),
        &images,
        model.spec().input,
        &expected,
    );

    // What goes wrong is said, with the file it is about, and nothing is written.
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"not a model").unwrap();
    let nothing = dir.join("nothing.onnx");
    let err = convscope_cli(&[
        "export",
        "--onnx",
        junk.to_str().unwrap(),
        nothing.to_str().unwrap(),
    ])
    .unwrap_err();
    assert!(err.contains("junk.safetensors"), "{err}");
    assert!(!nothing.exists());
    let err = convscope_cli(&["export", model_arg, nothing.to_str().unwrap()]).unwrap_err();
    assert!(err.contains("--onnx"), "{err}");
}
