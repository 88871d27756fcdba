//! Activation maximization: an input that the network finds most "smiling" (or most
//! "frowning", or that most excites one filter), found by gradient ascent on the pixels
//! (Erhan et al., 2009; Simonyan et al., 2014; the chapter's "hallucinations" with two targets
//! at once). Starting from seeded noise or from an image, each iteration:
//! 1. shifts the picture by a random few pixels (jitter, wrapping around), so that the ascent
//!    cannot rely on one exact pixel grid, and runs it through the model in inference mode;
//! 2. takes the gradient of the weighted objectives, shifted back, minus the gradients of two
//!    penalties that keep the picture natural: L2 (pull towards mid grey) and total variation
//!    (squared differences between neighbours: no high-frequency noise);
//! 3. steps along that gradient divided by its root mean square, so `step_size` is roughly the
//!    average change of a pixel per iteration whatever the model's gradient scale, and keeps
//!    the pixels in [0, 1], the range the model was trained on.
//!
//! Intermediate pictures are returned every `frame_every` iterations so the page can animate
//! the convergence; the objective before and after tells how far the ascent got.

use super::model::{Explainable, Point};
use super::resize::resize_bilinear;
use super::target::{
    check_class, check_conv_layer, check_image, class_score, class_score_gradient,
};
use crate::rng::{rng_from_seed, Rng};
use crate::{invalid, Result};
use rand::RngExt;
use serde::{Deserialize, Serialize};

pub const MAX_ITERATIONS: usize = 10_000;
pub const MAX_FRAMES: usize = 200;
pub const MAX_OBJECTIVES: usize = 8;

/// What the ascent makes large.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Objective {
    /// A class's score on the logit: for a sigmoid model, class 1 ("smile") is the logit and
    /// class 0 ("no smile") minus the logit.
    Class { class: usize },
    /// The mean activation of one filter (output channel) of a convolution layer.
    Filter { layer: usize, filter: usize },
}

/// One objective and its weight in the sum that is maximized.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WeightedObjective {
    pub objective: Objective,
    pub weight: f32,
}

/// Where the ascent starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Start {
    /// Seeded uniform noise in [0.375, 0.625]: grey with a little texture to break symmetry.
    Noise,
    /// A picture (H, W, C), e.g. a test face to "hallucinate" into.
    Image(Vec<f32>),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActmaxConfig {
    /// Maximized together, as the weighted sum (1 to [`MAX_OBJECTIVES`]).
    pub objectives: Vec<WeightedObjective>,
    pub start: Start,
    /// Iterations of gradient ascent (0 to [`MAX_ITERATIONS`]).
    pub max_iter: usize,
    /// Root-mean-square change of the pixels per iteration (images are in [0, 1]).
    pub step_size: f32,
    /// Weight of the L2 penalty sum((x - 0.5)^2).
    pub l2: f32,
    /// Weight of the total-variation penalty: squared differences of horizontal and vertical
    /// neighbours, summed.
    pub tv: f32,
    /// Largest random shift in pixels, each way, per iteration (0 for none).
    pub jitter: usize,
    /// Keep a picture every this many iterations (at most [`MAX_FRAMES`] in all).
    pub frame_every: usize,
    /// Seeds the starting noise and the jitter.
    pub seed: u64,
    /// Scales of the multi-scale step (1: the plain pixel gradient). With s scales the step is
    /// the sum, over k < s, of the gradient averaged over 2^k x 2^k blocks, weighted 2^k and
    /// brought back to full size: close to the step of a Laplacian-pyramid parameterization,
    /// which lets large shapes grow (ascent on raw pixels makes mostly pixel noise).
    pub scales: usize,
}

impl Default for ActmaxConfig {
    /// Maximize the "smile" score from noise: 200 iterations of 0.01, mild penalties, jitter 2.
    fn default() -> Self {
        Self {
            objectives: vec![WeightedObjective {
                objective: Objective::Class { class: 1 },
                weight: 1.0,
            }],
            start: Start::Noise,
            max_iter: 200,
            step_size: 0.01,
            l2: 0.002,
            tv: 0.02,
            jitter: 2,
            frame_every: 10,
            seed: 0,
            scales: 1,
        }
    }
}

