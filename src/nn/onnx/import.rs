//! ONNX import: an `.onnx` file made of the operators convscope implements becomes a convscope
//! model file, so that everything that opens a model (the page, the command line) opens it.
//!
//! Two steps. [`read_graph`] reads the file into a graph model description ([`GraphSpec`]) and
//! its weights in convscope's layouts, checking every node; then [`model_file_from_onnx`] keeps
//! it as a sequential model (trainable: fine-tuning works) when it is a chain that one can hold
//! (one-axis kernels and strides, symmetric or "same" padding, ReLU fused into the layer before,
//! a sigmoid or softmax Dense head), and as a graph model otherwise (explanations, and a
//! backbone for transfer learning).
//!
//! Operators: Conv (group 1 or depthwise, dilations, four pads, two strides, auto_pad),
//! BatchNormalization (inference), Relu, Clip to [0, 6] (ReLU6), MaxPool, AveragePool (padding
//! not counted), GlobalAveragePool, Flatten and Reshape to one vector per example, Transpose to
//! NHWC before a flatten (what convscope's own export writes), Gemm, MatMul + Add, Add of two
//! values, Sigmoid or Softmax at the end, Dropout and Identity as no-ops, Constant, and Sub / Div
//! by per-channel constants on the input image (its normalization). Anything else is an error
//! naming the operator, the node and what is supported.
//!
//! Layouts: ONNX is NCHW, convscope NHWC. Conv kernels OIHW become HWIO; a flatten of a map
//! reads (C, H, W) order in ONNX and (H, W, C) in convscope, so the weights of the Gemm that
//! reads it are permuted to match.

use super::proto::{
    attribute_type, data_type, decode_model, AttributeProto, DimensionValue, NodeProto, TensorProto,
};
use crate::kernels::geometry::same_padding;
use crate::nn::graph::{
    GraphModel, GraphSpec, GraphTensor, Head, NodeSpec, Normalize, OpSpec, ValueShape,
};
use crate::nn::io::{save_graph_model, save_model};
use crate::nn::spec::{Activation, InputShape, LayerSpec, ModelSpec, PaddingSpec};
use crate::nn::Sequential;
use crate::{invalid, Result};
use std::collections::{HashMap, HashSet, VecDeque};

/// The operators [`read_graph`] takes, for messages.
pub const SUPPORTED: &str = "Conv, BatchNormalization, Relu, Clip (as ReLU6), MaxPool, AveragePool, GlobalAveragePool, Flatten, Reshape (to a vector), Gemm, MatMul, Add, Sigmoid, Softmax, Dropout, Identity, Constant, Transpose (to NHWC before a flatten), and Sub / Div on the input (its normalization)";

/// The largest file, node count and tensor the importer reads (a 100 MB model is far beyond
/// what the page trains or explains).
const MAX_BYTES: usize = 256 << 20;
const MAX_NODES: usize = 10_000;
const MAX_VALUES: usize = 64 << 20;
/// The most values one node's output may hold per picture (ImageNet's largest: 1.6 million).
const MAX_MAP_VALUES: usize = 16 << 20;

/// What an ONNX file became.
#[derive(Debug)]
pub struct Imported {
    /// A convscope model file (format version 1 for a sequential model, 2 for a graph).
    pub file: Vec<u8>,
    /// True when it is a sequential model (trainable in the page).
    pub sequential: bool,
    pub classes: Vec<String>,
    /// How the model ends: probabilities (a sigmoid or softmax) or logits.
    pub ends_in: Ending,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    Logits,
    Softmax,
    Sigmoid,
}

/// The graph read from an ONNX file, before it is stored.
#[derive(Debug)]
pub struct ReadGraph {
    pub spec: GraphSpec,
    /// Every weight, named `<node>.<variable>` as [`GraphModel`] names them.
    pub tensors: HashMap<String, GraphTensor>,
    pub ends_in: Ending,
    pub classes: Vec<String>,
}

/// The model an ONNX file holds, in the form convscope keeps it.
#[derive(Debug)]
pub enum ImportedModel {
    /// A chain convscope can train, with its notes (`class_names`, `source`), as a model
    /// file keeps them.
    Sequential(Sequential, serde_json::Value),
    /// Any other graph: explained, and a transfer-learning backbone.
    Graph(GraphModel, Vec<String>, serde_json::Value),
}

/// The model of the ONNX file in `bytes`: a sequential model when it is a chain convscope can
/// train, else a graph model (the page opens them without writing a model file first).
pub fn import_onnx(bytes: &[u8]) -> Result<(ImportedModel, Ending)> {
    let read = read_graph(bytes)?;
    let source = serde_json::json!({"imported_from": "onnx"});
    if let Some(sequential) = as_sequential(&read)? {
        let notes = serde_json::json!({"class_names": read.classes, "source": source});
        return Ok((ImportedModel::Sequential(sequential, notes), read.ends_in));
    }
    if read.ends_in == Ending::Sigmoid {
        return Err(invalid!("this model ends in a Sigmoid, which convscope keeps only for a chain of layers it can train (square kernels, one stride, symmetric or \"same\" padding, a Dense layer with one sigmoid unit last); end the model in logits or a Softmax instead"));
    }
    let model = graph_model(&read)?;
    Ok((
        ImportedModel::Graph(model, read.classes, source),
        read.ends_in,
    ))
}

/// The convscope model file of the ONNX model in `bytes`.
pub fn model_file_from_onnx(bytes: &[u8]) -> Result<Imported> {
    Ok(match import_onnx(bytes)? {
        (ImportedModel::Sequential(model, notes), ends_in) => Imported {
            file: save_model(&model, &notes)?,
            sequential: true,
            classes: serde_json::from_value(notes["class_names"].clone()).unwrap_or_default(),
            ends_in,
        },
        (ImportedModel::Graph(model, classes, source), ends_in) => Imported {
            file: save_graph_model(&model, &classes, &source)?,
            sequential: false,
            classes,
            ends_in,
        },
    })
}

/// The graph model with its weights.
pub fn graph_model(read: &ReadGraph) -> Result<GraphModel> {
    let mut model = GraphModel::new(read.spec.clone())?;
    for t in model.tensors_mut() {
        let got = read
            .tensors
            .get(&t.name)
            .ok_or_else(|| invalid!("no weights for {}", t.name))?;
        if got.dims != t.dims {
            return Err(invalid!(
                "{} has shape {:?}, the graph wants {:?}",
                t.name,
                got.dims,
                t.dims
            ));
        }
        t.values.copy_from_slice(&got.values);
    }
    Ok(model)
}

