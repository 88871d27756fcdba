//! The pretrained ImageNet network (EfficientNet-Lite0, converted by tools/imagenet): loading
//! the graph model file, fitting a photo to its input, and the most likely classes. For the
//! command line now, and for the page's "Look inside" switch later.

use super::upload::fit_for_model;
use crate::data::picture::Picture;
use crate::nn::graph::{softmax, top_k};
use crate::nn::io::{load_graph_model, LoadedGraph};
use crate::{invalid, Result};
use serde::Serialize;

/// Below this, a photo has too little in it to be stretched to 224x224 and called anything.
pub const MIN_PHOTO_SIDE: u32 = 32;

/// One class and how likely the network finds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub index: usize,
    pub name: String,
    pub probability: f32,
}

#[derive(Debug)]
pub struct ImageNet {
    loaded: LoadedGraph,
}

impl ImageNet {
    /// Reads a converted model file; a smile model or a damaged file gets its message.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        Ok(Self {
            loaded: load_graph_model(bytes)?,
        })
    }

    pub fn class_names(&self) -> &[String] {
        &self.loaded.classes
    }

    /// The `k` most likely classes for a decoded photo: its largest centred square, resized to
    /// the network's input.
    pub fn top(&mut self, photo: &Picture, k: usize) -> Result<Vec<Ranked>> {
        let (w, h) = photo.dimensions();
        if w.min(h) < MIN_PHOTO_SIDE {
            return Err(invalid!(
                "this photo is only {w}x{h} pixels; the ImageNet network needs at least {MIN_PHOTO_SIDE} pixels a side (it looks at 224x224)"
            ));
        }
        let input = self.loaded.model.spec().input;
        let pixels = fit_for_model(photo, input.height, input.width)?;
        let logits = self.loaded.model.forward(&pixels, 1)?;
        let probabilities = softmax(logits);
        Ok(top_k(logits, k)
            .into_iter()
            .map(|index| Ranked {
                index,
                name: self.loaded.classes[index].clone(),
                probability: probabilities[index],
            })
            .collect())
    }
}
