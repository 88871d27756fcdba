//! Numeric kernels on flat slices. Activations are NHWC `f32`, conv weights HWIO.
//!
//! Every fast kernel keeps a plain scalar reference beside it, and tests check the
//! fast one against the reference on odd sizes.

pub mod activation;
pub mod batchnorm;
pub mod conv;
pub mod dense;
pub mod depthwise;
pub mod dropout;
pub mod elementwise;
pub mod gemm;
pub mod geometry;
mod implicit;
pub mod init;
pub mod loss;
pub mod optim;
pub mod peak;
pub mod pool;
pub mod scratch;
