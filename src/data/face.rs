//! One cartoon face for the synthetic smiles: every trait is drawn at random and
//! independently of the label, except the sign of the mouth's bend (corners up =
//! smiling). Shapes live in the face's own frame (unit = half the face's width, y
//! down), which is placed, scaled and rotated into the picture.

use rand::RngExt;

use super::draw::{
    ellipse, mix, points_extent, polygon, polyline, rounded_rect, scale, segment, sq, Canvas,
    Frame, Rgb,
};
use super::{Landmarks, PixelBox};
use crate::rng::Rng;

/// How much faces vary, and how subtle mouths get (set by the difficulty).
#[derive(Clone, Copy, Debug)]
pub(super) struct Variation {
    /// The mouth bend (corner height over centre) in pixels runs from `bend_px.0` to
    /// `bend_px.1`, skewed towards small values by `bend_skew` (>= 1).
    pub bend_px: (f32, f32),
    pub bend_skew: f32,
    /// Largest shift of the face centre from the picture centre, in pixels.
    pub shift_px: f32,
    /// Range of the face half-width in pixels.
    pub half_width_px: (f32, f32),
    /// Largest head tilt in radians.
    pub max_tilt: f32,
    /// Smallest lip contrast against the skin (1 = the lip colour itself).
    pub min_lip_contrast: f32,
}

pub(super) fn uniform(rng: &mut Rng, lo: f32, hi: f32) -> f32 {
    lo + (hi - lo) * rng.random::<f32>()
}

pub(super) fn chance(rng: &mut Rng, p: f32) -> bool {
    rng.random::<f32>() < p
}

/// An index below `n`, drawn the same way on 32- and 64-bit targets.
pub(super) fn pick(rng: &mut Rng, n: usize) -> usize {
    rng.random_range(0..n as u32) as usize
}

/// A colour from hue, saturation and value, all in [0, 1].
pub(super) fn hsv(h: f32, s: f32, v: f32) -> Rgb {
    let h6 = (h.fract() * 6.0).clamp(0.0, 5.999);
    let f = h6.fract();
    let (p, q, t) = (v * (1.0 - s), v * (1.0 - s * f), v * (1.0 - s * (1.0 - f)));
    match h6 as u32 {
        0 => [v, t, p],
        1 => [q, v, p],
        2 => [p, v, t],
        3 => [p, q, v],
        4 => [t, p, v],
        _ => [v, p, q],
    }
}

/// Traits shared by several parts of one face.
struct Look {
    aspect: f32, // face height over width
    skin: Rgb,
    hair: Rgb,
    eye_x: f32,
    eye_y: f32,
    mouth_y: f32,
}

/// Paints a whole person (shoulders, head, hair, features, mouth) and returns where the
/// face and the mouth are.
pub(super) fn paint_face(
    canvas: &mut Canvas,
    rng: &mut Rng,
    var: &Variation,
    smiling: bool,
) -> Landmarks {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    let half_width = uniform(rng, var.half_width_px.0, var.half_width_px.1) * w / 64.0;
    let aspect = uniform(rng, 1.1, 1.3);
    let tilt = uniform(rng, -var.max_tilt, var.max_tilt);
    let shift = var.shift_px * w / 64.0;
    let (dx, dy) = (uniform(rng, -shift, shift), uniform(rng, -shift, shift));
    // A small face may sit anywhere; a large one is kept up so that its mouth stays inside.
    let cy = (h * 0.46 + dy).min(h - 6.0 - half_width * aspect * 0.8);
    let frame = Frame::new(w / 2.0 + dx, cy, half_width, tilt);
    let look = Look {
        aspect,
        skin: skin_tone(rng),
        hair: hair_colour(rng),
        eye_x: uniform(rng, 0.3, 0.44),
        eye_y: -aspect * uniform(rng, 0.04, 0.24),
        mouth_y: aspect * uniform(rng, 0.44, 0.6),
    };
    let hair_style = pick(rng, 6);
    paint_body(canvas, &frame, rng, &look);
    paint_hair_back(canvas, &frame, rng, &look, hair_style);
    paint_head(canvas, &frame, rng, &look);
    paint_hair_front(canvas, &frame, rng, &look, hair_style);
    paint_eyes(canvas, &frame, rng, &look);
    paint_brows(canvas, &frame, rng, &look);
    let nose_y = look.mouth_y - uniform(rng, 0.2, 0.32);
    paint_nose(canvas, &frame, rng, &look, nose_y);
    paint_cheeks(canvas, &frame, rng, &look, nose_y);
    paint_glasses(canvas, &frame, rng, &look);
    let mouth = paint_mouth(canvas, &frame, rng, var, &look, smiling);
    Landmarks {
        face: face_box(canvas, &frame, aspect),
        mouth,
    }
}

