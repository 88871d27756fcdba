//! The in-memory dataset: NHWC images in [0, 1], one class index per image, and the
//! operations training needs (subset, stratified split and order, grayscale, seeded
//! mini-batches). Pictures that came from 8-bit files stay 8-bit (a quarter of the memory of
//! `f32`: 13,000 photos at 64x64x3 are 160 MB, not 640); computed images (the synthetic
//! faces) are floats.

use std::borrow::Cow;

use rand::seq::SliceRandom;

use crate::nn::examples::{byte_value, Examples, Values};

use crate::rng::{rng_from_seed, Rng};
use crate::{invalid, Result};

use super::pixel::{gray_from_rgb_u8, to_byte};
use crate::limits::MAX_DATASET_VALUES;
pub use crate::limits::MAX_IMAGES;

/// A box of pixels in one image: `x0 <= x < x1`, `y0 <= y < y1`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PixelBox {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl PixelBox {
    fn fits(&self, height: usize, width: usize) -> bool {
        self.x0 < self.x1 && self.y0 < self.y1 && self.x1 <= width && self.y1 <= height
    }
}

/// Where the face and its mouth are in one picture. Explanation methods are checked against
/// them (does the evidence fall on the mouth, on the face or on the background?). The
/// synthetic generator knows them from its geometry; for the Happy House test photos they
/// were marked once ([`super::happy_faces`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Landmarks {
    pub face: PixelBox,
    pub mouth: PixelBox,
}

/// Pixel values, (N, H, W, C).
#[derive(Clone, Debug, PartialEq)]
enum Pixels {
    Floats(Vec<f32>), // values in [0, 1]
    Bytes(Vec<u8>),   // value v stands for v / 255
}

impl Pixels {
    fn len(&self) -> usize {
        self.values().len()
    }
    fn values(&self) -> Values<'_> {
        match self {
            Pixels::Floats(v) => Values::Floats(v),
            Pixels::Bytes(v) => Values::Bytes(v),
        }
    }
}