/// A value between nodes, as convscope will hold it.
#[derive(Debug, Clone)]
enum Value {
    /// The graph input before its normalization: only Sub and Div may read it.
    Pixels,
    /// A map (N, C, H, W) in ONNX, held NHWC by the graph node `node`.
    Map {
        node: String,
        shape: (usize, usize, usize),
    },
    /// The same map after Transpose(0, 2, 3, 1): only a flatten may read it.
    Nhwc {
        node: String,
        shape: (usize, usize, usize),
    },
    /// One vector per example. `chw`: it is the ONNX flatten of a map of that (C, H, W), which
    /// convscope holds in (H, W, C) order.
    Vector {
        node: String,
        len: usize,
        chw: Option<(usize, usize, usize)>,
        /// The dense node whose bias a following Add may still set (after a MatMul).
        open_bias: bool,
    },
    /// An initializer or Constant.
    Const(Constant),
}

#[derive(Debug, Clone)]
struct Constant {
    dims: Vec<usize>,
    floats: Vec<f32>,
    ints: Vec<i64>,
}

/// Reads the ONNX model into a graph description and weights, checking every node.
pub fn read_graph(bytes: &[u8]) -> Result<ReadGraph> {
    if bytes.len() > MAX_BYTES {
        return Err(invalid!(
            "the ONNX file is {} MB; convscope reads at most {} MB",
            bytes.len() >> 20,
            MAX_BYTES >> 20
        ));
    }
    let model = decode_model(bytes).map_err(|e| {
        invalid!("this is not an ONNX model, or the file is cut short or damaged ({e})")
    })?;
    let graph = model
        .graph
        .ok_or_else(|| invalid!("this file holds no ONNX graph (is it an ONNX model?)"))?;
    if graph.node.is_empty() {
        return Err(invalid!("the ONNX graph has no nodes"));
    }
    if graph.node.len() > MAX_NODES {
        return Err(invalid!(
            "the ONNX graph has {} nodes; convscope reads at most {MAX_NODES}",
            graph.node.len()
        ));
    }
    let mut values: HashMap<String, Value> = HashMap::new();
    for t in &graph.initializer {
        values.insert(t.name.clone(), Value::Const(constant(t)?));
    }
    let inputs: Vec<_> = graph
        .input
        .iter()
        .filter(|i| !values.contains_key(&i.name))
        .collect();
    let [input] = inputs[..] else {
        return Err(invalid!(
            "the ONNX graph has {} inputs besides its weights; convscope models take one picture",
            inputs.len()
        ));
    };
    let tensor_type = input
        .r#type
        .as_ref()
        .and_then(|t| t.tensor_type.as_ref())
        .ok_or_else(|| invalid!("the ONNX graph's input {:?} is not a tensor", input.name))?;
    if tensor_type.elem_type != data_type::FLOAT {
        return Err(invalid!(
            "the ONNX graph's input {:?} is not float32 (type {})",
            input.name,
            tensor_type.elem_type
        ));
    }
    let dims: Vec<Option<i64>> = tensor_type
        .shape
        .as_ref()
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(DimensionValue::DimValue(v)) if v > 0 => Some(v),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let (c, h, w) = match dims[..] {
        [_, Some(c), Some(h), Some(w)] => (c as usize, h as usize, w as usize),
        _ => {
            return Err(invalid!(
            "the ONNX graph's input {:?} has shape {}: convscope needs (batch, channels, height, width) with fixed channels, height and width (only the batch may be dynamic)",
            input.name, describe_dims(&dims)
        ))
        }
    };
    if c > 64 || h > 1024 || w > 1024 {
        return Err(invalid!("the ONNX graph's input is {c}x{h}x{w}; convscope takes at most 64 channels and 1024x1024 pictures"));
    }
    values.insert(input.name.clone(), Value::Pixels);
    let [output] = &graph.output[..] else {
        return Err(invalid!(
            "the ONNX graph has {} outputs; convscope models have one",
            graph.output.len()
        ));
    };
    let order = topological_order(&graph.node, &values)?;
    let classes = graph_classes(&model.metadata_props);

    let mut b = Builder {
        values,
        input: InputShape {
            height: h,
            width: w,
            channels: c,
        },
        normalize: Normalize {
            mean: vec![0.0; c],
            std: vec![1.0; c],
        },
        normalized: false,
        nodes: Vec::new(),
        tensors: HashMap::new(),
        names: HashSet::new(),
        endings: HashMap::new(),
    };
    for i in order {
        let node = &graph.node[i];
        b.node(node)
            .map_err(|e| invalid!("node {:?} ({}): {e}", display_name(node, i), node.op_type))?;
    }
    if let Some(inner) = b.endings.keys().find(|k| **k != output.name) {
        return Err(invalid!("the value {inner:?} goes through a Softmax or Sigmoid before the end; convscope supports them only as the model's last step"));
    }
    let (logits, ends_in) = match b.values.get(&output.name) {
        Some(Value::Vector { node, .. }) => (
            node.clone(),
            b.endings
                .get(&output.name)
                .copied()
                .unwrap_or(Ending::Logits),
        ),
        Some(_) => {
            return Err(invalid!(
                "the ONNX graph's output {:?} is not one vector per picture",
                output.name
            ))
        }
        None => {
            return Err(invalid!(
                "the ONNX graph's output {:?} is made by no node",
                output.name
            ))
        }
    };
    let outputs = b
        .nodes
        .iter()
        .position(|n| n.name == logits)
        .map(|i| b.nodes.truncate(i + 1))
        .map(|_| ());
    if outputs.is_none() {
        return Err(invalid!(
            "the ONNX graph's output comes straight from its input"
        ));
    }
    let spec = GraphSpec {
        input: b.input,
        normalize: b.normalize,
        nodes: b.nodes,
        output: logits,
        head: Head::Softmax,
    };
    // The graph checks every shape; the class count is known once it has.
    let planned = GraphModel::new(spec.clone())?;
    check_sizes(&planned)?;
    // One sigmoid unit tells two classes apart.
    let k = match (planned.classes(), ends_in) {
        (1, Ending::Sigmoid) => 2,
        (k, _) => k,
    };
    let classes = match classes {
        Some(names) if names.len() == k => names,
        _ => (0..k).map(|i| format!("class {i}")).collect(),
    };
    Ok(ReadGraph {
        spec,
        tensors: b.tensors,
        ends_in,
        classes,
    })
}

