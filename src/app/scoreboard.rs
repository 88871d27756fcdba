//! The faithfulness scoreboard: every explanation method on the same test faces, scored by the
//! same measures, so that a student sees which one to believe (and that they disagree).
//! - deletion and insertion areas ([`crate::explain::faithfulness`]): does the map's order of
//!   the pixels match what the model needs? (low deletion, high insertion is better);
//! - model randomization (Adebayo et al., 2018): the rank correlation of the map with the same
//!   method's map on a freshly initialized model (near 0 is better: the map depends on what the
//!   model learned);
//! - the pointing game on the synthetic faces: the share of correctly classified faces whose map
//!   maximum falls in the mouth box grown by 4 pixels;
//! - for Integrated Gradients, its completeness error.
//!
//! Shared by `convscope explain-check` and the page; knows nothing of either.

use crate::data::{Dataset, MouthBox};
use crate::explain::{
    cam_map, deletion_insertion, grad_cam, integrated_gradients, occlusion, points_inside,
    saliency, spearman, Baseline, CamMethod, CamWeighting, Explainable, OcclusionConfig, Region,
    SmoothGrad,
};
use crate::nn::{Mode, Sequential};
use crate::{invalid, Result};
use serde::Serialize;

/// The methods, in the order the scoreboard lists them.
pub const METHODS: [Method; 9] = [
    Method::Saliency,
    Method::SmoothGrad,
    Method::IntegratedGradients,
    Method::Occlusion,
    Method::GradCam,
    Method::HiResCam,
    Method::GradCamPlusPlus,
    Method::LayerCam,
    Method::ScoreCam,
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    Saliency,
    SmoothGrad,
    IntegratedGradients,
    Occlusion,
    /// Selvaraju et al.'s channel-mean weighting.
    GradCam,
    /// Grad-CAM's per-position weighting, the page's default.
    HiResCam,
    GradCamPlusPlus,
    LayerCam,
    ScoreCam,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Saliency => "saliency",
            Method::SmoothGrad => "SmoothGrad",
            Method::IntegratedGradients => "Integrated Gradients",
            Method::Occlusion => "occlusion",
            Method::GradCam => "Grad-CAM",
            Method::HiResCam => "HiResCAM",
            Method::GradCamPlusPlus => "Grad-CAM++",
            Method::LayerCam => "LayerCAM",
            Method::ScoreCam => "Score-CAM",
        }
    }
}

/// The settings every method runs with on the scoreboard.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreboardConfig {
    /// Test images scored (the first ones of the set).
    pub images: usize,
    pub curve_steps: usize,
    pub ig_steps: usize,
    pub smoothgrad_samples: usize,
    pub occlusion_patch: usize,
    pub seed: u64,
}

impl Default for ScoreboardConfig {
    fn default() -> Self {
        Self {
            images: 30,
            curve_steps: 20,
            ig_steps: 64,
            smoothgrad_samples: 16,
            occlusion_patch: 8,
            seed: 1,
        }
    }
}

