//! Model files: a [safetensors](https://huggingface.co/docs/safetensors) file (a widely used,
//! documented tensor container that runs no code when loaded) holding every weight of the model
//! as little-endian f32, with the model description and training notes in its JSON header.
//!
//! Layout (format "convscope-model", version 1):
//! - 8 bytes: little-endian u64 N, the length of the JSON header;
//! - N bytes: JSON header: one entry per tensor (`dtype` "F32", `shape`, `data_offsets`) and
//!   `__metadata__` (string values only) with
//!   - `format`: "convscope-model", `version`: "1",
//!   - `model`: the [`ModelSpec`] as JSON (what `ModelSpec::from_json` reads),
//!   - `training`: free-form JSON the trainer chose to keep (settings, history, test metrics);
//! - the tensor bytes.
//!
//! Tensors are named `<layer name>.<variable>` as Keras names them: `conv2d.kernel` (KH, KW,
//! C_in, C_out), `conv2d.bias`, `batch_normalization.gamma`, `.beta`, `.moving_mean`,
//! `.moving_variance`, `dense.kernel` (in, out), `dense.bias`, ... The optimizer state is not
//! saved: a loaded model predicts and explains; training it again starts a fresh Adam.
//!
//! Version 2 holds a graph model ([`GraphModel`], read by [`load_graph_model`]): `model` is its
//! graph JSON, `classes` a JSON list of class names, `source` where the weights came from;
//! `tools/imagenet/convert.py` writes it and describes it in full. Each loader names the other
//! kind when it is handed one.
//!
//! Loading checks everything against the description before any weight is used: a truncated
//! or foreign file, a missing, extra, misshapen or non-f32 tensor, or a weight that is not a
//! finite number each give a message naming the problem.

use super::graph::{GraphModel, GraphSpec};
use super::model::Sequential;
use super::spec::ModelSpec;
use crate::error::Error;
use crate::{invalid, Result};
use safetensors::tensor::{Dtype, SafeTensorError, TensorView};
use safetensors::SafeTensors;
use std::collections::HashMap;

pub const FORMAT: &str = "convscope-model";
pub const VERSION: &str = "1";
/// Graph models ([`GraphModel`]): the pretrained ImageNet network (tools/imagenet/convert.py).
pub const GRAPH_VERSION: &str = "2";

fn bad(message: String) -> Error {
    Error::BadInput(message)
}

