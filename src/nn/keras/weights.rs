//! Keras weights into a convscope model: which variable of which layer of a Keras weights file
//! fills which tensor, every name and shape checked before a value is read.
//!
//! The file itself is read elsewhere ([`WeightSource`]: natively `super::h5` over `hdf5-pure`;
//! the page would hand over what its JavaScript HDF5 reader found). Nothing here knows HDF5.
//!
//! Layouts need no conversion: Keras holds convolution kernels (KH, KW, C_in, C_out) and
//! Dense kernels (in, out) as convscope does, and its Flatten reads channels_last maps in the
//! (H, W, C) order convscope's does.

use crate::nn::spec::{LayerSpec, ModelSpec};
use crate::nn::Sequential;
use crate::Result;
use std::collections::{HashMap, HashSet};

/// One layer group of a weights file: `layers/conv2d` with its variables `vars/0`, `vars/1`...
#[derive(Debug, Clone, PartialEq)]
pub struct FileLayer {
    /// The group's path from the file's root, `layers/conv2d_1` (nested models:
    /// `layers/sequential/layers/conv2d`).
    pub path: String,
    /// The Keras name of the layer that saved it (the `name` attribute Keras 3 puts on `vars`).
    pub name: Option<String>,
    /// Its variables in order, as the file declares them (nothing read yet).
    pub vars: Vec<FileVar>,
}

/// One variable of a layer: its shape and element type as the file declares them.
#[derive(Debug, Clone, PartialEq)]
pub struct FileVar {
    pub dims: Vec<u64>,
    /// True for float32 or float64 values (read as f32); anything else is refused by name.
    pub is_float: bool,
    /// The element type in words, for messages (`f32`, `f16`, `i8`, ...).
    pub dtype: String,
}

/// What a reader of a weights file offers: its layer groups, and one variable's values on
/// request (after the checks here have passed).
pub trait WeightSource {
    fn layers(&self) -> &[FileLayer];
    /// The values of variable `var` of `layers()[layer]`, as f32.
    fn read(&self, layer: usize, var: usize) -> Result<Vec<f32>>;
}

/// Where one layer of the model finds its weights in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Binding {
    /// How messages name the layer: `layer 'wide' (Conv2D)`.
    pub label: String,
    /// The group that holds its variables: `layers/conv2d_1`.
    pub path: String,
    /// The layer's Keras name, when the model description gives it: checked against the name
    /// the file records for that group.
    pub keras_name: Option<String>,
    /// The convscope layer it fills (`None`: a Keras layer convscope keeps inside another, an
    /// activation or the input).
    pub layer: Option<usize>,
    /// For each tensor of the convscope layer, in its order: the file's variable that holds it,
    /// or `None` when Keras made none (a Conv2D or Dense without bias, a batch norm without
    /// scale or center: the tensor keeps its neutral value, 0 or 1).
    pub vars: Vec<Option<usize>>,
    /// The variables the file's group must hold.
    pub file_vars: usize,
}

/// The places of a convscope model's weights in a bare `.weights.h5` of the same model: each
/// layer at `layers/<its name>`, since Keras 3 names a Sequential model's layers in that file by
/// class and count exactly as convscope names its layers.
pub fn bindings_for_spec(spec: &ModelSpec) -> Result<Vec<Binding>> {
    let plan = spec.plan()?;
    Ok(plan
        .layers
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let n = match l.spec {
                LayerSpec::Conv2d { .. } | LayerSpec::Dense { .. } => 2,
                LayerSpec::BatchNorm { .. } => 4,
                _ => 0,
            };
            Binding {
                label: format!("layer {} ({})", l.name, l.spec.type_name()),
                path: format!("layers/{}", l.name),
                keras_name: None,
                layer: Some(i),
                vars: (0..n).map(Some).collect(),
                file_vars: n,
            }
        })
        .collect())
}

/// How the loader names the model it loads into, for messages: "the chapter's model", "the
/// model in config.json".
pub struct Target<'a> {
    pub what: &'a str,
    /// True when the bindings come from the file's own description (a `.keras` file): a group
    /// of another name is then the file's own inconsistency, not another architecture.
    pub described: bool,
}

