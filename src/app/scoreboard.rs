//! The faithfulness scoreboard: every explanation method on the same test faces, scored by the
//! same measures, so that a student sees which one to believe (and that they disagree).
//! - deletion and insertion areas ([`crate::explain::faithfulness`]): does the map's order of
//!   the pixels match what the model needs? (low deletion, high insertion is better);
//! - model randomization (Adebayo et al., 2018): the rank correlation of the map with the same
//!   method's map on a freshly initialized model (near 0 is better: the map depends on what the
//!   model learned);
//! - where the evidence falls, on test sets that know where each face and mouth is (the
//!   synthetic faces from their geometry, the Happy House test photos from boxes marked once):
//!   the pointing game (the share of correctly classified faces whose map maximum falls in the
//!   mouth box grown by 4 pixels) and the share of the map's positive evidence inside the face
//!   box, against the share of the picture the box covers (what a map blind to the face gets);
//!   and, on the whole test set, the accuracy with the face hidden and with only the face shown
//!   (a check that needs no explanation method at all);
//! - for Integrated Gradients, its completeness error.
//!
//! Shared by `convscope explain-check` and the page; knows nothing of either.

use crate::data::{Dataset, Landmarks, PixelBox};
use crate::explain::{
    cam_map, check_steps, deletion_insertion, evidence_inside, grad_cam, integrated_gradients,
    occlusion, points_inside, saliency, spearman, Baseline, CamMethod, CamWeighting, Explainable,
    OcclusionConfig, Region, SmoothGrad,
};
use crate::nn::{InputShape, Mode, Sequential};
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
    /// Reads the page's name of a method (`grad-cam-plus-plus`, as serialized).
    pub fn parse(id: &str) -> Result<Self> {
        METHODS
            .into_iter()
            .find(|m| m.id() == id)
            .ok_or_else(|| invalid!("'{id}' is not an explanation method"))
    }

    /// The method's id, as the page names it.
    pub fn id(self) -> &'static str {
        match self {
            Method::Saliency => "saliency",
            Method::SmoothGrad => "smooth-grad",
            Method::IntegratedGradients => "integrated-gradients",
            Method::Occlusion => "occlusion",
            Method::GradCam => "grad-cam",
            Method::HiResCam => "hi-res-cam",
            Method::GradCamPlusPlus => "grad-cam-plus-plus",
            Method::LayerCam => "layer-cam",
            Method::ScoreCam => "score-cam",
        }
    }

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

/// The settings every method runs with (on the scoreboard and side by side in the page).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreboardConfig {
    /// Test images scored (the first ones of the set).
    pub images: usize,
    pub curve_steps: usize,
    pub ig_steps: usize,
    pub ig_baseline: Baseline,
    pub smoothgrad_samples: usize,
    pub occlusion_patch: usize,
    pub occlusion_stride: usize,
    /// The convolution the CAM methods read (`None`: the default, [`crate::explain::target::cam_layer`]).
    pub cam_layer: Option<usize>,
    pub seed: u64,
}

impl Default for ScoreboardConfig {
    fn default() -> Self {
        Self {
            images: 30,
            curve_steps: 20,
            ig_steps: 64,
            ig_baseline: Baseline::Blurred(5),
            smoothgrad_samples: 16,
            occlusion_patch: 8,
            occlusion_stride: 4,
            cam_layer: None,
            seed: 1,
        }
    }
}

impl ScoreboardConfig {
    fn occlusion(&self) -> OcclusionConfig {
        OcclusionConfig {
            patch: self.occlusion_patch,
            stride: self.occlusion_stride,
            fill: None,
        }
    }