/// A picture along the way.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// Iterations done before this picture (0 is the start).
    pub iteration: usize,
    /// (H, W, C)
    pub image: Vec<f32>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ActmaxResult {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// The final picture. (H, W, C)
    pub image: Vec<f32>,
    /// The start, every `frame_every` iterations, and the end.
    pub frames: Vec<Frame>,
    /// The weighted objective (penalties left out) on the unshifted start and final pictures.
    pub objective_start: f32,
    pub objective_end: f32,
    /// Each objective's own value at the start and end, in the order given.
    pub objectives_start: Vec<f32>,
    pub objectives_end: Vec<f32>,
    /// The model's logits for the start and final pictures. (K)
    pub logits_start: Vec<f32>,
    pub logits_end: Vec<f32>,
    /// The weighted objective on each iteration's (shifted) picture. (max_iter)
    pub history: Vec<f32>,
}

/// Runs gradient ascent on the input of `model` for `config`.
pub fn activation_maximization(
    model: &mut impl Explainable,
    config: &ActmaxConfig,
) -> Result<ActmaxResult> {
    validate(model, config)?;
    let input = model.input_shape();
    let (h, w, c) = (input.height, input.width, input.channels);
    let mut rng = rng_from_seed(config.seed);
    let mut x: Vec<f32> = match &config.start {
        Start::Noise => (0..h * w * c)
            .map(|_| 0.375 + 0.25 * rng.random::<f32>())
            .collect(),
        Start::Image(pixels) => pixels.clone(),
    }; // (H, W, C)

    let (logits_start, objectives_start) = evaluate(model, config, &x)?;
    let mut frames = vec![Frame {
        iteration: 0,
        image: x.clone(),
    }];
    let mut history = Vec::with_capacity(config.max_iter);
    let mut shifted = vec![0.0f32; x.len()]; // (H, W, C)
    let mut d_shifted = vec![0.0f32; x.len()]; // (H, W, C)
    let mut grad = vec![0.0f32; x.len()]; // (H, W, C)
    let mut d_out = Vec::new();
    for iteration in 1..=config.max_iter {
        let (dy, dx) = jitter(&mut rng, config.jitter, h, w);
        roll(&mut shifted, &x, (h, w, c), dy, dx);
        let logits = model.infer(&shifted)?.to_vec();
        history.push(weighted(config, &objective_values(model, config, &logits)));
        d_shifted.fill(0.0);
        for wo in &config.objectives {
            let from = objective_gradient(model, wo.objective, &mut d_out)?;
            for (g, &d) in d_shifted
                .iter_mut()
                .zip(model.backprop(from, &d_out, Point::Image)?)
            {
                *g += wo.weight * d;
            }
        }
        roll(&mut grad, &d_shifted, (h, w, c), (h - dy) % h, (w - dx) % w);
        if config.scales > 1 {
            multi_scale(&mut grad, (h, w, c), config.scales);
        }
        subtract_penalty_gradients(&mut grad, &x, (h, w, c), config.l2, config.tv);
        let rms = (grad.iter().map(|g| g * g).sum::<f32>() / grad.len() as f32).sqrt();
        if rms > 0.0 && rms.is_finite() {
            let scale = config.step_size / rms;
            for (v, &g) in x.iter_mut().zip(&grad) {
                *v = (*v + scale * g).clamp(0.0, 1.0);
            }
        }
        if iteration % config.frame_every == 0 || iteration == config.max_iter {
            frames.push(Frame {
                iteration,
                image: x.clone(),
            });
        }
    }
    let (logits_end, objectives_end) = evaluate(model, config, &x)?;
    Ok(ActmaxResult {
        height: h,
        width: w,
        channels: c,
        objective_start: weighted(config, &objectives_start),
        objective_end: weighted(config, &objectives_end),
        objectives_start,
        objectives_end,
        logits_start,
        logits_end,
        image: x,
        frames,
        history,
    })
}

