//! The first convolution layer's learned filters as little RGB pictures: the only weights of
//! the network that live in pixel space, so they can be looked at directly (edge, colour and
//! blob detectors after training, noise before).
//!
//! Weights are mapped to [0, 1] around mid grey: 0.5 + 0.5 * w / m, where m is the largest
//! |w| of that filter (`PerFilter`, every filter uses its full contrast) or of the whole layer
//! (`Shared`, filters compare with one another). A zero weight is grey, so the sign of each
//! weight stays visible. One-channel (grayscale) filters are repeated over R, G and B.

use super::target::conv_layers;
use crate::nn::Sequential;
use crate::{invalid, Result};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum FilterScale {
    #[default]
    PerFilter,
    Shared,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FilterPatches {
    /// The layer's index and name.
    pub layer: usize,
    pub layer_name: String,
    /// Kernel height and width, and the number of filters.
    pub kernel_height: usize,
    pub kernel_width: usize,
    pub count: usize,
    /// One RGB patch per filter, values in [0, 1]. (count, KH, KW, 3)
    pub patches: Vec<f32>,
}

/// The first convolution's filters, each as a (KH, KW, 3) RGB patch.
pub fn first_layer_filters(model: &Sequential, scale: FilterScale) -> Result<FilterPatches> {
    let layer = *conv_layers(model).first().ok_or_else(|| {
        invalid!("this model has no convolution layer, so there are no filters to show")
    })?;
    let l = &model.layers()[layer];
    let kernel = l
        .tensors()
        .iter()
        .find(|t| t.name == "kernel")
        .expect("a convolution has a kernel");
    let (kh, kw, c_in, count) = (
        kernel.dims[0],
        kernel.dims[1],
        kernel.dims[2],
        kernel.dims[3],
    );
    if c_in != 1 && c_in != 3 {
        return Err(invalid!("the first layer's filters can be drawn as pictures only for 1 (grayscale) or 3 (RGB) input channels, not {c_in}"));
    }
    let weights = l.tensor(kernel); // (KH, KW, C_in, F)
    let largest = |f: Option<usize>| {
        weights
            .iter()
            .enumerate()
            .filter(|(i, _)| f.is_none_or(|f| i % count == f))
            .fold(0.0f32, |m, (_, w)| m.max(w.abs()))
    };
    let shared = largest(None);
    let mut patches = Vec::with_capacity(count * kh * kw * 3); // (F, KH, KW, 3)
    for f in 0..count {
        let m = match scale {
            FilterScale::PerFilter => largest(Some(f)),
            FilterScale::Shared => shared,
        };
        let to_pixel = |w: f32| if m > 0.0 { 0.5 + 0.5 * w / m } else { 0.5 };
        for tap in 0..kh * kw {
            for ch in 0..3 {
                let c = if c_in == 1 { 0 } else { ch };
                patches.push(to_pixel(weights[(tap * c_in + c) * count + f]));
            }
        }
    }
    Ok(FilterPatches {
        layer,
        layer_name: l.name().to_string(),
        kernel_height: kh,
        kernel_width: kw,
        count,
        patches,
    })
}
