//! The in-memory dataset: NHWC `f32` images in [0, 1], one class index per image, and the
//! operations training needs (subset, stratified split, grayscale, seeded mini-batches).

use rand::seq::SliceRandom;

use crate::rng::{rng_from_seed, Rng};
use crate::{invalid, Result};

use crate::limits::MAX_DATASET_VALUES;
pub use crate::limits::MAX_IMAGES;

/// Where the mouth is in a synthetic image, in pixels: `x0 <= x < x1`, `y0 <= y < y1`.
/// Explanation methods are checked against it (does the saliency fall on the mouth?).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MouthBox {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

/// Images with class labels, stored as one flat NHWC buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    images: Vec<f32>, // (N, H, W, C), values in [0, 1]
    labels: Vec<u8>,  // (N,), class index into `class_names`
    height: usize,
    width: usize,
    channels: usize,
    class_names: Vec<String>,
    mouth_boxes: Option<Vec<MouthBox>>, // (N,) when known (synthetic data)
}

/// OpenCV's fixed-point luma, `(4899 R + 9617 G + 1868 B + 8192) >> 14`: the formula the
/// grayscale Happy House training images were made with, so converting the RGB test
/// file with it gives test images that match the training images exactly.
pub fn gray_from_rgb_u8(r: u8, g: u8, b: u8) -> u8 {
    ((4899 * r as u32 + 9617 * g as u32 + 1868 * b as u32 + 8192) >> 14) as u8
}

/// The 8-bit value an intensity in [0, 1] stands for (exact for data that came from bytes).
fn to_u8(v: f32) -> u8 {
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

impl Dataset {
    /// Checks that the buffers agree with the shape and that every label names a class.
    pub fn new(
        images: Vec<f32>,
        labels: Vec<u8>,
        height: usize,
        width: usize,
        channels: usize,
        class_names: Vec<String>,
    ) -> Result<Self> {
        if height == 0 || width == 0 || !(channels == 1 || channels == 3) {
            return Err(invalid!(
                "images must be at least 1x1 with 1 (gray) or 3 (RGB) channels, got {height}x{width}x{channels}"
            ));
        }
        let image_len = height * width * channels;
        // Loaders refuse oversized data from its header; this catches any other way in.
        if images.len() > MAX_DATASET_VALUES {
            return Err(invalid!(
                "the images hold {} values, more than the {MAX_DATASET_VALUES} this page can hold ({} images of 64x64x3)",
                images.len(),
                crate::limits::MAX_IMAGES
            ));
        }
        if images.len() != labels.len() * image_len {
            return Err(invalid!(
                "{} labels need {} pixel values ({}x{}x{} each), got {}",
                labels.len(),
                labels.len() * image_len,
                height,
                width,
                channels,
                images.len()
            ));
        }
        if class_names.len() < 2 || class_names.len() > 256 {
            return Err(invalid!(
                "a dataset needs 2 to 256 classes, got {}",
                class_names.len()
            ));
        }
        if let Some(bad) = labels.iter().find(|&&l| l as usize >= class_names.len()) {
            return Err(invalid!(
                "label {bad} does not name a class (there are {} classes)",
                class_names.len()
            ));
        }
        Ok(Dataset {
            images,
            labels,
            height,
            width,
            channels,
            class_names,
            mouth_boxes: None,
        })
    }

    /// Attaches one mouth box per image.
    pub fn with_mouth_boxes(mut self, boxes: Vec<MouthBox>) -> Result<Self> {
        if boxes.len() != self.len() {
            return Err(invalid!(
                "{} mouth boxes for {} images",
                boxes.len(),
                self.len()
            ));
        }
        if let Some(b) = boxes
            .iter()
            .find(|b| b.x0 >= b.x1 || b.y0 >= b.y1 || b.x1 > self.width || b.y1 > self.height)
        {
            return Err(invalid!(
                "mouth box {b:?} is empty or outside the {}x{} image",
                self.height,
                self.width
            ));
        }
        self.mouth_boxes = Some(boxes);
        Ok(self)
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }
    pub fn height(&self) -> usize {
        self.height
    }
    pub fn width(&self) -> usize {
        self.width
    }
    pub fn channels(&self) -> usize {
        self.channels
    }
    /// Values per image, `H * W * C`.
    pub fn image_len(&self) -> usize {
        self.height * self.width * self.channels
    }
    /// All images, `(N, H, W, C)`.
    pub fn images(&self) -> &[f32] {
        &self.images
    }
    /// Image `i`, `(H, W, C)`.
    pub fn image(&self, i: usize) -> &[f32] {
        let n = self.image_len();
        &self.images[i * n..(i + 1) * n]
    }
    /// Class index per image, `(N,)`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }
    pub fn mouth_boxes(&self) -> Option<&[MouthBox]> {
        self.mouth_boxes.as_deref()
    }
    /// How many images each class has, indexed by class.
    pub fn class_counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.class_names.len()];
        for &l in &self.labels {
            counts[l as usize] += 1;
        }
        counts
    }

    /// The images at `indices`, in that order (indices may repeat).
    pub fn subset(&self, indices: &[usize]) -> Dataset {
        let n = self.image_len();
        let mut images = Vec::with_capacity(indices.len() * n);
        for &i in indices {
            assert!(
                i < self.len(),
                "subset index {i} out of range for {} images",
                self.len()
            );
            images.extend_from_slice(self.image(i));
        }
        Dataset {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            height: self.height,
            width: self.width,
            channels: self.channels,
            class_names: self.class_names.clone(),
            mouth_boxes: self
                .mouth_boxes
                .as_ref()
                .map(|b| indices.iter().map(|&i| b[i]).collect()),
        }
    }

    /// Splits into (train, test) keeping each class's share: in every class, a seeded
    /// shuffle picks `round(count * test_fraction)` images for the test set. Both parts
    /// keep the original order.
    pub fn stratified_split(&self, test_fraction: f32, seed: u64) -> Result<(Dataset, Dataset)> {
        if !(test_fraction > 0.0 && test_fraction < 1.0) {
            return Err(invalid!(
                "the test fraction must be between 0 and 1 (exclusive), got {test_fraction}"
            ));
        }
        let mut rng = rng_from_seed(seed);
        let mut in_test = vec![false; self.len()];
        for class in 0..self.class_names.len() {
            let mut members: Vec<usize> = (0..self.len())
                .filter(|&i| self.labels[i] as usize == class)
                .collect();
            members.shuffle(&mut rng);
            let n_test = (members.len() as f32 * test_fraction).round() as usize;
            for &i in &members[..n_test] {
                in_test[i] = true;
            }
        }
        let test: Vec<usize> = (0..self.len()).filter(|&i| in_test[i]).collect();
        let train: Vec<usize> = (0..self.len()).filter(|&i| !in_test[i]).collect();
        if test.is_empty() || train.is_empty() {
            return Err(invalid!(
                "a test fraction of {test_fraction} of {} images leaves {} for training and {} for testing; both need at least one",
                self.len(),
                train.len(),
                test.len()
            ));
        }
        Ok((self.subset(&train), self.subset(&test)))
    }

    /// One-channel copy made with [`gray_from_rgb_u8`] on the 8-bit values (a gray
    /// dataset is returned as is).
    pub fn to_grayscale(&self) -> Dataset {
        if self.channels == 1 {
            return self.clone();
        }
        let images = self
            .images
            .chunks_exact(3)
            .map(|p| gray_from_rgb_u8(to_u8(p[0]), to_u8(p[1]), to_u8(p[2])) as f32 / 255.0)
            .collect();
        Dataset {
            images,
            labels: self.labels.clone(),
            height: self.height,
            width: self.width,
            channels: 1,
            class_names: self.class_names.clone(),
            mouth_boxes: self.mouth_boxes.clone(),
        }
    }
}

