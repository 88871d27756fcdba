//! Data augmentation, the chapter's remedy for a smile detector that sees smiles only in its own
//! dataset: random flips, rotations, shifts, zoom, brightness, contrast and an elastic warp.
//!
//! An [`Augmenter`] changes each training batch as the trainer assembles it
//! ([`BatchTransform`]), so no augmented copy of the dataset is ever kept and every epoch sees
//! new variants. Validation and test images never pass through it.
//!
//! The geometric changes of one image are one inverse map (output pixel -> source point),
//! sampled bilinearly; points outside the picture read it mirrored at the edge, as Keras's
//! `fill_mode="reflect"` does, so no black corners teach the model that corners are black.
//! Brightness and contrast follow Keras's `RandomBrightness` / `RandomContrast` and clamp to
//! [0, 1]. Never used on the explorer's pictures or on what the page explains.

use super::Dataset;
use crate::limits::augmentation as limits;
use crate::nn::fit::BatchTransform;
use crate::rng::{rng_from_seed, Rng};
use crate::{invalid, Result};
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// What to vary, and by how much at most. The default changes nothing.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct Augmentation {
    /// Mirror left-right with probability 1/2.
    pub flip_horizontal: bool,
    /// Mirror upside down with probability 1/2.
    pub flip_vertical: bool,
    /// Rotate by up to this many degrees either way.
    pub rotation_degrees: f32,
    /// Move by up to this fraction of the side, each axis, either way.
    pub shift: f32,
    /// Scale by a factor from 1/zoom to zoom (drawn evenly on a log scale); 1 = no zoom.
    pub zoom: f32,
    /// Add up to this much to every intensity, either way (intensities are 0..1).
    pub brightness: f32,
    /// Stretch each channel around its mean by a factor from 1 - contrast to 1 + contrast.
    pub contrast: f32,
    /// Elastic warp: every pixel moves by a smooth random field, at most this many pixels.
    pub elastic_pixels: f32,
}

impl Default for Augmentation {
    fn default() -> Self {
        Self {
            flip_horizontal: false,
            flip_vertical: false,
            rotation_degrees: 0.0,
            shift: 0.0,
            zoom: 1.0,
            brightness: 0.0,
            contrast: 0.0,
            elastic_pixels: 0.0,
        }
    }
}

impl Augmentation {
    /// Left-right flips, ±10°, 5% shifts, zoom up to 1.1x, ±0.1 brightness, ±20% contrast and a
    /// 1-pixel elastic warp: variations a face photo plausibly has. Measured on the synthetic
    /// faces: stronger shifts and rotations kept the chapter's model near chance for 10 epochs
    /// on some seeds, and a 2-pixel warp can bend a small mouth's curve the other way (a smile
    /// into a frown, changing what the label says).
    pub fn suggested() -> Self {
        Self {
            flip_horizontal: true,
            flip_vertical: false,
            rotation_degrees: 10.0,
            shift: 0.05,
            zoom: 1.1,
            brightness: 0.1,
            contrast: 0.2,
            elastic_pixels: 1.0,
        }
    }

    /// True when nothing is varied.
    pub fn is_off(&self) -> bool {
        *self == Self::default()
    }

    fn is_geometric(&self) -> bool {
        self.flip_horizontal
            || self.flip_vertical
            || self.rotation_degrees != 0.0
            || self.shift != 0.0
            || self.zoom != 1.0
            || self.elastic_pixels != 0.0
    }

    /// Checks settings that come from the user: each range is one a picture survives.
    pub fn validate(&self) -> Result<()> {
        let check = |value: f32, (lo, hi): (f32, f32), what: &str, unit: &str| {
            if value.is_finite() && (lo..=hi).contains(&value) {
                Ok(())
            } else {
                Err(invalid!(
                    "the augmentation's {what} must be from {lo}{unit} to {hi}{unit} (got {value}{unit})"
                ))
            }
        };
        check(
            self.rotation_degrees,
            limits::ROTATION_DEGREES,
            "rotation",
            "°",
        )?;
        check(self.shift, limits::SHIFT, "shift", " of the side")?;
        check(self.zoom, limits::ZOOM, "zoom factor", "x")?;
        check(self.brightness, limits::BRIGHTNESS, "brightness change", "")?;
        check(self.contrast, limits::CONTRAST, "contrast change", "")?;
        check(
            self.elastic_pixels,
            limits::ELASTIC_PIXELS,
            "elastic warp",
            " pixels",
        )
    }
}

