//! A `.keras` file's `config.json` read into a convscope [`ModelSpec`], and for every Keras
//! layer where its weights sit in `model.weights.h5` ([`Binding`]).
//!
//! Models: `Sequential`, and `Functional` (`keras.Model(inputs, outputs)`) when its layers form
//! one chain. Layers: InputLayer, Conv2D (square kernel, one stride and dilation for both axes,
//! `valid` or `same`, `channels_last`, one group), BatchNormalization (over the channels),
//! MaxPooling2D and AveragePooling2D (square windows), Dropout, Flatten, Dense, and the
//! activation layers Activation and ReLU (plain), Softmax, which convscope keeps inside the
//! Conv2D or Dense before them (as the ONNX import fuses a Relu). Anything else is an error
//! naming the layer and its class.
//!
//! Where the weights are: Keras 3 names the layers of a model's `layers` list in the weights
//! file by their class, not by the names a user gave them (`Conv2D` -> `layers/conv2d`, the
//! second one `layers/conv2d_1`, ...; see `_save_container_state` in `keras/src/saving/
//! saving_lib.py`), each with its variables in `vars/0`, `vars/1`, ... in the order the layer
//! made them. A Sequential model's list leaves its InputLayer out, a Functional one keeps it.
//! This never reads the weights itself (see [`super::weights`]).

use super::weights::Binding;
use crate::nn::spec::{Activation, InputShape, LayerSpec, ModelSpec, PaddingSpec};
use crate::Result;
use serde_json::Value;
use std::collections::HashMap;

/// The Keras layer classes convscope reads, for messages.
pub const SUPPORTED_LAYERS: &str = "InputLayer, Conv2D, BatchNormalization, MaxPooling2D, AveragePooling2D, Dropout, Flatten, Dense, and Activation, ReLU or Softmax after a Conv2D or Dense";

/// The most layers a config may list (the chapter's model has 11).
const MAX_LAYERS: usize = 1000;

/// A Keras model description turned into convscope's.
#[derive(Debug, Clone)]
pub struct KerasModel {
    /// The model's name in Keras (`sequential`, or what the notebook named it).
    pub name: String,
    /// `Sequential` or `Functional`.
    pub class_name: String,
    pub spec: ModelSpec,
    /// Every layer of the Keras model (also those without weights), in order.
    pub bindings: Vec<Binding>,
}

/// One layer of the config, as far as it matters here.
struct KerasLayer<'a> {
    class: &'a str,
    name: String,
    config: &'a Value,
}

impl KerasLayer<'_> {
    fn label(&self) -> String {
        format!("layer '{}' ({})", self.name, self.class)
    }
}