fn validate(model: &impl Explainable, config: &ActmaxConfig) -> Result<()> {
    if config.objectives.is_empty() || config.objectives.len() > MAX_OBJECTIVES {
        return Err(invalid!(
            "activation maximization needs between 1 and {MAX_OBJECTIVES} targets (got {})",
            config.objectives.len()
        ));
    }
    for wo in &config.objectives {
        if !wo.weight.is_finite() {
            return Err(invalid!(
                "a target's weight must be a number (got {})",
                wo.weight
            ));
        }
        match wo.objective {
            Objective::Class { class } => check_class(model, class)?,
            Objective::Filter { layer, filter } => {
                let (_, _, filters) = check_conv_layer(model, layer)?;
                if filter >= filters {
                    return Err(invalid!("filter {filter} does not exist: layer {layer} has {filters} filters (0 to {})", filters - 1));
                }
            }
        }
    }
    if config.max_iter > MAX_ITERATIONS {
        return Err(invalid!(
            "at most {MAX_ITERATIONS} iterations (got {})",
            config.max_iter
        ));
    }
    if !(config.step_size.is_finite() && config.step_size > 0.0) {
        return Err(invalid!(
            "the step size must be a number above 0 (got {})",
            config.step_size
        ));
    }
    if !(config.l2.is_finite() && config.l2 >= 0.0 && config.tv.is_finite() && config.tv >= 0.0) {
        return Err(invalid!(
            "the L2 and total-variation weights must be numbers of at least 0 (got {} and {})",
            config.l2,
            config.tv
        ));
    }
    let input = model.input_shape();
    if 2 * config.jitter >= input.height.min(input.width) {
        return Err(invalid!(
            "a jitter of {} pixels is too large for {}x{} images",
            config.jitter,
            input.height,
            input.width
        ));
    }
    let largest = 1usize << config.scales.saturating_sub(1).min(30);
    if config.scales == 0 || largest > input.height.min(input.width) {
        return Err(invalid!(
            "the multi-scale step needs between 1 and {} scales for {}x{} images (got {})",
            input.height.min(input.width).ilog2() + 1,
            input.height,
            input.width,
            config.scales
        ));
    }
    if config.frame_every == 0 {
        return Err(invalid!(
            "keep a picture at least every 1 iteration (frame_every is 0)"
        ));
    }
    if config.max_iter / config.frame_every > MAX_FRAMES {
        return Err(invalid!(
            "{} iterations with a picture every {} would keep more than {MAX_FRAMES} pictures; keep one every {} iterations or more",
            config.max_iter,
            config.frame_every,
            config.max_iter.div_ceil(MAX_FRAMES)
        ));
    }
    if let Start::Image(pixels) = &config.start {
        check_image(model, pixels)?;
    }
    Ok(())
}

/// (logits, each objective's value) for the unshifted picture `x`.
fn evaluate(
    model: &mut impl Explainable,
    config: &ActmaxConfig,
    x: &[f32],
) -> Result<(Vec<f32>, Vec<f32>)> {
    let logits = model.infer(x)?.to_vec();
    let values = objective_values(model, config, &logits);
    Ok((logits, values))
}

/// Each objective's value for the last forward pass (of one picture), whose logits are given.
fn objective_values(model: &impl Explainable, config: &ActmaxConfig, logits: &[f32]) -> Vec<f32> {
    config
        .objectives
        .iter()
        .map(|wo| match wo.objective {
            Objective::Class { class } => class_score(model.output_kind(), logits, class),
            Objective::Filter { layer, filter } => {
                let maps = model.layer_output(layer); // (h, w, K)
                let k = model.map_layer(layer).map_or(1, |(_, _, k)| k); // validated
                maps.iter().skip(filter).step_by(k).sum::<f32>() / (maps.len() / k) as f32
            }
        })
        .collect()
}

fn weighted(config: &ActmaxConfig, values: &[f32]) -> f32 {
    config
        .objectives
        .iter()
        .zip(values)
        .map(|(wo, v)| wo.weight * v)
        .sum()
}