/// The pixel box of the face's oval (half-width 1 and half-height `aspect` in the face frame,
/// turned with it), clamped to the picture: the ears and hair are outside it, as they are
/// outside the face oval marked on the Happy House photos.
fn face_box(canvas: &Canvas, f: &Frame, aspect: f32) -> PixelBox {
    let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
    for k in 0..64 {
        let t = k as f32 * std::f32::consts::TAU / 64.0;
        let (x, y) = f.to_pixel(libm::cosf(t), aspect * libm::sinf(t));
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    let clamp = |v: f32, n: usize| (v.max(0.0) as usize).min(n);
    let (bx0, by0) = (
        clamp(x0.floor(), canvas.width - 1),
        clamp(y0.floor(), canvas.height - 1),
    );
    PixelBox {
        x0: bx0,
        y0: by0,
        x1: clamp(x1.ceil(), canvas.width).max(bx0 + 1),
        y1: clamp(y1.ceil(), canvas.height).max(by0 + 1),
    }
}

/// Skin from very light to very dark, with a little warmth variation.
fn skin_tone(rng: &mut Rng) -> Rgb {
    const TONES: [Rgb; 6] = [
        [0.99, 0.87, 0.77],
        [0.95, 0.76, 0.63],
        [0.86, 0.64, 0.48],
        [0.72, 0.50, 0.34],
        [0.52, 0.35, 0.23],
        [0.36, 0.24, 0.16],
    ];
    let t = uniform(rng, 0.0, 4.999);
    let base = mix(TONES[t as usize], TONES[t as usize + 1], t.fract());
    let warm = uniform(rng, -0.04, 0.04);
    [base[0] + warm, base[1], base[2] - warm]
}

fn hair_colour(rng: &mut Rng) -> Rgb {
    const HAIR: [Rgb; 7] = [
        [0.08, 0.06, 0.05],
        [0.25, 0.15, 0.08],
        [0.45, 0.28, 0.14],
        [0.62, 0.30, 0.12],
        [0.85, 0.70, 0.40],
        [0.70, 0.70, 0.70],
        [0.15, 0.12, 0.12],
    ];
    let base = HAIR[pick(rng, HAIR.len())];
    scale(base, uniform(rng, 0.85, 1.15))
}

/// Shoulders in a shirt and the neck.
fn paint_body(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look) {
    let shirt = hsv(
        uniform(rng, 0.0, 1.0),
        uniform(rng, 0.1, 0.8),
        uniform(rng, 0.2, 0.95),
    );
    let a = look.aspect;
    let (ru, rv) = (uniform(rng, 1.5, 2.1), uniform(rng, 0.7, 1.0));
    let top = a + uniform(rng, 0.2, 0.45);
    f.paint(
        canvas,
        [-ru, top - 0.1, ru, top + 2.0 * rv + 0.1],
        1.0,
        shirt,
        |u, v| ellipse(u, v, 0.0, top + rv, ru, rv),
    );
    let neck = scale(look.skin, 0.82);
    f.paint(canvas, [-0.5, 0.0, 0.5, top + 0.5], 1.0, neck, |u, v| {
        rounded_rect(u, v, 0.0, top / 2.0 + 0.2, 0.36, top / 2.0 + 0.2, 0.1)
    });
}

/// Hair that falls behind the head: long hair (style 3) and curls (style 4).
fn paint_hair_back(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look, style: usize) {
    let a = look.aspect;
    match style {
        3 => {
            let length = a * uniform(rng, 0.4, 1.3);
            let width = uniform(rng, 1.12, 1.3);
            // A dome over the head that falls straight down to the chosen length.
            f.paint(
                canvas,
                [-width, -a - 0.2, width, length + 0.1],
                1.0,
                look.hair,
                |u, v| {
                    let dome = ellipse(u, v, 0.0, -0.05 * a, width, a * 1.06);
                    let fall = rounded_rect(
                        u,
                        v,
                        0.0,
                        length / 2.0 - 0.1,
                        width,
                        length / 2.0 + 0.1,
                        0.25,
                    );
                    dome.min(fall)
                },
            );
        }
        4 => {
            let radius = uniform(rng, 0.22, 0.32);
            let reach = uniform(rng, 1.0, 1.15);
            let bumps: Vec<(f32, f32)> = (0..11)
                .map(|k| {
                    let angle = std::f32::consts::PI * (0.95 + 1.1 * k as f32 / 10.0);
                    (
                        reach * libm::cosf(angle),
                        -0.15 * a + reach * a * 0.95 * libm::sinf(angle),
                    )
                })
                .collect();
            f.paint(
                canvas,
                [-1.5, -a - 0.6, 1.5, 0.4],
                1.0,
                look.hair,
                |u, v| {
                    let curls = bumps
                        .iter()
                        .map(|&(cu, cv)| ellipse(u, v, cu, cv, radius, radius))
                        .fold(f32::INFINITY, f32::min);
                    curls.min(ellipse(u, v, 0.0, -0.2 * a, reach, reach * a * 0.95))
                },
            );
        }
        _ => {}
    }
}

/// Ears, the face, and (often) a darker cartoon outline.
fn paint_head(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look) {
    let a = look.aspect;
    let ear = scale(look.skin, 0.9);
    let ear_v = uniform(rng, -0.15, 0.1) * a;
    for side in [-1.0f32, 1.0] {
        f.paint(
            canvas,
            [
                side * 1.0 - 0.25,
                ear_v - 0.35,
                side * 1.0 + 0.25,
                ear_v + 0.35,
            ],
            1.0,
            ear,
            |u, v| ellipse(u, v, side * 0.97, ear_v, 0.17, 0.27),
        );
    }
    // The jaw narrows a little towards the chin.
    let chin = uniform(rng, 0.0, 0.25);
    let face_sdf = move |u: f32, v: f32| {
        let narrow = 1.0 - chin * (v / a).max(0.0);
        ellipse(u / narrow, v, 0.0, 0.0, 1.0, a) * narrow
    };
    f.paint(
        canvas,
        [-1.1, -a - 0.1, 1.1, a + 0.1],
        1.0,
        look.skin,
        face_sdf,
    );
    if chance(rng, 0.6) {
        let outline = scale(look.skin, uniform(rng, 0.35, 0.7));
        let width = uniform(rng, 0.02, 0.045);
        f.paint(
            canvas,
            [-1.1, -a - 0.1, 1.1, a + 0.1],
            1.0,
            outline,
            move |u, v| face_sdf(u, v).abs() - width,
        );
    }
}

/// Hair on top of the head (styles 0, 1, 2, 3, 5; style 4 has only curls; style 0 is bald
/// but for a fringe at the sides).
fn paint_hair_front(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look, style: usize) {
    let a = look.aspect;
    let hair = look.hair;
    let cap = |u: f32, v: f32| ellipse(u, v, 0.0, -0.05 * a, 1.07, a * 1.04);
    match style {
        0 => {
            // Bald, or a crew cut that lets the skin show through.
            if chance(rng, 0.5) {
                let line = -a * uniform(rng, 0.55, 0.75);
                f.paint(
                    canvas,
                    [-1.2, -a * 1.2, 1.2, 0.0],
                    0.55,
                    hair,
                    move |u, v| cap(u, v).max(v - line),
                );
            }
        }
        4 => {}
        _ => {
            // A hairline that dips at the sides, with a side part or bangs swept to one side.
            let line = -a * uniform(rng, 0.4, 0.72);
            let curve = uniform(rng, 0.1, 0.55);
            let sweep = if chance(rng, 0.5) {
                uniform(rng, -0.3, 0.3)
            } else {
                0.0
            };
            f.paint(
                canvas,
                [-1.2, -a * 1.2, 1.2, 0.3],
                1.0,
                hair,
                move |u, v| cap(u, v).max(v - (line + curve * u * u + sweep * u)),
            );
            if style == 5 {
                let r = uniform(rng, 0.28, 0.4);
                f.paint(
                    canvas,
                    [-r - 0.1, -a - 2.0 * r - 0.2, r + 0.1, -a + 0.2],
                    1.0,
                    hair,
                    move |u, v| ellipse(u, v, 0.0, -a - r * 0.6, r, r),
                );
            }
        }
    }
}

fn paint_eyes(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look) {
    let size = uniform(rng, 0.07, 0.12);
    let dark = hsv(
        uniform(rng, 0.0, 1.0),
        uniform(rng, 0.0, 0.5),
        uniform(rng, 0.03, 0.2),
    );
    // Dots, ovals, whites with irises, or (rarely) closed arcs.
    let style = [0, 0, 1, 1, 2, 3][pick(rng, 6)];
    let gaze = (
        uniform(rng, -0.3, 0.3) * size,
        uniform(rng, -0.2, 0.2) * size,
    );
    let closed_bend = uniform(rng, -0.6, 0.6) * size;
    let highlight = chance(rng, 0.5);
    let v = look.eye_y;
    for side in [-1.0f32, 1.0] {
        let u = side * look.eye_x;
        let b = [
            u - 2.0 * size,
            v - 2.0 * size,
            u + 2.0 * size,
            v + 2.0 * size,
        ];
        match style {
            0 => f.paint(canvas, b, 1.0, dark, |x, y| ellipse(x, y, u, v, size, size)),
            1 => {
                f.paint(canvas, b, 1.0, [0.97, 0.97, 0.95], |x, y| {
                    ellipse(x, y, u, v, size * 1.5, size * 1.05)
                });
                let iris = hsv(
                    uniform(rng, 0.05, 0.6),
                    uniform(rng, 0.3, 0.8),
                    uniform(rng, 0.2, 0.6),
                );
                f.paint(canvas, b, 1.0, iris, |x, y| {
                    ellipse(x, y, u + gaze.0, v + gaze.1, size * 0.75, size * 0.75)
                });
                f.paint(canvas, b, 1.0, dark, |x, y| {
                    ellipse(x, y, u + gaze.0, v + gaze.1, size * 0.38, size * 0.38)
                });
            }
            2 => f.paint(canvas, b, 1.0, dark, |x, y| {
                ellipse(x, y, u, v, size * 0.7, size * 1.35)
            }),
            _ => {
                // Closed eyes: a small arc, bent either way whatever the mouth does.
                let arc: Vec<(f32, f32)> = (0..=6)
                    .map(|k| {
                        let t = k as f32 / 3.0 - 1.0;
                        (u + t * size * 1.4, v + closed_bend * (t * t - 0.5))
                    })
                    .collect();
                f.paint(canvas, b, 1.0, dark, |x, y| polyline(x, y, &arc) - 0.03);
            }
        }
        if highlight && style != 3 {
            let (hu, hv) = (u + gaze.0 + size * 0.3, v + gaze.1 - size * 0.35);
            f.paint(canvas, b, 0.9, [1.0, 1.0, 1.0], |x, y| {
                ellipse(x, y, hu, hv, size * 0.22, size * 0.22)
            });
        }
    }
}

/// Eyebrows: tilt (worried, neutral, stern), bend and thickness are random and do not
/// follow the label.
fn paint_brows(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look) {
    if !chance(rng, 0.85) {
        return;
    }
    let colour = scale(look.hair, uniform(rng, 0.6, 0.9));
    let lift = uniform(rng, 0.15, 0.26);
    let half = uniform(rng, 0.1, 0.18);
    let tilt = uniform(rng, -0.09, 0.09); // inner end lower (> 0) or higher (< 0)
    let bend = uniform(rng, -0.03, 0.06);
    let width = uniform(rng, 0.02, 0.05);
    for side in [-1.0f32, 1.0] {
        let (cu, cv) = (side * look.eye_x, look.eye_y - lift);
        let points: Vec<(f32, f32)> = (0..=6)
            .map(|k| {
                let t = k as f32 / 3.0 - 1.0; // -1 inner .. 1 outer, mirrored per side
                (cu - side * t * half, cv - tilt * t - bend * (1.0 - t * t))
            })
            .collect();
        f.paint(
            canvas,
            [cu - half - 0.1, cv - 0.2, cu + half + 0.1, cv + 0.2],
            1.0,
            colour,
            |x, y| polyline(x, y, &points) - width,
        );
    }
}

fn paint_nose(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look, v: f32) {
    let colour = scale(look.skin, uniform(rng, 0.55, 0.8));
    let b = [-0.3, v - 0.35, 0.3, v + 0.15];
    match pick(rng, 5) {
        0 => {}
        1 => {
            for side in [-1.0f32, 1.0] {
                f.paint(canvas, b, 1.0, colour, |x, y| {
                    ellipse(x, y, side * 0.06, v, 0.028, 0.022)
                });
            }
        }
        2 => {
            let hook = [(0.0, v - 0.28), (0.04, v - 0.02), (-0.05, v)];
            f.paint(canvas, b, 1.0, colour, |x, y| polyline(x, y, &hook) - 0.022);
        }
        3 => f.paint(canvas, b, 1.0, colour, |x, y| {
            ellipse(x, y, 0.0, v - 0.02, 0.09, 0.07)
        }),
        _ => {
            let side = if chance(rng, 0.5) { 1.0 } else { -1.0 };
            let arc = [
                (side * -0.07, v - 0.01),
                (0.0, v + 0.02),
                (side * 0.07, v - 0.01),
            ];
            f.paint(canvas, b, 1.0, colour, |x, y| polyline(x, y, &arc) - 0.02);
        }
    }
}

fn paint_cheeks(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look, nose_y: f32) {
    if !chance(rng, 0.3) {
        return;
    }
    let blush = mix(look.skin, [0.95, 0.35, 0.4], uniform(rng, 0.3, 0.6));
    let r = uniform(rng, 0.1, 0.16);
    for side in [-1.0f32, 1.0] {
        let u = side * uniform(rng, 0.52, 0.62);
        f.paint(
            canvas,
            [u - 0.3, nose_y - 0.3, u + 0.3, nose_y + 0.3],
            0.6,
            blush,
            |x, y| ellipse(x, y, u, nose_y, r, r * 0.8),
        );
    }
}

/// Round or rectangular frames, sometimes tinted lenses.
fn paint_glasses(canvas: &mut Canvas, f: &Frame, rng: &mut Rng, look: &Look) {
    if !chance(rng, 0.3) {
        return;
    }
    let frame_colour = hsv(
        uniform(rng, 0.0, 1.0),
        uniform(rng, 0.0, 0.7),
        uniform(rng, 0.05, 0.6),
    );
    let width = uniform(rng, 0.025, 0.045);
    let r = uniform(rng, 0.16, 0.22);
    let round = chance(rng, 0.5);
    let tint = chance(rng, 0.25);
    let v = look.eye_y;
    let lens = move |x: f32, y: f32, u: f32| {
        if round {
            ellipse(x, y, u, v, r, r * 0.9)
        } else {
            rounded_rect(x, y, u, v, r * 1.1, r * 0.75, r * 0.3)
        }
    };
    let b = [-1.1, v - 0.4, 1.1, v + 0.4];
    for side in [-1.0f32, 1.0] {
        let u = side * look.eye_x;
        if tint {
            f.paint(canvas, b, 0.8, [0.08, 0.08, 0.1], |x, y| lens(x, y, u));
        }
        f.paint(canvas, b, 1.0, frame_colour, |x, y| {
            lens(x, y, u).abs() - width
        });
        let temple = [(side * (look.eye_x + r), v - 0.02), (side * 1.0, v - 0.06)];
        f.paint(canvas, b, 1.0, frame_colour, |x, y| {
            segment(x, y, temple[0], temple[1]) - width
        });
    }
    let inner = look.eye_x - r;
    f.paint(canvas, b, 1.0, frame_colour, |x, y| {
        segment(x, y, (-inner, v - 0.03), (inner, v - 0.03)) - width
    });
}

/// The mouth: a curve whose corners rise above its centre (smiling) or fall below it
/// (frowning). Its centreline has zero mean height, so where the mouth sits does not
/// depend on the label; width, thickness, openness, colour and tilt are random.
fn paint_mouth(
    canvas: &mut Canvas,
    f: &Frame,
    rng: &mut Rng,
    var: &Variation,
    look: &Look,
    smiling: bool,
) -> PixelBox {
    let half = uniform(rng, 0.26, 0.42);
    let width = uniform(rng, 0.035, 0.065); // half the stroke width
    let tilt = uniform(rng, -0.1, 0.1);
    let centre = (uniform(rng, -0.06, 0.06), look.mouth_y);
    let magnitude = var.bend_px.0
        + (var.bend_px.1 - var.bend_px.0) * libm::powf(rng.random::<f32>(), var.bend_skew);
    let bend = magnitude / f.scale * if smiling { 1.0 } else { -1.0 };
    let open = chance(rng, 0.4);
    let opening = bend.abs() * uniform(rng, 1.0, 2.0) + 0.05;
    let upper_share = uniform(rng, 0.4, 0.6);
    let teeth = chance(rng, 0.5);
    let contrast = uniform(rng, var.min_lip_contrast, 1.0);
    // Lips are always darker than the skin around them, on light and dark skin alike.
    let skin_value = look.skin.iter().fold(0.0f32, |a, &b| a.max(b));
    let lip_dark = hsv(
        uniform(rng, 0.95, 1.05),
        uniform(rng, 0.4, 0.8),
        skin_value * uniform(rng, 0.15, 0.5),
    );
    let lip = mix(look.skin, lip_dark, contrast);

    // Mouth frame: u along the mouth, v down; the centreline is -bend * ((u/half)^2 - 1/3).
    let (cos, sin) = (libm::cosf(tilt), libm::sinf(tilt));
    let to_face =
        move |u: f32, v: f32| (centre.0 + cos * u - sin * v, centre.1 + sin * u + cos * v);
    let to_mouth = move |x: f32, y: f32| {
        let (dx, dy) = (x - centre.0, y - centre.1);
        (cos * dx + sin * dy, -sin * dx + cos * dy)
    };
    let centreline = move |u: f32| -bend * (sq(u / half) - 1.0 / 3.0);
    let gap = move |u: f32| {
        if open {
            opening * (1.0 - sq(u / half))
        } else {
            0.0
        }
    };
    const STEPS: usize = 16;
    let along = |k: usize| -half + 2.0 * half * k as f32 / STEPS as f32;
    let upper: Vec<(f32, f32)> = (0..=STEPS)
        .map(|k| to_face(along(k), centreline(along(k)) - upper_share * gap(along(k))))
        .collect();
    let lower: Vec<(f32, f32)> = (0..=STEPS)
        .map(|k| {
            to_face(
                along(k),
                centreline(along(k)) + (1.0 - upper_share) * gap(along(k)),
            )
        })
        .collect();
    let reach = half + 0.2;
    let b = [
        centre.0 - reach,
        centre.1 - reach,
        centre.0 + reach,
        centre.1 + reach,
    ];
    // Every shape below lies within the stroke's width of the lips' points.
    let extent = points_extent(upper.iter().chain(lower.iter()), width);
    if open {
        let outline: Vec<(f32, f32)> = upper.iter().chain(lower.iter().rev()).copied().collect();
        let inside = hsv(0.98, uniform(rng, 0.5, 0.8), uniform(rng, 0.12, 0.3));
        f.paint_within(canvas, b, extent, 1.0, inside, |x, y| {
            polygon(x, y, &outline)
        });
        if teeth {
            let depth = uniform(rng, 0.3, 0.45);
            f.paint_within(canvas, b, extent, 1.0, [0.96, 0.95, 0.9], |x, y| {
                let (u, v) = to_mouth(x, y);
                polygon(x, y, &outline)
                    .max(v - (centreline(u) - upper_share * gap(u) + depth * gap(u)))
            });
        }
        f.paint_within(canvas, b, extent, 1.0, lip, |x, y| {
            polygon(x, y, &outline).abs() - width * 0.8
        });
    } else {
        f.paint_within(canvas, b, extent, 1.0, lip, |x, y| {
            polyline(x, y, &upper) - width
        });
    }

    // The box holds every point of both lips, widened by the stroke.
    let margin = width * f.scale + 0.5;
    let (mut x0, mut y0, mut x1, mut y1) = (
        f32::INFINITY,
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NEG_INFINITY,
    );
    for &(u, v) in upper.iter().chain(lower.iter()) {
        let (x, y) = f.to_pixel(u, v);
        (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
    }
    // Clamped to the picture, and never empty even for a mouth at the very edge.
    let start = |t: f32, n: usize| (t.floor().max(0.0) as usize).min(n - 1);
    let end = |t: f32, s: usize, n: usize| (t.ceil().max(0.0) as usize).clamp(s + 1, n);
    let (bx0, by0) = (
        start(x0 - margin, canvas.width),
        start(y0 - margin, canvas.height),
    );
    PixelBox {
        x0: bx0,
        y0: by0,
        x1: end(x1 + margin, bx0, canvas.width),
        y1: end(y1 + margin, by0, canvas.height),
    }
}
