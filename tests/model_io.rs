//! Model files: a saved model loads back with the same predictions, description and notes;
//! every kind of damage is refused with a message naming the problem.

use convscope::nn::io::{load_model, save_model};
use convscope::nn::{Mode, ModelSpec, Sequential};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::HashMap;

fn small_spec() -> ModelSpec {
    ModelSpec::from_json(
        r#"{"input": {"height": 8, "width": 8, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 2, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "batch_norm"}, {"type": "max_pool"}, {"type": "flatten"},
        {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#,
    )
    .unwrap()
}

/// A model whose batch-norm moving statistics are not the initial ones, so that losing them shows.
fn trained_looking_model() -> Sequential {
    let mut model = Sequential::new(&small_spec(), 4).unwrap();
    let x: Vec<f32> = (0..3 * 64).map(|i| ((i * 37 % 17) as f32) / 17.0).collect();
    for _ in 0..5 {
        model.forward(&x, Mode::Train);
    }
    model
}

fn error_of(bytes: &[u8]) -> String {
    load_model(bytes)
        .expect_err("damaged file must be refused")
        .to_string()
}

/// A file with the given tensors (all f32) and metadata, written with the safetensors crate.
fn file_with(
    tensors: &[(&str, Vec<usize>, Vec<f32>)],
    metadata: HashMap<String, String>,
) -> Vec<u8> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.to_string(),
                s.clone(),
                v.iter().flat_map(|f| f.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(&str, TensorView)> = bytes
        .iter()
        .map(|(n, s, b)| {
            (
                n.as_str(),
                TensorView::new(Dtype::F32, s.clone(), b).unwrap(),
            )
        })
        .collect();
    safetensors::serialize(views, Some(metadata)).unwrap()
}

/// (name, shape, values) of one tensor.
type Tensor = (&'static str, Vec<usize>, Vec<f32>);

/// The tensors and metadata of a valid file, to damage one at a time.
fn valid_parts() -> (Vec<Tensor>, HashMap<String, String>) {
    let model = trained_looking_model();
    let names = [
        "conv2d.kernel",
        "conv2d.bias",
        "batch_normalization.gamma",
        "batch_normalization.beta",
        "batch_normalization.moving_mean",
        "batch_normalization.moving_variance",
        "dense.kernel",
        "dense.bias",
    ];
    let mut tensors = Vec::new();
    for layer in model.layers() {
        for t in layer.tensors() {
            let name = names
                .iter()
                .find(|n| **n == format!("{}.{}", layer.name(), t.name))
                .unwrap();
            tensors.push((*name, t.dims.clone(), layer.tensor(t).to_vec()));
        }
    }
    let metadata = HashMap::from([
        ("format".to_string(), "convscope-model".to_string()),
        ("version".to_string(), "1".to_string()),
        ("model".to_string(), small_spec().to_json()),
        ("training".to_string(), "null".to_string()),
    ]);
    (tensors, metadata)
}

#[test]
fn save_and_load_round_trip() {
    let mut model = trained_looking_model();
    let notes = serde_json::json!({"epochs": 3, "test": {"accuracy": 0.9}});
    let bytes = save_model(&model, &notes).unwrap();
    let mut loaded = load_model(&bytes).unwrap();
    assert_eq!(loaded.training, notes);
    assert_eq!(loaded.model.spec(), model.spec());
    for (a, b) in model.layers().iter().zip(loaded.model.layers()) {
        assert_eq!(a.params(), b.params());
        assert_eq!(
            a.state(),
            b.state(),
            "batch-norm moving statistics are saved"
        );
    }
    let x: Vec<f32> = (0..2 * 64).map(|i| (i as f32 * 0.37).sin()).collect();
    let expected = model.forward(&x, Mode::Infer).to_vec();
    assert_eq!(loaded.model.forward(&x, Mode::Infer), expected.as_slice());
    // The file is a plain safetensors file: other tools can list its tensors.
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    assert_eq!(st.tensor("conv2d.kernel").unwrap().shape(), &[3, 3, 1, 2]);
    assert_eq!(
        st.tensor("batch_normalization.moving_variance")
            .unwrap()
            .shape(),
        &[2]
    );
}

#[test]
fn the_chapter_model_round_trips() {
    let model = Sequential::new(&ModelSpec::chapter(), 9).unwrap();
    let bytes = save_model(&model, &serde_json::Value::Null).unwrap();
    assert!(
        bytes.len() > 1_063_073 * 4 && bytes.len() < 1_063_073 * 4 + 8192,
        "{} bytes",
        bytes.len()
    );
    let loaded = load_model(&bytes).unwrap().model;
    assert_eq!(loaded.layers()[9].params(), model.layers()[9].params());
}

#[test]
fn truncated_files_are_refused() {
    let bytes = save_model(&trained_looking_model(), &serde_json::Value::Null).unwrap();
    let e = error_of(&bytes[..bytes.len() - 10]);
    assert!(e.contains("truncated"), "{e}");
    let e = error_of(&bytes[..100]);
    assert!(e.contains("truncated") || e.contains("header"), "{e}");
    let e = error_of(&bytes[..5]);
    assert!(e.contains("too short"), "{e}");
    let e = error_of(&[]);
    assert!(e.contains("0 bytes"), "{e}");
    let mut longer = bytes.clone();
    longer.extend_from_slice(&[0; 4]);
    assert!(error_of(&longer).contains("extra bytes"));
}

#[test]
fn foreign_or_garbled_headers_are_refused() {
    let e = error_of(b"PK\x03\x04 this is a zip file, not a model, and long enough");
    assert!(e.contains("header"), "{e}");
    let mut bytes = save_model(&trained_looking_model(), &serde_json::Value::Null).unwrap();
    bytes[10] = 0xFF; // inside the JSON header
    let e = error_of(&bytes);
    assert!(e.contains("header"), "{e}");

    let (tensors, mut metadata) = valid_parts();
    metadata.insert("format".into(), "something-else".into());
    assert!(error_of(&file_with(&tensors, metadata.clone())).contains("not a convscope model"));
    metadata.insert("format".into(), "convscope-model".into());
    metadata.insert("version".into(), "7".into());
    assert!(error_of(&file_with(&tensors, metadata.clone())).contains("version"));
    metadata.insert("version".into(), "1".into());
    metadata.insert("model".into(), "{\"input\": 3}".into());
    assert!(error_of(&file_with(&tensors, metadata.clone())).contains("model description"));
    metadata.remove("model");
    assert!(error_of(&file_with(&tensors, metadata)).contains("no model description"));
}

#[test]
fn missing_extra_misshapen_or_non_finite_tensors_are_refused() {
    let (tensors, metadata) = valid_parts();
    assert!(
        load_model(&file_with(&tensors, metadata.clone())).is_ok(),
        "the undamaged parts make a valid file"
    );

    let missing: Vec<_> = tensors
        .iter()
        .filter(|t| t.0 != "batch_normalization.moving_mean")
        .cloned()
        .collect();
    let e = error_of(&file_with(&missing, metadata.clone()));
    assert!(
        e.contains("missing") && e.contains("batch_normalization.moving_mean"),
        "{e}"
    );

    let mut reshaped = tensors.clone();
    reshaped[0].1 = vec![3, 3, 2, 1];
    let e = error_of(&file_with(&reshaped, metadata.clone()));
    assert!(
        e.contains("conv2d.kernel") && e.contains("[3, 3, 2, 1]") && e.contains("[3, 3, 1, 2]"),
        "{e}"
    );

    let mut resized = tensors.clone();
    resized[7].1 = vec![3];
    resized[7].2 = vec![0.0; 3];
    assert!(error_of(&file_with(&resized, metadata.clone())).contains("dense.bias"));

    let mut extra = tensors.clone();
    extra.push(("dense.kernel_2", vec![2], vec![0.0, 1.0]));
    assert!(error_of(&file_with(&extra, metadata.clone())).contains("dense.kernel_2"));

    let mut nan = tensors.clone();
    nan[6].2[5] = f32::NAN;
    let e = error_of(&file_with(&nan, metadata.clone()));
    assert!(
        e.contains("dense.kernel") && e.contains("not a finite number"),
        "{e}"
    );

    // A tensor of another element type.
    let mut owned: Vec<(String, Vec<usize>, Vec<u8>, Dtype)> = tensors
        .iter()
        .map(|(n, s, v)| {
            (
                n.to_string(),
                s.clone(),
                v.iter().flat_map(|f| f.to_le_bytes()).collect(),
                Dtype::F32,
            )
        })
        .collect();
    owned[1].3 = Dtype::I32;
    let views: Vec<(&str, TensorView)> = owned
        .iter()
        .map(|(n, s, b, d)| (n.as_str(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let e = error_of(&safetensors::serialize(views, Some(metadata)).unwrap());
    assert!(e.contains("conv2d.bias") && e.contains("I32"), "{e}");
}
