//! Synthetic smiles, the built-in dataset: seeded 64x64 RGB cartoon faces, smiling (1) or
//! frowning (0), with the mouth's box per image.
//!
//! Made to need a convolutional network: faces move, scale and tilt, and skin, hair,
//! eyes, brows, glasses, background, lighting and noise all vary, while the only cue is
//! a small local pattern (the sign of the mouth's bend) whose position moves with the
//! face. Bends run continuously from clear to subtle; mouth width, thickness, openness
//! and colour are drawn independently of the label so that none of them is a shortcut.
//! Logistic regression on the pixels stays near chance, a small CNN learns it.
//!
//! An optional planted confound (smiling faces on brighter backgrounds) serves the
//! shortcut-learning lab.

use rand::RngExt;

use super::draw::{mix, value_noise, Canvas, Rgb};
use super::face::{chance, hsv, paint_face, pick, uniform, Variation};
use super::{Dataset, Landmarks, MAX_IMAGES};
use crate::rng::{rng_from_seed, Rng};
use crate::{invalid, Result};

/// Side of the generated images, in pixels (the Happy House size).
pub const SIZE: usize = 64;

/// Class names by label: 0 = frowning, 1 = smiling.
pub const CLASS_NAMES: [&str; 2] = ["frowning", "smiling"];

/// How subtle the mouths get and how much everything else varies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Difficulty {
    /// Clear mouths, faces near the centre, mild lighting and noise.
    Easy,
    /// The default: mouths from clear to subtle, strong variation of everything else.
    #[default]
    Normal,
    /// Often subtle mouths, the widest variation.
    Hard,
}

impl Difficulty {
    fn variation(self) -> (Variation, Nuisance) {
        match self {
            Difficulty::Easy => (
                Variation {
                    bend_px: (3.5, 7.5),
                    bend_skew: 1.0,
                    shift_px: 2.0,
                    half_width_px: (18.0, 22.0),
                    max_tilt: 0.1,
                    min_lip_contrast: 0.9,
                },
                Nuisance {
                    light: 0.15,
                    noise: 0.01,
                    contrast: 0.1,
                },
            ),
            Difficulty::Normal => (
                Variation {
                    bend_px: (2.5, 7.0),
                    bend_skew: 1.2,
                    shift_px: 4.0,
                    half_width_px: (16.5, 22.0),
                    max_tilt: 0.2,
                    min_lip_contrast: 0.75,
                },
                Nuisance {
                    light: 0.3,
                    noise: 0.035,
                    contrast: 0.2,
                },
            ),
            Difficulty::Hard => (
                Variation {
                    bend_px: (1.5, 6.0),
                    bend_skew: 1.5,
                    shift_px: 8.0,
                    half_width_px: (13.0, 22.0),
                    max_tilt: 0.4,
                    min_lip_contrast: 0.55,
                },
                Nuisance {
                    light: 0.4,
                    noise: 0.05,
                    contrast: 0.3,
                },
            ),
        }
    }
}

/// Whole-picture variation: lighting gradient strength, noise level, contrast range.
#[derive(Clone, Copy, Debug)]
struct Nuisance {
    light: f32,
    noise: f32,
    contrast: f32,
}

/// The shortcut lab's planted confound: with `probability`, an image's background is
/// brightened if the face smiles and darkened if it frowns.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Confound {
    pub probability: f32,
    /// Plant it in the test set too (by default the test set is clean, which is what
    /// exposes a model that learnt the background instead of the mouth).
    pub in_test: bool,
}

/// What to generate. `Default` gives the Happy House sizes (600 train / 150 test).
#[derive(Clone, Debug, PartialEq)]
pub struct SyntheticParams {
    pub train: usize,
    pub test: usize,
    pub seed: u64,
    pub difficulty: Difficulty,
    pub confound: Option<Confound>,
}

impl Default for SyntheticParams {
    fn default() -> Self {
        SyntheticParams {
            train: 600,
            test: 150,
            seed: 1,
            difficulty: Difficulty::Normal,
            confound: None,
        }
    }
}

/// The (train, test) pair; the two sets come from independent streams of the seed.
pub fn generate(params: &SyntheticParams) -> Result<(Dataset, Dataset)> {
    let mut seeds = rng_from_seed(params.seed);
    let (train_seed, test_seed): (u64, u64) = (seeds.random(), seeds.random());
    let test_confound = params.confound.filter(|c| c.in_test);
    let train = generate_set(params.train, train_seed, params.difficulty, params.confound)?;
    let test = generate_set(params.test, test_seed, params.difficulty, test_confound)?;
    Ok((train, test))
}

