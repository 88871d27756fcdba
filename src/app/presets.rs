//! The explorer's built-in inputs, drawn procedurally so the crate ships no binary assets:
//! the chapter's letter X (+1/-1 grid), a handwritten-style digit 7 and a small RGB face.

use crate::{invalid, Result};

/// A small image for the explorer. data (H, W, C), row-major, as the page shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub data: Vec<f32>, // (H, W, C)
}

impl Image {
    /// An image from raw values, checking that the sizes match.
    pub fn new(height: usize, width: usize, channels: usize, data: Vec<f32>) -> Result<Self> {
        if height == 0 || width == 0 || channels == 0 {
            return Err(invalid!("the input must have at least one row, one column and one channel (got {height}x{width}x{channels})"));
        }
        if data.len() != height * width * channels {
            return Err(invalid!(
                "the input has {} values but {height}x{width}x{channels} needs {}",
                data.len(),
                height * width * channels
            ));
        }
        if data.iter().any(|v| !v.is_finite()) {
            return Err(invalid!(
                "the input contains a value that is not a finite number"
            ));
        }
        Ok(Self {
            height,
            width,
            channels,
            data,
        })
    }
}

/// The names the page uses for the built-in inputs.
pub const INPUT_PRESETS: [&str; 4] = ["x", "seven", "seven14", "face"];

/// A built-in input by name: `x` (9x9), `seven` (28x28), `seven14` (14x14, the chapter's
/// size example) or `face` (64x64x3).
pub fn input_preset(name: &str) -> Result<Image> {
    match name {
        "x" => Ok(letter_x()),
        "seven" => Ok(digit_seven(28)),
        "seven14" => Ok(digit_seven(14)),
        "face" => Ok(face_rgb(64)),
        _ => Err(invalid!(
            "there is no built-in input called '{name}' (try one of: {})",
            INPUT_PRESETS.join(", ")
        )),
    }
}

/// The chapter's letter X: +1 on the two diagonals, -1 elsewhere, with a -1 border. (9, 9, 1)
pub fn letter_x() -> Image {
    const N: usize = 9;
    let mut data = vec![-1.0; N * N];
    for i in 1..N - 1 {
        data[i * N + i] = 1.0;
        data[i * N + (N - 1 - i)] = 1.0;
    }
    Image {
        height: N,
        width: N,
        channels: 1,
        data,
    }
}

/// A handwritten-style 7: ink 1 on paper 0, with soft (anti-aliased) stroke edges. (size, size, 1)
pub fn digit_seven(size: usize) -> Image {
    // The pen path in unit coordinates (x right, y down): a slightly rising top bar, then a
    // gently curved down-stroke, the way people write a 7.
    const PATH: [(f32, f32); 7] = [
        (0.20, 0.27),
        (0.45, 0.235),
        (0.73, 0.215),
        (0.68, 0.32),
        (0.59, 0.49),
        (0.51, 0.66),
        (0.46, 0.82),
    ];
    let s = size as f32;
    let radius = 0.075 * s; // about 4 px wide at 28x28, like MNIST strokes
    let mut data = vec![0.0; size * size];
    for y in 0..size {
        for x in 0..size {
            let p = ((x as f32 + 0.5) / s, (y as f32 + 0.5) / s);
            let d = PATH
                .windows(2)
                .map(|seg| segment_distance(p, seg[0], seg[1]))
                .fold(f32::INFINITY, f32::min)
                * s;
            data[y * size + x] = coverage(radius - d);
        }
    }
    Image {
        height: size,
        width: size,
        channels: 1,
        data,
    }
}