/// Reads `config.json`'s text into a convscope model description and the weights' places.
pub fn model_from_config(text: &str) -> Result<KerasModel> {
    let root: Value = serde_json::from_str(text).map_err(|e| {
        bad!("the .keras file's config.json is not readable JSON ({e}): the file is damaged")
    })?;
    let class_name = root
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| bad!("the .keras file's config.json does not name a model class"))?;
    let config = root.get("config").unwrap_or(&Value::Null);
    let name = config
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("model")
        .to_string();
    let functional = match class_name {
        "Sequential" => false,
        "Functional" | "Model" => true,
        other => {
            return Err(bad!(
                "the .keras file holds a model of class {other}; convscope reads Sequential models and Functional ones (keras.Model(inputs, outputs)) whose layers form one chain"
            ))
        }
    };
    let list = config
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| bad!("the .keras file's config.json lists no layers"))?;
    if list.len() > MAX_LAYERS {
        return Err(bad!(
            "the Keras model has {} layers; convscope reads at most {MAX_LAYERS}",
            list.len()
        ));
    }
    let mut layers = Vec::with_capacity(list.len());
    for (i, l) in list.iter().enumerate() {
        let class = l
            .get("class_name")
            .and_then(Value::as_str)
            .ok_or_else(|| bad!("layer {} of the Keras model has no class name", i + 1))?;
        let config = l.get("config").unwrap_or(&Value::Null);
        let name = config
            .get("name")
            .and_then(Value::as_str)
            .or_else(|| l.get("name").and_then(Value::as_str))
            .map(str::to_string)
            .unwrap_or_else(|| format!("#{}", i + 1));
        layers.push(KerasLayer {
            class,
            name,
            config,
        });
    }
    if functional {
        check_chain(config, list, &layers)?;
    }

    // Where each layer's variables sit in the weights file: by class, counted per class.
    let mut used: HashMap<String, usize> = HashMap::new();
    let mut paths = Vec::with_capacity(layers.len());
    for l in &layers {
        if l.class == "InputLayer" && !functional {
            paths.push(None);
            continue;
        }
        let stem = snake_case(l.class);
        let path = match used.get_mut(&stem) {
            None => {
                used.insert(stem.clone(), 0);
                format!("layers/{stem}")
            }
            Some(n) => {
                *n += 1;
                format!("layers/{stem}_{n}")
            }
        };
        paths.push(Some(path));
    }

    let mut input = None;
    let mut specs: Vec<LayerSpec> = Vec::new();
    let mut bindings = Vec::new();
    for (l, path) in layers.iter().zip(paths) {
        let path = path.unwrap_or_default();
        let weightless = |layer: Option<usize>| Binding {
            label: l.label(),
            path: path.clone(),
            keras_name: Some(l.name.clone()),
            layer,
            vars: Vec::new(),
            file_vars: 0,
        };
        match l.class {
            "InputLayer" => {
                if input.is_some() || !specs.is_empty() {
                    return Err(bad!("{}: an input layer inside the model; convscope reads models with one input, first", l.label()));
                }
                input = Some(input_shape(l, "batch_shape")?);
                if functional {
                    bindings.push(weightless(None));
                }
            }
            "Activation" | "ReLU" | "Softmax" => {
                let activation = activation_layer(l)?;
                if activation != Activation::Linear {
                    fuse(&mut specs, activation, l)?;
                }
                bindings.push(weightless(None));
            }
            _ => {
                let (spec, vars, file_vars) = layer_spec(l)?;
                if input.is_none() && specs.is_empty() {
                    input = first_layer_input(config, l)?;
                }
                specs.push(spec);
                let layer = Some(specs.len() - 1);
                bindings.push(Binding {
                    vars,
                    file_vars,
                    ..weightless(layer)
                });
            }
        }
    }
    let input = match input {
        Some(i) => i,
        None => input_from_build(config)?.ok_or_else(|| {
            bad!("the .keras file does not say the size of the model's input pictures (no InputLayer and no build shape)")
        })?,
    };
    let spec = ModelSpec {
        input,
        layers: specs,
    };
    if let Err(e) = spec.plan() {
        return Err(name_the_layer(e.to_string(), &bindings));
    }
    Ok(KerasModel {
        name,
        class_name: class_name.to_string(),
        spec,
        bindings,
    })
}

/// Keras's `naming.to_snake_case` of a class name: `MaxPooling2D` -> `max_pooling2d`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    // (.)([A-Z][a-z]+) -> \1_\2, then ([a-z])([A-Z]) -> \1_\2.
    let mut first = Vec::with_capacity(chars.len() + 4);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if i > 0
            && c.is_ascii_uppercase()
            && chars.get(i + 1).is_some_and(|n| n.is_ascii_lowercase())
        {
            first.push('_');
            first.push(c);
            i += 1;
            while i < chars.len() && chars[i].is_ascii_lowercase() {
                first.push(chars[i]);
                i += 1;
            }
            continue;
        }
        first.push(c);
        i += 1;
    }
    let mut out = String::with_capacity(first.len() + 4);
    for (i, &c) in first.iter().enumerate() {
        if i > 0 && c.is_ascii_uppercase() && first[i - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.push(c);
    }
    out.to_lowercase()
}