/// The random draw for one image: what [`warp`] and [`adjust`] apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Variation {
    pub flip_horizontal: bool,
    pub flip_vertical: bool,
    pub rotation_degrees: f32,
    /// Shift in pixels (x, y): the content moves right and down by this much.
    pub shift: (f32, f32),
    /// The content grows by this factor.
    pub zoom: f32,
    /// Per-pixel displacement (dx, dy) in pixels, (H, W) each; empty for none.
    pub elastic: (Vec<f32>, Vec<f32>),
    pub brightness: f32,
    pub contrast: f32,
}

impl Variation {
    /// Changes nothing.
    pub fn identity() -> Self {
        Self {
            flip_horizontal: false,
            flip_vertical: false,
            rotation_degrees: 0.0,
            shift: (0.0, 0.0),
            zoom: 1.0,
            elastic: (Vec::new(), Vec::new()),
            brightness: 0.0,
            contrast: 1.0,
        }
    }

    /// One draw for an (H, W) picture.
    pub fn draw(a: &Augmentation, rng: &mut Rng, height: usize, width: usize) -> Self {
        let symmetric = |rng: &mut Rng, r: f32| {
            if r == 0.0 {
                0.0
            } else {
                r * (2.0 * rng.random::<f32>() - 1.0)
            }
        };
        let mut v = Self::identity();
        v.flip_horizontal = a.flip_horizontal && rng.random::<bool>();
        v.flip_vertical = a.flip_vertical && rng.random::<bool>();
        v.rotation_degrees = symmetric(rng, a.rotation_degrees);
        v.shift = (
            symmetric(rng, a.shift) * width as f32,
            symmetric(rng, a.shift) * height as f32,
        );
        v.zoom = symmetric(rng, a.zoom.ln()).exp();
        if a.elastic_pixels > 0.0 {
            v.elastic = elastic_field(rng, a.elastic_pixels, height, width);
        }
        v.brightness = symmetric(rng, a.brightness);
        v.contrast = 1.0 + symmetric(rng, a.contrast);
        v
    }
}

/// Simard et al.'s elastic distortion: uniform noise in [-1, 1] per pixel and axis, smoothed
/// (three box blurs approximate a Gaussian of a sixteenth of the side, the scale of a mouth's
/// curve), then scaled so that the largest move is `strength` pixels.
fn elastic_field(
    rng: &mut Rng,
    strength: f32,
    height: usize,
    width: usize,
) -> (Vec<f32>, Vec<f32>) {
    let radius = (height.min(width) / 16).max(1);
    let mut axis = || {
        let mut f: Vec<f32> = (0..height * width)
            .map(|_| 2.0 * rng.random::<f32>() - 1.0)
            .collect();
        for _ in 0..3 {
            box_blur(&mut f, height, width, radius);
        }
        f
    };
    let (mut dx, mut dy) = (axis(), axis());
    let largest = dx
        .iter()
        .zip(&dy)
        .map(|(x, y)| x.hypot(*y))
        .fold(0.0f32, f32::max);
    if largest > 0.0 {
        let scale = strength / largest;
        dx.iter_mut().chain(dy.iter_mut()).for_each(|v| *v *= scale);
    }
    (dx, dy)
}

/// Mean over a (2r+1)-wide window along rows, then columns, clamping at the edges.
fn box_blur(f: &mut [f32], height: usize, width: usize, r: usize) {
    let mut line = Vec::new();
    let mut blur_line = |get: &mut dyn FnMut(usize) -> f32, n: usize, out: &mut Vec<f32>| {
        line.clear();
        line.extend((0..n).map(&mut *get));
        out.clear();
        for i in 0..n {
            let (lo, hi) = (i.saturating_sub(r), (i + r).min(n - 1));
            out.push(line[lo..=hi].iter().sum::<f32>() / (hi - lo + 1) as f32);
        }
    };
    let mut out = Vec::new();
    for y in 0..height {
        blur_line(&mut |x| f[y * width + x], width, &mut out);
        f[y * width..(y + 1) * width].copy_from_slice(&out);
    }
    for x in 0..width {
        blur_line(&mut |y| f[y * width + x], height, &mut out);
        for (y, v) in out.iter().enumerate() {
            f[y * width + x] = *v;
        }
    }
}

/// Index `i` mirrored into 0..n (… c b a | a b c … | c b a …), Keras's "reflect".
fn reflect(i: i64, n: usize) -> usize {
    let n = n as i64;
    let m = i.rem_euclid(2 * n);
    (if m < n { m } else { 2 * n - 1 - m }) as usize
}

