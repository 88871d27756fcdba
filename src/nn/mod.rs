//! Layers, the Sequential model, its summary, training with early stopping, metrics and model
//! files. Calls only [`crate::kernels`].

pub mod layer;
pub mod layers;
pub mod model;
pub mod plan;
pub mod spec;

pub use layer::Layer;
pub use layers::{Mode, Storage, TensorInfo};
pub use model::{Sequential, Weights};
pub use plan::{LayerPlan, ModelPlan, OutputKind, Shape};
pub use spec::{Activation, InputShape, LayerSpec, ModelSpec, PaddingSpec};
