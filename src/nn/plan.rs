//! Checks a [`ModelSpec`] and works out every layer's input and output shape and parameter
//! counts: the "plan" from which the model is built and the summary is printed. Every way a
//! spec can fail is explained in words a student understands, naming the layer.

use super::spec::{Activation, LayerSpec, ModelSpec, PaddingSpec};
use crate::kernels::batchnorm::BatchNormConfig;
use crate::kernels::dropout::validate_rate;
use crate::kernels::geometry::ConvGeometry;
use crate::kernels::geometry::PoolGeometry;
use crate::{invalid, Result};

/// Limits that keep a model trainable in a browser tab (see [`crate::limits`]); a spec beyond
/// them is refused.
pub use crate::limits::{MAX_PARAMETERS, MAX_VALUES_PER_IMAGE, MAX_WINDOW};

/// The shape of one example's activations (the batch axis left out, as Keras's `None`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// (H, W, C) feature maps.
    Image {
        height: usize,
        width: usize,
        channels: usize,
    },
    /// A flat vector of features.
    Flat(usize),
}

impl Shape {
    /// Number of values per example (saturating: an absurd declared shape compares as huge
    /// against the limits instead of overflowing).
    pub fn len(&self) -> usize {
        match *self {
            Shape::Image {
                height,
                width,
                channels,
            } => height.saturating_mul(width).saturating_mul(channels),
            Shape::Flat(n) => n,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The last axis: channels of an image, features of a vector (what batch norm normalizes).
    pub fn channels(&self) -> usize {
        match *self {
            Shape::Image { channels, .. } => channels,
            Shape::Flat(n) => n,
        }
    }

    /// The dimensions without the batch axis, e.g. [64, 64, 16] or [8192].
    pub fn dims(&self) -> Vec<usize> {
        match *self {
            Shape::Image {
                height,
                width,
                channels,
            } => vec![height, width, channels],
            Shape::Flat(n) => vec![n],
        }
    }

    /// Keras's notation with the batch axis, e.g. `(None, 64, 64, 16)`.
    pub fn keras(&self) -> String {
        match *self {
            Shape::Image {
                height,
                width,
                channels,
            } => format!("(None, {height}, {width}, {channels})"),
            Shape::Flat(n) => format!("(None, {n})"),
        }
    }

    fn describe(&self) -> String {
        match *self {
            Shape::Image {
                height,
                width,
                channels,
            } => format!("{height}x{width}x{channels} feature maps"),
            Shape::Flat(n) => format!("a flat vector of {n} values"),
        }
    }
}

/// What the model's last layer makes of its outputs, and so which loss trains it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// One sigmoid unit: probability of class 1; binary cross-entropy.
    Binary,
    /// Softmax over this many classes; categorical cross-entropy.
    Categorical { classes: usize },
}

impl OutputKind {
    /// Number of classes the model tells apart.
    pub fn classes(&self) -> usize {
        match *self {
            OutputKind::Binary => 2,
            OutputKind::Categorical { classes } => classes,
        }
    }

    /// Number of output units (logits) per example.
    pub fn units(&self) -> usize {
        match *self {
            OutputKind::Binary => 1,
            OutputKind::Categorical { classes } => classes,
        }
    }
}

/// One layer of a checked spec.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPlan {
    /// Keras-style unique name: `conv2d`, `conv2d_1`, `batch_normalization`, ...
    pub name: String,
    pub spec: LayerSpec,
    pub input: Shape,
    pub output: Shape,
    pub trainable_params: usize,
    pub non_trainable_params: usize,
}

/// A checked spec: layer plans in order and the output kind.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPlan {
    pub input: Shape,
    pub layers: Vec<LayerPlan>,
    pub output: OutputKind,
}

impl ModelPlan {
    pub fn trainable_params(&self) -> usize {
        self.layers
            .iter()
            .fold(0, |sum, l| sum.saturating_add(l.trainable_params))
    }
    pub fn non_trainable_params(&self) -> usize {
        self.layers
            .iter()
            .fold(0, |sum, l| sum.saturating_add(l.non_trainable_params))
    }
    pub fn total_params(&self) -> usize {
        self.trainable_params()
            .saturating_add(self.non_trainable_params())
    }

