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

impl InputShape {
    /// The one shape-fit check, in words: a model of this input against images of
    /// `(height, width, channels)`; `theirs` names them ("the loaded ones are").
    pub fn check_images(
        &self,
        (height, width, channels): (usize, usize, usize),
        theirs: &str,
    ) -> crate::Result<()> {
        if (self.height, self.width, self.channels) != (height, width, channels) {
            return Err(crate::invalid!(
                "the model takes {}x{}x{} images, but {theirs} {height}x{width}x{channels}",
                self.height,
                self.width,
                self.channels
            ));
        }
        Ok(())
    }
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
        /// f64 as in Keras: the moving average's 1 - momentum is formed before rounding.
        #[serde(default = "bn_momentum")]
        momentum: f64,
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
fn bn_momentum() -> f64 {
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

    /// The chapter's model for 64x64 images of `channels` channels and two classes.
    pub fn chapter_with_channels(channels: usize) -> Self {
        Self::chapter_for(channels, 2)
    }

    /// The chapter's layers for 64x64 images of `channels` channels, with the output head
    /// that `classes` classes need (see [`output_head`]).
    pub fn chapter_for(channels: usize, classes: usize) -> Self {
        let input = InputShape {
            height: 64,
            width: 64,
            channels,
        };
        Layout::chapter().spec(input, classes)
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

/// The output layer for `classes` classes: one sigmoid unit for two (as the chapter's smile
/// detector: the probability of class 1), a softmax over the classes otherwise.
pub fn output_head(classes: usize) -> LayerSpec {
    if classes <= 2 {
        LayerSpec::Dense {
            units: 1,
            activation: Activation::Sigmoid,
        }
    } else {
        LayerSpec::Dense {
            units: classes,
            activation: Activation::Softmax,
        }
    }
}

/// The pooling that ends a conv block of the model editor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BlockPool {
    /// Max pooling, 2x2, stride 2.
    Max,
    /// Average pooling, 2x2, stride 2.
    Average,
    None,
}

/// One block of the model editor: a `same` ReLU convolution, then optionally batch norm,
/// 2x2 pooling and dropout (the chapter's block is 16 or 32 filters of 5x5, all three).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConvBlock {
    pub filters: usize,
    pub kernel: usize,
    pub batch_norm: bool,
    pub pool: BlockPool,
    /// 0: no dropout layer.
    pub dropout: f32,
}

/// The model editor's layout: conv blocks, flatten, an optional hidden dense ReLU layer
/// (`dense` units; 0 leaves it out) and the output head the classes need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Layout {
    pub blocks: Vec<ConvBlock>,
    pub dense: usize,
}

impl Layout {
    /// The chapter's smile detector: two blocks (16 and 32 filters of 5x5, batch norm, max
    /// pooling, dropout 0.1) and 128 hidden units.
    pub fn chapter() -> Self {
        let block = |filters| ConvBlock {
            filters,
            kernel: 5,
            batch_norm: true,
            pool: BlockPool::Max,
            dropout: 0.1,
        };
        Self {
            blocks: vec![block(16), block(32)],
            dense: 128,
        }
    }

    /// The model of this layout for `input` images and `classes` classes. (Whether its layers
    /// fit together is [`ModelSpec::plan`]'s word.)
    pub fn spec(&self, input: InputShape, classes: usize) -> ModelSpec {
        let mut layers = Vec::new();
        for b in &self.blocks {
            layers.push(LayerSpec::conv2d(
                b.filters,
                b.kernel,
                PaddingSpec::Same,
                Activation::Relu,
            ));
            if b.batch_norm {
                layers.push(LayerSpec::batch_norm());
            }
            match b.pool {
                BlockPool::Max => layers.push(LayerSpec::max_pool(2)),
                BlockPool::Average => layers.push(LayerSpec::AvgPool {
                    pool: 2,
                    stride: 2,
                    padding: PaddingSpec::Valid,
                }),
                BlockPool::None => {}
            }
            if b.dropout > 0.0 {
                layers.push(LayerSpec::Dropout { rate: b.dropout });
            }
        }
        layers.push(LayerSpec::Flatten);
        if self.dense > 0 {
            layers.push(LayerSpec::Dense {
                units: self.dense,
                activation: Activation::Relu,
            });
        }
        layers.push(output_head(classes));
        ModelSpec { input, layers }
    }

    /// The layout of `spec`, or `None` when the spec has another shape (a model made elsewhere).
    pub fn of_spec(spec: &ModelSpec) -> Option<Self> {
        let mut layers = spec.layers.iter().peekable();
        let mut blocks = Vec::new();
        while let Some(LayerSpec::Conv2d {
            filters,
            kernel,
            stride: 1,
            padding: PaddingSpec::Same,
            dilation: 1,
            activation: Activation::Relu,
        }) = layers.peek()
        {
            let (filters, kernel) = (*filters, *kernel);
            layers.next();
            let batch_norm = layers
                .next_if(|l| matches!(l, LayerSpec::BatchNorm { .. }))
                .is_some();
            let pool = match layers.peek() {
                Some(LayerSpec::MaxPool {
                    pool: 2,
                    stride: 2,
                    padding: PaddingSpec::Valid,
                }) => BlockPool::Max,
                Some(LayerSpec::AvgPool {
                    pool: 2,
                    stride: 2,
                    padding: PaddingSpec::Valid,
                }) => BlockPool::Average,
                Some(LayerSpec::MaxPool { .. } | LayerSpec::AvgPool { .. }) => return None,
                _ => BlockPool::None,
            };
            if pool != BlockPool::None {
                layers.next();
            }
            let dropout = match layers.next_if(|l| matches!(l, LayerSpec::Dropout { .. })) {
                Some(LayerSpec::Dropout { rate }) => *rate,
                _ => 0.0,
            };
            blocks.push(ConvBlock {
                filters,
                kernel,
                batch_norm,
                pool,
                dropout,
            });
        }
        layers.next_if(|l| matches!(l, LayerSpec::Flatten))?;
        let rest: Vec<&LayerSpec> = layers.collect();
        let dense = match rest.as_slice() {
            [LayerSpec::Dense { .. }] => 0,
            [LayerSpec::Dense {
                units,
                activation: Activation::Relu,
            }, LayerSpec::Dense { .. }] => *units,
            _ => return None,
        };
        Some(Self { blocks, dense })
    }
}