    /// Refuses settings no method can run with on `input` pictures, before a long run starts.
    pub fn check(&self, input: &InputShape) -> Result<()> {
        check_steps(self.ig_steps)?;
        self.occlusion().check(input.height, input.width)?;
        if let Baseline::Image(b) = &self.ig_baseline {
            let len = input.height * input.width * input.channels;
            if b.len() != len {
                return Err(invalid!(
                    "the baseline image has {} values but the model's pictures have {len} ({}x{}x{})",
                    b.len(),
                    input.height,
                    input.width,
                    input.channels
                ));
            }
        }
        if self.images == 0 || self.curve_steps == 0 || self.smoothgrad_samples == 0 {
            return Err(invalid!(
                "the scoreboard needs at least one image, one curve step and one SmoothGrad sample"
            ));
        }
        Ok(())
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
    let layer = cfg.cam_layer;
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
            integrated_gradients(model, image, class, &cfg.ig_baseline, cfg.ig_steps)?.map
        }
        Method::Occlusion => occlusion(model, image, class, cfg.occlusion())?.map,
        Method::GradCam => grad_cam(model, image, class, layer, CamWeighting::ChannelMean)?.heatmap,
        Method::HiResCam => {
            grad_cam(model, image, class, layer, CamWeighting::PerPosition)?.heatmap
        }
        Method::GradCamPlusPlus => {
            cam_map(model, image, class, layer, CamMethod::GradCamPlusPlus)?.heatmap
        }
        Method::LayerCam => cam_map(model, image, class, layer, CamMethod::LayerCam)?.heatmap,
        Method::ScoreCam => cam_map(model, image, class, layer, CamMethod::ScoreCam)?.heatmap,
    })
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodScore {
    pub method: &'static str,
    pub deletion_area: f32,
    pub insertion_area: f32,
    pub randomization_rank_corr: Option<f32>,
    pub pointing_game: Option<f32>,
    /// The mean share of the map's positive evidence inside the face box (every scored image
    /// whose map has any); compare with [`Scoreboard::face_area_share`].
    pub face_evidence: Option<f32>,
    /// Integrated Gradients only: the mean of |sum - (f(x) - f(baseline))| / |f(x) - f(baseline)|.
    pub completeness_error: Option<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scoreboard {
    pub images: usize,
    /// Whether the test set knows where each face and mouth is (the synthetic faces and the
    /// Happy House test photos do).
    pub landmarks: bool,
    /// Of those, the correctly classified ones (the pointing game's).
    pub pointing_images: usize,
    /// The mean share of the picture inside the face box: the face evidence of a map that
    /// ignores where the face is.
    pub face_area_share: Option<f32>,
    /// Accuracy with the face hidden or alone, once every pair is scored (not after a cancel).
    pub hiding: Option<FaceHiding>,
    pub methods: Vec<MethodScore>,
    /// The best method by each measure.
    pub best_deletion: &'static str,
    pub best_insertion: &'static str,
    pub best_randomization: &'static str,
    pub best_pointing: &'static str,
    pub best_face_evidence: &'static str,
}

/// The model's accuracy on every test picture as it is, with its face box filled with the
/// picture's mean colour, and with everything but the face filled so.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FaceHiding {
    pub images: usize,
    pub accuracy: f32,
    pub face_hidden: f32,
    pub face_only: f32,
}

/// [`FaceHiding`] on `test`; `None` when the set does not know where its faces are.
pub fn face_hiding(model: &mut Sequential, test: &Dataset) -> Option<FaceHiding> {
    let landmarks = test.landmarks()?;
    let (width, channels) = (test.width(), test.channels());
    let mut right = [0usize; 3];
    for (i, marks) in landmarks.iter().enumerate() {
        let image = test.image(i);
        let face = region(marks.face);
        let mut mean = vec![0f32; channels];
        for (k, v) in image.iter().enumerate() {
            mean[k % channels] += v / (image.len() / channels) as f32;
        }
        let filled = |keep_face: bool| -> Vec<f32> {
            let mut out = image.to_vec();
            for (k, v) in out.iter_mut().enumerate() {
                let p = k / channels;
                if face.contains(p / width, p % width) != keep_face {
                    *v = mean[k % channels];
                }
            }
            out
        };
        let class = test.labels()[i] as usize;
        for (n, picture) in [image.to_vec(), filled(false), filled(true)]
            .iter()
            .enumerate()
        {
            model.forward(picture, Mode::Infer);
            right[n] += usize::from(model.predicted_class(0) == class);
        }
    }
    let share = |n: usize| n as f32 / test.len() as f32;
    Some(FaceHiding {
        images: test.len(),
        accuracy: share(right[0]),
        face_hidden: share(right[1]),
        face_only: share(right[2]),
    })
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
    let mut run = ScoreboardRun::new(model, test, cfg.clone())?;
    while !run.advance(model, random, test, 1)? {
        let (done, total) = run.progress();
        progress(done, total);
    }
    let (_, total) = run.progress();
    progress(total, total);
    run.report()
}

/// One method's sums while the run goes through its images.
#[derive(Debug, Default)]
struct Tally {
    deletion: Vec<f32>,
    insertion: Vec<f32>,
    corr: Vec<f32>,
    completeness: Vec<f32>,
    pointed: usize,
    hits: usize,
    face_shares: Vec<f32>,
}

/// The scoreboard one (method, image) pair at a time, so that the page's worker can show
/// progress and stay able to hear a cancel between pairs. The same `model`, `random` and
/// `test` must be passed to every [`ScoreboardRun::advance`].
#[derive(Debug)]
pub struct ScoreboardRun {
    cfg: ScoreboardConfig,
    images: usize,
    /// (face, mouth) per test image, when the set knows them.
    boxes: Option<Vec<(Region, Region)>>,
    face_area_share: Option<f32>,
    hiding: Option<FaceHiding>,
    /// The next (method, image) pair, counted from 0 over methods x images.
    next: usize,
    tallies: Vec<Tally>,
}

