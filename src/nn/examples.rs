//! A borrowed view of labelled images, the input of training and evaluation: images
//! (N, H, W, C) as f32, or as 8-bit values standing for `v / 255` (a photo folder kept at a
//! quarter of the memory), and one class index per image. `nn` does not depend on how the data
//! was made (the `data` module, a page upload, a test): anything that has these slices will do.

use std::borrow::Cow;

use crate::{invalid, Result};

/// The pixel values of a set of images.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    Floats(&'a [f32]),
    /// 8-bit intensities; value `v` is the float `v as f32 / 255.0` (the same division every
    /// loader used when it kept floats, so results do not depend on the storage).
    Bytes(&'a [u8]),
}

impl<'a> Values<'a> {
    pub fn len(&self) -> usize {
        match self {
            Values::Floats(v) => v.len(),
            Values::Bytes(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Values `start..end`.
    pub fn slice(&self, start: usize, end: usize) -> Values<'a> {
        match self {
            Values::Floats(v) => Values::Floats(&v[start..end]),
            Values::Bytes(v) => Values::Bytes(&v[start..end]),
        }
    }

    /// Writes the values as floats into `out` (of the same length).
    pub fn copy_to(&self, out: &mut [f32]) {
        match self {
            Values::Floats(v) => out.copy_from_slice(v),
            Values::Bytes(v) => {
                for (o, &b) in out.iter_mut().zip(v.iter()) {
                    *o = byte_value(b);
                }
            }
        }
    }

    /// The values as floats: borrowed when they are floats already.
    pub fn to_floats(&self) -> Cow<'a, [f32]> {
        match self {
            Values::Floats(v) => Cow::Borrowed(v),
            Values::Bytes(v) => Cow::Owned(v.iter().map(|&b| byte_value(b)).collect()),
        }
    }
}

/// The float an 8-bit intensity stands for.
pub fn byte_value(b: u8) -> f32 {
    b as f32 / 255.0
}

#[derive(Debug, Clone, Copy)]
pub struct Examples<'a> {
    images: Values<'a>,
    labels: &'a [u8],
    image_len: usize,
}

impl<'a> Examples<'a> {
    /// images (N, H, W, C) with `image_len` = H * W * C values each; labels (N) class indices.
    pub fn new(images: &'a [f32], labels: &'a [u8], image_len: usize) -> Result<Self> {
        Self::from_values(Values::Floats(images), labels, image_len)
    }

    /// Images as 8-bit values (see [`Values::Bytes`]).
    pub fn from_bytes(images: &'a [u8], labels: &'a [u8], image_len: usize) -> Result<Self> {
        Self::from_values(Values::Bytes(images), labels, image_len)
    }

    pub fn from_values(images: Values<'a>, labels: &'a [u8], image_len: usize) -> Result<Self> {
        if image_len == 0 {
            return Err(invalid!("an image must have at least one value"));
        }
        if images.len() != labels.len() * image_len {
            return Err(invalid!(
                "there are {} labels but {} image values, which is not {} images of {} values",
                labels.len(),
                images.len(),
                labels.len(),
                image_len
            ));
        }
        Ok(Self {
            images,
            labels,
            image_len,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    pub fn image_len(&self) -> usize {
        self.image_len
    }

    pub fn values(&self) -> Values<'a> {
        self.images
    }

    /// All images as floats (borrowed when stored as floats).
    pub fn images(&self) -> Cow<'a, [f32]> {
        self.images.to_floats()
    }

    pub fn labels(&self) -> &'a [u8] {
        self.labels
    }

    /// Image `i` as floats (borrowed when stored as floats).
    pub fn image(&self, i: usize) -> Cow<'a, [f32]> {
        self.image_values(i).to_floats()
    }

    pub fn image_values(&self, i: usize) -> Values<'a> {
        self.images
            .slice(i * self.image_len, (i + 1) * self.image_len)
    }

    /// Examples `start..end`, without copying.
    pub fn range(&self, start: usize, end: usize) -> Examples<'a> {
        Examples {
            images: self
                .images
                .slice(start * self.image_len, end * self.image_len),
            labels: &self.labels[start..end],
            image_len: self.image_len,
        }
    }

    /// Keras's `validation_split`: the last `fraction` of the examples (taken before any
    /// shuffling) becomes the validation set. Returns (train, validation).
    pub fn split_validation(&self, fraction: f32) -> Result<(Examples<'a>, Examples<'a>)> {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(invalid!("the validation split is a fraction of the training images: it must be above 0 and below 1 (got {fraction})"));
        }
        let train = (self.len() as f64 * (1.0 - fraction as f64)).floor() as usize;
        if train == 0 || train == self.len() {
            return Err(invalid!(
                "a validation split of {fraction} of {} images leaves {} for training and {} for validation; both need at least one",
                self.len(),
                train,
                self.len() - train
            ));
        }
        Ok((self.range(0, train), self.range(train, self.len())))
    }

    /// Checks that the images fit a model input of `image_len` values and every label is one of
    /// `classes` classes; `what` names the set in the message ("the training images").
    pub fn check_for(&self, image_len: usize, classes: usize, what: &str) -> Result<()> {
        if self.is_empty() {
            return Err(invalid!("{what} are empty"));
        }
        if self.image_len != image_len {
            return Err(invalid!(
                "{what} have {} values per image, but the model expects {image_len}",
                self.image_len
            ));
        }
        if let Some((i, &y)) = self
            .labels
            .iter()
            .enumerate()
            .find(|(_, &y)| y as usize >= classes)
        {
            return Err(invalid!("{what}: image {i} has label {y}, but the model tells apart {classes} classes (labels 0 to {})", classes - 1));
        }
        Ok(())
    }
}