    /// Activation values (`f32`) a batch of `batch` examples needs: the input, every layer's
    /// output and the two gradient buffers as large as the largest of them.
    pub fn batch_activation_values(&self, batch: usize) -> usize {
        let sizes =
            std::iter::once(self.input.len()).chain(self.layers.iter().map(|l| l.output.len()));
        let (sum, largest) = sizes.fold((0usize, 0usize), |(s, m), n| {
            (s.saturating_add(n), m.max(n))
        });
        sum.saturating_add(largest.saturating_mul(2))
            .saturating_mul(batch)
    }
}

impl ModelSpec {
    /// Checks the spec and computes every layer's shapes and parameter counts.
    pub fn plan(&self) -> Result<ModelPlan> {
        let i = self.input;
        if i.height == 0 || i.width == 0 || i.channels == 0 {
            return Err(invalid!(
                "the input images must be at least 1x1 with at least one channel (got {}x{}x{})",
                i.height,
                i.width,
                i.channels
            ));
        }
        let input = Shape::Image {
            height: i.height,
            width: i.width,
            channels: i.channels,
        };
        check_size(input, "the input images")?;
        if self.layers.is_empty() {
            return Err(invalid!("the model has no layers; it needs at least a final Dense layer that makes the prediction"));
        }
        let mut counts = std::collections::HashMap::new();
        let mut layers = Vec::with_capacity(self.layers.len());
        let mut shape = input;
        let last = self.layers.len() - 1;
        for (index, spec) in self.layers.iter().enumerate() {
            let at = || format!("layer {} ({})", index + 1, spec.type_name());
            let (output, trainable, non_trainable) =
                layer_shape(spec, shape, index == last).map_err(|e| invalid!("{}: {}", at(), e))?;
            check_size(output, &format!("the output of {}", at()))?;
            let count = counts.entry(spec.name_stem()).or_insert(0usize);
            let name = if *count == 0 {
                spec.name_stem().to_string()
            } else {
                format!("{}_{}", spec.name_stem(), count)
            };
            *count += 1;
            layers.push(LayerPlan {
                name,
                spec: spec.clone(),
                input: shape,
                output,
                trainable_params: trainable,
                non_trainable_params: non_trainable,
            });
            shape = output;
        }
        let output = match self.layers[last] {
            LayerSpec::Dense { units: 1, activation: Activation::Sigmoid } => OutputKind::Binary,
            LayerSpec::Dense { units, activation: Activation::Softmax } => OutputKind::Categorical { classes: units },
            ref other => {
                return Err(invalid!(
                    "the last layer must make the prediction: a Dense layer with 1 unit and a sigmoid (two classes) or with one unit per class and a softmax, but it is {}",
                    describe_layer(other)
                ))
            }
        };
        let plan = ModelPlan {
            input,
            layers,
            output,
        };
        if plan.total_params() > MAX_PARAMETERS {
            return Err(invalid!(
                "the model has {} parameters, more than the {} a browser can train; shrink a Dense layer or pool more before Flatten",
                plan.total_params(),
                MAX_PARAMETERS
            ));
        }
        Ok(plan)
    }
}

fn check_size(shape: Shape, what: &str) -> Result<()> {
    if shape.len() > MAX_VALUES_PER_IMAGE {
        return Err(invalid!("{what} hold {} values per image, more than the {MAX_VALUES_PER_IMAGE} this tool can keep in memory", shape.len()));
    }
    Ok(())
}

fn describe_layer(spec: &LayerSpec) -> String {
    match spec {
        LayerSpec::Dense { units, activation } => format!(
            "a Dense layer with {units} unit(s) and a {} activation",
            activation.name()
        ),
        other => format!("a {} layer", other.type_name()),
    }
}

/// A kernel, window, stride, dilation or padding beyond [`MAX_WINDOW`] is refused before any
/// size is computed from it.
fn check_window(value: usize, what: &str) -> Result<()> {
    if value > MAX_WINDOW {
        return Err(invalid!(
            "the {what} is {value}, more than the {MAX_WINDOW} allowed"
        ));
    }
    Ok(())
}

fn check_padding(padding: PaddingSpec) -> Result<()> {
    match padding {
        PaddingSpec::Explicit(p) => check_window(p, "padding"),
        _ => Ok(()),
    }
}

