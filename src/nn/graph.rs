//! Graph models: an input image and nodes in topological order, each reading earlier nodes'
//! outputs by name (model file version 2, written by `tools/imagenet/convert.py`, whose
//! docstring is the format's description). The pretrained ImageNet network (EfficientNet-Lite0:
//! depthwise convolutions, ReLU6, residual adds) is one. This module runs them forward, for
//! inference, keeps every node's output for the maps the page shows, and sends gradients back
//! to the image or to any node's output (saliency, Grad-CAM, activation maximization). It never
//! trains its weights (the chapter's trainable model stays a [`super::Sequential`]; a transfer
//! head on this backbone is one too).
//!
//! JSON form (the `graph` field of the file's `model` metadata):
//! ```json
//! {"input": {"height": 224, "width": 224, "channels": 3},
//!  "normalize": {"mean": [0.498, 0.498, 0.498], "std": [0.502, 0.502, 0.502]},
//!  "nodes": [{"name": "stem", "op": "conv2d", "inputs": ["image"], "filters": 32,
//!             "kernel": [3, 3], "stride": [2, 2], "pads": [0, 1, 0, 1], "dilation": [1, 1],
//!             "groups": 1, "use_bias": false}, ...],
//!  "output": "fc", "head": "softmax"}
//! ```

use super::spec::InputShape;
use crate::kernels::activation::{relu6_backward, relu6_forward, relu_backward, relu_forward};
use crate::kernels::batchnorm::{batchnorm_backward_infer, batchnorm_forward_infer};
use crate::kernels::conv::{conv2d_backward_input, conv2d_forward};
use crate::kernels::dense::{dense_backward, dense_forward};
use crate::kernels::depthwise::{depthwise_backward_input, depthwise_forward};
use crate::kernels::elementwise::{add_backward, add_forward};
use crate::kernels::geometry::{ConvGeometry, DepthwiseGeometry, Padding, PoolGeometry};
use crate::kernels::pool::{
    global_average_pool_backward, global_average_pool_forward, pool_backward, pool_forward,
    PoolKind,
};
use crate::kernels::scratch::ConvScratch;
use crate::{invalid, Result};
use serde::{Deserialize, Serialize};

/// The name node inputs use for the (normalized) input image.
pub const IMAGE: &str = "image";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphSpec {
    pub input: InputShape,
    pub normalize: Normalize,
    pub nodes: Vec<NodeSpec>,
    /// The node whose output is the logits.
    pub output: String,
    pub head: Head,
}

/// Pixels in [0, 1] reach the network as (x - mean) / std, per channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Normalize {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

/// What turns the logits into probabilities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    Softmax,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeSpec {
    pub name: String,
    pub inputs: Vec<String>,
    #[serde(flatten)]
    pub op: OpSpec,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum OpSpec {
    Conv2d {
        filters: usize,
        kernel: [usize; 2],
        stride: [usize; 2],
        /// top, bottom, left, right
        pads: [usize; 4],
        dilation: [usize; 2],
        groups: usize,
        use_bias: bool,
    },
    BatchNorm {
        epsilon: f32,
        momentum: f64,
    },
    Relu6,
    Relu,
    Add,
    /// A square window; padding cells never win and are not counted (as ONNX and Keras).
    MaxPool {
        pool: usize,
        stride: usize,
        /// top, bottom, left, right
        pads: [usize; 4],
    },
    AvgPool {
        pool: usize,
        stride: usize,
        pads: [usize; 4],
    },
    GlobalAvgPool,
    /// A map read as one vector per example, in (H, W, C) order.
    Flatten,
    Dense {
        units: usize,
    },
}

impl GraphSpec {
    pub fn from_json(text: &str) -> Result<Self> {
        #[derive(Deserialize)]
        struct File {
            graph: GraphSpec,
        }
        serde_json::from_str::<File>(text)
            .map(|f| f.graph)
            .map_err(|e| invalid!("the graph model description cannot be read: {e}"))
    }
}

/// The shape of one example's value: a map (H, W, C) or a vector.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueShape {
    Map(usize, usize, usize),
    Vector(usize),
}