/// Writes d(objective)/d(the returned point: the logits or a layer's output) into `d_out` for the last forward.
fn objective_gradient(
    model: &impl Explainable,
    objective: Objective,
    d_out: &mut Vec<f32>,
) -> Result<Point> {
    Ok(match objective {
        Objective::Class { class } => {
            class_score_gradient(model.output_kind(), class, 1, d_out);
            Point::Logits
        }
        Objective::Filter { layer, filter } => {
            let (h, w, k) = model.map_layer(layer)?;
            let len = h * w * k;
            d_out.clear();
            d_out.resize(len, 0.0); // (h, w, K)
            let share = 1.0 / (len / k) as f32;
            d_out
                .iter_mut()
                .skip(filter)
                .step_by(k)
                .for_each(|d| *d = share);
            Point::Layer(layer)
        }
    })
}

/// A random shift of -jitter..=jitter pixels each way, as (dy, dx) modulo (H, W) for [`roll`].
fn jitter(rng: &mut Rng, jitter: usize, h: usize, w: usize) -> (usize, usize) {
    if jitter == 0 {
        return (0, 0);
    }
    let span = 2 * jitter + 1;
    let (ry, rx): (usize, usize) = (rng.random_range(0..span), rng.random_range(0..span));
    ((ry + h - jitter) % h, (rx + w - jitter) % w)
}

/// out[y][x] = src[(y - dy) mod H][(x - dx) mod W]: `src` moved down by dy and right by dx,
/// wrapping around. out, src (H, W, C).
fn roll(out: &mut [f32], src: &[f32], (h, w, c): (usize, usize, usize), dy: usize, dx: usize) {
    for y in 0..h {
        let sy = (y + h - dy % h) % h;
        for x in 0..w {
            let sx = (x + w - dx % w) % w;
            out[(y * w + x) * c..(y * w + x + 1) * c]
                .copy_from_slice(&src[(sy * w + sx) * c..(sy * w + sx + 1) * c]);
        }
    }
}

/// grad (H, W, C) becomes the sum over k < scales of 2^k times grad averaged over 2^k x 2^k
/// blocks (the last block of a row or column takes what is left), brought back to full size
/// bilinearly so that no block edges show. Averaging shrinks pixel noise by 2^k and a smooth
/// gradient not at all, so the factor 2^k leaves noise as it was and lifts large shapes: a
/// roughly 1/frequency weighting, as natural images have.
fn multi_scale(grad: &mut [f32], (h, w, c): (usize, usize, usize), scales: usize) {
    let fine = grad.to_vec();
    for k in 1..scales {
        let b = 1usize << k;
        let (bh, bw) = (h.div_ceil(b), w.div_ceil(b));
        let mut coarse = vec![0f32; bh * bw * c]; // (bh, bw, C)
        let mut count = vec![0f32; bh * bw];
        for y in 0..h {
            for x in 0..w {
                let cell = (y / b) * bw + x / b;
                count[cell] += 1.0;
                for ch in 0..c {
                    coarse[cell * c + ch] += fine[(y * w + x) * c + ch];
                }
            }
        }
        for (cell, n) in count.iter().enumerate() {
            for ch in 0..c {
                coarse[cell * c + ch] /= n;
            }
        }
        for ch in 0..c {
            let plane: Vec<f32> = coarse.iter().skip(ch).step_by(c).copied().collect();
            let up = resize_bilinear(&plane, bh, bw, h, w);
            for (i, v) in up.iter().enumerate() {
                grad[i * c + ch] += b as f32 * v;
            }
        }
    }
}

/// grad (H, W, C) -= d/dx [l2 * sum((x - 0.5)^2) + tv * sum of squared neighbour differences].
fn subtract_penalty_gradients(
    grad: &mut [f32],
    x: &[f32],
    (h, w, c): (usize, usize, usize),
    l2: f32,
    tv: f32,
) {
    for (g, &v) in grad.iter_mut().zip(x) {
        *g -= 2.0 * l2 * (v - 0.5);
    }
    if tv == 0.0 {
        return;
    }
    for y in 0..h {
        for xx in 0..w {
            for ch in 0..c {
                let i = (y * w + xx) * c + ch;
                if xx + 1 < w {
                    let d = 2.0 * tv * (x[i] - x[i + c]);
                    grad[i] -= d;
                    grad[i + c] += d;
                }
                if y + 1 < h {
                    let d = 2.0 * tv * (x[i] - x[i + w * c]);
                    grad[i] -= d;
                    grad[i + w * c] += d;
                }
            }
        }
    }
}