/// The product of `factors`, saturating (parameter counts of absurd specs compare as huge).
fn product(factors: &[usize]) -> usize {
    factors.iter().fold(1usize, |p, &f| p.saturating_mul(f))
}

/// (output shape, trainable params, non-trainable params) of one layer, or why it cannot work.
fn layer_shape(spec: &LayerSpec, input: Shape, is_last: bool) -> Result<(Shape, usize, usize)> {
    let image = |what: &str| {
        match input {
        Shape::Image { height, width, channels } => Ok((height, width, channels)),
        Shape::Flat(n) => Err(invalid!("{what} works on feature maps (height x width x channels), but its input is a flat vector of {n} values; move it before the Flatten layer")),
    }
    };
    match *spec {
        LayerSpec::Conv2d {
            filters,
            kernel,
            stride,
            padding,
            dilation,
            activation,
        } => {
            let (h, w, c) = image("a convolution")?;
            if filters == 0 {
                return Err(invalid!("a convolution needs at least one filter (got 0)"));
            }
            if kernel == 0 {
                return Err(invalid!("the kernel must be at least 1x1 (got 0)"));
            }
            if !matches!(activation, Activation::Linear | Activation::Relu) {
                return Err(invalid!(
                    "a convolution here takes a linear or relu activation, not {}; sigmoid and softmax belong on the final Dense layer",
                    activation.name()
                ));
            }
            check_window(kernel, "kernel size")?;
            check_window(stride, "stride")?;
            check_window(dilation, "dilation")?;
            check_padding(padding)?;
            if filters > MAX_VALUES_PER_IMAGE {
                return Err(invalid!(
                    "{filters} filters are more than the {MAX_VALUES_PER_IMAGE} allowed"
                ));
            }
            let g = ConvGeometry::new(
                1,
                (h, w, c),
                (kernel, kernel, filters),
                stride,
                dilation,
                padding.to_kernel(),
            )?;
            let params = product(&[kernel, kernel, c, filters]).saturating_add(filters);
            Ok((
                Shape::Image {
                    height: g.out_h,
                    width: g.out_w,
                    channels: filters,
                },
                params,
                0,
            ))
        }
        LayerSpec::BatchNorm { momentum, epsilon } => {
            BatchNormConfig { momentum, epsilon }.validate()?;
            let c = input.channels();
            Ok((input, c.saturating_mul(2), c.saturating_mul(2)))
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
            let (h, w, c) = image("pooling")?;
            check_window(pool, "pooling window")?;
            check_window(stride, "pooling stride")?;
            check_padding(padding)?;
            let g = PoolGeometry::new(1, (h, w, c), pool, stride, padding.to_kernel())?;
            Ok((
                Shape::Image {
                    height: g.out_h,
                    width: g.out_w,
                    channels: c,
                },
                0,
                0,
            ))
        }
        LayerSpec::Dropout { rate } => {
            validate_rate(rate)?;
            Ok((input, 0, 0))
        }
        LayerSpec::Flatten => Ok((Shape::Flat(input.len()), 0, 0)),
        LayerSpec::Dense { units, activation } => {
            let n = match input {
                Shape::Flat(n) => n,
                image => {
                    return Err(invalid!(
                        "a Dense layer needs a flat vector, but its input is {}; put a Flatten layer before it",
                        image.describe()
                    ))
                }
            };
            if units == 0 {
                return Err(invalid!("a Dense layer needs at least one unit (got 0)"));
            }
            match activation {
                Activation::Sigmoid if !is_last => {
                    return Err(invalid!("sigmoid is only supported on the last layer, where it turns the score into a probability; use relu here"))
                }
                Activation::Softmax if !is_last => {
                    return Err(invalid!("softmax is only supported on the last layer, where it turns scores into class probabilities; use relu here"))
                }
                Activation::Sigmoid if units != 1 => {
                    return Err(invalid!("a sigmoid output gives the probability of one class, so it needs exactly 1 unit (got {units}); for several classes use softmax"))
                }
                Activation::Softmax if units < 2 => {
                    return Err(invalid!("a softmax output needs one unit per class, so at least 2 (got {units}); for two classes a single sigmoid unit also works"))
                }
                _ => {}
            }
            Ok((
                Shape::Flat(units),
                product(&[n, units]).saturating_add(units),
                0,
            ))
        }
    }
}
