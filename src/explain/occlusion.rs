//! Occlusion (Zeiler & Fergus, 2014): slide a grey patch over the picture and watch the class
//! score. A pixel's value is the mean drop of the score over the patches that covered it: above
//! 0 where hiding it costs the class evidence, below 0 where hiding it helps. No gradient: it
//! asks the model directly, one patched copy per position (run through the model together).

use super::model::Explainable;
use super::target::{check_class, check_image, class_score};
use crate::{invalid, Result};
use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcclusionConfig {
    /// The patch's side and its step, in pixels.
    pub patch: usize,
    pub stride: usize,
    /// The value the patch paints; `None`: the picture's mean value.
    pub fill: Option<f32>,
}

impl OcclusionConfig {
    /// Refuses a patch or stride that does not fit an (h, w) picture.
    pub fn check(&self, h: usize, w: usize) -> Result<()> {
        if self.patch == 0 || self.patch > h.min(w) {
            return Err(invalid!(
                "the occlusion patch must be between 1 and {} pixels (the picture is {h}x{w}; got {})",
                h.min(w),
                self.patch
            ));
        }
        if self.stride == 0 || self.stride > self.patch {
            return Err(invalid!(
                "the occlusion stride must be between 1 and the patch size {} (got {}): a larger one leaves pixels never covered",
                self.patch,
                self.stride
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Occlusion {
    pub height: usize,
    pub width: usize,
    pub class: usize,
    pub score: f32,
    pub patches: usize,
    /// Mean score drop over the patches covering each pixel; 0 where none did. (H, W)
    pub map: Vec<f32>,
}

/// Occlusion map of `class` for `image` (H, W, C).
pub fn occlusion(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    cfg: OcclusionConfig,
) -> Result<Occlusion> {
    check_image(model, image)?;
    check_class(model, class)?;
    let input = model.input_shape();
    let (h, w, c) = (input.height, input.width, input.channels);
    cfg.check(h, w)?;
    let fill = match cfg.fill {
        Some(v) if v.is_finite() => v,
        Some(v) => return Err(invalid!("the patch's value must be a number (got {v})")),
        None => image.iter().sum::<f32>() / image.len() as f32,
    };
    let kind = model.output_kind();
    let score = class_score(kind, model.infer(image)?, class);
    // Patch corners: every `stride`, plus one flush with the far edge so that it is covered.
    let corners = |n: usize| {
        let mut v: Vec<usize> = (0..=n - cfg.patch).step_by(cfg.stride).collect();
        if *v.last().unwrap() != n - cfg.patch {
            v.push(n - cfg.patch);
        }
        v
    };
    let places: Vec<(usize, usize)> = corners(h)
        .into_iter()
        .flat_map(|y| corners(w).into_iter().map(move |x| (y, x)))
        .collect();
    let mut drop_sum = vec![0.0f64; h * w];
    let mut cover = vec![0u32; h * w];
    let chunk = model.batch_limit().max(1);
    let mut batch = Vec::with_capacity(chunk * image.len());
    for group in places.chunks(chunk) {
        batch.clear();
        for &(y0, x0) in group {
            let start = batch.len();
            batch.extend_from_slice(image);
            for y in y0..y0 + cfg.patch {
                for x in x0..x0 + cfg.patch {
                    let at = start + (y * w + x) * c;
                    batch[at..at + c].fill(fill);
                }
            }
        }
        let logits = model.infer(&batch)?;
        let units = kind.units();
        for (&(y0, x0), row) in group.iter().zip(logits.chunks_exact(units)) {
            let drop = (score - class_score(kind, row, class)) as f64;
            for y in y0..y0 + cfg.patch {
                for x in x0..x0 + cfg.patch {
                    drop_sum[y * w + x] += drop;
                    cover[y * w + x] += 1;
                }
            }
        }
    }
    let map = drop_sum
        .iter()
        .zip(&cover)
        .map(|(&s, &n)| if n > 0 { (s / n as f64) as f32 } else { 0.0 })
        .collect();
    Ok(Occlusion {
        height: h,
        width: w,
        class,
        score,
        patches: places.len(),
        map,
    })
}
