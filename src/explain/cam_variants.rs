//! Three later class activation maps beside Grad-CAM ([`super::gradcam`]), all on the logit,
//! all kept where they speak for the class and brought up to the input's size:
//! - Grad-CAM++ (Chattopadhyay et al., 2018): each map's weight sums its positive gradients,
//!   each place weighed by alpha = g^2 / (2 g^2 + sum_places A g^3) (the closed form for an
//!   exponential of the score; the exponential itself cancels);
//! - LayerCAM (Jiang et al., 2021): every place its own weight, the positive part of its
//!   gradient: ReLU(sum_k ReLU(g_k(x)) A_k(x));
//! - Score-CAM (Wang et al., 2020): no gradient; each map, scaled to [0, 1] and laid over the
//!   picture as a mask, is weighed by how much the masked picture raises the score over a black
//!   one (a softmax over the maps).

use super::model::{Explainable, Point};
use super::resize::resize_bilinear;
use super::target::{
    cam_layer, check_class, check_conv_layer, class_score, class_score_gradient, forward_logits,
};
use crate::{invalid, Result};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CamMethod {
    GradCamPlusPlus,
    LayerCam,
    ScoreCam,
}

impl CamMethod {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "grad-cam++" | "gradcam++" => Ok(Self::GradCamPlusPlus),
            "layercam" | "layer-cam" => Ok(Self::LayerCam),
            "score-cam" | "scorecam" => Ok(Self::ScoreCam),
            _ => Err(invalid!(
                "'{name}' is not a class activation map: use grad-cam++, layercam or score-cam"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CamMap {
    pub method: CamMethod,
    pub layer: usize,
    pub layer_name: String,
    pub class: usize,
    pub score: f32,
    /// One weight per map where the method has one (Grad-CAM++, Score-CAM); empty for LayerCAM.
    pub weights: Vec<f32>,
    pub map_height: usize,
    pub map_width: usize,
    /// At the layer's resolution, >= 0. (map_height, map_width)
    pub map: Vec<f32>,
    pub height: usize,
    pub width: usize,
    /// `map` resized bilinearly to the input. (height, width)
    pub heatmap: Vec<f32>,
}

/// `method`'s map of `class` for `image` (H, W, C) on map layer `layer` (the last convolution
/// when `None`).
pub fn cam_map(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    layer: Option<usize>,
    method: CamMethod,
) -> Result<CamMap> {
    check_class(model, class)?;
    let layer = cam_layer(model, layer)?;
    let (mh, mw, k) = check_conv_layer(model, layer)?;
    let kind = model.output_kind();
    let logits = forward_logits(model, image)?;
    let score = class_score(kind, &logits, class);
    let maps = model.layer_output(layer).to_vec(); // (mh, mw, K)
    let (weights, map) = match method {
        CamMethod::GradCamPlusPlus | CamMethod::LayerCam => {
            let mut d_logits = Vec::new();
            class_score_gradient(kind, class, 1, &mut d_logits);
            let g = model
                .backprop(Point::Logits, &d_logits, Point::Layer(layer))?
                .to_vec();
            if method == CamMethod::LayerCam {
                let map = maps
                    .chunks_exact(k)
                    .zip(g.chunks_exact(k))
                    .map(|(a, g)| {
                        a.iter()
                            .zip(g)
                            .map(|(a, g)| a * g.max(0.0))
                            .sum::<f32>()
                            .max(0.0)
                    })
                    .collect();
                (Vec::new(), map)
            } else {
                let weights = plus_plus_weights(&maps, &g, k);
                (weights.clone(), weighted_sum(&maps, &weights))
            }
        }
        CamMethod::ScoreCam => {
            let weights = score_cam_weights(model, image, class, &maps, (mh, mw, k))?;
            let map = weighted_sum(&maps, &weights);
            (weights, map)
        }
    };
    let input = model.input_shape();
    let heatmap = resize_bilinear(&map, mh, mw, input.height, input.width);
    Ok(CamMap {
        method,
        layer,
        layer_name: model.layer_name(layer).to_string(),
        class,
        score,
        weights,
        map_height: mh,
        map_width: mw,
        map,
        height: input.height,
        width: input.width,
        heatmap,
    })
}

/// ReLU(sum_k w_k A_k(x)) per place. maps (h, w, K); weights (K).
fn weighted_sum(maps: &[f32], weights: &[f32]) -> Vec<f32> {
    maps.chunks_exact(weights.len())
        .map(|a| {
            a.iter()
                .zip(weights)
                .map(|(a, w)| a * w)
                .sum::<f32>()
                .max(0.0)
        })
        .collect()
}

/// Grad-CAM++'s weights: w_k = sum_x alpha_k(x) ReLU(g_k(x)), alpha = g^2 / (2 g^2 + S_k g^3)
/// with S_k = sum_x A_k(x); alpha is 0 where its denominator is.
fn plus_plus_weights(maps: &[f32], g: &[f32], k: usize) -> Vec<f32> {
    let mut sums = vec![0.0f64; k];
    for a in maps.chunks_exact(k) {
        for (s, &v) in sums.iter_mut().zip(a) {
            *s += v as f64;
        }
    }
    let mut weights = vec![0.0f64; k];
    for gp in g.chunks_exact(k) {
        for ((w, &gv), &s) in weights.iter_mut().zip(gp).zip(&sums) {
            let g2 = (gv as f64).powi(2);
            let denominator = 2.0 * g2 + s * g2 * gv as f64;
            if denominator != 0.0 {
                *w += g2 / denominator * (gv as f64).max(0.0);
            }
        }
    }
    weights.into_iter().map(|w| w as f32).collect()
}

/// Score-CAM's weights: softmax over the maps of f(x * M_k) - f(0), M_k the map scaled to
/// [0, 1] at the input's size (a flat map masks nothing and gets no share).
fn score_cam_weights(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    maps: &[f32],
    (mh, mw, k): (usize, usize, usize),
) -> Result<Vec<f32>> {
    let input = model.input_shape();
    let (h, w, c) = (input.height, input.width, input.channels);
    let kind = model.output_kind();
    let black = vec![0.0; image.len()];
    let base = class_score(kind, model.infer(&black)?, class);
    let mut rise = vec![f32::NEG_INFINITY; k];
    let masks: Vec<Option<Vec<f32>>> = (0..k)
        .map(|ch| {
            let a: Vec<f32> = maps.iter().skip(ch).step_by(k).copied().collect();
            let (lo, hi) = a
                .iter()
                .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, u), &v| {
                    (l.min(v), u.max(v))
                });
            (hi > lo).then(|| {
                let scaled: Vec<f32> = a.iter().map(|v| (v - lo) / (hi - lo)).collect();
                resize_bilinear(&scaled, mh, mw, h, w)
            })
        })
        .collect();
    let live: Vec<usize> = (0..k).filter(|&ch| masks[ch].is_some()).collect();
    let chunk = model.batch_limit().max(1);
    let mut batch = Vec::with_capacity(chunk * image.len());
    for group in live.chunks(chunk) {
        batch.clear();
        for &ch in group {
            let m = masks[ch].as_ref().expect("live masks exist");
            batch.extend(image.iter().enumerate().map(|(i, &x)| x * m[i / c]));
        }
        let logits = model.infer(&batch)?;
        for (&ch, row) in group.iter().zip(logits.chunks_exact(kind.units())) {
            rise[ch] = class_score(kind, row, class) - base;
        }
    }
    let top = rise.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if !top.is_finite() {
        return Ok(vec![0.0; k]);
    }
    let e: Vec<f64> = rise
        .iter()
        .map(|&r| {
            if r.is_finite() {
                ((r - top) as f64).exp()
            } else {
                0.0
            }
        })
        .collect();
    let total: f64 = e.iter().sum();
    Ok(e.iter().map(|&v| (v / total) as f32).collect())
}