impl ValueShape {
    pub fn len(&self) -> usize {
        match *self {
            ValueShape::Map(h, w, c) => h * w * c,
            ValueShape::Vector(n) => n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The channel count (a vector's length).
    fn channels(&self) -> usize {
        match *self {
            ValueShape::Map(_, _, c) => c,
            ValueShape::Vector(n) => n,
        }
    }
}

/// One weight tensor a node needs: its file name (`<node>.<variable>`), shape and values.
#[derive(Debug, Clone)]
pub struct GraphTensor {
    pub name: String,
    pub dims: Vec<usize>,
    pub values: Vec<f32>,
}

/// A node resolved against the graph: where its inputs come from (0 is the image, i + 1 the
/// output of node i), its output shape and its weights.
#[derive(Debug)]
struct Node {
    spec: NodeSpec,
    inputs: Vec<usize>,
    in_shape: ValueShape,
    shape: ValueShape,
    tensors: Vec<GraphTensor>,
}

#[derive(Debug)]
pub struct GraphModel {
    spec: GraphSpec,
    nodes: Vec<Node>,
    /// The index of the logits node in `nodes`.
    output: usize,
    /// values[0]: the normalized input (N, H, W, C); values[i + 1]: node i's output, for the
    /// last forward's N examples.
    values: Vec<Vec<f32>>,
    /// The gradients of [`GraphModel::backprop`], indexed as `values`.
    grads: Vec<Vec<f32>>,
    /// The dense layers' weight gradient, which the kernel computes alongside and nobody reads.
    unused_weight_grad: Vec<f32>,
    batch: usize,
    scratch: ConvScratch,
}

/// Where a gradient starts or ends in [`GraphModel::backprop`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphPoint {
    /// The input pixels, in [0, 1] (before the normalization).
    Image,
    /// The output of node i (in `spec().nodes` order).
    Node(usize),
}

impl GraphModel {
    /// Checks the graph (names, shapes, what each op supports) and allocates its weights as
    /// zeros, for a loader to fill through [`GraphModel::tensors_mut`].
    pub fn new(spec: GraphSpec) -> Result<Self> {
        let input = spec.input;
        if input.height == 0 || input.width == 0 || input.channels == 0 {
            return Err(invalid!("the graph's input must be at least 1x1x1"));
        }
        let c = input.channels;
        if spec.normalize.mean.len() != c || spec.normalize.std.len() != c {
            return Err(invalid!("the graph's input normalization needs one mean and one std per input channel ({c})"));
        }
        if spec
            .normalize
            .std
            .iter()
            .any(|s| !(*s > 0.0 && s.is_finite()))
        {
            return Err(invalid!(
                "the graph's input normalization has a std that is not a positive number"
            ));
        }
        let mut names: Vec<&str> = vec![IMAGE];
        let mut shapes = vec![ValueShape::Map(input.height, input.width, c)];
        let mut nodes = Vec::with_capacity(spec.nodes.len());
        for node in &spec.nodes {
            if names.contains(&node.name.as_str()) {
                return Err(invalid!("the graph has two nodes named {:?}", node.name));
            }
            let inputs = node
                .inputs
                .iter()
                .map(|i| {
                    names.iter().position(|n| n == i).ok_or_else(|| {
                        invalid!(
                            "node {:?} reads {:?}, which no earlier node makes",
                            node.name,
                            i
                        )
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let wanted = if node.op == OpSpec::Add { 2 } else { 1 };
            if inputs.len() != wanted {
                return Err(invalid!(
                    "node {:?} ({}) takes {wanted} input(s), not {}",
                    node.name,
                    op_name(&node.op),
                    inputs.len()
                ));
            }
            let in_shape = shapes[inputs[0]];
            let (shape, tensors) = plan_node(node, &inputs, &shapes)?;
            names.push(&node.name);
            shapes.push(shape);
            nodes.push(Node {
                spec: node.clone(),
                inputs,
                in_shape,
                shape,
                tensors,
            });
        }
        let output = spec
            .nodes
            .iter()
            .position(|n| n.name == spec.output)
            .ok_or_else(|| {
                invalid!(
                    "the graph's output {:?} is not one of its nodes",
                    spec.output
                )
            })?;
        if !matches!(nodes[output].shape, ValueShape::Vector(_)) {
            return Err(invalid!(
                "the graph's output {:?} must be a vector of logits",
                spec.output
            ));
        }
        Ok(Self {
            values: vec![Vec::new(); nodes.len() + 1],
            grads: vec![Vec::new(); nodes.len() + 1],
            unused_weight_grad: Vec::new(),
            spec,
            nodes,
            output,
            batch: 0,
            scratch: ConvScratch::new(),
        })
    }

    pub fn spec(&self) -> &GraphSpec {
        &self.spec
    }

    /// How many classes the logits have.
    pub fn classes(&self) -> usize {
        self.nodes[self.output].shape.len()
    }

    /// Every weight tensor, in node order, for a loader to fill.
    pub fn tensors_mut(&mut self) -> impl Iterator<Item = &mut GraphTensor> {
        self.nodes.iter_mut().flat_map(|n| n.tensors.iter_mut())
    }

    pub fn tensors(&self) -> impl Iterator<Item = &GraphTensor> {
        self.nodes.iter().flat_map(|n| n.tensors.iter())
    }

    /// The nodes' names and output shapes, in order.
    pub fn node_shapes(&self) -> impl Iterator<Item = (&str, ValueShape)> {
        self.nodes.iter().map(|n| (n.spec.name.as_str(), n.shape))
    }

    /// Runs `n` images (N, H, W, C) with pixels in [0, 1] through the graph; returns the logits
    /// (N, classes). Every node's output stays readable with [`GraphModel::output_of`].
    pub fn forward(&mut self, images: &[f32], n: usize) -> Result<&[f32]> {
        let input = self.spec.input;
        let per = input.height * input.width * input.channels;
        if n == 0 || images.len() != n * per {
            return Err(invalid!(
                "the graph takes {}x{}x{} images: {} values do not make {n} of them",
                input.height,
                input.width,
                input.channels,
                images.len()
            ));
        }
        self.batch = n;
        let (mean, std) = (&self.spec.normalize.mean, &self.spec.normalize.std);
        let c = input.channels;
        let image = &mut self.values[0];
        image.clear();
        image.extend(
            images
                .iter()
                .enumerate()
                .map(|(i, x)| (x - mean[i % c]) / std[i % c]),
        );
        for i in 0..self.nodes.len() {
            let (before, after) = self.values.split_at_mut(i + 1);
            let node = &self.nodes[i];
            let out = &mut after[0];
            out.resize(n * node.shape.len(), 0.0);
            run_node(node, out, before, n, &mut self.scratch)?;
        }
        Ok(&self.values[self.output + 1])
    }

    /// The output of the node `name` from the last forward (N, its shape), with its shape.
    pub fn output_of(&self, name: &str) -> Option<(&[f32], ValueShape)> {
        let i = self.node_index(name)?;
        Some((self.output(i), self.nodes[i].shape))
    }

    /// Node `name`'s index, for [`GraphPoint::Node`] and [`GraphModel::output`].
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.spec.name == name)
    }

    /// The index of the node that makes the logits.
    pub fn output_index(&self) -> usize {
        self.output
    }

    /// Node i's output from the last forward: (N, its shape).
    pub fn output(&self, i: usize) -> &[f32] {
        &self.values[i + 1][..self.batch * self.nodes[i].shape.len()]
    }

    /// Node i's output shape.
    pub fn shape(&self, i: usize) -> ValueShape {
        self.nodes[i].shape
    }

    pub fn node_name(&self, i: usize) -> &str {
        &self.nodes[i].spec.name
    }

    /// How many images the last forward ran.
    pub fn batch(&self) -> usize {
        self.batch
    }

    /// Sends `d_from` (N, node `from`'s output shape), the gradient of some score with respect
    /// to node `from`'s output in the last forward, back through the graph and returns the
    /// gradient with respect to `to`: the pixels (N, H, W, C), or an earlier node's output
    /// (N, its shape), summed over every path that leads from it to `from`. Inference mode:
    /// batch norm's moving statistics are constants, and the examples do not interact.
    pub fn backprop(&mut self, from: usize, d_from: &[f32], to: GraphPoint) -> Result<&[f32]> {
        let n = self.batch;
        if n == 0 {
            return Err(invalid!(
                "the graph needs a forward pass before a backward one"
            ));
        }
        if from >= self.nodes.len() {
            return Err(invalid!(
                "node {from} does not exist: the graph has {} nodes",
                self.nodes.len()
            ));
        }
        let stop = match to {
            GraphPoint::Image => 0,
            GraphPoint::Node(j) if j < from => j + 1,
            GraphPoint::Node(j) => {
                return Err(invalid!(
                "a gradient goes back from a node to an earlier one (from node {from} to node {j})"
            ))
            }
        };
        let want = n * self.nodes[from].shape.len();
        if d_from.len() != want {
            return Err(invalid!(
                "the gradient of node {:?} needs {want} values, not {}",
                self.nodes[from].spec.name,
                d_from.len()
            ));
        }
        for (k, g) in self.grads.iter_mut().enumerate().take(from + 1).skip(stop) {
            let len = if k == 0 {
                self.values[0].len()
            } else {
                n * self.nodes[k - 1].shape.len()
            };
            g.clear();
            g.resize(len, 0.0);
        }
        let start = &mut self.grads[from + 1];
        start.clear();
        start.extend_from_slice(d_from);
        // Node i reads values[inputs] and adds into grads[inputs]; every input precedes it.
        for i in (stop..=from).rev() {
            let (before, after) = self.grads.split_at_mut(i + 1);
            let node = &self.nodes[i];
            let own_out = &self.values[i + 1][..n * node.shape.len()];
            back_node(
                node,
                before,
                &after[0],
                own_out,
                &self.values,
                n,
                &mut self.unused_weight_grad,
                &mut self.scratch,
            )?;
        }
        if to == GraphPoint::Image {
            // d pixel = d normalized / std, per channel.
            let std = &self.spec.normalize.std;
            let c = std.len();
            for (k, g) in self.grads[0].iter_mut().enumerate() {
                *g /= std[k % c];
            }
        }
        Ok(&self.grads[stop])
    }
}

/// Sends one node's output gradient `d_out` (N, its shape) into its inputs' gradients: `grads`
/// holds the image's and every earlier node's (indexed as `values`), and only the entries of
/// this node's inputs are touched. Accumulates. own_out (N, its shape): its forward output.
#[allow(clippy::too_many_arguments)]
fn back_node(
    node: &Node,
    grads: &mut [Vec<f32>],
    d_out: &[f32],
    own_out: &[f32],
    values: &[Vec<f32>],
    n: usize,
    unused_weight_grad: &mut Vec<f32>,
    scratch: &mut ConvScratch,
) -> Result<()> {
    let input_at = node.inputs[0];
    let in_len = n * node.in_shape.len();
    let t = |k: usize| node.tensors[k].values.as_slice();
    let d_input = &mut grads[input_at][..in_len];
    match node.spec.op {
        OpSpec::Conv2d { .. } => match conv_geometry(node, n)? {
            Conv::Full(g) => {
                scratch.reserve(&g);
                conv2d_backward_input(d_input, d_out, t(0), &g, scratch);
            }
            Conv::Depthwise(g) => depthwise_backward_input(d_input, d_out, t(0), &g),
        },
        OpSpec::BatchNorm { epsilon, .. } => {
            let c = node.in_shape.channels();
            batchnorm_backward_infer(d_input, d_out, t(0), t(3), c, epsilon);
        }
        OpSpec::Relu6 => relu6_backward(d_input, d_out, own_out),
        OpSpec::Relu => relu_backward(d_input, d_out, own_out),
        OpSpec::MaxPool { .. } => {
            // The winners are not kept by the forward pass (inference): find them again.
            let g = pool_geometry(node, n)?;
            let mut again = vec![0.0; g.output_len()];
            let mut argmax = vec![0u32; g.output_len()];
            let input = &values[input_at][..in_len];
            pool_forward(&mut again, Some(&mut argmax), input, PoolKind::Max, &g);
            pool_backward(d_input, d_out, Some(&argmax), PoolKind::Max, &g);
        }
        OpSpec::AvgPool { .. } => {
            let g = pool_geometry(node, n)?;
            pool_backward(d_input, d_out, None, PoolKind::Average, &g);
        }
        OpSpec::Flatten => add_backward(d_input, d_out),
        OpSpec::Add => {
            add_backward(d_input, d_out);
            add_backward(&mut grads[node.inputs[1]][..in_len], d_out);
        }
        OpSpec::GlobalAvgPool => {
            let ValueShape::Map(h, w, c) = node.in_shape else {
                unreachable!("planned as a map")
            };
            global_average_pool_backward(d_input, d_out, (n, h, w, c));
        }
        OpSpec::Dense { units } => {
            let i = node.in_shape.len();
            unused_weight_grad.clear();
            unused_weight_grad.resize(i * units, 0.0);
            let input = &values[input_at][..in_len];
            dense_backward(
                Some(d_input),
                unused_weight_grad,
                None,
                d_out,
                input,
                t(0),
                n,
                i,
                units,
            );
        }
    }
    Ok(())
}

/// Softmax of one row of logits, in f64 so that 1,000 small probabilities still add up.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let top = logits.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v)) as f64;
    let exps: Vec<f64> = logits.iter().map(|&v| (v as f64 - top).exp()).collect();
    let sum: f64 = exps.iter().sum();
    exps.iter().map(|e| (e / sum) as f32).collect()
}

/// The indices of the `k` largest values, largest first (ties: the lower index first).
pub fn top_k(values: &[f32], k: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]).then(a.cmp(&b)));
    order.truncate(k);
    order
}

