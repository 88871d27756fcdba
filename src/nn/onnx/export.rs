//! ONNX export of every model convscope builds: the chapter's CNN and any model edited in the
//! page ([`sequential_to_onnx`]), graph models such as the pretrained ImageNet network
//! ([`graph_to_onnx`]) and a transfer-learning head on its backbone ([`transfer_to_onnx`]).
//!
//! The ONNX model (opset 17, IR version 8, float32):
//! - input `image` (N, C, H, W): ONNX's NCHW layout, pixels in [0, 1] as convscope takes them
//!   (a graph model's input normalization is in the ONNX graph: Sub(mean), Div(std));
//! - output `probabilities` (N, classes), or (N, 1) for a model with one sigmoid unit;
//! - metadata `convscope.classes`: the class names as a JSON list, when the model has them.
//!
//! Layer by layer:
//! - Conv: HWIO kernels (KH, KW, C_in / groups, C_out) become OIHW (C_out, C_in / groups, KH,
//!   KW); "same" padding becomes the four explicit pads it means (TensorFlow's rule: the extra
//!   row or column at the bottom or right); a graph's pads are already explicit;
//! - BatchNormalization (inference: the moving statistics), MaxPool, AveragePool (padding not
//!   counted, as Keras), Relu, Clip(0, 6) for ReLU6, Add, GlobalAveragePool + Flatten, Sigmoid,
//!   Softmax; Dropout is left out (it does nothing at inference);
//! - Flatten: convscope's Flatten reads the feature maps in (H, W, C) order, so a Transpose to
//!   NHWC comes first and the Dense weights apply unchanged;
//! - Dense: Gemm with the (in, out) kernel, transB = 0.

use super::proto::{
    attribute_type, data_type, AttributeProto, Dimension, DimensionValue, GraphProto, ModelProto,
    NodeProto, OperatorSetIdProto, StringStringEntryProto, TensorProto, TensorShapeProto,
    TensorTypeProto, TypeProto, ValueInfoProto,
};
use crate::nn::graph::{GraphModel, GraphTensor, OpSpec, IMAGE};
use crate::nn::plan::Shape;
use crate::nn::spec::{Activation, InputShape, LayerSpec};
use crate::nn::Sequential;
use crate::{invalid, Result};
use std::collections::HashMap;

pub const OPSET: i64 = 17;
const IR_VERSION: i64 = 8;
/// The names of the ONNX model's input and output.
pub const INPUT: &str = "image";
pub const OUTPUT: &str = "probabilities";

/// The bytes of an `.onnx` file computing the same probabilities as `model`.
pub fn sequential_to_onnx(model: &Sequential, classes: &[String]) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    let value = w.chain(model, INPUT.to_string(), Form::Map)?;
    let outputs = model.plan().layers.last().map_or(0, |l| l.output.len());
    w.finish(model.spec().input, value, outputs, classes)
}

/// The bytes of an `.onnx` file computing the same probabilities as the graph model (its head,
/// a softmax, applied to its logits).
pub fn graph_to_onnx(model: &GraphModel, classes: &[String]) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    let logits = w.graph(model, &model.spec().output)?;
    let value = w.node("Softmax", "softmax", vec![logits], vec![int("axis", 1)]);
    w.finish(model.spec().input, value, model.classes(), classes)
}

/// The bytes of an `.onnx` file of the backbone up to the node `cut` followed by the head
/// trained on that node's output: the transfer-learning model as one network.
pub fn transfer_to_onnx(
    backbone: &GraphModel,
    cut: &str,
    head: &Sequential,
    classes: &[String],
) -> Result<Vec<u8>> {
    let mut w = Writer::default();
    let features = w.graph(backbone, cut)?;
    let value = w.chain(head, features, Form::Vector)?;
    let outputs = head.plan().layers.last().map_or(0, |l| l.output.len());
    w.finish(backbone.spec().input, value, outputs, classes)
}

/// What a value between nodes holds: NCHW feature maps, or one vector per example.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    Map,
    Vector,
}

#[derive(Default)]
struct Writer {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
}

