//! Look inside's "compare the methods": every explanation method of [`super::scoreboard`] on
//! one picture of the session (for the page to draw side by side), and the faithfulness
//! scoreboard on the session's test set, run a few (method, image) pairs at a time so that the
//! worker can report progress. Plain Rust; `web::inside_exports` wraps it.

use super::inside::Picture;
use super::scoreboard::{Method, Scoreboard, ScoreboardConfig, ScoreboardRun};
use super::session::Session;
use crate::explain::Baseline;
use crate::nn::Sequential;
use crate::{invalid, Result};
use serde::{Deserialize, Serialize};

/// Seed of the freshly initialized model the randomization test compares with.
const RANDOM_MODEL_SEED: u64 = 0x5c0_4eb0a4d;

/// The methods' settings as the page sends them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MethodSettings {
    pub ig_steps: usize,
    /// `black`, `grey` or `blur`.
    pub ig_baseline: String,
    pub occlusion_patch: usize,
    pub occlusion_stride: usize,
    /// The convolution the CAM methods read (the default when absent).
    #[serde(default)]
    pub cam_layer: Option<usize>,
    /// Test images the scoreboard scores.
    #[serde(default)]
    pub images: Option<usize>,
}

impl MethodSettings {
    pub fn config(&self) -> Result<ScoreboardConfig> {
        let defaults = ScoreboardConfig::default();
        Ok(ScoreboardConfig {
            images: self.images.unwrap_or(defaults.images),
            ig_steps: self.ig_steps,
            ig_baseline: Baseline::parse(&self.ig_baseline)?,
            occlusion_patch: self.occlusion_patch,
            occlusion_stride: self.occlusion_stride,
            cam_layer: self.cam_layer,
            ..defaults
        })
    }
}

/// One method's map of a picture.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MethodMap {
    pub method: &'static str,
    pub name: &'static str,
    pub height: usize,
    pub width: usize,
    /// Evidence for the class (> 0) and, for the methods that have it, against (< 0). (H, W)
    pub map: Vec<f32>,
    /// Whether the method can say "against" (the CAM family keeps only the positive part).
    pub signed: bool,
}

/// A scoreboard in progress with the freshly initialized model it compares with.
#[derive(Debug)]
pub struct ScoreboardJob {
    run: ScoreboardRun,
    random: Sequential,
}

impl Session {
    /// `method`'s map of `class` for `picture`.
    pub fn inside_method_map(
        &mut self,
        picture: Picture,
        class: usize,
        method: Method,
        settings: &MethodSettings,
    ) -> Result<MethodMap> {
        let cfg = settings.config()?;
        let (model, image) = self.model_and_picture(picture)?;
        cfg.check(&model.spec().input)?;
        let input = model.spec().input;
        let map = super::scoreboard::method_map(model, &image, class, method, &cfg)?;
        Ok(MethodMap {
            method: method.id(),
            name: method.name(),
            height: input.height,
            width: input.width,
            map,
            signed: matches!(
                method,
                Method::Saliency
                    | Method::SmoothGrad
                    | Method::IntegratedGradients
                    | Method::Occlusion
            ),
        })
    }

    /// Starts the scoreboard on the first `settings.images` test images.
    pub fn start_scoreboard(&mut self, settings: &MethodSettings) -> Result<ScoreboardJob> {
        let cfg = settings.config()?;
        let (model, data) = self.model_and_data();
        let model = model.ok_or_else(|| invalid!("train a model first"))?;
        let (_, test) = data.ok_or_else(|| invalid!("load some data first"))?;
        let run = ScoreboardRun::new(model, test, cfg)?;
        let random = Sequential::new(model.spec(), RANDOM_MODEL_SEED)?;
        Ok(ScoreboardJob { run, random })
    }
}

impl ScoreboardJob {
    /// Scores up to `pairs` more (method, image) pairs on `session`'s model and test set;
    /// true when done.
    pub fn advance(&mut self, session: &mut Session, pairs: usize) -> Result<bool> {
        let (model, data) = session.model_and_data();
        let model = model.ok_or_else(|| invalid!("the model went away during the scoreboard"))?;
        let (_, test) = data.ok_or_else(|| invalid!("the data went away during the scoreboard"))?;
        self.run.advance(model, &mut self.random, test, pairs)
    }

    /// (pairs done, pairs in all).
    pub fn progress(&self) -> (usize, usize) {
        self.run.progress()
    }

    pub fn report(&self) -> Result<Scoreboard> {
        self.run.report()
    }
}
