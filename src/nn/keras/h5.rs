//! A Keras 3 `.weights.h5` read natively with `hdf5-pure`: the layer groups under the model's
//! `layers` group, nested models' layers under theirs, each with its `vars/0`, `vars/1`, ... and the `name` attribute
//! Keras puts on `vars`. The optimizer's variables (`optimizer/vars`) and the model's own
//! (`vars`) are not weights of a layer and are left alone.
//!
//! Only shapes and types are read when the file opens; values are read one variable at a time
//! once [`super::weights::load_into`] has checked them against the model, so a hostile file
//! cannot make it allocate more than the model's own weights.

use super::weights::{FileLayer, FileVar, WeightSource};
use crate::Result;
use hdf5_pure::{AttrValue, DType, File, Group};

/// Layer groups past which a file is refused (the chapter's model has 11), and how deep
/// models may nest.
const MAX_FILE_LAYERS: usize = 10_000;
const MAX_DEPTH: usize = 8;
const MAX_VARS: usize = 64;

/// An opened weights file.
pub struct WeightsFile {
    file: File,
    layers: Vec<FileLayer>,
}

impl WeightSource for WeightsFile {
    fn layers(&self) -> &[FileLayer] {
        &self.layers
    }

    fn read(&self, layer: usize, var: usize) -> Result<Vec<f32>> {
        let l = &self.layers[layer];
        let path = format!("{}/vars/{var}", l.path);
        let ds = self.file.dataset(&path).map_err(|e| damaged(&e))?;
        ds.read_f32().map_err(|e| {
            bad!("{path} in the weights file cannot be read ({e}): the file is damaged")
        })
    }
}

/// True when `bytes` start with the HDF5 signature.
pub fn is_hdf5(bytes: &[u8]) -> bool {
    hdf5_pure::is_hdf5_bytes(bytes)
}

/// Opens a `.weights.h5` and lists its layers' variables (shapes and types only).
pub fn open_weights(bytes: &[u8]) -> Result<WeightsFile> {
    if !is_hdf5(bytes) {
        return Err(bad!(
            "this is not a Keras weights file: it does not start with the HDF5 signature"
        ));
    }
    let file = File::from_bytes(bytes.to_vec()).map_err(|e| damaged(&e))?;
    let expected = file.superblock().eof_address;
    if expected > bytes.len() as u64 {
        return Err(bad!(
            "this weights file is truncated: it should be {expected} bytes long but has only {} (download or copy it again)",
            bytes.len()
        ));
    }
    let root = file.root();
    let top = root.groups().map_err(|e| damaged(&e))?;
    if !top.iter().any(|g| g == "layers") {
        return Err(not_keras3(&root, &top));
    }
    let mut layers = Vec::new();
    collect(&file, "layers", 0, &mut layers)?;
    Ok(WeightsFile { file, layers })
}

/// What a file without a `layers` group is, in words.
fn not_keras3(root: &Group, top: &[String]) -> crate::Error {
    let attrs = root.attrs().unwrap_or_default();
    if top.iter().any(|g| g == "_layer_checkpoint_dependencies") {
        return bad!("this weights file was written by tf.keras 2 (its layers are under _layer_checkpoint_dependencies); convscope reads Keras 3 files: load the model in Keras 3 and save it again with model.save(\"model.keras\")");
    }
    if top.iter().any(|g| g == "model_weights") || attrs.contains_key("model_config") {
        return bad!("this is a Keras 2 (legacy) .h5 model file; convscope reads Keras 3 files: in Keras, load it and save it again with model.save(\"model.keras\")");
    }
    if attrs.contains_key("layer_names") {
        return bad!("this is a Keras 2 (legacy) weights file (model.save_weights(\"....h5\")); convscope reads Keras 3 files: in Keras, load the model and save it again with model.save(\"model.keras\")");
    }
    let datasets = root.datasets().unwrap_or_default();
    let mut names: Vec<&str> = top.iter().chain(&datasets).map(String::as_str).collect();
    names.sort_unstable();
    names.truncate(8);
    bad!(
        "this HDF5 file holds no Keras model weights (no group 'layers'); it holds {}",
        if names.is_empty() {
            "nothing".to_string()
        } else {
            names.join(", ")
        }
    )
}

fn collect(file: &File, container: &str, depth: usize, out: &mut Vec<FileLayer>) -> Result<()> {
    if depth > MAX_DEPTH {
        return Err(bad!("the weights file nests models more than {MAX_DEPTH} deep (at {container}): the file is damaged"));
    }
    let group = file.group(container).map_err(|e| damaged(&e))?;
    let mut names = group.groups().map_err(|e| damaged(&e))?;
    names.sort();
    for name in names {
        if out.len() >= MAX_FILE_LAYERS {
            return Err(bad!(
                "the weights file lists more than {MAX_FILE_LAYERS} layers: it is not a model convscope can hold"
            ));
        }
        let path = format!("{container}/{name}");
        let layer = file.group(&path).map_err(|e| damaged(&e))?;
        let children = layer.groups().map_err(|e| damaged(&e))?;
        let (name, vars) = if children.iter().any(|c| c == "vars") {
            read_vars(file, &format!("{path}/vars"))?
        } else {
            (None, Vec::new())
        };
        out.push(FileLayer {
            path: path.clone(),
            name,
            vars,
        });
        if children.iter().any(|c| c == "layers") {
            collect(file, &format!("{path}/layers"), depth + 1, out)?;
        }
    }
    Ok(())
}

/// The `name` attribute of a `vars` group and its datasets `0`, `1`, ... (shapes and types).
fn read_vars(file: &File, path: &str) -> Result<(Option<String>, Vec<FileVar>)> {
    let group = file.group(path).map_err(|e| damaged(&e))?;
    let name = group
        .attrs()
        .map_err(|e| damaged(&e))?
        .remove("name")
        .and_then(|v| match v {
            AttrValue::String(s)
            | AttrValue::AsciiString(s)
            | AttrValue::VarLenString(s)
            | AttrValue::VarLenAsciiString(s) => Some(s),
            AttrValue::StringSized { value, .. } | AttrValue::AsciiStringSized { value, .. } => {
                Some(value)
            }
            _ => None,
        });
    let datasets = group.datasets().map_err(|e| damaged(&e))?;
    if datasets.len() > MAX_VARS {
        return Err(bad!(
            "{path} in the weights file holds {} variables; no layer convscope has makes more than 4",
            datasets.len()
        ));
    }
    let mut vars = Vec::with_capacity(datasets.len());
    for i in 0..datasets.len() {
        let key = i.to_string();
        if !datasets.contains(&key) {
            return Err(bad!(
                "{path} in the weights file holds the variables {datasets:?}, not 0 to {}: it was not written by Keras 3",
                datasets.len() - 1
            ));
        }
        let ds = group.dataset(&key).map_err(|e| damaged(&e))?;
        let dims = ds.shape().map_err(|e| damaged(&e))?;
        let dtype = ds.dtype().map_err(|e| damaged(&e))?;
        vars.push(FileVar {
            dims,
            is_float: matches!(dtype, DType::F32 | DType::F64),
            dtype: dtype.to_string(),
        });
    }
    Ok((name, vars))
}

fn damaged(e: &hdf5_pure::Error) -> crate::Error {
    bad!("this weights file is truncated or damaged and cannot be read ({e})")
}
