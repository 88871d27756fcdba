//! Transfer learning, as Teachable Machine does it: the pretrained ImageNet network stays
//! frozen, each picture goes through it once to its pooled features (the 1,280 numbers before
//! the 1,000-way classifier), and a small new head learns the student's own classes from those
//! features. The head is a [`Sequential`] like the smile model, trained by the same `fit`, so
//! curves, metrics, early stopping and model files work as for the smile model.
//!
//! Pictures of any size and colour are brought to the network's input the way the page's own
//! data are drawn: gray repeated into three channels, resized bilinearly to 224x224.

use super::imagenet::ImageNet;
use crate::data::Dataset;
use crate::explain::resize::resize_bilinear;
use crate::nn::spec::output_head;
use crate::nn::Examples;
use crate::nn::{InputShape, LayerSpec, ModelSpec};
use crate::{invalid, Result};

/// The node whose output is the features (global average pooling before the classifier).
pub const FEATURES_NODE: &str = "pool";

/// Pictures run through the backbone together: two keep the kept activations near 100 MB.
const BATCH: usize = 2;

/// The head: the features as a 1x1 map of 1,280 channels, flattened, dropout 0.2 (features
/// of a few hundred pictures are easy to memorize), then the output rule (one sigmoid unit for
/// two classes, a softmax for more).
pub fn head_spec(features: usize, classes: usize) -> ModelSpec {
    ModelSpec {
        input: InputShape {
            height: 1,
            width: 1,
            channels: features,
        },
        layers: vec![
            LayerSpec::Flatten,
            LayerSpec::Dropout { rate: 0.2 },
            output_head(classes),
        ],
    }
}

/// One picture (H, W, C in [0, 1], C = 1 or 3) as the network's input (224, 224, 3).
fn to_input(image: &[f32], (h, w, c): (usize, usize, usize), side: usize) -> Result<Vec<f32>> {
    if c != 1 && c != 3 {
        return Err(invalid!(
            "pictures with {c} channels cannot go through the ImageNet network (1 or 3)"
        ));
    }
    let mut out = vec![0f32; side * side * 3]; // (side, side, 3)
    for ch in 0..3 {
        let plane: Vec<f32> = image.iter().skip(ch % c).step_by(c).copied().collect();
        let resized = if (h, w) == (side, side) {
            plane
        } else {
            resize_bilinear(&plane, h, w, side, side)
        };
        for (i, v) in resized.into_iter().enumerate() {
            out[i * 3 + ch] = v.clamp(0.0, 1.0);
        }
    }
    Ok(out)
}

/// Every picture's features, (N, F); `progress(done, total)` after each batch.
pub fn features(
    net: &mut ImageNet,
    set: &Dataset,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<f32>> {
    let side = net.input_side();
    let shape = (set.height(), set.width(), set.channels());
    let mut out = Vec::new();
    let mut batch = Vec::with_capacity(BATCH * side * side * 3);
    for start in (0..set.len()).step_by(BATCH) {
        let end = (start + BATCH).min(set.len());
        batch.clear();
        for i in start..end {
            batch.extend(to_input(&set.image(i), shape, side)?);
        }
        out.extend_from_slice(net.features(&batch, end - start, FEATURES_NODE)?);
        progress(end, set.len());
    }
    Ok(out)
}

/// The features (N, F) with the pictures' labels, as the head's training or test examples.
pub fn feature_examples<'a>(features: &'a [f32], set: &'a Dataset) -> Result<Examples<'a>> {
    let f = features.len() / set.len().max(1);
    Examples::new(features, set.labels(), f)
}