/// Builds `spec` and fills every tensor from `source` as `bindings` say, after checking that
/// the file's layers are exactly the bound ones (an input layer may be extra) and every shape.
pub fn load_into(
    spec: &ModelSpec,
    bindings: &[Binding],
    source: &dyn WeightSource,
    target: &Target,
) -> Result<Sequential> {
    let mut model = Sequential::new(spec, 0)?;
    let file = source.layers();
    let by_path: HashMap<&str, usize> = file
        .iter()
        .enumerate()
        .map(|(i, l)| (l.path.as_str(), i))
        .collect();
    let bound: HashSet<&str> = bindings.iter().map(|b| b.path.as_str()).collect();

    // The file's layers first: a layer the model lacks says "another architecture" better than
    // the shape it leaves wrong further on.
    let extra: Vec<&FileLayer> = file
        .iter()
        .filter(|l| !bound.contains(l.path.as_str()) && !is_foldable(l))
        .collect();
    if let Some(first) = extra.first() {
        let list = extra
            .iter()
            .map(|l| describe(l))
            .collect::<Vec<_>>()
            .join("; ");
        let hint = if target.described {
            "the weights do not belong to the model its config.json describes (the file is damaged or was put together by hand)"
        } else {
            "the file was saved from another architecture (a .keras file says which: import that instead, or give the model's description)"
        };
        return Err(bad!(
            "the weights file holds {} that {} does not have: {list}; {hint}",
            if extra.len() == 1 {
                format!("a layer ({})", first.path)
            } else {
                format!("{} layers", extra.len())
            },
            target.what
        ));
    }
    // A layer without weights may be absent: when the model's description says it is there
    // (a .keras file), or when the file lists no layer without weights at all (a writer that
    // leaves their empty groups out); a bare file that lists some but not this one is of
    // another architecture.
    let weightless_may_be_absent = target.described || !file.iter().any(|l| l.vars.is_empty());
    let mut placed = Vec::with_capacity(bindings.len());
    for b in bindings {
        let Some(&at) = by_path.get(b.path.as_str()) else {
            if b.file_vars == 0 && (b.layer.is_none() || weightless_may_be_absent) {
                placed.push(None);
                continue;
            }
            let has = if file.is_empty() {
                "no layers at all".to_string()
            } else {
                file.iter()
                    .map(|l| l.path.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(bad!(
                "the weights file has no {} of {} (looked for {}; the file holds {has})",
                b.label,
                target.what,
                b.path
            ));
        };
        let f = &file[at];
        if let (Some(want), Some(got)) = (&b.keras_name, &f.name) {
            if want != got {
                return Err(bad!(
                    "{}: the file's weights at {} were saved by a layer named '{got}': they do not belong to this model",
                    b.label, b.path
                ));
            }
        }
        if f.vars.len() != b.file_vars {
            return Err(bad!(
                "{}: the file holds {} for it ({}), but {} needs {}: the file was saved from another architecture",
                b.label,
                plural(f.vars.len(), "weight tensor"),
                f.path,
                target.what,
                b.file_vars
            ));
        }
        placed.push(Some(at));
    }

    // Every shape and type before any value is read.
    for (b, at) in bindings.iter().zip(&placed) {
        let (Some(i), Some(&Some(at))) = (b.layer, Some(at)) else {
            continue;
        };
        let layer = &model.layers()[i];
        for (t, var) in layer.tensors().iter().zip(&b.vars) {
            let Some(v) = var else { continue };
            let fv = &file[at].vars[*v];
            if !fv.is_float {
                return Err(bad!(
                    "{}: its {} in the file holds {} values; convscope reads float32 weights (save the model with dtype float32)",
                    b.label, t.name, fv.dtype
                ));
            }
            let dims: Vec<u64> = t.dims.iter().map(|&d| d as u64).collect();
            if fv.dims != dims {
                return Err(bad!(
                    "{}: its {} in the file has shape {:?}, but {} needs {:?}{}",
                    b.label,
                    t.name,
                    fv.dims,
                    target.what,
                    dims,
                    if i > 0 && model.layers()[i - 1].plan.spec == LayerSpec::Flatten {
                        size_hint(spec, &fv.dims, &dims)
                    } else {
                        String::new()
                    }
                ));
            }
        }
    }

    for (b, at) in bindings.iter().zip(&placed) {
        let (Some(i), Some(at)) = (b.layer, *at) else {
            continue;
        };
        let tensors = model.layers()[i].tensors().to_vec();
        for (t, var) in tensors.iter().zip(&b.vars) {
            let Some(v) = var else { continue };
            let values = source.read(at, *v)?;
            if values.len() != t.len {
                return Err(bad!(
                    "{}: its {} in the file holds {} values where its shape says {}: the file is damaged",
                    b.label, t.name, values.len(), t.len
                ));
            }
            if let Some(k) = values.iter().position(|x| !x.is_finite()) {
                return Err(bad!(
                    "{}: its {} in the file holds a value that is not a finite number (at {k}): the model diverged in training or the file is damaged",
                    b.label, t.name
                ));
            }
            model.layer_mut(i).tensor_mut(t).copy_from_slice(&values);
        }
    }
    Ok(model)
}

/// Groups a model description need not name: a Functional model's input layer, and activation
/// layers convscope keeps inside the layer before them (Keras names them by class and count, so
/// they shift no other layer's name). Neither has variables.
fn is_foldable(l: &FileLayer) -> bool {
    let last = l.path.rsplit('/').next().unwrap_or(&l.path);
    l.vars.is_empty()
        && ["input_layer", "activation", "re_lu", "softmax"]
            .iter()
            .any(|stem| {
                last == *stem
                    || last
                        .strip_prefix(stem)
                        .and_then(|rest| rest.strip_prefix('_'))
                        .is_some_and(|n| n.parse::<usize>().is_ok())
            })
}

fn describe(l: &FileLayer) -> String {
    let name = match &l.name {
        Some(n) if !l.path.ends_with(&format!("/{n}")) => format!(" (named '{n}' in Keras)"),
        _ => String::new(),
    };
    let shapes = if l.vars.is_empty() {
        "no weights".to_string()
    } else {
        l.vars
            .iter()
            .map(|v| format!("{:?}", v.dims))
            .collect::<Vec<_>>()
            .join(", ")
    };
    format!("{}{name}, {shapes}", l.path)
}

fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// For the kernel of a Dense layer after the Flatten: the file's model flattened maps of
/// another size, which usually means pictures of another size.
fn size_hint(spec: &ModelSpec, got: &[u64], want: &[u64]) -> String {
    let ([g_in, g_out], [w_in, w_out]) = (got, want) else {
        return String::new();
    };
    if g_out != w_out || g_in == w_in || *w_in == 0 {
        return String::new();
    }
    let i = spec.input;
    let ratio = *g_in as f64 / *w_in as f64;
    let side = |s: usize| (s as f64 * ratio.sqrt()).round() as u64;
    format!(
        " (its input flattens maps of {w_in} values for {}x{}x{} pictures; the file's reads {g_in}, as pictures of about {}x{} would give: the model was trained on pictures of another size)",
        i.height, i.width, i.channels, side(i.height), side(i.width)
    )
}