/// Refuses a graph whose weights or feature maps would not fit a browser tab (a damaged file
/// can declare any size).
fn check_sizes(model: &GraphModel) -> Result<()> {
    let weights: usize = model.tensors().map(|t| t.values.len()).sum();
    if weights > crate::limits::MAX_PARAMETERS {
        return Err(invalid!(
            "the model has {weights} weights; convscope takes at most {}",
            crate::limits::MAX_PARAMETERS
        ));
    }
    let mut total = 0usize;
    for (name, shape) in model.node_shapes() {
        let len = shape.len();
        total = total.saturating_add(len);
        if len > MAX_MAP_VALUES || total > 4 * MAX_MAP_VALUES {
            return Err(invalid!("the feature maps of node {name:?} and before hold {total} values per picture; convscope takes at most {} per map and {} in all", MAX_MAP_VALUES, 4 * MAX_MAP_VALUES));
        }
    }
    Ok(())
}

/// The class names convscope's export keeps in the metadata, if any.
fn graph_classes(props: &[super::proto::StringStringEntryProto]) -> Option<Vec<String>> {
    let p = props.iter().find(|p| p.key == "convscope.classes")?;
    serde_json::from_str(&p.value).ok()
}

fn describe_dims(dims: &[Option<i64>]) -> String {
    let parts: Vec<String> = dims
        .iter()
        .map(|d| d.map_or("?".to_string(), |v| v.to_string()))
        .collect();
    format!("({})", parts.join(", "))
}

fn display_name(node: &NodeProto, i: usize) -> String {
    if node.name.is_empty() {
        format!("#{i}")
    } else {
        node.name.clone()
    }
}

/// The nodes in an order where each comes after the nodes whose outputs it reads; a missing
/// input or a cycle is an error naming the node.
fn topological_order(nodes: &[NodeProto], known: &HashMap<String, Value>) -> Result<Vec<usize>> {
    let mut maker: HashMap<&str, usize> = HashMap::new();
    for (i, n) in nodes.iter().enumerate() {
        for o in n.output.iter().filter(|o| !o.is_empty()) {
            if maker.insert(o, i).is_some() || known.contains_key(o) {
                return Err(invalid!(
                    "the ONNX graph makes the value {o:?} twice (node {:?})",
                    display_name(n, i)
                ));
            }
        }
    }
    let mut waiting = vec![0usize; nodes.len()];
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        for input in n.input.iter().filter(|x| !x.is_empty()) {
            if known.contains_key(input) {
                continue;
            }
            let Some(&m) = maker.get(input.as_str()) else {
                return Err(invalid!(
                    "node {:?} ({}) reads {input:?}, which is neither a weight (initializer) nor made by any node: is an initializer missing?",
                    display_name(n, i), n.op_type
                ));
            };
            waiting[i] += 1;
            readers[m].push(i);
        }
    }
    let mut ready: VecDeque<usize> = (0..nodes.len()).filter(|&i| waiting[i] == 0).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &r in &readers[i] {
            waiting[r] -= 1;
            if waiting[r] == 0 {
                ready.push_back(r);
            }
        }
    }
    if order.len() < nodes.len() {
        let stuck = (0..nodes.len()).find(|&i| waiting[i] > 0).unwrap_or(0);
        return Err(invalid!(
            "the ONNX graph has a cycle through node {:?} ({}): a network's values must flow one way",
            display_name(&nodes[stuck], stuck),
            nodes[stuck].op_type
        ));
    }
    Ok(order)
}

/// An initializer's values (float32, float64, int32 or int64; stored raw or as lists).
fn constant(t: &TensorProto) -> Result<Constant> {
    let name = &t.name;
    if t.data_location == 1 {
        return Err(invalid!("the weight {name:?} lives in a separate file; save the ONNX model with its weights inside (onnx.save without external data)"));
    }
    let dims = t
        .dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| invalid!("the weight {name:?} has a negative size"))
        })
        .collect::<Result<Vec<usize>>>()?;
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= MAX_VALUES)
        .ok_or_else(|| invalid!("the weight {name:?} is too large"))?;
    let raw = &t.raw_data;
    let size_error = |got: usize| {
        invalid!("the weight {name:?} has {got} values, its shape {dims:?} needs {count}")
    };
    let mut c = Constant {
        dims: dims.clone(),
        floats: Vec::new(),
        ints: Vec::new(),
    };
    match t.data_type {
        data_type::FLOAT => {
            c.floats = if raw.is_empty() {
                t.float_data.clone()
            } else {
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect()
            };
            if !raw.len().is_multiple_of(4) || c.floats.len() != count {
                return Err(size_error(c.floats.len()));
            }
            if c.floats.iter().any(|v| !v.is_finite()) {
                return Err(invalid!("the weight {name:?} holds a value that is not a finite number"));
            }
        }
        data_type::DOUBLE => {
            c.floats = if raw.is_empty() {
                t.double_data.iter().map(|&v| v as f32).collect()
            } else {
                raw.chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                    .collect()
            };
            if !raw.len().is_multiple_of(8) || c.floats.len() != count {
                return Err(size_error(c.floats.len()));
            }
        }
        data_type::INT64 => {
            c.ints = if raw.is_empty() {
                t.int64_data.clone()
            } else {
                raw.chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect()
            };
            if !raw.len().is_multiple_of(8) || c.ints.len() != count {
                return Err(size_error(c.ints.len()));
            }
        }
        data_type::INT32 => {
            c.ints = if raw.is_empty() {
                t.int32_data.iter().map(|&v| v as i64).collect()
            } else {
                raw.chunks_exact(4)
                    .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64)
                    .collect()
            };
            if !raw.len().is_multiple_of(4) || c.ints.len() != count {
                return Err(size_error(c.ints.len()));
            }
        }
        other => {
            return Err(invalid!(
                "the weight {name:?} has ONNX data type {other}; convscope reads float32, float64, int32 and int64"
            ))
        }
    }
    Ok(c)
}

/// An attribute by name.
fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn int_attribute(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name)
        .filter(|a| a.r#type == attribute_type::INT)
        .map_or(default, |a| a.i)
}