impl ScoreboardRun {
    /// Checks the settings against the model and the test set.
    pub fn new(model: &Sequential, test: &Dataset, cfg: ScoreboardConfig) -> Result<Self> {
        cfg.check(&model.spec().input)?;
        let images = cfg.images.min(test.len());
        if images == 0 {
            return Err(invalid!("the scoreboard needs at least one test image"));
        }
        let boxes = test.landmarks().map(|all| {
            all.iter()
                .map(|&Landmarks { face, mouth }| (region(face), region(mouth)))
                .collect()
        });
        let area = |r: &Region| ((r.x1 - r.x0) * (r.y1 - r.y0)) as f32;
        let pixels = (test.height() * test.width()) as f32;
        let face_area_share = boxes.as_ref().and_then(|b: &Vec<(Region, Region)>| {
            mean(
                &b[..images]
                    .iter()
                    .map(|(face, _)| area(face) / pixels)
                    .collect::<Vec<_>>(),
            )
        });
        Ok(Self {
            cfg,
            images,
            boxes,
            face_area_share,
            hiding: None,
            next: 0,
            tallies: METHODS.iter().map(|_| Tally::default()).collect(),
        })
    }

    /// (pairs done, pairs in all).
    pub fn progress(&self) -> (usize, usize) {
        (self.next, METHODS.len() * self.images)
    }

    /// Scores up to `pairs` more (method, image) pairs; true when every pair is done.
    pub fn advance(
        &mut self,
        model: &mut Sequential,
        random: &mut Sequential,
        test: &Dataset,
        pairs: usize,
    ) -> Result<bool> {
        let total = METHODS.len() * self.images;
        let cfg = &self.cfg;
        for _ in 0..pairs {
            if self.next >= total {
                break;
            }
            let (m, i) = (self.next / self.images, self.next % self.images);
            let (method, t) = (METHODS[m], &mut self.tallies[m]);
            let image = test.image(i);
            let class = test.labels()[i] as usize;
            let map = method_map(model, &image, class, method, cfg)?;
            let curves = deletion_insertion(model, &image, class, &map, cfg.curve_steps)?;
            t.deletion.push(curves.deletion.area);
            t.insertion.push(curves.insertion.area);
            let random_map = method_map(random, &image, class, method, cfg)?;
            t.corr.extend(spearman(&map, &random_map));
            if method == Method::IntegratedGradients {
                let ig =
                    integrated_gradients(model, &image, class, &cfg.ig_baseline, cfg.ig_steps)?;
                t.completeness.push(ig.completeness_error);
            }
            if let Some(boxes) = &self.boxes {
                let (face, mouth) = boxes[i];
                model.forward(&image, Mode::Infer);
                if model.predicted_class(0) == class {
                    t.pointed += 1;
                    t.hits += usize::from(points_inside(&map, test.width(), mouth.dilated(4)));
                }
                t.face_shares
                    .extend(evidence_inside(&map, test.width(), face));
            }
            self.next += 1;
            if self.next == total {
                self.hiding = face_hiding(model, test);
            }
        }
        Ok(self.next >= total)
    }

    /// The scores of the pairs done so far (all of them once [`ScoreboardRun::advance`] said so).
    pub fn report(&self) -> Result<Scoreboard> {
        let rows: Vec<MethodScore> = METHODS
            .iter()
            .zip(&self.tallies)
            .filter(|(_, t)| !t.deletion.is_empty())
            .map(|(method, t)| MethodScore {
                method: method.name(),
                deletion_area: mean(&t.deletion).unwrap_or(0.0),
                insertion_area: mean(&t.insertion).unwrap_or(0.0),
                randomization_rank_corr: mean(&t.corr),
                pointing_game: (t.pointed > 0).then(|| t.hits as f32 / t.pointed as f32),
                face_evidence: mean(&t.face_shares),
                completeness_error: mean(&t.completeness),
            })
            .collect();
        if rows.is_empty() {
            return Err(invalid!("the scoreboard has not scored any image yet"));
        }
        let best = |key: &dyn Fn(&MethodScore) -> Option<f32>, lower: bool| -> &'static str {
            rows.iter()
                .filter_map(|r| key(r).map(|v| (r.method, if lower { v } else { -v })))
                .min_by(|a, b| a.1.total_cmp(&b.1))
                .map_or("none", |r| r.0)
        };
        Ok(Scoreboard {
            images: self.images,
            landmarks: self.boxes.is_some(),
            pointing_images: self.tallies[0].pointed,
            face_area_share: self.face_area_share,
            hiding: self.hiding.clone(),
            best_deletion: best(&|r| Some(r.deletion_area), true),
            best_insertion: best(&|r| Some(r.insertion_area), false),
            best_randomization: best(&|r| r.randomization_rank_corr.map(f32::abs), true),
            best_pointing: best(&|r| r.pointing_game, false),
            best_face_evidence: best(&|r| r.face_evidence, false),
            methods: rows,
        })
    }
}

/// The explanation measures' name for a box of pixels.
pub fn region(b: PixelBox) -> Region {
    let PixelBox { x0, y0, x1, y1 } = b;
    Region { x0, y0, x1, y1 }
}