/// Mini-batches over a dataset in a seeded order. The order is reshuffled per epoch by
/// the caller; [`Batches::fill`] copies one batch into caller-owned buffers, so a
/// training loop allocates nothing per batch.
#[derive(Clone, Debug)]
pub struct Batches {
    order: Vec<usize>, // (N,), a permutation of 0..N
    batch_size: usize,
}

impl Batches {
    /// Batches in the dataset's own order until [`Batches::shuffle`] is called.
    pub fn new(len: usize, batch_size: usize) -> Self {
        assert!(batch_size > 0, "batch size must be positive");
        Batches {
            order: (0..len).collect(),
            batch_size,
        }
    }

    /// A new random order (call once per epoch with the training run's generator).
    pub fn shuffle(&mut self, rng: &mut Rng) {
        self.order.shuffle(rng);
    }

    /// Number of batches; the last one may be smaller.
    pub fn len(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Dataset indices of batch `b`.
    pub fn indices(&self, b: usize) -> &[usize] {
        let start = b * self.batch_size;
        &self.order[start..(start + self.batch_size).min(self.order.len())]
    }

    /// Copies batch `b` into `x` `(B, H, W, C)` and `labels` `(B,)` and returns its size
    /// (the buffers may be longer, for a smaller last batch).
    pub fn fill(&self, b: usize, data: &Dataset, x: &mut [f32], labels: &mut [u8]) -> usize {
        let idx = self.indices(b);
        let n = data.image_len();
        assert!(
            x.len() >= idx.len() * n && labels.len() >= idx.len(),
            "batch buffers too small"
        );
        for (k, &i) in idx.iter().enumerate() {
            x[k * n..(k + 1) * n].copy_from_slice(data.image(i));
            labels[k] = data.labels[i];
        }
        idx.len()
    }
}
