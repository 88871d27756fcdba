//! Keras 3 files in (and weights out): a model a teacher trained in the chapter's notebook
//! opens in convscope, and a model trained here goes back to Keras.
//!
//! Two kinds of file come in:
//! - a `.keras` file (a zip of `config.json`, `metadata.json` and `model.weights.h5`): its
//!   config decides the model ([`config`]: Sequential, or a Functional chain, of the layer types
//!   convscope has), then every weight is checked and copied;
//! - a bare `.weights.h5`: it holds no architecture, so it loads into a model description given
//!   with it, by default the chapter's (with the channels and the output head its shapes say),
//!   every layer's name and shape checked ([`weights::bindings_for_spec`]).
//!
//! [`config`] and [`weights`] are plain Rust over any reader of the HDF5 file (they compile for
//! the page too); [`h5`] reads it natively with `hdf5-pure`, [`load`] opens the zip and puts the
//! steps together, [`export`] writes a `.weights.h5` or a `.keras` file Keras loads. Every problem is a
//! [`crate::Error::BadInput`] message naming the layer, never a panic.

/// An [`crate::Error::BadInput`] with a formatted message: the file is at fault.
macro_rules! bad {
    ($($arg:tt)*) => { $crate::error::Error::BadInput(format!($($arg)*)) };
}

pub mod config;
#[cfg(not(target_arch = "wasm32"))]
pub mod export;
#[cfg(not(target_arch = "wasm32"))]
pub mod h5;
#[cfg(not(target_arch = "wasm32"))]
pub mod load;
pub mod weights;

#[cfg(not(target_arch = "wasm32"))]
pub use export::{keras_file, keras_weights};
#[cfg(not(target_arch = "wasm32"))]
pub use load::{model_file_from_keras, read_keras, ImportedKeras, KerasImport, KerasKind};