/// Images with class labels, stored as one flat NHWC buffer.
#[derive(Clone, Debug, PartialEq)]
pub struct Dataset {
    images: Pixels,  // (N, H, W, C)
    labels: Vec<u8>, // (N,), class index into `class_names`
    height: usize,
    width: usize,
    channels: usize,
    class_names: Vec<String>,
    landmarks: Option<Vec<Landmarks>>, // (N,) when known
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
        Self::with_pixels(
            Pixels::Floats(images),
            labels,
            height,
            width,
            channels,
            class_names,
        )
    }

    /// As [`Dataset::new`], with 8-bit values (`v` stands for `v / 255`).
    pub fn from_bytes(
        images: Vec<u8>,
        labels: Vec<u8>,
        height: usize,
        width: usize,
        channels: usize,
        class_names: Vec<String>,
    ) -> Result<Self> {
        Self::with_pixels(
            Pixels::Bytes(images),
            labels,
            height,
            width,
            channels,
            class_names,
        )
    }

    fn with_pixels(
        images: Pixels,
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
            landmarks: None,
        })
    }

    /// Attaches each image's face and mouth boxes.
    pub fn with_landmarks(mut self, landmarks: Vec<Landmarks>) -> Result<Self> {
        if landmarks.len() != self.len() {
            return Err(invalid!(
                "{} face and mouth boxes for {} images",
                landmarks.len(),
                self.len()
            ));
        }
        let fits = |b: &PixelBox| b.fits(self.height, self.width);
        if let Some(l) = landmarks.iter().find(|l| !fits(&l.face) || !fits(&l.mouth)) {
            return Err(invalid!(
                "the boxes {l:?} are empty or outside the {}x{} image",
                self.height,
                self.width
            ));
        }
        self.landmarks = Some(landmarks);
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
    /// All images as floats, `(N, H, W, C)` (a copy when they are stored as bytes: prefer
    /// [`Dataset::examples`] for large sets).
    pub fn images(&self) -> Cow<'_, [f32]> {
        self.images.values().to_floats()
    }
    /// Whether the pixels are kept as 8-bit values.
    pub fn is_bytes(&self) -> bool {
        matches!(self.images, Pixels::Bytes(_))
    }
    /// Image `i` as floats, `(H, W, C)`.
    pub fn image(&self, i: usize) -> Cow<'_, [f32]> {
        self.image_values(i).to_floats()
    }
    /// Image `i` as stored, `(H, W, C)`.
    pub fn image_values(&self, i: usize) -> Values<'_> {
        let n = self.image_len();
        self.images.values().slice(i * n, (i + 1) * n)
    }
    /// Images and labels as the model's training and evaluation take them (no copy).
    pub fn examples(&self) -> Examples<'_> {
        Examples::from_values(self.images.values(), &self.labels, self.image_len())
            .expect("a dataset's buffers agree with its shape")
    }
    /// Class index per image, `(N,)`.
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }
    pub fn class_names(&self) -> &[String] {
        &self.class_names
    }
    /// Each image's face and mouth boxes, when known.
    pub fn landmarks(&self) -> Option<&[Landmarks]> {
        self.landmarks.as_deref()
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
        let check = |&i: &usize| {
            assert!(
                i < self.len(),
                "subset index {i} out of range for {} images",
                self.len()
            );
            i
        };
        let images = match &self.images {
            Pixels::Floats(v) => Pixels::Floats(
                indices
                    .iter()
                    .map(check)
                    .flat_map(|i| &v[i * n..(i + 1) * n])
                    .copied()
                    .collect(),
            ),
            Pixels::Bytes(v) => Pixels::Bytes(
                indices
                    .iter()
                    .map(check)
                    .flat_map(|i| &v[i * n..(i + 1) * n])
                    .copied()
                    .collect(),
            ),
        };
        Dataset {
            images,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            height: self.height,
            width: self.width,
            channels: self.channels,
            class_names: self.class_names.clone(),
            landmarks: self
                .landmarks
                .as_ref()
                .map(|b| indices.iter().map(|&i| b[i]).collect()),
        }
    }

    /// Splits into (train, test) keeping each class's share: in every class, a seeded
    /// shuffle picks `round(count * test_fraction)` images for the test set. Both parts come
    /// in the [`Dataset::spread_order`] of the same seed, so that the validation set Keras's
    /// `validation_split` takes from the end of the training part holds every class in
    /// proportion too (a folder arrives sorted by class: taken as it comes, the last fifth
    /// would be one class). Consumes the set: the images are moved, not copied.
    pub fn stratified_split(self, test_fraction: f32, seed: u64) -> Result<(Dataset, Dataset)> {
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
        let mut order = spread(&train, &self.labels, &mut rng);
        order.extend(spread(&test, &self.labels, &mut rng));
        let mut all = self.permuted(&order);
        let test_part = all.split_off(train.len());
        Ok((all, test_part))
    }

    /// The same images in a seeded order that spreads every class evenly: each class's images
    /// shuffled, then interleaved in proportion. Any run of consecutive images, a tail in
    /// particular, then holds each class within one image of its share. Sources that bring
    /// their own test set put their training set in this order before training.
    pub fn spread_order(self, seed: u64) -> Dataset {
        let mut rng = rng_from_seed(seed);
        let all: Vec<usize> = (0..self.len()).collect();
        let order = spread(&all, &self.labels, &mut rng);
        self.permuted(&order)
    }

    /// The set with image `order[p]` moved to position `p`, in place (no second copy of the
    /// pixels: one image at a time is held aside while following each cycle).
    fn permuted(mut self, order: &[usize]) -> Dataset {
        let n = self.image_len();
        match &mut self.images {
            Pixels::Floats(v) => permute_in_place(v, n, order),
            Pixels::Bytes(v) => permute_in_place(v, n, order),
        }
        permute_in_place(&mut self.labels, 1, order);
        if let Some(boxes) = &mut self.landmarks {
            permute_in_place(boxes, 1, order);
        }
        self
    }

    /// Keeps images `..at` and returns the rest as a set of its own.
    fn split_off(&mut self, at: usize) -> Dataset {
        let n = self.image_len();
        let images = match &mut self.images {
            Pixels::Floats(v) => Pixels::Floats(v.split_off(at * n)),
            Pixels::Bytes(v) => Pixels::Bytes(v.split_off(at * n)),
        };
        Dataset {
            images,
            labels: self.labels.split_off(at),
            height: self.height,
            width: self.width,
            channels: self.channels,
            class_names: self.class_names.clone(),
            landmarks: self.landmarks.as_mut().map(|b| b.split_off(at)),
        }
    }

    /// Three-channel copy of a gray dataset, each pixel's gray in R, G and B (the way a gray
    /// photo is shown in colour); a colour dataset is returned as is.
    pub fn to_rgb(&self) -> Dataset {
        if self.channels == 3 {
            return self.clone();
        }
        let images = match &self.images {
            Pixels::Floats(v) => Pixels::Floats(v.iter().flat_map(|&g| [g; 3]).collect()),
            Pixels::Bytes(v) => Pixels::Bytes(v.iter().flat_map(|&g| [g; 3]).collect()),
        };
        Dataset {
            images,
            labels: self.labels.clone(),
            height: self.height,
            width: self.width,
            channels: 3,
            class_names: self.class_names.clone(),
            landmarks: self.landmarks.clone(),
        }
    }

    /// One-channel copy made with [`gray_from_rgb_u8`] on the 8-bit values (a gray
    /// dataset is returned as is).
    pub fn to_grayscale(&self) -> Dataset {
        if self.channels == 1 {
            return self.clone();
        }
        let images = match &self.images {
            Pixels::Floats(v) => Pixels::Floats(
                v.chunks_exact(3)
                    .map(|p| {
                        byte_value(gray_from_rgb_u8(
                            to_byte(p[0]),
                            to_byte(p[1]),
                            to_byte(p[2]),
                        ))
                    })
                    .collect(),
            ),
            Pixels::Bytes(v) => Pixels::Bytes(
                v.chunks_exact(3)
                    .map(|p| gray_from_rgb_u8(p[0], p[1], p[2]))
                    .collect(),
            ),
        };
        Dataset {
            images,
            labels: self.labels.clone(),
            height: self.height,
            width: self.width,
            channels: 1,
            class_names: self.class_names.clone(),
            landmarks: self.landmarks.clone(),
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
            data.image_values(i).copy_to(&mut x[k * n..(k + 1) * n]);
            labels[k] = data.labels[i];
        }
        idx.len()
    }
}

