//! Grad-CAM (Selvaraju et al., 2017): which places of a convolution layer's feature maps the
//! class score depends on, as ReLU(sum_k weight_k(x) A_k(x)), kept where it speaks *for* the
//! class. Computed on the logit, for either class; brought up to the input's size bilinearly
//! so that it can be laid over it. The default layer is the last convolution: the most
//! abstract maps that still have a place.
//!
//! Two weightings ([`CamWeighting`]). The original gives each map one weight, alpha_k, the
//! spatial mean of d(score)/d(A_k). That is exact when the head averages over places (global
//! average pooling), but the chapter's head is Flatten + Dense, which gives every place its own
//! weight: there the mean lets a feature's evidence at the mouth cancel against its opposite
//! evidence elsewhere, and the map lights wherever the feature fires. Measured on the chapter's
//! model (bench/RESULTS.md): its maximum falls on the mouth for 41% of test faces, against 99%
//! for the per-position weighting, which keeps d(score)/d(A_k(x)) at each place (HiResCAM,
//! Draelos & Carin, 2020; for an averaging head both are the same map up to a constant). So the
//! per-position weighting is the default and the original stays one switch away.

use super::model::{Explainable, Point};
use super::resize::resize_bilinear;
use super::target::{
    cam_layer, check_class, check_conv_layer, class_score, class_score_gradient, forward_logits,
};
use crate::{invalid, Result};
use serde::{Deserialize, Serialize};

/// How the feature maps are weighed at each place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CamWeighting {
    /// weight_k(x) = d(score)/d(A_k(x)): each place its own gradient (HiResCAM).
    #[default]
    PerPosition,
    /// weight_k(x) = alpha_k, the spatial mean of d(score)/d(A_k) (Selvaraju et al.'s original).
    ChannelMean,
}

impl CamWeighting {
    /// The weighting the page names, or the default when it names none.
    pub fn parse_or_default(name: Option<&str>) -> Result<Self> {
        name.map_or(Ok(Self::default()), Self::parse)
    }

    /// Reads the name used on the command line and by the page.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "per-position" => Ok(Self::PerPosition),
            "channel-mean" => Ok(Self::ChannelMean),
            other => Err(invalid!(
                "'{other}' is not a Grad-CAM weighting: use per-position or channel-mean"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GradCam {
    /// The convolution layer used, by index and name.
    pub layer: usize,
    pub layer_name: String,
    pub class: usize,
    pub weighting: CamWeighting,
    /// That class's score (on the logit).
    pub score: f32,
    /// alpha_k, the spatial mean of each map's gradient, whichever the weighting. (K)
    pub weights: Vec<f32>,
    /// The layer's resolution.
    pub map_height: usize,
    pub map_width: usize,
    /// ReLU(sum_k weight_k(x) A_k(x)) at the layer's resolution. (map_height, map_width)
    pub map: Vec<f32>,
    /// The input's resolution.
    pub height: usize,
    pub width: usize,
    /// `map` resized bilinearly to the input, not normalized (0 everywhere when no place of
    /// the image speaks for the class). (height, width)
    pub heatmap: Vec<f32>,
}

/// Grad-CAM of `class` for `image` (H, W, C) on convolution `layer` (an index into
/// the model's layers; any map layer of a graph), or on the last one when `None`.
pub fn grad_cam(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    layer: Option<usize>,
    weighting: CamWeighting,
) -> Result<GradCam> {
    check_class(model, class)?;
    let layer = cam_layer(model, layer)?;
    let (map_height, map_width, k) = check_conv_layer(model, layer)?;
    let kind = model.output_kind();
    let logits = forward_logits(model, image)?;
    let score = class_score(kind, &logits, class);

    let mut d_logits = Vec::new();
    class_score_gradient(kind, class, 1, &mut d_logits);
    let d_maps = model
        .backprop(Point::Logits, &d_logits, Point::Layer(layer))?
        .to_vec(); // d(score)/d(A): (h, w, K)
    let maps = model.layer_output(layer); // (h, w, K)

    let positions = (map_height * map_width) as f32;
    let mut weights = vec![0.0f32; k]; // (K)
    for px in d_maps.chunks_exact(k) {
        for (w, &d) in weights.iter_mut().zip(px) {
            *w += d / positions;
        }
    }
    let map: Vec<f32> = maps
        .chunks_exact(k)
        .zip(d_maps.chunks_exact(k))
        .map(|(a, d)| {
            let place = match weighting {
                CamWeighting::PerPosition => d,
                CamWeighting::ChannelMean => &weights[..],
            };
            a.iter()
                .zip(place)
                .map(|(a, w)| a * w)
                .sum::<f32>()
                .max(0.0)
        })
        .collect();
    let input = model.input_shape();
    let heatmap = resize_bilinear(&map, map_height, map_width, input.height, input.width);
    Ok(GradCam {
        layer,
        layer_name: model.layer_name(layer).to_string(),
        class,
        weighting,
        score,
        weights,
        map_height,
        map_width,
        map,
        height: input.height,
        width: input.width,
        heatmap,
    })
}