/// A Functional model must be one chain: each layer reads the one before it, the input is the
/// first layer and the output the last.
fn check_chain(config: &Value, list: &[Value], layers: &[KerasLayer]) -> Result<()> {
    let (Some(first), Some(last)) = (layers.first(), layers.last()) else {
        return Err(bad!("the Keras model has no layers"));
    };
    for (i, (raw, l)) in list.iter().zip(layers).enumerate() {
        let nodes = raw
            .get("inbound_nodes")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        if i == 0 {
            if l.class != "InputLayer" {
                return Err(bad!(
                    "the Keras model starts with {}, not an input: convscope reads models whose layers form one chain from one input",
                    l.label()
                ));
            }
            continue;
        }
        let read = match nodes {
            [node] => node_sources(node),
            [] => Vec::new(),
            _ => {
                return Err(bad!(
                    "{} is called {} times in the Keras model; convscope reads models whose layers form one chain, each layer used once",
                    l.label(),
                    nodes.len()
                ))
            }
        };
        let before = &layers[i - 1].name;
        if read.len() != 1 || read[0] != *before {
            return Err(bad!(
                "{} reads {}, not the layer before it ('{before}'): convscope reads models whose layers form one chain (no branches, no skip connections)",
                l.label(),
                if read.is_empty() { "nothing".to_string() } else { read.iter().map(|r| format!("'{r}'")).collect::<Vec<_>>().join(" and ") }
            ));
        }
    }
    let ends = |key: &str| -> Vec<String> {
        let v = config.get(key).unwrap_or(&Value::Null);
        // [name, 0, 0] for one, [[name, 0, 0], ...] for several.
        match v.as_array() {
            Some(a) if a.first().is_some_and(Value::is_string) => {
                vec![a[0].as_str().unwrap_or_default().to_string()]
            }
            Some(a) => a
                .iter()
                .filter_map(|x| x.get(0).and_then(Value::as_str).map(str::to_string))
                .collect(),
            None => Vec::new(),
        }
    };
    let (inputs, outputs) = (ends("input_layers"), ends("output_layers"));
    let (first, last) = (&first.name, &last.name);
    if inputs.len() != 1 || inputs[0] != *first {
        return Err(bad!("the Keras model has the inputs {inputs:?}; convscope reads models with one input, its first layer '{first}'"));
    }
    if outputs.len() != 1 || outputs[0] != *last {
        return Err(bad!("the Keras model has the outputs {outputs:?}; convscope reads models whose one output is their last layer '{last}'"));
    }
    Ok(())
}

