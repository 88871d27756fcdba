//! Datasets: the in-memory [`Dataset`] every model trains on, and the ways to get one.
//!
//! - [`synthetic`]: the built-in seeded generator of smiling and frowning cartoon faces.
//! - [`happy`]: the Happy House arrays of the textbook chapter and their checks; [`h5`] reads
//!   them from `.h5` files natively (the page reads `.h5` files in JavaScript);
//!   [`happy_faces`]: where the face and mouth are in its 150 test photos.
//! - [`npy`]: NumPy `.npy` arrays (the grayscale Happy House training set in `../shared`).
//! - [`folder`]: a folder (or zip) of images, one subfolder per class, as Keras reads it;
//!   [`picture`]: the PNG and JPEG files in it (header checks, native decoding).
//! - [`augment`]: random flips, rotations, shifts, zoom, brightness, contrast and elastic
//!   warps of training batches.
//! - [`pixel`]: the one rule for 8-bit values, intensities, gray and RGBA.
//!
//! Loaders take bytes, not paths, because in the browser a dropped file is bytes;
//! native helpers that read a path sit beside them.

/// An [`crate::Error::BadInput`] with a formatted message: the user's file is at fault.
macro_rules! bad_input {
    ($($arg:tt)*) => { $crate::error::Error::BadInput(format!($($arg)*)) };
}

pub mod augment;
mod dataset;
mod draw;
mod face;
pub mod folder;
#[cfg(not(target_arch = "wasm32"))]
pub mod h5;
pub mod happy;
pub mod happy_faces;
pub mod npy;
pub mod picture;
pub mod pixel;
pub mod synthetic;

pub use dataset::{Batches, Dataset, Landmarks, PixelBox, MAX_IMAGES};
pub use pixel::gray_from_rgb_u8;