/// A friendly cartoon face in RGB, values in [0, 1]. (size, size, 3)
pub fn face_rgb(size: usize) -> Image {
    const SKIN: [f32; 3] = [0.96, 0.78, 0.64];
    const HAIR: [f32; 3] = [0.32, 0.21, 0.14];
    const EYE_WHITE: [f32; 3] = [0.98, 0.98, 0.97];
    const IRIS: [f32; 3] = [0.16, 0.30, 0.42];
    const LIPS: [f32; 3] = [0.80, 0.20, 0.26];
    const BLUSH: [f32; 3] = [0.96, 0.58, 0.56];
    const SHIRT: [f32; 3] = [0.22, 0.46, 0.66];
    let s = size as f32;
    let mut data = vec![0.0; size * size * 3];
    for y in 0..size {
        for x in 0..size {
            let p = ((x as f32 + 0.5) / s, (y as f32 + 0.5) / s);
            // Background: a calm vertical gradient.
            let t = p.1;
            let mut c = [0.82 - 0.16 * t, 0.88 - 0.14 * t, 0.95 - 0.10 * t];
            let mut paint = |colour: [f32; 3], alpha: f32| {
                for (ch, col) in c.iter_mut().zip(colour) {
                    *ch += (col - *ch) * alpha;
                }
            };
            paint(SHIRT, ellipse(p, (0.5, 1.10), (0.46, 0.24), s));
            paint(HAIR, ellipse(p, (0.5, 0.43), (0.39, 0.38), s));
            paint(SKIN, ellipse(p, (0.19, 0.54), (0.05, 0.08), s));
            paint(SKIN, ellipse(p, (0.81, 0.54), (0.05, 0.08), s));
            // The face, slightly darker towards its edge so that it looks round.
            let face = ellipse(p, (0.5, 0.53), (0.30, 0.36), s);
            let shade = 1.0
                - 0.10 * (((p.0 - 0.5) / 0.30).powi(2) + ((p.1 - 0.53) / 0.36).powi(2)).min(1.0);
            paint(SKIN.map(|v| v * shade), face);
            paint(HAIR, ellipse(p, (0.5, 0.20), (0.31, 0.11), s));
            paint(BLUSH, 0.45 * ellipse(p, (0.32, 0.63), (0.06, 0.04), s));
            paint(BLUSH, 0.45 * ellipse(p, (0.68, 0.63), (0.06, 0.04), s));
            for cx in [0.38, 0.62] {
                paint(EYE_WHITE, ellipse(p, (cx, 0.48), (0.07, 0.045), s));
                paint(IRIS, ellipse(p, (cx, 0.485), (0.032, 0.032), s));
            }
            paint(
                HAIR,
                stroke(p, &[(0.30, 0.405), (0.37, 0.39), (0.44, 0.40)], 0.014, s),
            );
            paint(
                HAIR,
                stroke(p, &[(0.56, 0.40), (0.63, 0.39), (0.70, 0.405)], 0.014, s),
            );
            paint(
                SKIN.map(|v| v * 0.82),
                stroke(p, &[(0.50, 0.52), (0.48, 0.59), (0.51, 0.60)], 0.012, s),
            );
            let smile: Vec<(f32, f32)> = (0..=12)
                .map(|i| {
                    let a = (25.0 + 130.0 * i as f32 / 12.0).to_radians();
                    (0.5 + 0.14 * a.cos(), 0.60 + 0.10 * a.sin())
                })
                .collect();
            paint(LIPS, stroke(p, &smile, 0.022, s));
            let i = (y * size + x) * 3;
            data[i..i + 3].copy_from_slice(&c.map(|v| v.clamp(0.0, 1.0)));
        }
    }
    Image {
        height: size,
        width: size,
        channels: 3,
        data,
    }
}

/// How much of a pixel a shape covers, given the signed distance (in pixels) from the shape's
/// edge to the pixel centre (positive inside): a one-pixel soft edge instead of jaggies.
fn coverage(inside_px: f32) -> f32 {
    (inside_px + 0.5).clamp(0.0, 1.0)
}

/// Coverage of a filled ellipse (centre, radii in unit coordinates) at point `p`.
fn ellipse(p: (f32, f32), centre: (f32, f32), radii: (f32, f32), size: f32) -> f32 {
    let r = (((p.0 - centre.0) / radii.0).powi(2) + ((p.1 - centre.1) / radii.1).powi(2)).sqrt();
    coverage((1.0 - r) * radii.0.min(radii.1) * size)
}

/// Coverage of a pen stroke of the given radius along a polyline.
fn stroke(p: (f32, f32), path: &[(f32, f32)], radius: f32, size: f32) -> f32 {
    let d = path
        .windows(2)
        .map(|seg| segment_distance(p, seg[0], seg[1]))
        .fold(f32::INFINITY, f32::min);
    coverage((radius - d) * size)
}

/// Distance from point `p` to the segment a-b.
fn segment_distance(p: (f32, f32), a: (f32, f32), b: (f32, f32)) -> f32 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len2 = dx * dx + dy * dy;
    let t = if len2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / len2).clamp(0.0, 1.0)
    };
    ((p.0 - a.0 - t * dx).powi(2) + (p.1 - a.1 - t * dy).powi(2)).sqrt()
}
