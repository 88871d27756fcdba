//! Integrated Gradients (Sundararajan et al., 2017): the gradient of the class score averaged
//! along the straight path from a baseline image x' to the image x, times (x - x'). Its
//! attributions add up to f(x) - f(x') ("completeness") as the number of steps grows, which
//! [`IntegratedGradients::completeness_error`] reports. The path is sampled at the midpoints of
//! `steps` equal segments (a midpoint Riemann sum), the copies run through the model together.

use super::model::{Explainable, Point};
use super::target::{check_class, check_image, class_score, class_score_gradient};
use crate::{invalid, Result};
use serde::Serialize;

/// Most path points (each one forward and one backward pass).
pub const MAX_STEPS: usize = 1024;

/// Where the path starts.
#[derive(Debug, Clone, PartialEq)]
pub enum Baseline {
    /// Every value `v` (0 is black for pictures in [0, 1]).
    Constant(f32),
    /// The image blurred by a box of this radius: keeps the colours, removes the detail.
    Blurred(usize),
    /// A given image, (H, W, C) like the input.
    Image(Vec<f32>),
}

impl Baseline {
    /// Reads the page's choice: `black`, `grey` or `blur`.
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "black" => Ok(Baseline::Constant(0.0)),
            "grey" | "gray" => Ok(Baseline::Constant(0.5)),
            "blur" => Ok(Baseline::Blurred(5)),
            _ => Err(invalid!(
                "'{name}' is not a baseline for Integrated Gradients: use black, grey or blur"
            )),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntegratedGradients {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub class: usize,
    pub steps: usize,
    /// f(x) and f(x') on the logit.
    pub score: f32,
    pub baseline_score: f32,
    /// (x - x') times the path's mean gradient. (H, W, C)
    pub attributions: Vec<f32>,
    /// Per pixel, the channels' sum: evidence for (> 0) and against (< 0) the class. (H, W)
    pub map: Vec<f32>,
    /// The attributions' sum, and |sum - (f(x) - f(x'))| / max(|f(x) - f(x')|, 1e-6).
    pub sum: f32,
    pub completeness_error: f32,
}

/// The baseline image for `image` (H, W, C).
fn baseline_image(
    baseline: &Baseline,
    image: &[f32],
    (h, w, c): (usize, usize, usize),
) -> Result<Vec<f32>> {
    match baseline {
        Baseline::Constant(v) if v.is_finite() => Ok(vec![*v; image.len()]),
        Baseline::Constant(v) => Err(invalid!("the baseline value must be a number (got {v})")),
        Baseline::Blurred(r) => Ok(box_blur(image, (h, w, c), *r)),
        Baseline::Image(b) => {
            if b.len() != image.len() {
                return Err(invalid!(
                    "the baseline image has {} values but the picture has {} ({h}x{w}x{c})",
                    b.len(),
                    image.len()
                ));
            }
            if b.iter().any(|v| !v.is_finite()) {
                return Err(invalid!(
                    "the baseline image holds a value that is not a number"
                ));
            }
            Ok(b.clone())
        }
    }
}

/// A box blur of radius `r` per channel, the window clipped at the edges. (H, W, C)
pub fn box_blur(image: &[f32], (h, w, c): (usize, usize, usize), r: usize) -> Vec<f32> {
    let mut out = vec![0.0; image.len()];
    for y in 0..h {
        for x in 0..w {
            let (y0, y1) = (y.saturating_sub(r), (y + r + 1).min(h));
            let (x0, x1) = (x.saturating_sub(r), (x + r + 1).min(w));
            let n = ((y1 - y0) * (x1 - x0)) as f32;
            for k in 0..c {
                let mut s = 0.0;
                for yy in y0..y1 {
                    for xx in x0..x1 {
                        s += image[(yy * w + xx) * c + k];
                    }
                }
                out[(y * w + x) * c + k] = s / n;
            }
        }
    }
    out
}

/// Refuses a step count Integrated Gradients cannot use.
pub fn check_steps(steps: usize) -> Result<()> {
    if steps == 0 || steps > MAX_STEPS {
        return Err(invalid!(
            "Integrated Gradients needs between 1 and {MAX_STEPS} steps along the path (got {steps})"
        ));
    }
    Ok(())
}

/// Integrated Gradients of `class` for `image` (H, W, C) from `baseline` in `steps` steps.
pub fn integrated_gradients(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    baseline: &Baseline,
    steps: usize,
) -> Result<IntegratedGradients> {
    check_image(model, image)?;
    check_class(model, class)?;
    check_steps(steps)?;
    let input = model.input_shape();
    let shape = (input.height, input.width, input.channels);
    let start = baseline_image(baseline, image, shape)?;
    let kind = model.output_kind();
    let score = class_score(kind, model.infer(image)?, class);
    let baseline_score = class_score(kind, model.infer(&start)?, class);

    let len = image.len();
    let mut mean_gradient = vec![0.0f64; len];
    let chunk = model.batch_limit().max(1);
    let mut batch = Vec::with_capacity(chunk * len);
    let mut d_logits = Vec::new();
    let mut done = 0;
    while done < steps {
        let n = chunk.min(steps - done);
        batch.clear();
        for s in done..done + n {
            let alpha = (s as f32 + 0.5) / steps as f32;
            batch.extend(start.iter().zip(image).map(|(&b, &x)| b + alpha * (x - b)));
        }
        model.infer(&batch)?;
        class_score_gradient(kind, class, n, &mut d_logits);
        for row in model
            .backprop(Point::Logits, &d_logits, Point::Image)?
            .chunks_exact(len)
        {
            for (m, &g) in mean_gradient.iter_mut().zip(row) {
                *m += g as f64;
            }
        }
        done += n;
    }
    let attributions: Vec<f32> = mean_gradient
        .iter()
        .zip(image.iter().zip(&start))
        .map(|(&g, (&x, &b))| (g / steps as f64 * (x - b) as f64) as f32)
        .collect();
    let map = attributions
        .chunks_exact(input.channels)
        .map(|px| px.iter().sum())
        .collect();
    let sum = attributions.iter().map(|&a| a as f64).sum::<f64>() as f32;
    let delta = score - baseline_score;
    Ok(IntegratedGradients {
        height: input.height,
        width: input.width,
        channels: input.channels,
        class,
        steps,
        score,
        baseline_score,
        attributions,
        map,
        sum,
        completeness_error: (sum - delta).abs() / delta.abs().max(1e-6),
    })
}