impl Writer {
    /// The sequential model's layers, reading `value` (in `form`); returns the last value.
    fn chain(&mut self, model: &Sequential, mut value: String, mut form: Form) -> Result<String> {
        for layer in model.layers() {
            let name = layer.name();
            let tensor = |wanted: &str| -> Result<(&[usize], &[f32])> {
                let t = layer
                    .tensors()
                    .iter()
                    .find(|t| t.name == wanted)
                    .ok_or_else(|| invalid!("layer {name} has no {wanted}"))?;
                Ok((&t.dims, layer.tensor(t)))
            };
            let (h, w) = match layer.plan.input {
                Shape::Image { height, width, .. } => (height, width),
                Shape::Flat(_) => (1, 1),
            };
            match layer.plan.spec {
                LayerSpec::Conv2d {
                    kernel,
                    stride,
                    padding,
                    dilation,
                    activation,
                    ..
                } => {
                    let (dims, values) = tensor("kernel")?;
                    let kernel_name = self.conv_kernel(&format!("{name}.kernel"), dims, values)?;
                    let mut inputs = vec![value, kernel_name];
                    if let Ok((dims, bias)) = tensor("bias") {
                        inputs.push(self.constant(&format!("{name}.bias"), dims, bias));
                    }
                    let pads =
                        padding
                            .to_kernel()
                            .sides((h, w), (kernel, kernel), stride, dilation);
                    let attributes =
                        conv_attributes([kernel; 2], [stride; 2], [dilation; 2], pads, 1);
                    value = self.node("Conv", name, inputs, attributes);
                    value = self.activation(activation, name, value);
                }
                LayerSpec::BatchNorm { epsilon, .. } => {
                    let mut inputs = vec![value];
                    for part in ["gamma", "beta", "moving_mean", "moving_variance"] {
                        let (dims, values) = tensor(part)?;
                        inputs.push(self.constant(&format!("{name}.{part}"), dims, values));
                    }
                    value = self.node(
                        "BatchNormalization",
                        name,
                        inputs,
                        vec![float("epsilon", epsilon)],
                    );
                }
                LayerSpec::MaxPool {
                    pool,
                    stride,
                    padding,
                }
                | LayerSpec::AvgPool {
                    pool,
                    stride,
                    padding,
                } => {
                    let op = if matches!(layer.plan.spec, LayerSpec::MaxPool { .. }) {
                        "MaxPool"
                    } else {
                        "AveragePool"
                    };
                    let (top, bottom, left, right) =
                        padding.to_kernel().sides((h, w), (pool, pool), stride, 1);
                    let attributes = vec![
                        ints("kernel_shape", &[pool, pool]),
                        ints("strides", &[stride, stride]),
                        ints("pads", &[top, left, bottom, right]),
                    ];
                    value = self.node(op, name, vec![value], attributes);
                }
                LayerSpec::Dropout { .. } => {}
                LayerSpec::Flatten => {
                    if form == Form::Map {
                        let nhwc = format!("{name}.to_nhwc");
                        value = self.node(
                            "Transpose",
                            &nhwc,
                            vec![value],
                            vec![ints("perm", &[0, 2, 3, 1])],
                        );
                        value = self.node("Flatten", name, vec![value], vec![int("axis", 1)]);
                        form = Form::Vector;
                    }
                }
                LayerSpec::Dense { activation, .. } => {
                    if form == Form::Map {
                        return Err(invalid!("layer {name}: a dense layer must follow Flatten"));
                    }
                    let (dims, kernel) = tensor("kernel")?;
                    let kernel = self.constant(&format!("{name}.kernel"), dims, kernel);
                    let (dims, bias) = tensor("bias")?;
                    let bias = self.constant(&format!("{name}.bias"), dims, bias);
                    value = self.node("Gemm", name, vec![value, kernel, bias], Vec::new());
                    value = self.activation(activation, name, value);
                }
            }
        }
        Ok(value)
    }