/// `n` images (half smiling, in random order), each with its face and mouth boxes.
pub fn generate_set(
    n: usize,
    seed: u64,
    difficulty: Difficulty,
    confound: Option<Confound>,
) -> Result<Dataset> {
    if n == 0 || n > MAX_IMAGES {
        return Err(invalid!(
            "the synthetic set size must be between 1 and {MAX_IMAGES}, got {n}"
        ));
    }
    if let Some(c) = confound {
        if !(0.0..=1.0).contains(&c.probability) {
            return Err(invalid!(
                "the confound probability must be between 0 and 1, got {}",
                c.probability
            ));
        }
    }
    let mut rng = rng_from_seed(seed);
    let mut labels: Vec<u8> = (0..n).map(|i| (i % 2) as u8).collect();
    rand::seq::SliceRandom::shuffle(labels.as_mut_slice(), &mut rng);
    let mut images = Vec::with_capacity(n * SIZE * SIZE * 3);
    let mut boxes = Vec::with_capacity(n);
    for &label in &labels {
        // One seed per image, so an image does not depend on how the previous one was drawn.
        let (pixels, landmarks) = render_image(rng.random(), label == 1, difficulty, confound);
        images.extend(pixels);
        boxes.push(landmarks);
    }
    let names = CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    Dataset::new(images, labels, SIZE, SIZE, 3, names)?.with_landmarks(boxes)
}

/// One picture from its own seed: background, (confound), face, lighting, noise, as
/// `(H, W, 3)` 8-bit values in [0, 1], and the face and mouth boxes. The label only sets the sign of
/// the mouth's bend, so the same seed with the other label gives the same person, light
/// and noise with the opposite mouth: a counterfactual pair that differs only inside
/// the mouth boxes (and in the background, if a confound is planted).
pub fn render_image(
    seed: u64,
    smiling: bool,
    difficulty: Difficulty,
    confound: Option<Confound>,
) -> (Vec<f32>, Landmarks) {
    let rng = &mut rng_from_seed(seed);
    let (variation, nuisance) = difficulty.variation();
    let mut canvas = Canvas::new(SIZE, SIZE);
    paint_background(&mut canvas, rng);
    if let Some(c) = confound {
        if chance(rng, c.probability) {
            for v in canvas.rgb.iter_mut() {
                *v = if smiling { 0.55 + 0.45 * *v } else { 0.45 * *v };
            }
        }
    }
    let landmarks = paint_face(&mut canvas, rng, &variation, smiling);
    apply_camera(&mut canvas, rng, &nuisance);
    let pixels = canvas
        .rgb
        .iter()
        .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() / 255.0)
        .collect();
    (pixels, landmarks)
}

fn random_colour(rng: &mut Rng) -> Rgb {
    hsv(
        uniform(rng, 0.0, 1.0),
        uniform(rng, 0.05, 0.6),
        uniform(rng, 0.25, 0.95),
    )
}

