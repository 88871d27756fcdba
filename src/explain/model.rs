//! The one interface the explanations use, so that saliency, Grad-CAM and activation
//! maximization are written once for the chapter's trained [`Sequential`] and for a graph
//! model such as the pretrained ImageNet network ([`GraphModel`]).
//!
//! A *map layer* is a layer whose output has places (height x width x channels) that Grad-CAM
//! can weigh and a filter objective can average: the convolutions of a Sequential (as the
//! chapter picks them), every node with a map output in a graph (a block's convolution, batch
//! norm, ReLU6 or residual add).

use crate::nn::graph::{GraphModel, GraphPoint, ValueShape};
use crate::nn::{InputShape, LayerSpec, Mode, OutputKind, Sequential, Shape};
use crate::{invalid, Result};

/// Where a gradient starts or ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Point {
    /// The input pixels.
    Image,
    /// The logits (as a start only).
    Logits,
    /// A layer's output.
    Layer(usize),
}

pub trait Explainable {
    fn input_shape(&self) -> InputShape;
    fn output_kind(&self) -> OutputKind;
    /// Runs `batch` (N, H, W, C) in inference mode; returns the logits (N, units).
    fn infer(&mut self, batch: &[f32]) -> Result<&[f32]>;
    /// The map layers' indices, in order.
    fn map_layers(&self) -> Vec<usize>;
    fn layer_count(&self) -> usize;
    fn layer_name(&self, layer: usize) -> &str;
    /// A map layer's output shape (h, w, K); an error in words for any other layer.
    fn map_layer(&self, layer: usize) -> Result<(usize, usize, usize)>;
    /// A layer's output from the last inference, (N, its shape).
    fn layer_output(&self, layer: usize) -> &[f32];
    /// Sends `d` (N, the shape at `from`; the logits' gradient for [`Point::Logits`]) back from
    /// the last inference and returns the gradient at `to` (the image or an earlier layer's
    /// output), (N, the shape there).
    fn backprop(&mut self, from: Point, d: &[f32], to: Point) -> Result<&[f32]>;
    /// How many images an explanation may run together (SmoothGrad's noisy copies): bounds the
    /// memory every layer's kept outputs and gradients take.
    fn batch_limit(&self) -> usize;
}

fn no_layer(layer: usize, count: usize) -> crate::Error {
    invalid!(
        "layer {layer} does not exist: the model has {count} layers (0 to {})",
        count.saturating_sub(1)
    )
}

impl Explainable for Sequential {
    fn input_shape(&self) -> InputShape {
        self.spec().input
    }

    fn output_kind(&self) -> OutputKind {
        Sequential::output_kind(self)
    }

    fn infer(&mut self, batch: &[f32]) -> Result<&[f32]> {
        self.forward(batch, Mode::Infer);
        Ok(self.logits())
    }

    fn map_layers(&self) -> Vec<usize> {
        self.layers()
            .iter()
            .enumerate()
            .filter(|(_, l)| matches!(l.plan.spec, LayerSpec::Conv2d { .. }))
            .map(|(i, _)| i)
            .collect()
    }

    fn layer_count(&self) -> usize {
        self.layers().len()
    }

    fn layer_name(&self, layer: usize) -> &str {
        self.layers()[layer].name()
    }

    fn map_layer(&self, layer: usize) -> Result<(usize, usize, usize)> {
        let layers = self.layers();
        let l = layers
            .get(layer)
            .ok_or_else(|| no_layer(layer, layers.len()))?;
        match (&l.plan.spec, l.plan.output) {
            (
                LayerSpec::Conv2d { .. },
                Shape::Image {
                    height,
                    width,
                    channels,
                },
            ) => Ok((height, width, channels)),
            (spec, _) => Err(invalid!(
                "layer {layer} ({}) is a {} layer, not a convolution; pick a Conv2D layer",
                l.name(),
                spec.type_name()
            )),
        }
    }

    fn layer_output(&self, layer: usize) -> &[f32] {
        self.output(layer)
    }

    fn backprop(&mut self, from: Point, d: &[f32], to: Point) -> Result<&[f32]> {
        let last = self.layers().len() - 1;
        let from = match from {
            Point::Logits => last,
            Point::Layer(l) => l,
            Point::Image => return Err(invalid!("a gradient cannot start at the image")),
        };
        // Sequential::backprop stops at a layer's input: layer l's output is layer l + 1's input.
        let down_to = match to {
            Point::Image => 0,
            Point::Layer(l) if l < from => l + 1,
            _ => {
                return Err(invalid!(
                    "a gradient goes back from a layer to an earlier one"
                ))
            }
        };
        Ok(Sequential::backprop(self, from, d, down_to, false))
    }

    fn batch_limit(&self) -> usize {
        16
    }
}

impl Explainable for GraphModel {
    fn input_shape(&self) -> InputShape {
        self.spec().input
    }

    fn output_kind(&self) -> OutputKind {
        OutputKind::Categorical {
            classes: self.classes(),
        }
    }

    fn infer(&mut self, batch: &[f32]) -> Result<&[f32]> {
        let i = self.spec().input;
        let n = batch.len() / (i.height * i.width * i.channels).max(1);
        self.forward(batch, n)
    }

    fn map_layers(&self) -> Vec<usize> {
        (0..self.layer_count())
            .filter(|&i| matches!(self.shape(i), ValueShape::Map(..)))
            .collect()
    }

    fn layer_count(&self) -> usize {
        self.node_shapes().count()
    }

    fn layer_name(&self, layer: usize) -> &str {
        self.node_name(layer)
    }

    fn map_layer(&self, layer: usize) -> Result<(usize, usize, usize)> {
        let count = self.layer_count();
        if layer >= count {
            return Err(no_layer(layer, count));
        }
        match self.shape(layer) {
            ValueShape::Map(h, w, k) => Ok((h, w, k)),
            ValueShape::Vector(_) => Err(invalid!(
                "layer {layer} ({}) makes a vector, not maps; pick a layer before the pooling",
                self.node_name(layer)
            )),
        }
    }

    fn layer_output(&self, layer: usize) -> &[f32] {
        self.output(layer)
    }

    fn backprop(&mut self, from: Point, d: &[f32], to: Point) -> Result<&[f32]> {
        let from = match from {
            Point::Logits => self.output_index(),
            Point::Layer(l) => l,
            Point::Image => return Err(invalid!("a gradient cannot start at the image")),
        };
        let to = match to {
            Point::Image => GraphPoint::Image,
            Point::Layer(l) => GraphPoint::Node(l),
            Point::Logits => return Err(invalid!("a gradient cannot end at the logits")),
        };
        GraphModel::backprop(self, from, d, to)
    }

    fn batch_limit(&self) -> usize {
        // One EfficientNet-Lite0 image keeps about 11 million values (44 MB) and as many
        // gradients; two at a time stays far below the page's memory budget.
        2
    }
}