/// `members` (indices into `labels`) in a stratified, shuffled order: each class's members
/// shuffled, then dealt out by Tijdeman's solution of the "chairman assignment problem": the
/// k-th member of class c (share p_c) may go from time (k - 1 + d) / p_c on and is due by
/// (k - d) / p_c, with d = 1 / (2 (K - 1)) for K classes; at every step the released member due
/// first goes next. Every prefix, and so every tail, of L members then holds each class within
/// `1 - d` (under one) of its share `L * p_c` (tests/data_dataset.rs checks it).
fn spread(members: &[usize], labels: &[u8], rng: &mut Rng) -> Vec<usize> {
    let classes = labels.iter().map(|&l| l as usize + 1).max().unwrap_or(0);
    let queues: Vec<Vec<usize>> = (0..classes)
        .map(|class| {
            let mut of_class: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&i| labels[i] as usize == class)
                .collect();
            of_class.shuffle(rng);
            of_class
        })
        .collect();
    let total = members.len() as f64;
    let sizes: Vec<f64> = queues.iter().map(|q| q.len() as f64).collect();
    let d = 1.0 / (2.0 * (classes.max(2) - 1) as f64);
    let mut dealt = vec![0usize; classes];
    let mut order = Vec::with_capacity(members.len());
    for t in 1..=members.len() {
        let waiting = |c: &usize| dealt[*c] < queues[*c].len();
        // In units of time t: (x + d) / p = (x + d) * N / n.
        let released = |c: &usize| (dealt[*c] as f64 + d) * total <= t as f64 * sizes[*c];
        let due = |c: &usize| (dealt[*c] as f64 + 1.0 - d) * total / sizes[*c];
        let pick = (0..classes)
            .filter(|c| waiting(c) && released(c))
            .min_by(|a, b| due(a).total_cmp(&due(b)))
            .or_else(|| {
                (0..classes)
                    .filter(waiting)
                    .min_by(|a, b| due(a).total_cmp(&due(b)))
            })
            .expect("a member is left while t <= N");
        order.push(queues[pick][dealt[pick]]);
        dealt[pick] += 1;
    }
    order
}

/// Reorders `values`, seen as items of `item` values each, so that item `order[p]` ends at
/// position `p`. `order` is a permutation of the items.
fn permute_in_place<T: Copy>(values: &mut [T], item: usize, order: &[usize]) {
    debug_assert_eq!(values.len(), order.len() * item);
    let mut done = vec![false; order.len()];
    let mut held: Vec<T> = Vec::with_capacity(item);
    for start in 0..order.len() {
        if done[start] {
            continue;
        }
        if order[start] == start {
            done[start] = true;
            continue;
        }
        held.clear();
        held.extend_from_slice(&values[start * item..(start + 1) * item]);
        let mut p = start;
        loop {
            done[p] = true;
            let q = order[p];
            if q == start {
                values[p * item..(p + 1) * item].copy_from_slice(&held);
                break;
            }
            values.copy_within(q * item..(q + 1) * item, p * item);
            p = q;
        }
    }
}