    /// The graph's input normalization and its nodes up to `last`; returns `last`'s value.
    fn graph(&mut self, model: &GraphModel, last: &str) -> Result<String> {
        let spec = model.spec();
        let stop = spec
            .nodes
            .iter()
            .position(|n| n.name == last)
            .ok_or_else(|| invalid!("the graph has no node {last:?}"))?;
        let tensors: HashMap<&str, &GraphTensor> =
            model.tensors().map(|t| (t.name.as_str(), t)).collect();
        let tensor = |node: &str, variable: &str| -> Result<&GraphTensor> {
            tensors
                .get(format!("{node}.{variable}").as_str())
                .copied()
                .ok_or_else(|| invalid!("node {node:?} has no {variable}"))
        };
        // Graph node names could collide with the writer's own value names: prefix them all.
        let value_of = |name: &str| {
            if name == IMAGE {
                "normalized".to_string()
            } else {
                format!("graph.{name}")
            }
        };
        let c = spec.input.channels;
        let mean = self.constant("normalize.mean", &[1, c, 1, 1], &spec.normalize.mean);
        let std = self.constant("normalize.std", &[1, c, 1, 1], &spec.normalize.std);
        let centred = self.node("Sub", "centred", vec![INPUT.into(), mean], Vec::new());
        self.node("Div", "normalized", vec![centred, std], Vec::new());
        for node in &spec.nodes[..=stop] {
            let name = node.name.as_str();
            let out = value_of(name);
            let inputs: Vec<String> = node.inputs.iter().map(|i| value_of(i)).collect();
            match &node.op {
                OpSpec::Conv2d {
                    kernel,
                    stride,
                    pads,
                    dilation,
                    groups,
                    use_bias,
                    ..
                } => {
                    let k = tensor(name, "kernel")?;
                    let mut all = inputs;
                    all.push(self.conv_kernel(&k.name, &k.dims, &k.values)?);
                    if *use_bias {
                        let b = tensor(name, "bias")?;
                        all.push(self.constant(&b.name, &b.dims, &b.values));
                    }
                    let [top, bottom, left, right] = *pads;
                    let attributes = conv_attributes(
                        *kernel,
                        *stride,
                        *dilation,
                        (top, bottom, left, right),
                        *groups,
                    );
                    self.node("Conv", &out, all, attributes);
                }
                OpSpec::BatchNorm { epsilon, .. } => {
                    let mut all = inputs;
                    for part in ["gamma", "beta", "moving_mean", "moving_variance"] {
                        let t = tensor(name, part)?;
                        all.push(self.constant(&t.name, &t.dims, &t.values));
                    }
                    self.node(
                        "BatchNormalization",
                        &out,
                        all,
                        vec![float("epsilon", *epsilon)],
                    );
                }
                OpSpec::Relu6 => {
                    let mut all = inputs;
                    all.push(self.constant(&format!("{name}.min"), &[], &[0.0]));
                    all.push(self.constant(&format!("{name}.max"), &[], &[6.0]));
                    self.node("Clip", &out, all, Vec::new());
                }
                OpSpec::Relu => {
                    self.node("Relu", &out, inputs, Vec::new());
                }
                OpSpec::Add => {
                    self.node("Add", &out, inputs, Vec::new());
                }
                OpSpec::MaxPool { pool, stride, pads } | OpSpec::AvgPool { pool, stride, pads } => {
                    let op = if matches!(node.op, OpSpec::MaxPool { .. }) {
                        "MaxPool"
                    } else {
                        "AveragePool"
                    };
                    let [top, bottom, left, right] = *pads;
                    let attributes = vec![
                        ints("kernel_shape", &[*pool, *pool]),
                        ints("strides", &[*stride, *stride]),
                        ints("pads", &[top, left, bottom, right]),
                    ];
                    self.node(op, &out, inputs, attributes);
                }
                OpSpec::Flatten => {
                    // The graph's Flatten reads (H, W, C) order, as the sequential one.
                    let nhwc = self.node(
                        "Transpose",
                        &format!("{out}.to_nhwc"),
                        inputs,
                        vec![ints("perm", &[0, 2, 3, 1])],
                    );
                    self.node("Flatten", &out, vec![nhwc], vec![int("axis", 1)]);
                }
                OpSpec::GlobalAvgPool => {
                    let pooled = self.node(
                        "GlobalAveragePool",
                        &format!("{out}.pooled"),
                        inputs,
                        Vec::new(),
                    );
                    self.node("Flatten", &out, vec![pooled], vec![int("axis", 1)]);
                }
                OpSpec::Dense { .. } => {
                    let k = tensor(name, "kernel")?;
                    let b = tensor(name, "bias")?;
                    let mut all = inputs;
                    all.push(self.constant(&k.name, &k.dims, &k.values));
                    all.push(self.constant(&b.name, &b.dims, &b.values));
                    self.node("Gemm", &out, all, Vec::new());
                }
            }
        }
        Ok(value_of(last))
    }

