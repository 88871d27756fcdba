//! The declarative model description: an input shape and a list of layer specs, serializable
//! to JSON. This is what the page edits and what a saved model file carries; the runtime model
//! ([`super::Sequential`]) is built from it, after [`ModelSpec::plan`] has checked it.
//!
//! JSON form (fields with a Keras default may be left out):
//! ```json
//! {"input": {"height": 64, "width": 64, "channels": 3},
//!  "layers": [{"type": "conv2d", "filters": 16, "kernel": 5, "padding": "same", "activation": "relu"},
//!             {"type": "batch_norm"}, {"type": "max_pool", "pool": 2}, {"type": "dropout", "rate": 0.1},
//!             {"type": "flatten"}, {"type": "dense", "units": 1, "activation": "sigmoid"}]}
//! ```

use crate::kernels::geometry::Padding;
use serde::{Deserialize, Serialize};

/// The shape of one input image: height x width x channels (NHWC without the batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputShape {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

/// How a convolution or pooling window treats the border (Keras's names, plus explicit zeros).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PaddingSpec {
    /// No padding: the window stays inside the image, so the output shrinks.
    #[default]
    Valid,
    /// TensorFlow's `same`: output size = ceil(input / stride), extra padding at the bottom/right.
    Same,
    /// This many zero rows and columns on every side.
    Explicit(usize),
}

impl PaddingSpec {
    pub fn to_kernel(self) -> Padding {
        match self {
            PaddingSpec::Valid => Padding::Valid,
            PaddingSpec::Same => Padding::Same,
            PaddingSpec::Explicit(p) => Padding::Explicit(p),
        }
    }
}

/// The function applied to a layer's weighted sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// None: the weighted sum itself.
    #[default]
    Linear,
    Relu,
    /// Only on a final Dense layer of one unit: the probability of class 1.
    Sigmoid,
    /// Only on a final Dense layer of two or more units: one probability per class.
    Softmax,
}

impl Activation {
    /// The Keras name: `linear`, `relu`, `sigmoid`, `softmax`.
    pub fn name(&self) -> &'static str {
        match self {
            Activation::Linear => "linear",
            Activation::Relu => "relu",
            Activation::Sigmoid => "sigmoid",
            Activation::Softmax => "softmax",
        }
    }
}

/// One layer of a sequential model. Defaults follow Keras.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    Conv2d {
        filters: usize,
        /// Square kernel side (5 means 5x5).
        kernel: usize,
        #[serde(default = "one")]
        stride: usize,
        #[serde(default)]
        padding: PaddingSpec,
        #[serde(default = "one")]
        dilation: usize,
        #[serde(default)]
        activation: Activation,
    },
    BatchNorm {
        #[serde(default = "bn_momentum")]
        momentum: f32,
        #[serde(default = "bn_epsilon")]
        epsilon: f32,
    },
    MaxPool {
        #[serde(default = "two")]
        pool: usize,
        /// Keras's default stride is the pool size.
        #[serde(default = "two")]
        stride: usize,
        #[serde(default)]
        padding: PaddingSpec,
    },
    AvgPool {
        #[serde(default = "two")]
        pool: usize,
        #[serde(default = "two")]
        stride: usize,
        #[serde(default)]
        padding: PaddingSpec,
    },
    Dropout {
        rate: f32,
    },
    Flatten,
    Dense {
        units: usize,
        #[serde(default)]
        activation: Activation,
    },
}

fn one() -> usize {
    1
}
fn two() -> usize {
    2
}
fn bn_momentum() -> f32 {
    0.99
}
fn bn_epsilon() -> f32 {
    1e-3
}

