//! The page's use cases in plain Rust: what the explorer, the training page and "Look inside"
//! do, over [`crate::nn`], [`crate::explain`] and [`crate::data`]. No wasm-bindgen here:
//! [`crate::web`] wraps these in handles for the page, the command line and native tests call
//! them directly.
//!
//! - [`presets`], [`filters`], [`upload`]: the explorer's inputs and kernels.
//! - [`explorer`]: convolution and pooling cell by cell, and what is wrong with a setting.
//! - [`backward`]: the same run backwards, a training step in slow motion, a gradient check.
//! - [`datasets`]: how loaded images become a training and a test set (page and command line).
//! - [`session`]: the training page's data, model and training run.
//! - [`cross_dataset`]: a model tested on a dataset it never saw, with and without augmentation.
//! - [`inside`]: explanations and the shortcut lab on a session.
//! - [`imagenet`]: the pretrained ImageNet network's predictions and explanations.
//! - [`scoreboard`]: every explanation method scored by the same faithfulness measures.
//! - [`compare`]: the methods side by side on one picture, the scoreboard on the session.
//! - [`transfer`]: transfer learning, a new head on the frozen network's features.
//! - [`export`]: a model file as an ONNX model.
//! - [`bench`]: the benchmark's workload.

pub mod backward;
pub mod bench;
pub mod compare;
pub mod cross_dataset;
pub mod datasets;
pub mod explorer;
pub mod export;
pub mod filters;
pub mod imagenet;
pub mod inside;
pub mod presets;
pub mod scoreboard;
pub mod session;
pub mod transfer;
pub mod upload;
