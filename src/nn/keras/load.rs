//! A Keras file's bytes into a convscope model: tells a `.keras` zip from a bare `.weights.h5`,
//! unpacks the zip within limits, and puts [`super::config`], [`super::h5`] and
//! [`super::weights`] together. Native only (the HDF5 reader is).

use super::config::model_from_config;
use super::h5::{is_hdf5, open_weights, WeightsFile};
use super::weights::{bindings_for_spec, load_into, Target, WeightSource};
use crate::nn::io::save_model;
use crate::nn::spec::{output_head, Activation, InputShape, LayerSpec, Layout, ModelSpec};
use crate::nn::{OutputKind, Sequential};
use crate::Result;
use std::io::{Cursor, Read};

/// The largest file read (the chapter's model is 4 MB of weights, 12 MB with Adam's state).
const MAX_BYTES: u64 = 256 << 20;
/// The largest config.json and metadata.json.
const MAX_JSON_BYTES: u64 = 16 << 20;
/// Entries a `.keras` zip may list (Keras writes three, and assets).
const MAX_ENTRIES: usize = 1000;

/// Which kind of Keras file was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KerasKind {
    /// A `.keras` zip: the architecture came from its config.json.
    Keras,
    /// A bare `.weights.h5`: the architecture was given (or the chapter's).
    Weights,
}

/// A Keras file read into a convscope model.
#[derive(Debug)]
pub struct KerasImport {
    pub model: Sequential,
    pub kind: KerasKind,
    /// The model's name in Keras (from config.json).
    pub keras_name: Option<String>,
    /// The Keras version that saved it (from metadata.json).
    pub keras_version: Option<String>,
}

/// Reads a `.keras` file or a `.weights.h5`. `spec` is the model a bare weights file holds
/// (`None`: the chapter's, with the input channels and the output head the file's shapes
/// say); a `.keras` file describes its own model, and `spec` must then be `None`.
pub fn read_keras(bytes: &[u8], spec: Option<&ModelSpec>) -> Result<KerasImport> {
    if bytes.len() as u64 > MAX_BYTES {
        return Err(bad!(
            "the Keras file is {} MB; convscope reads at most {} MB",
            bytes.len() >> 20,
            MAX_BYTES >> 20
        ));
    }
    if bytes.starts_with(b"PK") {
        if spec.is_some() {
            return Err(bad!("a .keras file describes its own model; a model description goes with a bare .weights.h5 only"));
        }
        return read_keras_zip(bytes);
    }
    if !is_hdf5(bytes) {
        return Err(bad!(
            "this is neither a Keras model (.keras, a zip archive) nor Keras weights (.weights.h5, an HDF5 file){}",
            if bytes.len() < 8 { " (the file is nearly empty)" } else { "" }
        ));
    }
    let file = open_weights(bytes)?;
    let (spec, what) = match spec {
        Some(s) => (s.clone(), "the model description given"),
        None => (chapter_for_weights(&file), "the chapter's model"),
    };
    let bindings = bindings_for_spec(&spec)?;
    let target = Target {
        what,
        described: false,
    };
    Ok(KerasImport {
        model: load_into(&spec, &bindings, &file, &target)?,
        kind: KerasKind::Weights,
        keras_name: None,
        keras_version: None,
    })
}

/// The chapter's model for the pictures and classes a weights file's shapes say: the input
/// channels of its first kernel, the units of its last Dense layer (1: a sigmoid; more: a
/// softmax). The pictures stay 64x64, the chapter's (a file for another size gets a message
/// saying so at the first Dense layer).
fn chapter_for_weights(file: &WeightsFile) -> ModelSpec {
    let dims = |path: &str| {
        file.layers()
            .iter()
            .find(|l| l.path == path)
            .and_then(|l| l.vars.first())
            .map(|v| v.dims.clone())
    };
    let small = |d: u64, most: u64| (1..=most).contains(&d).then_some(d as usize);
    let channels = match dims("layers/conv2d").as_deref() {
        Some(&[_, _, c, _]) => small(c, 4).unwrap_or(3),
        _ => 3,
    };
    let head = match dims("layers/dense_1").as_deref() {
        Some(&[_, k]) => match small(k, 1000) {
            Some(1) | None => output_head(2),
            Some(k) => LayerSpec::Dense {
                units: k,
                activation: Activation::Softmax,
            },
        },
        _ => output_head(2),
    };
    let input = InputShape {
        height: 64,
        width: 64,
        channels,
    };
    let mut spec = Layout::chapter().spec(input, 2);
    if let Some(last) = spec.layers.last_mut() {
        *last = head;
    }
    spec
}

