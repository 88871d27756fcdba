//! Models in and out. ONNX files become convscope model files ([`model_file_from_onnx_bytes`]),
//! and so do Keras 3 files (natively: [`model_file_from_keras_bytes`]),
//! and a model file becomes an ONNX model: the file's kind decides how (the smile model or any model
//! made in the page, a graph model such as the pretrained ImageNet network, or a
//! transfer-learning head, which needs the backbone it was trained on).

use crate::nn::io::{file_kind, load_graph_model, load_model, FileKind};
use crate::nn::onnx::{
    graph_to_onnx, import_onnx, model_file_from_onnx, sequential_to_onnx, transfer_to_onnx,
    Imported, ImportedModel,
};
use crate::{invalid, Result};

/// The ONNX bytes of the model in `bytes` (a convscope model file). A transfer head (its notes
/// name the backbone node it reads) is exported with `backbone` in front, as one network.
pub fn onnx_from_model_file(bytes: &[u8], backbone: Option<&[u8]>) -> Result<Vec<u8>> {
    match file_kind(bytes)? {
        FileKind::Graph => {
            let loaded = load_graph_model(bytes)?;
            graph_to_onnx(&loaded.model, &loaded.classes)
        }
        FileKind::Sequential => {
            let loaded = load_model(bytes)?;
            let classes = class_names(&loaded.training);
            match loaded
                .training
                .pointer("/transfer/features")
                .and_then(|v| v.as_str())
            {
                None => sequential_to_onnx(&loaded.model, &classes),
                Some(cut) => {
                    let backbone = backbone.ok_or_else(|| {
                        invalid!("this model is a transfer-learning head on the ImageNet network's features: give the network's model file too, to export them as one model")
                    })?;
                    let net =
                        load_graph_model(backbone).map_err(|e| invalid!("the backbone: {e}"))?;
                    transfer_to_onnx(&net.model, cut, &loaded.model, &classes)
                }
            }
        }
    }
}

/// The convscope model file of an ONNX model: a sequential model (trainable) when it is a chain
/// convscope can train, a graph model otherwise (see [`crate::nn::onnx::import`]).
pub fn model_file_from_onnx_bytes(bytes: &[u8]) -> Result<Imported> {
    model_file_from_onnx(bytes)
}

/// The convscope model file of a Keras 3 `.keras` file or bare `.weights.h5` (`spec`: the
/// model a bare weights file holds; `None`: the chapter's). See [`crate::nn::keras`].
#[cfg(not(target_arch = "wasm32"))]
pub fn model_file_from_keras_bytes(
    bytes: &[u8],
    spec: Option<&crate::nn::ModelSpec>,
) -> Result<crate::nn::keras::ImportedKeras> {
    crate::nn::keras::model_file_from_keras(bytes, spec)
}

/// The model in `bytes` (a convscope model file of the kind trained here; graph models and
/// transfer heads have no Keras counterpart here) as Keras 3 files: a whole `.keras` model when
/// `whole`, its `.weights.h5` otherwise.
#[cfg(not(target_arch = "wasm32"))]
pub fn keras_from_model_file(bytes: &[u8], whole: bool) -> Result<Vec<u8>> {
    let loaded = load_model(bytes)?;
    if loaded.training.pointer("/transfer/features").is_some() {
        return Err(invalid!("this model is a transfer-learning head on the ImageNet network's features, which has no Keras counterpart here; export it to ONNX instead"));
    }
    if whole {
        crate::nn::keras::keras_file(&loaded.model)
    } else {
        crate::nn::keras::keras_weights(&loaded.model)
    }
}

/// Whether `bytes` look like an ONNX file rather than a convscope model file: a model file
/// (safetensors) starts with its header's length and then `{`; an ONNX model with field 1
/// (`ir_version`), the byte 0x08.
pub fn is_onnx(bytes: &[u8]) -> bool {
    bytes.first() == Some(&0x08) && bytes.get(8) != Some(&b'{')
}

/// Opens an ONNX file the student chose as the model convscope keeps (no model file is
/// written in between: the page needs the models, not files); `None` for any other file.
pub fn open_onnx(bytes: &[u8]) -> Result<Option<ImportedModel>> {
    if !is_onnx(bytes) {
        return Ok(None);
    }
    Ok(Some(import_onnx(bytes)?.0))
}

/// The class names a model file's notes keep (`class_names`: a list of strings), if any.
fn class_names(notes: &serde_json::Value) -> Vec<String> {
    notes
        .get("class_names")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}
