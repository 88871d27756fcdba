//! Datasets: the in-memory [`Dataset`] every model trains on, and the ways to get one.
//!
//! - [`synthetic`]: the built-in seeded generator of smiling and frowning cartoon faces.
//! - [`h5`]: the Happy House `.h5` files of the textbook chapter (pure Rust, works in wasm).
//! - [`npy`]: NumPy `.npy` arrays (the grayscale Happy House training set in `../shared`).
//! - [`folder`]: a folder (or zip) of images, one subfolder per class, as Keras reads it.
//!
//! Loaders take bytes, not paths, because in the browser a dropped file is bytes;
//! native helpers that read a path sit beside them.

/// An [`crate::Error::BadInput`] with a formatted message: the user's file is at fault.
macro_rules! bad_input {
    ($($arg:tt)*) => { $crate::error::Error::BadInput(format!($($arg)*)) };
}

mod dataset;
mod draw;
mod face;
pub mod folder;
pub mod h5;
pub mod npy;
pub mod synthetic;

pub use dataset::{gray_from_rgb_u8, Batches, Dataset, MouthBox, MAX_IMAGES};