/// The op's name in the graph description (`conv2d`, `relu6`, ...).
pub fn op_name(op: &OpSpec) -> &'static str {
    match op {
        OpSpec::Conv2d { .. } => "conv2d",
        OpSpec::BatchNorm { .. } => "batch_norm",
        OpSpec::Relu6 => "relu6",
        OpSpec::Relu => "relu",
        OpSpec::Add => "add",
        OpSpec::MaxPool { .. } => "max_pool",
        OpSpec::AvgPool { .. } => "avg_pool",
        OpSpec::GlobalAvgPool => "global_avg_pool",
        OpSpec::Flatten => "flatten",
        OpSpec::Dense { .. } => "dense",
    }
}

/// A node's `pads` [top, bottom, left, right] as the kernels' padding.
fn per_side([top, bottom, left, right]: [usize; 4]) -> Padding {
    Padding::PerSide {
        top,
        bottom,
        left,
        right,
    }
}

fn tensor(node: &str, variable: &str, dims: Vec<usize>) -> GraphTensor {
    GraphTensor {
        name: format!("{node}.{variable}"),
        values: vec![0.0; dims.iter().product()],
        dims,
    }
}

/// A node's output shape and its (zeroed) weights; explains what the op cannot do.
fn plan_node(
    node: &NodeSpec,
    inputs: &[usize],
    shapes: &[ValueShape],
) -> Result<(ValueShape, Vec<GraphTensor>)> {
    let name = node.name.as_str();
    let input = shapes[inputs[0]];
    let map = || match input {
        ValueShape::Map(h, w, c) => Ok((h, w, c)),
        ValueShape::Vector(_) => Err(invalid!(
            "node {name:?} ({}) needs a map (height x width x channels), but its input is a vector",
            op_name(&node.op)
        )),
    };
    Ok(match node.op {
        OpSpec::Conv2d {
            filters,
            kernel: [kh, kw],
            stride: [sh, sw],
            pads,
            dilation: [dh, dw],
            groups,
            use_bias,
        } => {
            let (h, w, c) = map()?;
            if sh != sw || dh != dw {
                return Err(invalid!("node {name:?}: convscope's convolutions take one stride and one dilation for both axes (got strides {sh}x{sw}, dilations {dh}x{dw})"));
            }
            let depthwise = groups == c && filters == c && groups > 1;
            if groups != 1 && !depthwise {
                return Err(invalid!("node {name:?}: convolutions with {groups} groups are not supported; groups must be 1 or the channel count ({c}) with as many filters"));
            }
            let g = ConvGeometry::new(1, (h, w, c), (kh, kw, filters), sh, dh, per_side(pads))
                .map_err(|e| invalid!("node {name:?}: {e}"))?;
            let mut tensors = vec![tensor(name, "kernel", vec![kh, kw, c / groups, filters])];
            if use_bias {
                tensors.push(tensor(name, "bias", vec![filters]));
            }
            (ValueShape::Map(g.out_h, g.out_w, filters), tensors)
        }
        OpSpec::BatchNorm { epsilon, .. } => {
            if !(epsilon > 0.0 && epsilon.is_finite()) {
                return Err(invalid!(
                    "node {name:?}: batch norm's epsilon must be a positive number"
                ));
            }
            let c = input.channels();
            let tensors = ["gamma", "beta", "moving_mean", "moving_variance"]
                .map(|v| tensor(name, v, vec![c]))
                .to_vec();
            (input, tensors)
        }
        OpSpec::Relu6 | OpSpec::Relu => (input, Vec::new()),
        OpSpec::MaxPool { pool, stride, pads } | OpSpec::AvgPool { pool, stride, pads } => {
            let (h, w, c) = map()?;
            let g = PoolGeometry::new(1, (h, w, c), pool, stride, per_side(pads))
                .map_err(|e| invalid!("node {name:?}: {e}"))?;
            (ValueShape::Map(g.out_h, g.out_w, c), Vec::new())
        }
        OpSpec::Flatten => {
            let (h, w, c) = map()?;
            (ValueShape::Vector(h * w * c), Vec::new())
        }
        OpSpec::Add => {
            let other = shapes[inputs[1]];
            if other != input {
                return Err(invalid!(
                    "node {name:?} adds values of different shapes ({input:?} and {other:?})"
                ));
            }
            (input, Vec::new())
        }
        OpSpec::GlobalAvgPool => {
            let (_, _, c) = map()?;
            (ValueShape::Vector(c), Vec::new())
        }
        OpSpec::Dense { units } => {
            if units == 0 {
                return Err(invalid!(
                    "node {name:?}: a dense layer needs at least one unit"
                ));
            }
            let ValueShape::Vector(i) = input else {
                return Err(invalid!(
                    "node {name:?} (dense) needs a vector input; put a global_avg_pool or a flatten before it"
                ));
            };
            (
                ValueShape::Vector(units),
                vec![
                    tensor(name, "kernel", vec![i, units]),
                    tensor(name, "bias", vec![units]),
                ],
            )
        }
    })
}

