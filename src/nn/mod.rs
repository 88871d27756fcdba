//! Layers, the Sequential model, its summary, training with early stopping, metrics and model
//! files, and their converters from and to ONNX ([`onnx`]) and Keras 3 ([`keras`]); graph models (the pretrained ImageNet network, inference); and logistic regression on
//! raw pixels, the baseline that measures how hard a dataset is for a model that cannot look
//! for local patterns. Calls only [`crate::kernels`].

pub mod clock;
pub mod early_stopping;
pub mod examples;
pub mod fit;
pub mod graph;
pub mod io;
pub mod keras;
pub mod layer;
pub mod layers;
pub mod logistic;
pub mod metrics;
pub mod model;
pub mod onnx;
pub mod optimizer;
pub mod plan;
pub mod spec;
pub mod summary;

pub use early_stopping::{EarlyStopping, Monitor};
pub use examples::Examples;
pub use fit::{
    fit, fit_timed, fit_transformed, BatchProgress, BatchTransform, Control, EpochLog, FitConfig,
    History, Observer, Silent, Step, StopReason, Trainer,
};
pub use layer::Layer;
pub use layers::{Mode, Storage, TensorInfo};
pub use metrics::{evaluate, predict, predict_examples, Evaluation};
pub use model::{Sequential, Weights};
pub use optimizer::{Optimizer, OptimizerSpec};
pub use plan::{LayerPlan, ModelPlan, OutputKind, Shape};
pub use spec::{
    output_head, Activation, BlockPool, ConvBlock, InputShape, LayerSpec, Layout, ModelSpec,
    PaddingSpec,
};
pub use summary::{Summary, SummaryRow};
