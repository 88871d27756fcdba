//! A borrowed view of labelled images, the input of training and evaluation: images
//! (N, H, W, C) as f32 and one class index per image. `nn` does not depend on how the data
//! was made (the `data` module, a page upload, a test): anything that has these two slices will do.

use crate::{invalid, Result};

#[derive(Debug, Clone, Copy)]
pub struct Examples<'a> {
    images: &'a [f32],
    labels: &'a [u8],
    image_len: usize,
}

impl<'a> Examples<'a> {
    /// images (N, H, W, C) with `image_len` = H * W * C values each; labels (N) class indices.
    pub fn new(images: &'a [f32], labels: &'a [u8], image_len: usize) -> Result<Self> {
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

    pub fn images(&self) -> &'a [f32] {
        self.images
    }

    pub fn labels(&self) -> &'a [u8] {
        self.labels
    }

    pub fn image(&self, i: usize) -> &'a [f32] {
        &self.images[i * self.image_len..(i + 1) * self.image_len]
    }

    /// Examples `start..end`, without copying.
    pub fn range(&self, start: usize, end: usize) -> Examples<'a> {
        Examples {
            images: &self.images[start * self.image_len..end * self.image_len],
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