/// A convolution node's geometry for `n` examples: a full one, or depthwise (groups = channels).
enum Conv {
    Full(ConvGeometry),
    Depthwise(DepthwiseGeometry),
}

fn conv_geometry(node: &Node, n: usize) -> Result<Conv> {
    let OpSpec::Conv2d {
        filters,
        kernel: [kh, kw],
        stride: [s, _],
        pads,
        dilation: [d, _],
        groups,
        ..
    } = node.spec.op
    else {
        unreachable!("called for convolutions")
    };
    let ValueShape::Map(h, w, c) = node.in_shape else {
        unreachable!("planned as a map")
    };
    let padding = per_side(pads);
    Ok(if groups == 1 {
        Conv::Full(ConvGeometry::new(
            n,
            (h, w, c),
            (kh, kw, filters),
            s,
            d,
            padding,
        )?)
    } else {
        Conv::Depthwise(DepthwiseGeometry::new(
            n,
            (h, w, c),
            (kh, kw),
            s,
            d,
            padding,
        )?)
    })
}

/// A pooling node's geometry for `n` examples.
fn pool_geometry(node: &Node, n: usize) -> Result<PoolGeometry> {
    let (OpSpec::MaxPool { pool, stride, pads } | OpSpec::AvgPool { pool, stride, pads }) =
        node.spec.op
    else {
        unreachable!("called for pooling")
    };
    let ValueShape::Map(h, w, c) = node.in_shape else {
        unreachable!("planned as a map")
    };
    PoolGeometry::new(n, (h, w, c), pool, stride, per_side(pads))
}