impl LayerSpec {
    /// Keras's class name, as `summary()` shows it.
    pub fn type_name(&self) -> &'static str {
        match self {
            LayerSpec::Conv2d { .. } => "Conv2D",
            LayerSpec::BatchNorm { .. } => "BatchNormalization",
            LayerSpec::MaxPool { .. } => "MaxPooling2D",
            LayerSpec::AvgPool { .. } => "AveragePooling2D",
            LayerSpec::Dropout { .. } => "Dropout",
            LayerSpec::Flatten => "Flatten",
            LayerSpec::Dense { .. } => "Dense",
        }
    }

    /// Keras's automatic layer-name stem (`conv2d`, `conv2d_1`, ...).
    pub fn name_stem(&self) -> &'static str {
        match self {
            LayerSpec::Conv2d { .. } => "conv2d",
            LayerSpec::BatchNorm { .. } => "batch_normalization",
            LayerSpec::MaxPool { .. } => "max_pooling2d",
            LayerSpec::AvgPool { .. } => "average_pooling2d",
            LayerSpec::Dropout { .. } => "dropout",
            LayerSpec::Flatten => "flatten",
            LayerSpec::Dense { .. } => "dense",
        }
    }

    /// The Keras defaults for a convolution: stride 1, no dilation.
    pub fn conv2d(
        filters: usize,
        kernel: usize,
        padding: PaddingSpec,
        activation: Activation,
    ) -> Self {
        LayerSpec::Conv2d {
            filters,
            kernel,
            stride: 1,
            padding,
            dilation: 1,
            activation,
        }
    }

    /// Batch normalization with Keras's defaults (momentum 0.99, epsilon 1e-3).
    pub fn batch_norm() -> Self {
        LayerSpec::BatchNorm {
            momentum: bn_momentum(),
            epsilon: bn_epsilon(),
        }
    }

    /// Max pooling with stride = pool and no padding (Keras's defaults).
    pub fn max_pool(pool: usize) -> Self {
        LayerSpec::MaxPool {
            pool,
            stride: pool,
            padding: PaddingSpec::Valid,
        }
    }
}

/// A whole sequential model: the input shape and the layers in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    pub input: InputShape,
    pub layers: Vec<LayerSpec>,
}

impl ModelSpec {
    /// The chapter's smile detector for 64x64 RGB images:
    /// Conv2D(16, 5x5, same, relu) -> BatchNorm -> MaxPool 2x2 -> Dropout 0.1 ->
    /// Conv2D(32, 5x5, same, relu) -> BatchNorm -> MaxPool 2x2 -> Dropout 0.1 ->
    /// Flatten -> Dense 128 relu -> Dense 1 sigmoid.
    pub fn chapter() -> Self {
        Self::chapter_with_channels(3)
    }

    /// The chapter's model for grayscale (64x64x1) images.
    pub fn chapter_grayscale() -> Self {
        Self::chapter_with_channels(1)
    }

    /// The chapter's model for 64x64 images of `channels` channels.
    pub fn chapter_with_channels(channels: usize) -> Self {
        use Activation::*;
        let block = |filters| {
            [
                LayerSpec::conv2d(filters, 5, PaddingSpec::Same, Relu),
                LayerSpec::batch_norm(),
                LayerSpec::max_pool(2),
                LayerSpec::Dropout { rate: 0.1 },
            ]
        };
        let mut layers: Vec<LayerSpec> = block(16).into_iter().chain(block(32)).collect();
        layers.extend([
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 128,
                activation: Relu,
            },
            LayerSpec::Dense {
                units: 1,
                activation: Sigmoid,
            },
        ]);
        Self {
            input: InputShape {
                height: 64,
                width: 64,
                channels,
            },
            layers,
        }
    }

    /// The same model with every dropout rate replaced by `rate` (0 turns dropout off, as the
    /// whole-model fixture does so that its numbers do not depend on random masks).
    pub fn with_dropout(mut self, rate: f32) -> Self {
        for layer in &mut self.layers {
            if let LayerSpec::Dropout { rate: r } = layer {
                *r = rate;
            }
        }
        self
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a model spec always serializes")
    }

    /// Parses a spec from JSON; the error says what is wrong in it. (Run [`ModelSpec::plan`]
    /// to check that the layers fit together.)
    pub fn from_json(text: &str) -> crate::Result<Self> {
        serde_json::from_str(text)
            .map_err(|e| crate::invalid!("the model description is not valid: {e}"))
    }
}