/// The bytes of a model file for `model`, with `training` notes (any JSON; `null` for none).
pub fn save_model(model: &Sequential, training: &serde_json::Value) -> Result<Vec<u8>> {
    let mut bytes_by_name = Vec::new();
    for layer in model.layers() {
        for t in layer.tensors() {
            let bytes: Vec<u8> = layer
                .tensor(t)
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect();
            bytes_by_name.push((
                format!("{}.{}", layer.name(), t.name),
                t.dims.clone(),
                bytes,
            ));
        }
    }
    let views = bytes_by_name
        .iter()
        .map(|(name, dims, bytes)| {
            Ok((
                name.as_str(),
                TensorView::new(Dtype::F32, dims.clone(), bytes)
                    .map_err(|e| invalid!("cannot store tensor {name}: {e:?}"))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("model".to_string(), model.spec().to_json()),
        ("training".to_string(), training.to_string()),
    ]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| invalid!("cannot write the model file: {e:?}"))
}

/// The bytes of a graph model file (format version 2) for `model`, with one name per logit
/// and `source`, a note on where the weights came from (any JSON).
pub fn save_graph_model(
    model: &GraphModel,
    classes: &[String],
    source: &serde_json::Value,
) -> Result<Vec<u8>> {
    if classes.len() != model.classes() {
        return Err(invalid!(
            "the graph has {} outputs but {} class names",
            model.classes(),
            classes.len()
        ));
    }
    let bytes: Vec<(&str, &[usize], Vec<u8>)> = model
        .tensors()
        .map(|t| {
            let b = t.values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (t.name.as_str(), t.dims.as_slice(), b)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, dims, b)| {
            Ok((
                *name,
                TensorView::new(Dtype::F32, dims.to_vec(), b)
                    .map_err(|e| invalid!("cannot store tensor {name}: {e:?}"))?,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    let graph = serde_json::json!({ "graph": model.spec() });
    let metadata = HashMap::from([
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), GRAPH_VERSION.to_string()),
        ("model".to_string(), graph.to_string()),
        (
            "classes".to_string(),
            serde_json::json!(classes).to_string(),
        ),
        ("source".to_string(), source.to_string()),
    ]);
    safetensors::serialize(views, Some(metadata))
        .map_err(|e| invalid!("cannot write the model file: {e:?}"))
}

/// A model read back from a file, and the training notes stored with it.
#[derive(Debug)]
pub struct LoadedModel {
    pub model: Sequential,
    pub training: serde_json::Value,
}

/// The file's tensors and its header's metadata, once the container and its format name are
/// checked.
fn open(bytes: &[u8]) -> Result<(SafeTensors<'_>, HashMap<String, String>)> {
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| bad(describe_container_error(e, bytes.len())))?;
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| bad(describe_container_error(e, bytes.len())))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    if metadata.get("format").map(String::as_str) != Some(FORMAT) {
        return Err(bad("this is a safetensors file, but not a convscope model (its header does not say format \"convscope-model\")".into()));
    }
    Ok((file, metadata))
}

/// Which kind of model a file holds, read from its header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Format version 1: a [`Sequential`] model.
    Sequential,
    /// Format version 2: a [`GraphModel`].
    Graph,
}

/// The kind of model in a convscope model file (a foreign or damaged file is an error).
pub fn file_kind(bytes: &[u8]) -> Result<FileKind> {
    let (_, metadata) = open(bytes)?;
    match metadata.get("version").map(String::as_str) {
        Some(VERSION) => Ok(FileKind::Sequential),
        Some(GRAPH_VERSION) => Ok(FileKind::Graph),
        other => Err(bad(format!(
            "this model file has format version {:?}; this convscope reads versions {VERSION} and {GRAPH_VERSION}",
            other.unwrap_or("none")
        ))),
    }
}

/// Reads a model file made by [`save_model`], checking every tensor against the description.
pub fn load_model(bytes: &[u8]) -> Result<LoadedModel> {
    let (file, metadata) = open(bytes)?;
    let field = |key: &str| metadata.get(key).map(String::as_str);
    if field("version") == Some(GRAPH_VERSION) {
        return Err(bad("this model file holds a graph model (format version 2, such as the pretrained ImageNet network), not a model of the kind trained here".into()));
    }
    if field("version") != Some(VERSION) {
        return Err(bad(format!(
            "this model file has format version {:?}; this convscope reads version {VERSION}",
            field("version").unwrap_or("none")
        )));
    }
    let spec_json = field("model")
        .ok_or_else(|| bad("the model file has no model description in its header".into()))?;
    let spec = ModelSpec::from_json(spec_json).map_err(|e| {
        bad(format!(
            "the model description in the file cannot be read: {e}"
        ))
    })?;
    let mut model = Sequential::new(&spec, 0).map_err(|e| {
        bad(format!(
            "the model description in the file is not a valid model: {e}"
        ))
    })?;
    let training = match field("training") {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "the training notes in the model file are not valid JSON: {e}"
            ))
        })?,
        None => serde_json::Value::Null,
    };

    let mut expected = std::collections::HashSet::new();
    for i in 0..model.layers().len() {
        let layer = model.layer_mut(i);
        let lname = layer.name().to_string();
        for t in layer.tensors().to_vec() {
            let name = format!("{lname}.{}", t.name);
            read_f32_tensor(&file, &name, &t.dims, layer.tensor_mut(&t))?;
            expected.insert(name);
        }
    }
    if let Some(extra) = file.names().into_iter().find(|n| !expected.contains(*n)) {
        return Err(bad(format!(
            "the model file holds a tensor {extra} that the model description does not have"
        )));
    }
    Ok(LoadedModel { model, training })
}

/// A graph model read back from a file, with the class names and the source note it carries.
#[derive(Debug)]
pub struct LoadedGraph {
    pub model: GraphModel,
    /// One name per logit.
    pub classes: Vec<String>,
    /// Where the weights came from (free-form JSON; `null` when the file does not say).
    pub source: serde_json::Value,
}