/// Runs one node on `n` examples: `values` holds the image and every earlier node's output.
/// out (N, node's shape).
fn run_node(
    node: &Node,
    out: &mut [f32],
    values: &[Vec<f32>],
    n: usize,
    scratch: &mut ConvScratch,
) -> Result<()> {
    let input = &values[node.inputs[0]][..n * node.in_shape.len()];
    let t = |k: usize| node.tensors[k].values.as_slice();
    match node.spec.op {
        OpSpec::Conv2d { use_bias, .. } => {
            let bias = use_bias.then(|| t(1));
            match conv_geometry(node, n)? {
                Conv::Full(g) => {
                    scratch.reserve(&g);
                    conv2d_forward(out, input, t(0), bias, false, &g, scratch);
                }
                Conv::Depthwise(g) => depthwise_forward(out, input, t(0), bias, None, &g),
            }
        }
        OpSpec::BatchNorm { epsilon, .. } => {
            let c = node.in_shape.channels();
            batchnorm_forward_infer(out, input, t(0), t(1), t(2), t(3), c, epsilon);
        }
        OpSpec::Relu6 => relu6_forward(out, input),
        OpSpec::Relu => relu_forward(out, input),
        OpSpec::MaxPool { .. } => {
            let g = pool_geometry(node, n)?;
            pool_forward(out, None, input, PoolKind::Max, &g);
        }
        OpSpec::AvgPool { .. } => {
            let g = pool_geometry(node, n)?;
            pool_forward(out, None, input, PoolKind::Average, &g);
        }
        OpSpec::Flatten => out.copy_from_slice(input),
        OpSpec::Add => {
            let other = &values[node.inputs[1]][..n * node.in_shape.len()];
            add_forward(out, input, other);
        }
        OpSpec::GlobalAvgPool => {
            let ValueShape::Map(h, w, c) = node.in_shape else {
                unreachable!("planned as a map")
            };
            global_average_pool_forward(out, input, (n, h, w, c));
        }
        OpSpec::Dense { units } => {
            let i = node.in_shape.len();
            dense_forward(out, input, t(0), Some(t(1)), false, n, i, units);
        }
    }
    Ok(())
}
