//! Deletion and insertion curves (Petsiuk et al., 2018, "RISE"): does the map order the pixels
//! by how much the model needs them? Deletion blanks the pixels in the map's order, most
//! important first, and watches the class probability fall; insertion starts from a blurred
//! picture and puts the pixels back in the same order, watching it rise. A faithful map gives a
//! small area under the deletion curve and a large one under the insertion curve; a random
//! order gives the same for both. Probabilities (not logits), so areas lie in [0, 1].

use super::integrated::box_blur;
use super::model::Explainable;
use super::target::{check_class, check_image, class_score};
use crate::kernels::activation::sigmoid;
use crate::kernels::loss::softmax_forward;
use crate::nn::OutputKind;
use crate::{invalid, Result};
use serde::Serialize;

/// Most points on a curve (one forward pass each).
pub const MAX_CURVE_STEPS: usize = 256;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Curve {
    /// Share of the pixels removed (deletion) or revealed (insertion) at each point, from 0 to 1.
    pub fractions: Vec<f32>,
    /// The class probability there.
    pub probabilities: Vec<f32>,
    /// Trapezoidal area under the curve.
    pub area: f32,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeletionInsertion {
    pub deletion: Curve,
    pub insertion: Curve,
}

/// The probability of `class` from one example's logits, by the training code's own sigmoid
/// and softmax.
pub fn class_probability(kind: OutputKind, logits: &[f32], class: usize) -> f32 {
    match kind {
        OutputKind::Binary => sigmoid(class_score(kind, logits, class)),
        OutputKind::Categorical { classes } => {
            let mut probs = vec![0.0; classes];
            softmax_forward(&mut probs, logits, classes);
            probs[class]
        }
    }
}

/// Pixel indices (H * W) by `map` value, largest first; ties in reading order.
pub fn importance_order(map: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..map.len()).collect();
    order.sort_by(|&a, &b| map[b].total_cmp(&map[a]).then(a.cmp(&b)));
    order
}

/// Both curves for `map` (H, W) over `image` (H, W, C), in `steps` steps: deletion paints
/// removed pixels black (0), insertion reveals them over the picture blurred with radius 5.
pub fn deletion_insertion(
    model: &mut impl Explainable,
    image: &[f32],
    class: usize,
    map: &[f32],
    steps: usize,
) -> Result<DeletionInsertion> {
    check_image(model, image)?;
    check_class(model, class)?;
    let input = model.input_shape();
    let (h, w, c) = (input.height, input.width, input.channels);
    if map.len() != h * w {
        return Err(invalid!(
            "the map has {} values but the picture has {h}x{w} pixels",
            map.len()
        ));
    }
    if steps == 0 || steps > MAX_CURVE_STEPS {
        return Err(invalid!(
            "a deletion or insertion curve takes 1 to {MAX_CURVE_STEPS} steps (got {steps})"
        ));
    }
    let order = importance_order(map);
    let blurred = box_blur(image, (h, w, c), 5);
    let black = vec![0.0; image.len()];
    let deletion = curve(model, class, &order, steps, image, &black)?;
    let insertion = curve(model, class, &order, steps, &blurred, image)?;
    Ok(DeletionInsertion {
        deletion,
        insertion,
    })
}

/// The probability as the pixels of `order` go from `from` to `to`, a share at a time.
fn curve(
    model: &mut impl Explainable,
    class: usize,
    order: &[usize],
    steps: usize,
    from: &[f32],
    to: &[f32],
) -> Result<Curve> {
    let pixels = order.len();
    let c = from.len() / pixels;
    let kind = model.output_kind();
    let fractions: Vec<f32> = (0..=steps).map(|s| s as f32 / steps as f32).collect();
    let mut probabilities = Vec::with_capacity(steps + 1);
    let chunk = model.batch_limit().max(1);
    let mut current = from.to_vec();
    let mut changed = 0;
    let mut batch = Vec::with_capacity(chunk * from.len());
    for group in (0..=steps).collect::<Vec<_>>().chunks(chunk) {
        batch.clear();
        for &s in group {
            let upto = s * pixels / steps;
            for &p in &order[changed..upto] {
                current[p * c..(p + 1) * c].copy_from_slice(&to[p * c..(p + 1) * c]);
            }
            changed = upto;
            batch.extend_from_slice(&current);
        }
        let logits = model.infer(&batch)?;
        probabilities.extend(
            logits
                .chunks_exact(kind.units())
                .map(|row| class_probability(kind, row, class)),
        );
    }
    let area = probabilities
        .windows(2)
        .map(|p| (p[0] + p[1]) / 2.0)
        .sum::<f32>()
        / steps as f32;
    Ok(Curve {
        fractions,
        probabilities,
        area,
    })
}