fn ints_attribute(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attribute(node, name)
        .filter(|a| a.r#type == attribute_type::INTS)
        .map(|a| a.ints.clone())
}

fn float_attribute(node: &NodeProto, name: &str) -> Option<f32> {
    attribute(node, name)
        .filter(|a| a.r#type == attribute_type::FLOAT)
        .map(|a| a.f)
}

fn string_attribute(node: &NodeProto, name: &str) -> String {
    attribute(node, name)
        .filter(|a| a.r#type == attribute_type::STRING)
        .map(|a| String::from_utf8_lossy(&a.s).into_owned())
        .unwrap_or_default()
}

/// Two positive sizes (height, width) from an attribute, or the default.
fn pair(node: &NodeProto, name: &str, default: usize) -> Result<[usize; 2]> {
    match ints_attribute(node, name) {
        None => Ok([default; 2]),
        Some(v) => match v[..] {
            [a, b] if a > 0 && b > 0 && a <= 4096 && b <= 4096 => Ok([a as usize, b as usize]),
            _ => Err(invalid!("{name} must be two positive numbers, not {v:?}")),
        },
    }
}

/// The four pads as convscope orders them (top, bottom, left, right), from `pads` (ONNX:
/// top, left, bottom, right) or `auto_pad`.
fn pads(
    node: &NodeProto,
    (h, w): (usize, usize),
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
) -> Result<[usize; 4]> {
    let auto = string_attribute(node, "auto_pad");
    match auto.as_str() {
        "" | "NOTSET" => match ints_attribute(node, "pads") {
            None => Ok([0; 4]),
            Some(p) => match p[..] {
                [t, l, b, r] if [t, l, b, r].iter().all(|&x| (0..=1024).contains(&x)) => {
                    Ok([t as usize, b as usize, l as usize, r as usize])
                }
                _ => Err(invalid!(
                    "pads must be four sizes (top, left, bottom, right), not {p:?}"
                )),
            },
        },
        "VALID" => Ok([0; 4]),
        "SAME_UPPER" | "SAME_LOWER" => {
            let (top, bottom) = same_padding(h, kernel[0], stride[0], dilation[0]);
            let (left, right) = same_padding(w, kernel[1], stride[1], dilation[1]);
            Ok(if auto == "SAME_UPPER" {
                [top, bottom, left, right]
            } else {
                [bottom, top, right, left]
            })
        }
        other => Err(invalid!("auto_pad {other:?} is not one ONNX defines")),
    }
}

struct Builder {
    values: HashMap<String, Value>,
    input: InputShape,
    normalize: Normalize,
    /// Whether any node has read the (normalized) image yet: Sub and Div must come first.
    normalized: bool,
    nodes: Vec<NodeSpec>,
    tensors: HashMap<String, GraphTensor>,
    names: HashSet<String>,
    /// Outputs made by a final Softmax or Sigmoid: how the model ends.
    endings: HashMap<String, Ending>,
}

impl Builder {
    fn value(&self, name: &str) -> Result<&Value> {
        self.values
            .get(name)
            .ok_or_else(|| invalid!("reads {name:?}, which nothing makes"))
    }

    fn constant(&self, node: &NodeProto, k: usize) -> Result<Option<&Constant>> {
        match node.input.get(k).filter(|n| !n.is_empty()) {
            None => Ok(None),
            Some(name) => match self.value(name)? {
                Value::Const(c) => Ok(Some(c)),
                _ => Err(invalid!(
                    "its input {name:?} must be a weight (an initializer), not a computed value"
                )),
            },
        }
    }

    fn required_constant(&self, node: &NodeProto, k: usize, what: &str) -> Result<&Constant> {
        self.constant(node, k)?
            .ok_or_else(|| invalid!("it has no {what} (input {})", k + 1))
    }

    /// The map a node reads as its first input (the normalized image included).
    fn map_input(&mut self, node: &NodeProto) -> Result<(String, (usize, usize, usize))> {
        let name = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?;
        match self.value(name)?.clone() {
            Value::Pixels => {
                self.normalized = true;
                let i = self.input;
                Ok((
                    crate::nn::graph::IMAGE.to_string(),
                    (i.channels, i.height, i.width),
                ))
            }
            Value::Map { node, shape } => Ok((node, shape)),
            _ => Err(invalid!(
                "its input {name:?} must be a map (batch, channels, height, width)"
            )),
        }
    }

    /// A graph node name from the ONNX node's, unique and readable.
    fn fresh_name(&mut self, node: &NodeProto, op: &str) -> String {
        let base: String = if node.name.is_empty() {
            op.to_string()
        } else {
            node.name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || c == '_' || c == '.' {
                        c
                    } else {
                        '_'
                    }
                })
                .collect()
        };
        let mut name = base.clone();
        let mut k = 1;
        while name == crate::nn::graph::IMAGE || self.names.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        self.names.insert(name.clone());
        name
    }

    fn add_tensor(&mut self, node: &str, variable: &str, dims: Vec<usize>, values: Vec<f32>) {
        let name = format!("{node}.{variable}");
        self.tensors
            .insert(name.clone(), GraphTensor { name, dims, values });
    }

    fn set_output(&mut self, node: &NodeProto, value: Value) -> Result<()> {
        let out = node
            .output
            .first()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| invalid!("it has no output"))?;
        self.values.insert(out.clone(), value);
        Ok(())
    }

    /// Adds a graph node reading `inputs`; returns its name.
    fn push(&mut self, onnx: &NodeProto, op: OpSpec, inputs: Vec<String>) -> String {
        let name = self.fresh_name(onnx, crate::nn::graph::op_name(&op));
        self.nodes.push(NodeSpec {
            name: name.clone(),
            inputs,
            op,
        });
        name
    }

    fn node(&mut self, node: &NodeProto) -> Result<()> {
        if !node.domain.is_empty() && node.domain != "ai.onnx" {
            return Err(invalid!(
                "operators of the domain {:?} are not supported; convscope reads the standard ONNX operators {SUPPORTED}",
                node.domain
            ));
        }
        match node.op_type.as_str() {
            "Constant" => {
                let t = attribute(node, "value")
                    .and_then(|a| a.t.as_ref())
                    .ok_or_else(|| {
                        invalid!("only Constants holding a tensor (value) are supported")
                    })?;
                let c = constant(t)?;
                self.set_output(node, Value::Const(c))
            }
            "Identity" | "Dropout" => {
                let input = node
                    .input
                    .first()
                    .ok_or_else(|| invalid!("it has no input"))?;
                let v = self.value(input)?.clone();
                if node.op_type == "Dropout" && node.output.get(1).is_some_and(|m| !m.is_empty()) {
                    return Err(invalid!(
                        "its mask output is used: at inference dropout has none"
                    ));
                }
                self.set_output(node, v)
            }
            "Sub" | "Div" => self.normalization(node),
            "Conv" => self.conv(node),
            "BatchNormalization" => self.batch_norm(node),
            "Relu" => self.activation(node, OpSpec::Relu),
            "Clip" => {
                let (low, high) = self.clip_range(node)?;
                if low != 0.0 {
                    return Err(invalid!("only Clip to [0, 6] (ReLU6) or [0, infinity) (ReLU) is supported, not [{low}, {high}]"));
                }
                if high == 6.0 {
                    self.activation(node, OpSpec::Relu6)
                } else if high == f32::INFINITY || high >= f32::MAX {
                    self.activation(node, OpSpec::Relu)
                } else {
                    Err(invalid!("only Clip to [0, 6] (ReLU6) or [0, infinity) (ReLU) is supported, not [{low}, {high}]"))
                }
            }
            "MaxPool" | "AveragePool" => self.pool(node),
            "GlobalAveragePool" => {
                let (input, (c, _, _)) = self.map_input(node)?;
                let name = self.push(node, OpSpec::GlobalAvgPool, vec![input]);
                self.set_output(
                    node,
                    Value::Vector {
                        node: name,
                        len: c,
                        chw: None,
                        open_bias: false,
                    },
                )
            }
            "Transpose" => {
                let perm = ints_attribute(node, "perm").unwrap_or_default();
                if perm != [0, 2, 3, 1] {
                    return Err(invalid!("only Transpose with perm [0, 2, 3, 1] (to NHWC, before a flatten) is supported, not {perm:?}"));
                }
                let (input, shape) = self.map_input(node)?;
                self.set_output(node, Value::Nhwc { node: input, shape })
            }
            "Flatten" => {
                let axis = int_attribute(node, "axis", 1);
                if axis != 1 {
                    return Err(invalid!("only Flatten with axis 1 (one vector per picture) is supported, not axis {axis}"));
                }
                self.flatten(node)
            }
            "Reshape" => {
                let shape = self.required_constant(node, 1, "target shape")?;
                let target = shape.ints.clone();
                let len = self.flat_len(node)?;
                let ok = match target[..] {
                    [b, k] => {
                        (b == 0 || b == 1 || b == -1)
                            && (k == -1 || k == len as i64)
                            && !(b == -1 && k == -1)
                    }
                    _ => false,
                };
                if !ok {
                    return Err(invalid!("only Reshape to one vector per picture (batch, {len}) is supported, not {target:?}"));
                }
                self.flatten(node)
            }
            "Gemm" => self.gemm(node),
            "MatMul" => self.matmul(node),
            "Add" => self.add(node),
            "Softmax" | "Sigmoid" => {
                let input = node
                    .input
                    .first()
                    .ok_or_else(|| invalid!("it has no input"))?;
                let v = self.value(input)?.clone();
                if !matches!(v, Value::Vector { .. }) {
                    return Err(invalid!(
                        "{} is supported only at the end, on one vector per picture",
                        node.op_type
                    ));
                }
                if node.op_type == "Softmax" {
                    let axis = int_attribute(node, "axis", -1);
                    if axis != 1 && axis != -1 {
                        return Err(invalid!(
                            "Softmax must run over the classes (axis 1), not axis {axis}"
                        ));
                    }
                }
                let ending = if node.op_type == "Softmax" {
                    Ending::Softmax
                } else {
                    Ending::Sigmoid
                };
                let out = node.output.first().cloned().unwrap_or_default();
                self.endings.insert(out, ending);
                self.set_output(node, v)
            }
            other => Err(invalid!(
                "the operator {other} is not supported; convscope reads {SUPPORTED}"
            )),
        }
    }

    /// Sub(image, mean) and Div(., std) by per-channel (or single) constants, before any other
    /// node reads the image: the graph's input normalization.
    fn normalization(&mut self, node: &NodeProto) -> Result<()> {
        let op = node.op_type.as_str();
        let input = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?;
        if !matches!(self.value(input)?, Value::Pixels) || self.normalized {
            return Err(invalid!("{op} is supported only on the input picture, as its normalization, before any other node reads it"));
        }
        let c = self.input.channels;
        let k = self.required_constant(node, 1, "constant")?.clone();
        let per_channel = match k.floats.len() {
            1 => vec![k.floats[0]; c],
            n if n == c && k.dims.iter().filter(|&&d| d != 1).count() <= 1
                && (k.dims.len() < 3 || k.dims[k.dims.len() - 3] == c) =>
            {
                k.floats.clone()
            }
            _ => return Err(invalid!("{op} on the input picture must be by one number or one per channel ({c}), shaped (1, {c}, 1, 1)")),
        };
        let pairs = self.normalize.mean.iter_mut().zip(&mut self.normalize.std);
        for ((mean, std), &k) in pairs.zip(&per_channel) {
            if op == "Sub" {
                // (x - m) / s - k = (x - (m + k s)) / s
                *mean += k * *std;
            } else {
                // Constants are finite (checked when read).
                if k <= 0.0 {
                    return Err(invalid!(
                        "Div on the input picture must be by positive numbers"
                    ));
                }
                *std *= k;
            }
        }
        self.set_output(node, Value::Pixels)
    }

    fn clip_range(&self, node: &NodeProto) -> Result<(f32, f32)> {
        let scalar = |k: usize| -> Result<Option<f32>> {
            Ok(match self.constant(node, k)? {
                None => None,
                Some(c) if c.floats.len() == 1 => Some(c.floats[0]),
                Some(_) => return Err(invalid!("Clip's limits must be single numbers")),
            })
        };
        let low = scalar(1)?
            .or(float_attribute(node, "min"))
            .unwrap_or(f32::NEG_INFINITY);
        let high = scalar(2)?
            .or(float_attribute(node, "max"))
            .unwrap_or(f32::INFINITY);
        Ok((low, high))
    }

    fn activation(&mut self, node: &NodeProto, op: OpSpec) -> Result<()> {
        let input = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?;
        let value = match self.value(input)?.clone() {
            Value::Map { node: from, shape } => {
                let name = self.push(node, op, vec![from]);
                Value::Map { node: name, shape }
            }
            Value::Vector {
                node: from,
                len,
                chw,
                ..
            } => {
                let name = self.push(node, op, vec![from]);
                Value::Vector {
                    node: name,
                    len,
                    chw,
                    open_bias: false,
                }
            }
            Value::Pixels => {
                let (from, shape) = self.map_input(node)?;
                let name = self.push(node, op, vec![from]);
                Value::Map { node: name, shape }
            }
            _ => return Err(invalid!("its input must be a map or a vector")),
        };
        self.set_output(node, value)
    }

    fn conv(&mut self, node: &NodeProto) -> Result<()> {
        let (input, (c, h, w)) = self.map_input(node)?;
        let weight = self.required_constant(node, 1, "kernel")?.clone();
        let [o, i_per_group, kh, kw] = weight.dims[..] else {
            return Err(invalid!(
                "only 2-D convolutions are supported: its kernel has shape {:?}",
                weight.dims
            ));
        };
        if weight.floats.is_empty() {
            return Err(invalid!("its kernel is not made of floats"));
        }
        let groups = int_attribute(node, "group", 1);
        let groups = usize::try_from(groups)
            .ok()
            .filter(|&g| g >= 1)
            .ok_or_else(|| invalid!("group must be at least 1"))?;
        if i_per_group * groups != c || o % groups != 0 {
            return Err(invalid!(
                "its kernel {:?} with {groups} group(s) does not fit its input of {c} channels",
                weight.dims
            ));
        }
        if let Some(k) = ints_attribute(node, "kernel_shape") {
            if k != [kh as i64, kw as i64] {
                return Err(invalid!(
                    "kernel_shape {k:?} disagrees with its kernel ({kh}x{kw})"
                ));
            }
        }
        let stride = pair(node, "strides", 1)?;
        let dilation = pair(node, "dilations", 1)?;
        let pads = pads(node, (h, w), [kh, kw], stride, dilation)?;
        let bias = self.constant(node, 2)?.cloned();
        if let Some(b) = &bias {
            if b.floats.len() != o {
                return Err(invalid!(
                    "its bias has {} values for {o} filters",
                    b.floats.len()
                ));
            }
        }
        let op = OpSpec::Conv2d {
            filters: o,
            kernel: [kh, kw],
            stride,
            pads,
            dilation,
            groups,
            use_bias: bias.is_some(),
        };
        let name = self.push(node, op, vec![input]);
        // OIHW (O, I/g, KH, KW) -> HWIO (KH, KW, I/g, O).
        let mut hwio = vec![0f32; weight.floats.len()];
        for oo in 0..o {
            for ii in 0..i_per_group {
                for y in 0..kh {
                    for x in 0..kw {
                        hwio[((y * kw + x) * i_per_group + ii) * o + oo] =
                            weight.floats[((oo * i_per_group + ii) * kh + y) * kw + x];
                    }
                }
            }
        }
        self.add_tensor(&name, "kernel", vec![kh, kw, i_per_group, o], hwio);
        if let Some(b) = bias {
            self.add_tensor(&name, "bias", vec![o], b.floats);
        }
        // The output size: the graph checks it again when it is built.
        let out = |n: usize, k: usize, s: usize, d: usize, p: usize| {
            let span = d * (k - 1) + 1;
            (n + p).checked_sub(span).map(|r| r / s + 1)
        };
        let (Some(oh), Some(ow)) = (
            out(h, kh, stride[0], dilation[0], pads[0] + pads[1]),
            out(w, kw, stride[1], dilation[1], pads[2] + pads[3]),
        ) else {
            return Err(invalid!(
                "its kernel ({kh}x{kw}) is larger than its padded input ({h}x{w})"
            ));
        };
        self.set_output(
            node,
            Value::Map {
                node: name,
                shape: (o, oh, ow),
            },
        )
    }

    fn batch_norm(&mut self, node: &NodeProto) -> Result<()> {
        if int_attribute(node, "training_mode", 0) != 0
            || node.output.iter().skip(1).any(|o| !o.is_empty())
        {
            return Err(invalid!(
                "only inference batch normalization (training_mode 0, one output) is supported"
            ));
        }
        let epsilon = float_attribute(node, "epsilon").unwrap_or(1e-5);
        let input = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?;
        let (from, value_channels, is_map) = match self.value(input)?.clone() {
            Value::Map { node, shape } => (node, shape.0, Some(shape)),
            Value::Pixels => {
                let (from, shape) = self.map_input(node)?;
                (from, shape.0, Some(shape))
            }
            Value::Vector {
                node,
                len,
                chw: None,
                ..
            } => (node, len, None),
            _ => return Err(invalid!("its input must be a map or a vector")),
        };
        let parts = ["gamma", "beta", "moving_mean", "moving_variance"];
        let mut tensors = Vec::new();
        for (k, part) in parts.iter().enumerate() {
            let t = self.required_constant(node, k + 1, part)?;
            if t.floats.len() != value_channels {
                return Err(invalid!(
                    "its {part} has {} values for {value_channels} channels",
                    t.floats.len()
                ));
            }
            tensors.push(t.floats.clone());
        }
        let name = self.push(
            node,
            OpSpec::BatchNorm {
                epsilon,
                momentum: 0.99,
            },
            vec![from],
        );
        for (part, values) in parts.iter().zip(tensors) {
            self.add_tensor(&name, part, vec![value_channels], values);
        }
        let value = match is_map {
            Some(shape) => Value::Map { node: name, shape },
            None => Value::Vector {
                node: name,
                len: value_channels,
                chw: None,
                open_bias: false,
            },
        };
        self.set_output(node, value)
    }

    fn pool(&mut self, node: &NodeProto) -> Result<()> {
        let (input, (c, h, w)) = self.map_input(node)?;
        let kernel = pair(node, "kernel_shape", 0).and_then(|k| {
            if k[0] == 0 {
                Err(invalid!("it has no kernel_shape"))
            } else {
                Ok(k)
            }
        })?;
        let stride = pair(node, "strides", 1)?;
        if kernel[0] != kernel[1] || stride[0] != stride[1] {
            return Err(invalid!("convscope pools with square windows and one stride for both axes (got {}x{} window, strides {}x{})", kernel[0], kernel[1], stride[0], stride[1]));
        }
        if pair(node, "dilations", 1)? != [1, 1] {
            return Err(invalid!("dilated pooling is not supported"));
        }
        if int_attribute(node, "ceil_mode", 0) != 0 {
            return Err(invalid!(
                "ceil_mode 1 is not supported (convscope rounds the output size down)"
            ));
        }
        if node.output.iter().skip(1).any(|o| !o.is_empty()) {
            return Err(invalid!("MaxPool's indices output is not supported"));
        }
        let pads = pads(node, (h, w), kernel, stride, [1, 1])?;
        let max = node.op_type == "MaxPool";
        if !max && int_attribute(node, "count_include_pad", 0) != 0 && pads.iter().any(|&p| p > 0) {
            return Err(invalid!("AveragePool with count_include_pad 1 is not supported: convscope does not count padding in an average"));
        }
        let (pool, stride) = (kernel[0], stride[0]);
        let op = if max {
            OpSpec::MaxPool { pool, stride, pads }
        } else {
            OpSpec::AvgPool { pool, stride, pads }
        };
        let name = self.push(node, op, vec![input]);
        let out = |n: usize, p: usize| (n + p).checked_sub(pool).map(|r| r / stride + 1);
        let (Some(oh), Some(ow)) = (out(h, pads[0] + pads[1]), out(w, pads[2] + pads[3])) else {
            return Err(invalid!(
                "its window ({pool}x{pool}) is larger than its input ({h}x{w})"
            ));
        };
        self.set_output(
            node,
            Value::Map {
                node: name,
                shape: (c, oh, ow),
            },
        )
    }

    /// The length of the vector a flatten of the node's first input makes.
    fn flat_len(&self, node: &NodeProto) -> Result<usize> {
        let input = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?;
        Ok(match self.value(input)? {
            Value::Map {
                shape: (c, h, w), ..
            }
            | Value::Nhwc {
                shape: (c, h, w), ..
            } => c * h * w,
            Value::Vector { len, .. } => *len,
            Value::Pixels => self.input.channels * self.input.height * self.input.width,
            Value::Const(_) => return Err(invalid!("it flattens a weight, not a computed value")),
        })
    }

    fn flatten(&mut self, node: &NodeProto) -> Result<()> {
        let input = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?;
        let value = match self.value(input)?.clone() {
            Value::Vector { .. } => self.value(input)?.clone(),
            Value::Map { node: from, shape } => {
                let name = self.push(node, OpSpec::Flatten, vec![from]);
                let (c, h, w) = shape;
                Value::Vector {
                    node: name,
                    len: c * h * w,
                    chw: (h * w > 1).then_some(shape),
                    open_bias: false,
                }
            }
            Value::Nhwc {
                node: from,
                shape: (c, h, w),
            } => {
                let name = self.push(node, OpSpec::Flatten, vec![from]);
                Value::Vector {
                    node: name,
                    len: c * h * w,
                    chw: None,
                    open_bias: false,
                }
            }
            Value::Pixels => {
                let (from, (c, h, w)) = self.map_input(node)?;
                let name = self.push(node, OpSpec::Flatten, vec![from]);
                Value::Vector {
                    node: name,
                    len: c * h * w,
                    chw: (h * w > 1).then_some((c, h, w)),
                    open_bias: false,
                }
            }
            Value::Const(_) => return Err(invalid!("it flattens a weight, not a computed value")),
        };
        self.set_output(node, value)
    }

    /// A dense node reading the vector `input` with the ONNX weight `(in, out)` (row-major) and
    /// bias; returns the output value.
    fn dense(
        &mut self,
        node: &NodeProto,
        input: &str,
        kernel: Vec<f32>,
        (rows, units): (usize, usize),
        bias: Option<Vec<f32>>,
    ) -> Result<Value> {
        let Value::Vector {
            node: from,
            len,
            chw,
            ..
        } = self.value(input)?.clone()
        else {
            return Err(invalid!(
                "its input must be one vector per picture (put a Flatten first)"
            ));
        };
        if rows != len {
            return Err(invalid!(
                "its weight has {rows} rows for an input of {len} values"
            ));
        }
        // An ONNX flatten of a map reads (C, H, W); convscope's reads (H, W, C).
        let kernel = match chw {
            None => kernel,
            Some((c, h, w)) => {
                let mut hwc = vec![0f32; kernel.len()];
                for ch in 0..c {
                    for y in 0..h {
                        for x in 0..w {
                            let from_row = (ch * h + y) * w + x;
                            let to_row = (y * w + x) * c + ch;
                            hwc[to_row * units..(to_row + 1) * units]
                                .copy_from_slice(&kernel[from_row * units..(from_row + 1) * units]);
                        }
                    }
                }
                hwc
            }
        };
        let open_bias = bias.is_none();
        let name = self.push(node, OpSpec::Dense { units }, vec![from]);
        self.add_tensor(&name, "kernel", vec![rows, units], kernel);
        self.add_tensor(
            &name,
            "bias",
            vec![units],
            bias.unwrap_or_else(|| vec![0.0; units]),
        );
        Ok(Value::Vector {
            node: name,
            len: units,
            chw: None,
            open_bias,
        })
    }

    fn gemm(&mut self, node: &NodeProto) -> Result<()> {
        let alpha = float_attribute(node, "alpha").unwrap_or(1.0);
        let beta = float_attribute(node, "beta").unwrap_or(1.0);
        if int_attribute(node, "transA", 0) != 0 {
            return Err(invalid!(
                "transA 1 is not supported (the pictures are the rows)"
            ));
        }
        let trans_b = int_attribute(node, "transB", 0) != 0;
        let b = self.required_constant(node, 1, "weight")?.clone();
        let [d0, d1] = b.dims[..] else {
            return Err(invalid!(
                "its weight must be a matrix, not shape {:?}",
                b.dims
            ));
        };
        let (rows, units) = if trans_b { (d1, d0) } else { (d0, d1) };
        let mut kernel = vec![0f32; b.floats.len()];
        for r in 0..rows {
            for u in 0..units {
                let v = if trans_b {
                    b.floats[u * rows + r]
                } else {
                    b.floats[r * units + u]
                };
                kernel[r * units + u] = alpha * v;
            }
        }
        let bias = match self.constant(node, 2)? {
            None => None,
            Some(c) if c.floats.len() == units => Some(c.floats.iter().map(|v| beta * v).collect()),
            Some(c) if c.floats.len() == 1 => Some(vec![beta * c.floats[0]; units]),
            Some(c) => {
                return Err(invalid!(
                    "its bias has {} values for {units} outputs",
                    c.floats.len()
                ))
            }
        };
        let input = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?
            .clone();
        let mut value = self.dense(node, &input, kernel, (rows, units), bias.clone())?;
        if let Value::Vector { open_bias, .. } = &mut value {
            *open_bias = false;
        }
        self.set_output(node, value)
    }

    fn matmul(&mut self, node: &NodeProto) -> Result<()> {
        let b = self.required_constant(node, 1, "weight")?.clone();
        let [rows, units] = b.dims[..] else {
            return Err(invalid!(
                "its weight must be a matrix, not shape {:?}",
                b.dims
            ));
        };
        let input = node
            .input
            .first()
            .ok_or_else(|| invalid!("it has no input"))?
            .clone();
        let value = self.dense(node, &input, b.floats, (rows, units), None)?;
        self.set_output(node, value)
    }

    fn add(&mut self, node: &NodeProto) -> Result<()> {
        let [a, b] = &node.input[..] else {
            return Err(invalid!("Add takes two inputs"));
        };
        let (a, b) = (self.value(a)?.clone(), self.value(b)?.clone());
        let value = match (a, b) {
            (
                Value::Vector {
                    node: dense,
                    len,
                    open_bias: true,
                    ..
                },
                Value::Const(bias),
            )
            | (
                Value::Const(bias),
                Value::Vector {
                    node: dense,
                    len,
                    open_bias: true,
                    ..
                },
            ) => {
                if bias.floats.len() != len {
                    return Err(invalid!(
                        "the bias it adds has {} values for {len} outputs",
                        bias.floats.len()
                    ));
                }
                let t = self
                    .tensors
                    .get_mut(&format!("{dense}.bias"))
                    .expect("a dense node has a bias");
                t.values = bias.floats;
                Value::Vector {
                    node: dense,
                    len,
                    chw: None,
                    open_bias: false,
                }
            }
            (Value::Map { node: x, shape: sx }, Value::Map { node: y, shape: sy }) => {
                if sx != sy {
                    return Err(invalid!("it adds maps of different shapes ({sx:?} and {sy:?}); convscope's Add does not broadcast"));
                }
                let name = self.push(node, OpSpec::Add, vec![x, y]);
                Value::Map {
                    node: name,
                    shape: sx,
                }
            }
            (
                Value::Vector {
                    node: x,
                    len: lx,
                    chw: cx,
                    ..
                },
                Value::Vector {
                    node: y,
                    len: ly,
                    chw: cy,
                    ..
                },
            ) => {
                if lx != ly || cx != cy {
                    return Err(invalid!(
                        "it adds vectors of different shapes ({lx} and {ly})"
                    ));
                }
                let name = self.push(node, OpSpec::Add, vec![x, y]);
                Value::Vector {
                    node: name,
                    len: lx,
                    chw: cx,
                    open_bias: false,
                }
            }
            (Value::Const(_), _) | (_, Value::Const(_)) => {
                return Err(invalid!(
                    "Add of a constant is supported only as the bias right after a MatMul"
                ))
            }
            _ => {
                return Err(invalid!(
                    "it adds values of different kinds (a map and a vector)"
                ))
            }
        };
        self.set_output(node, value)
    }
}