/// A flat wall, a gradient, a soft texture, stripes, tiles, or a room with a door.
fn paint_background(canvas: &mut Canvas, rng: &mut Rng) {
    // The second colour is pulled towards the first so textures stay behind the face.
    let a = random_colour(rng);
    let b = mix(a, random_colour(rng), uniform(rng, 0.3, 0.8));
    let size = SIZE as f32;
    match pick(rng, 6) {
        0 => canvas.fill(|_, _| a),
        1 => {
            let angle = uniform(rng, 0.0, std::f32::consts::TAU);
            let (dx, dy) = (libm::cosf(angle) / size, libm::sinf(angle) / size);
            canvas.fill(|x, y| {
                mix(
                    a,
                    b,
                    (0.5 + (x - size / 2.0) * dx + (y - size / 2.0) * dy).clamp(0.0, 1.0),
                )
            });
        }
        2 => {
            let cells = 2 + pick(rng, 7);
            let lattice: Vec<f32> = (0..(cells + 1) * (cells + 1))
                .map(|_| rng.random())
                .collect();
            canvas.fill(|x, y| mix(a, b, value_noise(&lattice, cells, x / size, y / size)));
        }
        3 => {
            let angle = uniform(rng, 0.0, std::f32::consts::PI);
            let period = uniform(rng, 4.0, 16.0);
            let (dx, dy) = (libm::cosf(angle), libm::sinf(angle));
            let softness = uniform(rng, 0.2, 1.0);
            canvas.fill(|x, y| {
                let wave = libm::sinf((x * dx + y * dy) * std::f32::consts::TAU / period);
                mix(a, b, (0.5 + 0.5 * wave / softness).clamp(0.0, 1.0))
            });
        }
        4 => {
            let tile = uniform(rng, 6.0, 16.0);
            let grout = mix(a, [0.0, 0.0, 0.0], uniform(rng, 0.1, 0.4));
            let offset = (uniform(rng, 0.0, tile), uniform(rng, 0.0, tile));
            let brick = chance(rng, 0.5);
            canvas.fill(|x, y| {
                let row = ((y + offset.1) / tile).floor();
                let shift = if brick && row as i64 % 2 == 0 {
                    tile / 2.0
                } else {
                    0.0
                };
                let fx = ((x + offset.0 + shift) / tile).fract();
                let fy = ((y + offset.1) / tile).fract();
                let edge = fx.min(1.0 - fx).min(fy).min(1.0 - fy) * tile;
                mix(grout, a, (edge - 0.5).clamp(0.0, 1.0))
            });
        }
        _ => {
            // A wall, a floor line and a door or window somewhere behind the person.
            let floor = uniform(rng, 0.6, 0.95) * size;
            let (door_x, door_w) = (uniform(rng, -10.0, size), uniform(rng, 12.0, 26.0));
            let door_top = uniform(rng, 0.0, 0.4) * size;
            let frame = mix(b, [1.0, 1.0, 1.0], 0.4);
            canvas.fill(|x, y| {
                let in_door = x > door_x && x < door_x + door_w && y > door_top;
                let near_edge = (x - door_x).abs() < 1.5
                    || (x - door_x - door_w).abs() < 1.5
                    || (y - door_top).abs() < 1.5;
                if in_door && !near_edge && y < floor + 8.0 {
                    b
                } else if near_edge
                    && x > door_x - 1.5
                    && x < door_x + door_w + 1.5
                    && y > door_top - 1.5
                {
                    frame
                } else if y > floor {
                    mix(a, [0.0, 0.0, 0.0], 0.3)
                } else {
                    a
                }
            });
        }
    }
}

/// Camera effects on the whole picture: a directional lighting gradient, exposure,
/// colour cast, contrast, and sensor noise.
fn apply_camera(canvas: &mut Canvas, rng: &mut Rng, nuisance: &Nuisance) {
    let angle = uniform(rng, 0.0, std::f32::consts::TAU);
    let strength = uniform(rng, 0.0, nuisance.light);
    let (lx, ly) = (
        libm::cosf(angle) * strength / SIZE as f32,
        libm::sinf(angle) * strength / SIZE as f32,
    );
    let exposure = uniform(rng, 0.8, 1.15);
    let cast = [
        uniform(rng, -0.05, 0.05),
        uniform(rng, -0.05, 0.05),
        uniform(rng, -0.05, 0.05),
    ];
    let contrast = uniform(rng, 1.0 - nuisance.contrast, 1.0 + nuisance.contrast * 0.5);
    let sigma = uniform(rng, 0.0, nuisance.noise);
    let half = SIZE as f32 / 2.0;
    for y in 0..canvas.height {
        for x in 0..canvas.width {
            let light =
                exposure * (1.0 + (x as f32 + 0.5 - half) * lx + (y as f32 + 0.5 - half) * ly);
            for k in 0..3 {
                let v = &mut canvas.rgb[(y * canvas.width + x) * 3 + k];
                let lit = *v * light * (1.0 + cast[k]);
                *v = 0.5 + (lit - 0.5) * contrast + sigma * gaussian(rng);
            }
        }
    }
}

/// A standard normal sample (Box-Muller).
fn gaussian(rng: &mut Rng) -> f32 {
    let u1 = 1.0 - rng.random::<f32>(); // in (0, 1]: the log stays finite
    let u2 = rng.random::<f32>();
    // f32::sqrt is correctly rounded on every platform (one wasm instruction), like libm's.
    (-2.0 * libm::logf(u1)).sqrt() * libm::cosf(std::f32::consts::TAU * u2)
}