fn read_keras_zip(bytes: &[u8]) -> Result<KerasImport> {
    let damaged = |e: zip::result::ZipError| {
        bad!("this .keras file is cut short or damaged, or not a zip archive ({e})")
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
    if archive.len() > MAX_ENTRIES {
        return Err(bad!(
            "this .keras file lists {} entries; a Keras model has a few",
            archive.len()
        ));
    }
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.map(|n| n.into_owned()))
        .collect::<std::result::Result<_, _>>()
        .map_err(damaged)?;
    let has = |n: &str| names.iter().any(|x| x == n);
    if !has("config.json") {
        return Err(bad!(
            "this zip archive is not a .keras file: it has no config.json (it holds {})",
            list(&names)
        ));
    }
    if !has("model.weights.h5") {
        let why = if has("model.weights.json") {
            "its weights are split in shards (model.weights.json), which convscope does not read: in Keras, save the model again without max_shard_size"
        } else {
            "it has no model.weights.h5"
        };
        return Err(bad!(
            "this .keras file holds no weights convscope can read: {why}"
        ));
    }
    let config = entry(&mut archive, "config.json", MAX_JSON_BYTES)?;
    let config = String::from_utf8(config).map_err(|_| {
        bad!("the .keras file's config.json is not UTF-8 text: the file is damaged")
    })?;
    let keras_version = if has("metadata.json") {
        let meta = entry(&mut archive, "metadata.json", MAX_JSON_BYTES)?;
        serde_json::from_slice::<serde_json::Value>(&meta)
            .ok()
            .and_then(|m| m.get("keras_version")?.as_str().map(str::to_string))
    } else {
        None
    };
    let described = model_from_config(&config)?;
    let weights = entry(&mut archive, "model.weights.h5", MAX_BYTES)?;
    let file =
        open_weights(&weights).map_err(|e| bad!("model.weights.h5 in the .keras file: {e}"))?;
    let target = Target {
        what: "the model its config.json describes",
        described: true,
    };
    let model = load_into(&described.spec, &described.bindings, &file, &target)?;
    Ok(KerasImport {
        model,
        kind: KerasKind::Keras,
        keras_name: Some(described.name),
        keras_version,
    })
}

/// One entry of the zip, at most `limit` bytes, never trusting its declared size.
fn entry(archive: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str, limit: u64) -> Result<Vec<u8>> {
    let damaged = |e: zip::result::ZipError| {
        bad!("{name} in the .keras file cannot be unpacked ({e}): the file is damaged")
    };
    let file = archive.by_name(name).map_err(damaged)?;
    if file.size() > limit {
        return Err(bad!(
            "{name} in the .keras file would unpack to {} MB, more than the {} MB convscope reads",
            file.size() >> 20,
            limit >> 20
        ));
    }
    let declared = file.size();
    let mut data = Vec::new();
    file.take(declared + 1)
        .read_to_end(&mut data)
        .map_err(|e| {
            bad!("{name} in the .keras file cannot be unpacked ({e}): the file is damaged")
        })?;
    if data.len() as u64 != declared {
        return Err(bad!(
            "{name} in the .keras file is not the size its header says: the file is damaged"
        ));
    }
    Ok(data)
}

fn list(names: &[String]) -> String {
    let mut shown: Vec<&str> = names.iter().take(6).map(String::as_str).collect();
    if names.len() > 6 {
        shown.push("...");
    }
    if shown.is_empty() {
        "nothing".into()
    } else {
        shown.join(", ")
    }
}

/// What a Keras file became: a convscope model file (format version 1, trainable).
#[derive(Debug)]
pub struct ImportedKeras {
    pub file: Vec<u8>,
    pub kind: KerasKind,
    pub classes: Vec<String>,
    pub keras_name: Option<String>,
    pub keras_version: Option<String>,
}

/// The convscope model file of a Keras file (see [`read_keras`] for `spec`).
pub fn model_file_from_keras(bytes: &[u8], spec: Option<&ModelSpec>) -> Result<ImportedKeras> {
    let read = read_keras(bytes, spec)?;
    let k = match read.model.output_kind() {
        OutputKind::Binary => 2,
        OutputKind::Categorical { classes } => classes,
    };
    let classes: Vec<String> = (0..k).map(|i| format!("class {i}")).collect();
    let source = serde_json::json!({
        "imported_from": "keras",
        "file": match read.kind { KerasKind::Keras => ".keras", KerasKind::Weights => ".weights.h5" },
        "keras_model": read.keras_name,
        "keras_version": read.keras_version,
    });
    let notes = serde_json::json!({"class_names": classes, "source": source});
    Ok(ImportedKeras {
        file: save_model(&read.model, &notes)?,
        kind: read.kind,
        classes,
        keras_name: read.keras_name,
        keras_version: read.keras_version,
    })
}