/// `method`'s map (H, W) of `class` for `image`, ordered as evidence for the class.
pub fn method_map(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    method: Method,
    cfg: &ScoreboardConfig,
) -> Result<Vec<f32>> {
    Ok(match method {
        Method::Saliency => saliency(model, image, class, None)?.evidence,
        Method::SmoothGrad => {
            let smooth = SmoothGrad {
                samples: cfg.smoothgrad_samples,
                sigma: 0.15,
                seed: cfg.seed,
            };
            saliency(model, image, class, Some(smooth))?.evidence
        }
        Method::IntegratedGradients => {
            integrated_gradients(model, image, class, &Baseline::Blurred(5), cfg.ig_steps)?.map
        }
        Method::Occlusion => {
            let patch = cfg.occlusion_patch;
            occlusion(
                model,
                image,
                class,
                OcclusionConfig {
                    patch,
                    stride: (patch / 2).max(1),
                    fill: None,
                },
            )?
            .map
        }
        Method::GradCam => grad_cam(model, image, class, None, CamWeighting::ChannelMean)?.heatmap,
        Method::HiResCam => grad_cam(model, image, class, None, CamWeighting::PerPosition)?.heatmap,
        Method::GradCamPlusPlus => {
            cam_map(model, image, class, None, CamMethod::GradCamPlusPlus)?.heatmap
        }
        Method::LayerCam => cam_map(model, image, class, None, CamMethod::LayerCam)?.heatmap,
        Method::ScoreCam => cam_map(model, image, class, None, CamMethod::ScoreCam)?.heatmap,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodScore {
    pub method: &'static str,
    pub deletion_area: f32,
    pub insertion_area: f32,
    pub randomization_rank_corr: Option<f32>,
    pub pointing_game: Option<f32>,
    /// Integrated Gradients only: the mean of |sum - (f(x) - f(baseline))| / |f(x) - f(baseline)|.
    pub completeness_error: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scoreboard {
    pub images: usize,
    /// Of those, the correctly classified ones with a mouth box (the pointing game's).
    pub pointing_images: usize,
    pub methods: Vec<MethodScore>,
    /// The best method by each measure.
    pub best_deletion: &'static str,
    pub best_insertion: &'static str,
    pub best_randomization: &'static str,
    pub best_pointing: &'static str,
}

fn mean(v: &[f32]) -> Option<f32> {
    (!v.is_empty()).then(|| v.iter().sum::<f32>() / v.len() as f32)
}

/// Scores every method on the first `cfg.images` images of `test` for `model`, with `random`
/// the same architecture freshly initialized. Each image is explained for its true class.
pub fn scoreboard(
    model: &mut Sequential,
    random: &mut Sequential,
    test: &Dataset,
    cfg: &ScoreboardConfig,
    mut progress: impl FnMut(usize, usize),
) -> Result<Scoreboard> {
    let n = cfg.images.min(test.len());
    if n == 0 {
        return Err(invalid!("the scoreboard needs at least one test image"));
    }
    let boxes: Option<Vec<Region>> = test.mouth_boxes().map(|b| {
        b.iter()
            .map(|&MouthBox { x0, y0, x1, y1 }| Region { x0, y0, x1, y1 })
            .collect()
    });
    let mut rows = Vec::new();
    let mut pointing_images = 0;
    for (m, &method) in METHODS.iter().enumerate() {
        let (mut deletion, mut insertion, mut corr, mut hits, mut completeness) =
            (vec![], vec![], vec![], 0usize, vec![]);
        let mut pointed = 0;
        for i in 0..n {
            progress(m * n + i, METHODS.len() * n);
            let image = test.image(i);
            let class = test.labels()[i] as usize;
            let map = method_map(model, &image, class, method, cfg)?;
            let curves = deletion_insertion(model, &image, class, &map, cfg.curve_steps)?;
            deletion.push(curves.deletion.area);
            insertion.push(curves.insertion.area);
            let random_map = method_map(random, &image, class, method, cfg)?;
            corr.extend(spearman(&map, &random_map));
            if method == Method::IntegratedGradients {
                completeness.push(
                    integrated_gradients(
                        model,
                        &image,
                        class,
                        &Baseline::Blurred(5),
                        cfg.ig_steps,
                    )?
                    .completeness_error,
                );
            }
            if let Some(boxes) = &boxes {
                model.forward(&image, Mode::Infer);
                if model.predicted_class(0) == class {
                    pointed += 1;
                    hits += usize::from(points_inside(&map, test.width(), boxes[i].dilated(4)));
                }
            }
        }
        pointing_images = pointed;
        rows.push(MethodScore {
            method: method.name(),
            deletion_area: mean(&deletion).unwrap_or(0.0),
            insertion_area: mean(&insertion).unwrap_or(0.0),
            randomization_rank_corr: mean(&corr),
            pointing_game: (pointed > 0).then(|| hits as f32 / pointed as f32),
            completeness_error: mean(&completeness),
        });
    }
    progress(METHODS.len() * n, METHODS.len() * n);
    let best = |key: &dyn Fn(&MethodScore) -> Option<f32>, lower: bool| -> &'static str {
        rows.iter()
            .filter_map(|r| key(r).map(|v| (r.method, if lower { v } else { -v })))
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map_or("none", |r| r.0)
    };
    Ok(Scoreboard {
        images: n,
        pointing_images,
        best_deletion: best(&|r| Some(r.deletion_area), true),
        best_insertion: best(&|r| Some(r.insertion_area), false),
        best_randomization: best(&|r| r.randomization_rank_corr.map(f32::abs), true),
        best_pointing: best(&|r| r.pointing_game, false),
        methods: rows,
    })
}