    /// An HWIO kernel (KH, KW, I, O) as the OIHW initializer ONNX's Conv takes.
    fn conv_kernel(&mut self, name: &str, dims: &[usize], hwio: &[f32]) -> Result<String> {
        let [kh, kw, ci, co] = dims[..] else {
            return Err(invalid!("{name}: a convolution kernel must have four axes"));
        };
        let mut oihw = vec![0f32; hwio.len()];
        for (index, &v) in hwio.iter().enumerate() {
            let (o, rest) = (index % co, index / co);
            let (i, rest) = (rest % ci, rest / ci);
            let (x, y) = (rest % kw, rest / kw);
            oihw[((o * ci + i) * kh + y) * kw + x] = v;
        }
        Ok(self.constant(name, &[co, ci, kh, kw], &oihw))
    }

    /// Adds a float initializer; returns its name.
    fn constant(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        self.initializers.push(TensorProto {
            name: name.into(),
            dims: dims.iter().map(|&d| d as i64).collect(),
            data_type: data_type::FLOAT,
            raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
            ..Default::default()
        });
        name.into()
    }

    /// Adds a node whose one output is named after it; returns that name.
    fn node(
        &mut self,
        op: &str,
        name: &str,
        input: Vec<String>,
        attribute: Vec<AttributeProto>,
    ) -> String {
        self.nodes.push(NodeProto {
            op_type: op.into(),
            name: name.into(),
            input,
            output: vec![name.into()],
            attribute,
            ..Default::default()
        });
        name.into()
    }

    fn activation(&mut self, activation: Activation, layer: &str, value: String) -> String {
        let (op, axis) = match activation {
            Activation::Linear => return value,
            Activation::Relu => ("Relu", None),
            Activation::Sigmoid => ("Sigmoid", None),
            Activation::Softmax => ("Softmax", Some(int("axis", 1))),
        };
        self.node(
            op,
            &format!("{layer}.{}", op.to_lowercase()),
            vec![value],
            axis.into_iter().collect(),
        )
    }

    /// The model around the nodes: `value` becomes the output `probabilities` (N, outputs).
    fn finish(
        mut self,
        input: InputShape,
        value: String,
        outputs: usize,
        classes: &[String],
    ) -> Result<Vec<u8>> {
        match self.nodes.last_mut() {
            // The last node writes the output (nothing read its value: it came last).
            Some(last) if last.output[0] == value => last.output = vec![OUTPUT.into()],
            Some(_) => {
                self.nodes.push(NodeProto {
                    op_type: "Identity".into(),
                    name: OUTPUT.into(),
                    input: vec![value],
                    output: vec![OUTPUT.into()],
                    ..Default::default()
                });
            }
            None => return Err(invalid!("the model has no layers to export")),
        }
        let graph = GraphProto {
            name: "convscope".into(),
            node: self.nodes,
            initializer: self.initializers,
            input: vec![value_info(
                INPUT,
                &[
                    None,
                    Some(input.channels),
                    Some(input.height),
                    Some(input.width),
                ],
            )],
            output: vec![value_info(OUTPUT, &[None, Some(outputs)])],
            ..Default::default()
        };
        let mut metadata_props = Vec::new();
        if !classes.is_empty() {
            metadata_props.push(StringStringEntryProto {
                key: "convscope.classes".into(),
                value: serde_json::to_string(classes)
                    .map_err(|e| invalid!("the class names: {e}"))?,
            });
        }
        let model = ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto {
                domain: String::new(),
                version: OPSET,
            }],
            producer_name: "convscope".into(),
            producer_version: env!("CARGO_PKG_VERSION").into(),
            graph: Some(graph),
            metadata_props,
            ..Default::default()
        };
        Ok(super::proto::encode_model(&model))
    }
}

fn conv_attributes(
    kernel: [usize; 2],
    stride: [usize; 2],
    dilation: [usize; 2],
    (top, bottom, left, right): (usize, usize, usize, usize),
    groups: usize,
) -> Vec<AttributeProto> {
    vec![
        ints("kernel_shape", &kernel),
        ints("strides", &stride),
        ints("dilations", &dilation),
        ints("pads", &[top, left, bottom, right]),
        int("group", groups),
    ]
}

fn ints(name: &str, values: &[usize]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INTS,
        ints: values.iter().map(|&v| v as i64).collect(),
        ..Default::default()
    }
}

fn int(name: &str, value: usize) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::INT,
        i: value as i64,
        ..Default::default()
    }
}

fn float(name: &str, value: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: attribute_type::FLOAT,
        f: value,
        ..Default::default()
    }
}

/// A float tensor's name and shape; `None` is the batch size, named "N" (any).
fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                None => DimensionValue::DimParam("N".into()),
                Some(n) => DimensionValue::DimValue(*n as i64),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: data_type::FLOAT,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
    }
}