/// The names of the layers whose outputs a call node reads (`keras_history[0]` of every
/// Keras tensor among its arguments).
fn node_sources(node: &Value) -> Vec<String> {
    fn walk(v: &Value, out: &mut Vec<String>, depth: usize) {
        if depth > 16 {
            return;
        }
        match v {
            Value::Object(map) => {
                if map.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") {
                    if let Some(name) = map
                        .get("config")
                        .and_then(|c| c.get("keras_history"))
                        .and_then(|h| h.get(0))
                        .and_then(Value::as_str)
                    {
                        out.push(name.to_string());
                    }
                    return;
                }
                for x in map.values() {
                    walk(x, out, depth + 1);
                }
            }
            Value::Array(a) => a.iter().for_each(|x| walk(x, out, depth + 1)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(node, &mut out, 0);
    out
}

/// A positive whole number of the layer's config.
fn count(l: &KerasLayer, key: &str) -> Result<usize> {
    l.config
        .get(key)
        .and_then(Value::as_u64)
        .filter(|&n| n > 0)
        .map(|n| n as usize)
        .ok_or_else(|| {
            bad!(
                "{}: its '{key}' is missing or not a positive whole number",
                l.label()
            )
        })
}

/// A 2-D size (`[3, 3]` or `3`) that convscope holds as one number: both sides equal.
fn square(l: &KerasLayer, key: &str, what: &str) -> Result<Option<usize>> {
    let v = match l.config.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let pair: Vec<Option<u64>> = match v {
        Value::Array(a) => a.iter().map(Value::as_u64).collect(),
        other => vec![other.as_u64()],
    };
    match pair.as_slice() {
        [Some(a)] if *a > 0 => Ok(Some(*a as usize)),
        [Some(a), Some(b)] if a == b && *a > 0 => Ok(Some(*a as usize)),
        [Some(a), Some(b)] if *a > 0 && *b > 0 => Err(bad!(
            "{}: its {what} is {a}x{b}; convscope's layers take the same {what} across and down",
            l.label()
        )),
        _ => Err(bad!("{}: its '{key}' is not a size ({v})", l.label())),
    }
}

fn padding(l: &KerasLayer) -> Result<PaddingSpec> {
    match l.config.get("padding").and_then(Value::as_str) {
        None | Some("valid") => Ok(PaddingSpec::Valid),
        Some("same") => Ok(PaddingSpec::Same),
        Some(other) => Err(bad!(
            "{}: padding '{other}'; convscope pads 'valid' or 'same'",
            l.label()
        )),
    }
}

fn channels_last(l: &KerasLayer) -> Result<()> {
    match l.config.get("data_format").and_then(Value::as_str) {
        None | Some("channels_last") => Ok(()),
        Some(other) => Err(bad!(
            "{}: data_format '{other}'; convscope holds pictures channels_last (height, width, channels), Keras's default",
            l.label()
        )),
    }
}

fn activation_name(l: &KerasLayer, v: Option<&Value>) -> Result<Activation> {
    let name = match v {
        None | Some(Value::Null) => return Ok(Activation::Linear),
        Some(Value::String(s)) => s.as_str(),
        // A serialized function: {"class_name": "function", "config": "relu", ...}.
        Some(Value::Object(o)) => o
            .get("config")
            .and_then(Value::as_str)
            .or_else(|| o.get("class_name").and_then(Value::as_str))
            .unwrap_or("?"),
        Some(other) => {
            return Err(bad!(
                "{}: its activation ({other}) is not one convscope knows",
                l.label()
            ))
        }
    };
    match name {
        "linear" | "None" => Ok(Activation::Linear),
        "relu" => Ok(Activation::Relu),
        "sigmoid" => Ok(Activation::Sigmoid),
        "softmax" => Ok(Activation::Softmax),
        other => Err(bad!(
            "{}: activation '{other}'; convscope has relu (and linear), and sigmoid or softmax on the last Dense layer",
            l.label()
        )),
    }
}

/// The function of an activation layer (Activation, ReLU, Softmax).
fn activation_layer(l: &KerasLayer) -> Result<Activation> {
    match l.class {
        "Activation" => activation_name(l, l.config.get("activation")),
        "Softmax" => match l.config.get("axis") {
            None | Some(Value::Null) => Ok(Activation::Softmax),
            Some(a) if a.as_i64() == Some(-1) => Ok(Activation::Softmax),
            Some(a) => Err(bad!(
                "{}: a softmax over axis {a}; convscope's runs over the classes (axis -1)",
                l.label()
            )),
        },
        _ => {
            // ReLU(max_value=None, negative_slope=0, threshold=0) is the plain ReLU.
            let zero = |k: &str| {
                l.config
                    .get(k)
                    .map(|v| v.is_null() || v.as_f64() == Some(0.0))
                    .unwrap_or(true)
            };
            let unbounded = l.config.get("max_value").is_none_or(Value::is_null);
            if zero("negative_slope") && zero("threshold") && unbounded {
                Ok(Activation::Relu)
            } else {
                Err(bad!("{}: a ReLU with a maximum, a slope or a threshold; convscope has the plain ReLU only", l.label()))
            }
        }
    }
}

/// Puts an activation layer's function into the Conv2D or Dense layer before it.
fn fuse(specs: &mut [LayerSpec], activation: Activation, l: &KerasLayer) -> Result<()> {
    let before = specs.last_mut();
    let slot = match before {
        Some(LayerSpec::Conv2d { activation, .. }) => activation,
        Some(LayerSpec::Dense { activation, .. }) => activation,
        other => {
            return Err(bad!(
                "{}: convscope applies {} only inside the Conv2D or Dense layer before it, and this one follows {}",
                l.label(),
                activation.name(),
                other.map_or("the input".to_string(), |o| format!("a {} layer", o.type_name()))
            ))
        }
    };
    if *slot != Activation::Linear {
        return Err(bad!(
            "{}: a {} after a layer that already applies {}; convscope applies one function per layer",
            l.label(),
            activation.name(),
            slot.name()
        ));
    }
    *slot = activation;
    Ok(())
}

/// The convscope layer of a Keras layer, which of its tensors the weights file holds (in the
/// file's order; `None`: Keras did not make it, so it keeps its default), and how many
/// variables the file's layer has.
fn layer_spec(l: &KerasLayer) -> Result<(LayerSpec, Vec<Option<usize>>, usize)> {
    let flag = |key: &str| l.config.get(key).and_then(Value::as_bool).unwrap_or(true);
    match l.class {
        "Conv2D" => {
            channels_last(l)?;
            if l.config.get("groups").and_then(Value::as_u64).unwrap_or(1) != 1 {
                return Err(bad!("{}: a grouped convolution (groups > 1); convscope's Conv2D layers read every input channel", l.label()));
            }
            let filters = count(l, "filters")?;
            let kernel = square(l, "kernel_size", "kernel size")?
                .ok_or_else(|| bad!("{}: it has no kernel_size", l.label()))?;
            let stride = square(l, "strides", "stride")?.unwrap_or(1);
            let dilation = square(l, "dilation_rate", "dilation")?.unwrap_or(1);
            let activation = activation_name(l, l.config.get("activation"))?;
            if matches!(activation, Activation::Sigmoid | Activation::Softmax) {
                return Err(bad!("{}: activation '{}' in a convolution; convscope's Conv2D layers apply relu or nothing", l.label(), activation.name()));
            }
            let spec = LayerSpec::Conv2d {
                filters,
                kernel,
                stride,
                padding: padding(l)?,
                dilation,
                activation,
            };
            let (vars, n) = kernel_and_bias(flag("use_bias"));
            Ok((spec, vars, n))
        }
        "Dense" => {
            let units = count(l, "units")?;
            let activation = activation_name(l, l.config.get("activation"))?;
            let (vars, n) = kernel_and_bias(flag("use_bias"));
            Ok((LayerSpec::Dense { units, activation }, vars, n))
        }
        "BatchNormalization" => {
            let axis = match l.config.get("axis") {
                Some(Value::Array(a)) if a.len() == 1 => a[0].as_i64(),
                Some(v) => v.as_i64(),
                None => Some(-1),
            };
            if !matches!(axis, Some(-1) | Some(3)) {
                return Err(bad!("{}: it normalizes over axis {:?}; convscope's batch norm normalizes each channel (axis -1)", l.label(), axis));
            }
            if l.config.get("renorm").and_then(Value::as_bool) == Some(true) {
                return Err(bad!(
                    "{}: batch renormalization; convscope has plain batch norm",
                    l.label()
                ));
            }
            let number = |key: &str, default: f64| -> Result<f64> {
                match l.config.get(key) {
                    None | Some(Value::Null) => Ok(default),
                    Some(v) => v.as_f64().filter(|x| x.is_finite() && *x >= 0.0).ok_or_else(|| {
                        bad!("{}: its {key} ({v}) is not a number", l.label())
                    }),
                }
            };
            let spec = LayerSpec::BatchNorm {
                momentum: number("momentum", 0.99)?,
                epsilon: number("epsilon", 1e-3)? as f32,
            };
            // Keras makes gamma (scale), beta (center), then the moving mean and variance.
            let (scale, center) = (flag("scale"), flag("center"));
            let mut vars = Vec::new();
            let mut n = 0;
            for present in [scale, center, true, true] {
                vars.push(present.then_some(n));
                n += present as usize;
            }
            Ok((spec, vars, n))
        }
        "MaxPooling2D" | "AveragePooling2D" => {
            channels_last(l)?;
            let pool = square(l, "pool_size", "pool size")?.unwrap_or(2);
            let stride = square(l, "strides", "stride")?.unwrap_or(pool);
            let padding = padding(l)?;
            let spec = if l.class == "MaxPooling2D" {
                LayerSpec::MaxPool {
                    pool,
                    stride,
                    padding,
                }
            } else {
                LayerSpec::AvgPool {
                    pool,
                    stride,
                    padding,
                }
            };
            Ok((spec, Vec::new(), 0))
        }
        "Dropout" => {
            let rate = l
                .config
                .get("rate")
                .and_then(Value::as_f64)
                .filter(|r| (0.0..1.0).contains(r))
                .ok_or_else(|| bad!("{}: its rate is not a number from 0 to 1", l.label()))?;
            Ok((LayerSpec::Dropout { rate: rate as f32 }, Vec::new(), 0))
        }
        "Flatten" => {
            channels_last(l)?;
            Ok((LayerSpec::Flatten, Vec::new(), 0))
        }
        "Sequential" | "Functional" | "Model" => Err(bad!(
            "{} is a model inside the model; convscope reads one flat list of layers (in Keras, build the model from the inner model's layers)",
            l.label()
        )),
        other => Err(bad!(
            "{} is not a layer convscope has; it reads {SUPPORTED_LAYERS}",
            format!("layer '{}' ({other})", l.name)
        )),
    }
}

fn kernel_and_bias(use_bias: bool) -> (Vec<Option<usize>>, usize) {
    if use_bias {
        (vec![Some(0), Some(1)], 2)
    } else {
        (vec![Some(0), None], 1)
    }
}

/// `[null, H, W, C]` as convscope's input.
fn shape_of(v: &Value, l: Option<&KerasLayer>) -> Result<InputShape> {
    let dims: Vec<Option<u64>> = v
        .as_array()
        .map(|a| a.iter().map(Value::as_u64).collect())
        .unwrap_or_default();
    match dims.as_slice() {
        [_, Some(h), Some(w), Some(c)] if *h > 0 && *w > 0 && *c > 0 => Ok(InputShape {
            height: *h as usize,
            width: *w as usize,
            channels: *c as usize,
        }),
        _ => Err(bad!(
            "{}the model's input has shape {v}; convscope reads pictures of a fixed size (batch, height, width, channels)",
            l.map_or(String::new(), |l| format!("{}: ", l.label()))
        )),
    }
}

fn input_shape(l: &KerasLayer, key: &str) -> Result<InputShape> {
    let v = l
        .config
        .get(key)
        .or_else(|| l.config.get("batch_input_shape"))
        .unwrap_or(&Value::Null);
    shape_of(v, Some(l))
}

/// A Sequential model without an InputLayer: the first layer's `batch_input_shape` (Keras 2)
/// or its build shape.
fn first_layer_input(model: &Value, l: &KerasLayer) -> Result<Option<InputShape>> {
    if let Some(v) = l.config.get("batch_input_shape") {
        return shape_of(v, Some(l)).map(Some);
    }
    input_from_build(model)
}

fn input_from_build(model: &Value) -> Result<Option<InputShape>> {
    match model.get("build_input_shape") {
        Some(v) if !v.is_null() => shape_of(v, None).map(Some),
        _ => Ok(None),
    }
}

/// A planning error names convscope's layer by its position (`layer 3 (Dense): ...`); the user
/// knows it by its Keras name.
fn name_the_layer(message: String, bindings: &[Binding]) -> crate::Error {
    let parsed = message.strip_prefix("layer ").and_then(|rest| {
        let (n, rest) = rest.split_once(' ')?;
        let n: usize = n.parse::<usize>().ok()?.checked_sub(1)?;
        let (_, rest) = rest.split_once("): ")?;
        Some((n, rest))
    });
    if let Some((n, rest)) = parsed {
        if let Some(b) = bindings.iter().find(|b| b.layer == Some(n)) {
            return bad!("the Keras model's {}: {rest}", b.label);
        }
    }
    bad!("the Keras model cannot be built in convscope: {message}")
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn class_names_become_keras_snake_case() {
        for (class, snake) in [
            ("Conv2D", "conv2d"),
            ("BatchNormalization", "batch_normalization"),
            ("MaxPooling2D", "max_pooling2d"),
            ("AveragePooling2D", "average_pooling2d"),
            ("InputLayer", "input_layer"),
            ("ReLU", "re_lu"),
            ("Dense", "dense"),
            ("GlobalAveragePooling2D", "global_average_pooling2d"),
        ] {
            assert_eq!(snake_case(class), snake);
        }
    }
}