/// Reads a graph model file (format version 2), checking every tensor against its graph.
pub fn load_graph_model(bytes: &[u8]) -> Result<LoadedGraph> {
    let (file, metadata) = open(bytes)?;
    let field = |key: &str| metadata.get(key).map(String::as_str);
    if field("version") == Some(VERSION) {
        return Err(bad("this model file holds a model of the kind trained here (format version 1), not a graph model such as the pretrained ImageNet network".into()));
    }
    if field("version") != Some(GRAPH_VERSION) {
        return Err(bad(format!(
            "this model file has format version {:?}; graph models have version {GRAPH_VERSION}",
            field("version").unwrap_or("none")
        )));
    }
    let spec_json = field("model")
        .ok_or_else(|| bad("the model file has no model description in its header".into()))?;
    let spec = GraphSpec::from_json(spec_json).map_err(|e| bad(e.to_string()))?;
    let mut model = GraphModel::new(spec)
        .map_err(|e| bad(format!("the graph in the file is not a valid model: {e}")))?;
    let classes: Vec<String> = match field("classes") {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "the class names in the model file are not a JSON list of names: {e}"
            ))
        })?,
        None => (0..model.classes()).map(|i| format!("class {i}")).collect(),
    };
    if classes.len() != model.classes() {
        return Err(bad(format!(
            "the model file names {} classes, but its graph has {} outputs",
            classes.len(),
            model.classes()
        )));
    }
    let source = match field("source") {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            bad(format!(
                "the source note in the model file is not valid JSON: {e}"
            ))
        })?,
        None => serde_json::Value::Null,
    };
    let mut expected = std::collections::HashSet::new();
    for t in model.tensors_mut() {
        read_f32_tensor(&file, &t.name, &t.dims, &mut t.values)?;
        expected.insert(t.name.clone());
    }
    if let Some(extra) = file.names().into_iter().find(|n| !expected.contains(*n)) {
        return Err(bad(format!(
            "the model file holds a tensor {extra} that its graph does not have"
        )));
    }
    Ok(LoadedGraph {
        model,
        classes,
        source,
    })
}

/// Copies the tensor `name` of `file` into `target`, checking its type, shape and values.
fn read_f32_tensor(
    file: &SafeTensors,
    name: &str,
    dims: &[usize],
    target: &mut [f32],
) -> Result<()> {
    let view = file.tensor(name).map_err(|_| {
        bad(format!(
            "the model file is missing the tensor {name} (shape {dims:?})"
        ))
    })?;
    if view.dtype() != Dtype::F32 {
        return Err(bad(format!(
            "tensor {name} holds {:?} values; convscope models store F32",
            view.dtype()
        )));
    }
    if view.shape() != dims {
        return Err(bad(format!(
            "tensor {name} has shape {:?}, but the model description needs {dims:?}",
            view.shape()
        )));
    }
    for (v, b) in target.iter_mut().zip(view.data().chunks_exact(4)) {
        *v = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
    }
    if let Some(k) = target.iter().position(|v| !v.is_finite()) {
        return Err(bad(format!(
            "tensor {name} holds a value that is not a finite number (at {k}): the file is damaged"
        )));
    }
    Ok(())
}

fn describe_container_error(e: SafeTensorError, len: usize) -> String {
    match e {
        SafeTensorError::HeaderTooSmall => format!("the file is only {len} bytes: too short to be a model file (truncated or empty?)"),
        SafeTensorError::InvalidHeaderLength | SafeTensorError::HeaderTooLarge => {
            "the file does not start with a valid model-file header length (not a model file, or truncated inside its header)".into()
        }
        SafeTensorError::InvalidHeader(_) | SafeTensorError::InvalidHeaderDeserialization(_) | SafeTensorError::JsonError(_) => {
            "the model file's header is not readable JSON: the file is damaged or not a model file".into()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            format!("the model file's size ({len} bytes) does not match what its header lists: the file is truncated or has extra bytes")
        }
        other => format!("the model file is damaged: {other:?}"),
    }
}