/// The sequential model the graph is, when it is a chain one can hold; `None` otherwise.
fn as_sequential(read: &ReadGraph) -> Result<Option<Sequential>> {
    let spec = &read.spec;
    let identity = spec.normalize.mean.iter().all(|&m| m == 0.0)
        && spec.normalize.std.iter().all(|&s| s == 1.0);
    if !identity || read.ends_in == Ending::Logits {
        return Ok(None);
    }
    // Each node's input size, for telling "same" padding from explicit pads.
    let planned = GraphModel::new(spec.clone())?;
    let mut sizes: HashMap<&str, (usize, usize)> = HashMap::from([(
        crate::nn::graph::IMAGE,
        (spec.input.height, spec.input.width),
    )]);
    for (name, shape) in planned.node_shapes() {
        if let ValueShape::Map(h, w, _) = shape {
            sizes.insert(name, (h, w));
        }
    }
    // (layer, the graph node whose weights it takes)
    let mut layers: Vec<(LayerSpec, &NodeSpec)> = Vec::new();
    let mut previous = crate::nn::graph::IMAGE;
    for node in &spec.nodes {
        if node.inputs != [previous] {
            return Ok(None);
        }
        let shape = sizes.get(previous).copied().unwrap_or((1, 1));
        previous = &node.name;
        let symmetric = |pads: [usize; 4], k: usize, stride: usize, dilation: usize| {
            let same_v = same_padding(shape.0, k, stride, dilation);
            let same_h = same_padding(shape.1, k, stride, dilation);
            if pads.iter().all(|&p| p == pads[0]) {
                Some(if pads[0] == 0 {
                    PaddingSpec::Valid
                } else {
                    PaddingSpec::Explicit(pads[0])
                })
            } else if pads == [same_v.0, same_v.1, same_h.0, same_h.1] {
                Some(PaddingSpec::Same)
            } else {
                None
            }
        };
        let layer = match node.op {
            OpSpec::Conv2d {
                filters,
                kernel: [kh, kw],
                stride: [sh, sw],
                pads,
                dilation: [dh, dw],
                groups,
                ..
            } => {
                let Some(padding) = (kh == kw && sh == sw && dh == dw && groups == 1)
                    .then(|| symmetric(pads, kh, sh, dh))
                    .flatten()
                else {
                    return Ok(None);
                };
                LayerSpec::Conv2d {
                    filters,
                    kernel: kh,
                    stride: sh,
                    padding,
                    dilation: dh,
                    activation: Activation::Linear,
                }
            }
            OpSpec::BatchNorm { epsilon, momentum } => LayerSpec::BatchNorm { momentum, epsilon },
            OpSpec::MaxPool { pool, stride, pads } | OpSpec::AvgPool { pool, stride, pads } => {
                let Some(padding) = symmetric(pads, pool, stride, 1) else {
                    return Ok(None);
                };
                if matches!(node.op, OpSpec::MaxPool { .. }) {
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
                }
            }
            OpSpec::Flatten => LayerSpec::Flatten,
            OpSpec::Dense { units } => LayerSpec::Dense {
                units,
                activation: Activation::Linear,
            },
            OpSpec::Relu => {
                // ReLU is fused into the convolution or dense layer right before it.
                match layers.last_mut() {
                    Some((
                        LayerSpec::Conv2d {
                            activation: a @ Activation::Linear,
                            ..
                        },
                        _,
                    ))
                    | Some((
                        LayerSpec::Dense {
                            activation: a @ Activation::Linear,
                            ..
                        },
                        _,
                    )) => {
                        *a = Activation::Relu;
                        continue;
                    }
                    _ => return Ok(None),
                }
            }
            OpSpec::Relu6 | OpSpec::Add | OpSpec::GlobalAvgPool => return Ok(None),
        };
        layers.push((layer, node));
    }
    // The head: a last Dense layer with the model's sigmoid or softmax.
    match (layers.last_mut(), read.ends_in) {
        (
            Some((
                LayerSpec::Dense {
                    units: 1,
                    activation: a @ Activation::Linear,
                },
                _,
            )),
            Ending::Sigmoid,
        ) => *a = Activation::Sigmoid,
        (
            Some((
                LayerSpec::Dense {
                    units,
                    activation: a @ Activation::Linear,
                },
                _,
            )),
            Ending::Softmax,
        ) if *units > 1 => *a = Activation::Softmax,
        _ => return Ok(None),
    }
    let model_spec = ModelSpec {
        input: spec.input,
        layers: layers.iter().map(|(l, _)| l.clone()).collect(),
    };
    let Ok(mut model) = Sequential::new(&model_spec, 0) else {
        return Ok(None);
    };
    for (i, (_, node)) in layers.iter().enumerate() {
        let layer = model.layer_mut(i);
        for t in layer.tensors().to_vec() {
            let key = format!("{}.{}", node.name, t.name);
            let target = layer.tensor_mut(&t);
            match read.tensors.get(&key) {
                Some(g) if g.values.len() == target.len() => target.copy_from_slice(&g.values),
                // A convolution without a bias in ONNX: zeros.
                None if t.name == "bias" => target.fill(0.0),
                _ => return Ok(None),
            }
        }
    }
    Ok(Some(model))
}