/// The geometric part of `v` on one (H, W, C) picture: `dst[p] = src[map(p)]`, bilinear.
pub fn warp(
    v: &Variation,
    src: &[f32],
    dst: &mut [f32],
    height: usize,
    width: usize,
    channels: usize,
) {
    let (cx, cy) = ((width as f32 - 1.0) / 2.0, (height as f32 - 1.0) / 2.0);
    let (sin, cos) = v.rotation_degrees.to_radians().sin_cos();
    let (dx, dy) = &v.elastic;
    let sample = |sx: f32, sy: f32, c: usize| -> f32 {
        let (x0, y0) = (sx.floor(), sy.floor());
        let (fx, fy) = (sx - x0, sy - y0);
        let at =
            |x: i64, y: i64| src[(reflect(y, height) * width + reflect(x, width)) * channels + c];
        let (x0, y0) = (x0 as i64, y0 as i64);
        let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1, y0) * fx;
        let bottom = at(x0, y0 + 1) * (1.0 - fx) + at(x0 + 1, y0 + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    };
    for y in 0..height {
        for x in 0..width {
            // Undo, in reverse order, what was done to the content: shift, zoom, rotation, flips.
            let mut px = (x as f32 - cx - v.shift.0) / v.zoom;
            let mut py = (y as f32 - cy - v.shift.1) / v.zoom;
            (px, py) = (cos * px + sin * py, -sin * px + cos * py);
            if v.flip_horizontal {
                px = -px;
            }
            if v.flip_vertical {
                py = -py;
            }
            let (mut sx, mut sy) = (px + cx, py + cy);
            if !dx.is_empty() {
                sx += dx[y * width + x];
                sy += dy[y * width + x];
            }
            for c in 0..channels {
                dst[(y * width + x) * channels + c] = sample(sx, sy, c);
            }
        }
    }
}

/// The photometric part of `v` on one (H, W, C) picture, in place: each channel stretched
/// around its mean by the contrast factor, the brightness added, clamped to [0, 1].
pub fn adjust(v: &Variation, image: &mut [f32], channels: usize) {
    if v.contrast != 1.0 {
        let pixels = (image.len() / channels) as f32;
        for c in 0..channels {
            let mean = image.iter().skip(c).step_by(channels).sum::<f32>() / pixels;
            for value in image.iter_mut().skip(c).step_by(channels) {
                *value = mean + (*value - mean) * v.contrast;
            }
        }
    }
    for value in image.iter_mut() {
        *value = (*value + v.brightness).clamp(0.0, 1.0);
    }
}

/// Applies an [`Augmentation`] to batches of (H, W, C) pictures, from a seed.
#[derive(Debug)]
pub struct Augmenter {
    settings: Augmentation,
    height: usize,
    width: usize,
    channels: usize,
    rng: Rng,
    scratch: Vec<f32>,
}

impl Augmenter {
    /// Checks the settings; the same seed gives the same variants in the same order.
    pub fn new(
        settings: Augmentation,
        (height, width, channels): (usize, usize, usize),
        seed: u64,
    ) -> Result<Self> {
        settings.validate()?;
        Ok(Self {
            settings,
            height,
            width,
            channels,
            rng: rng_from_seed(seed),
            scratch: vec![0.0; height * width * channels],
        })
    }

    pub fn settings(&self) -> &Augmentation {
        &self.settings
    }

    /// One random variant of one picture, in place.
    pub fn augment(&mut self, image: &mut [f32]) {
        if self.settings.is_off() {
            return;
        }
        let v = Variation::draw(&self.settings, &mut self.rng, self.height, self.width);
        if self.settings.is_geometric() {
            warp(
                &v,
                image,
                &mut self.scratch,
                self.height,
                self.width,
                self.channels,
            );
            image.copy_from_slice(&self.scratch);
        }
        adjust(&v, image, self.channels);
    }

    /// `count` variants of one picture, (count, H, W, C): the gallery's preview.
    pub fn variants(&mut self, image: &[f32], count: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(count * image.len());
        for _ in 0..count {
            let start = out.len();
            out.extend_from_slice(image);
            self.augment(&mut out[start..]);
        }
        out
    }
}

/// The trainer's transform for batches of `set`'s pictures, or none when `settings` change
/// nothing (so that training without augmentation does no extra work).
pub fn batch_transform(
    settings: Augmentation,
    set: &Dataset,
    seed: u64,
) -> Result<Option<Box<dyn BatchTransform>>> {
    if settings.is_off() {
        return Ok(None);
    }
    let shape = (set.height(), set.width(), set.channels());
    Ok(Some(Box::new(Augmenter::new(settings, shape, seed)?)))
}

impl BatchTransform for Augmenter {
    fn transform(&mut self, images: &mut [f32], count: usize) {
        let len = self.height * self.width * self.channels;
        for image in images[..count * len].chunks_exact_mut(len) {
            self.augment(image);
        }
    }
}
