//! Kernel presets ("recipes") for the explorer: the chapter's edge detectors and diagonal
//! filters, blur, sharpen, Sobel and identity, generated for any kernel size and depth so
//! that the kernel-size slider can rebuild them.

use crate::{invalid, Result};
use serde::Serialize;

/// One kernel preset as the page lists it.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Recipe {
    pub id: &'static str,
    pub label: &'static str,
    /// The smallest kernel size for which the recipe means something.
    #[serde(rename = "minSize")]
    pub min_size: usize,
    /// Some recipes mix colour channels and need exactly three.
    #[serde(rename = "needsChannels")]
    pub needs_channels: Option<usize>,
}

const fn recipe(id: &'static str, label: &'static str, min_size: usize) -> Recipe {
    Recipe {
        id,
        label,
        min_size,
        needs_channels: None,
    }
}

/// Every recipe, in the order the page offers them.
pub const RECIPES: [Recipe; 15] = [
    recipe("identity", "Identity", 1),
    recipe("edge_top", "Top edge (−1 over +1)", 2),
    recipe("edge_bottom", "Bottom edge (+1 over −1)", 2),
    recipe("edge_left", "Left edge (−1 | +1)", 2),
    recipe("edge_right", "Right edge (+1 | −1)", 2),
    recipe("sobel_x", "Sobel x (vertical edges)", 2),
    recipe("sobel_y", "Sobel y (horizontal edges)", 2),
    recipe("diag_down", "Diagonal ↘", 2),
    recipe("diag_up", "Diagonal ↗", 2),
    recipe("cross", "Cross ✕", 2),
    recipe("box_blur", "Blur (box average)", 1),
    recipe("gaussian", "Blur (Gaussian)", 2),
    recipe("sharpen", "Sharpen", 3),
    recipe("outline", "Outline (Laplacian)", 3),
    Recipe {
        id: "redness",
        label: "Redness (R − (G+B)/2)",
        min_size: 1,
        needs_channels: Some(3),
    },
];

/// The recipes usable with inputs of `channels` channels.
pub fn recipes_for(channels: usize) -> Vec<Recipe> {
    RECIPES
        .iter()
        .copied()
        .filter(|r| r.needs_channels.is_none_or(|c| c == channels))
        .collect()
}

/// One filter's weights for a recipe. Returns (K, K, C). Recipes that look at one channel's
/// pattern are copied across the channels and divided by C, so that on a grey RGB image they
/// give the same numbers as on the grey image itself.
pub fn kernel_preset(id: &str, size: usize, channels: usize) -> Result<Vec<f32>> {
    let Some(r) = RECIPES.iter().find(|r| r.id == id) else {
        return Err(invalid!("there is no kernel preset called '{id}'"));
    };
    if !(1..=crate::limits::explorer::MAX_KERNEL).contains(&size) {
        return Err(invalid!(
            "the kernel size must be between 1 and {} (got {size})",
            crate::limits::explorer::MAX_KERNEL
        ));
    }
    if !(1..=crate::limits::explorer::MAX_CHANNELS).contains(&channels) {
        return Err(invalid!(
            "the kernel depth must be between 1 and {} channels (got {channels})",
            crate::limits::explorer::MAX_CHANNELS
        ));
    }
    if size < r.min_size {
        return Err(invalid!(
            "the '{}' kernel needs a size of at least {}x{}",
            r.label,
            r.min_size,
            r.min_size
        ));
    }
    if let Some(need) = r.needs_channels {
        if need != channels {
            return Err(invalid!(
                "the '{}' kernel needs an input with {need} channels (this one has {channels})",
                r.label
            ));
        }
    }
    if id == "redness" {
        let area = (size * size) as f32;
        return Ok((0..size * size)
            .flat_map(|_| [1.0 / area, -0.5 / area, -0.5 / area])
            .collect());
    }
    let plane = pattern(id, size);
    Ok(plane
        .iter()
        .flat_map(|&w| std::iter::repeat_n(w / channels as f32, channels))
        .collect())
}

/// The 2-D pattern of a single-channel recipe. Returns (K, K).
fn pattern(id: &str, k: usize) -> Vec<f32> {
    let mid = (k - 1) / 2; // the centre cell (top-left of the centre for even sizes)
    let centre = (k as f32 - 1.0) / 2.0; // the geometric centre
    let binomial: Vec<f32> = (0..k).map(|i| binomial(k - 1, i)).collect();
    let sign = |v: f32| if v.abs() < 1e-6 { 0.0 } else { v.signum() };
    let cell = |y: usize, x: usize| -> f32 {
        let (fy, fx) = (y as f32, x as f32);
        match id {
            "identity" => f32::from(y == mid && x == mid),
            "edge_top" => sign(fy - centre),
            "edge_bottom" => sign(centre - fy),
            "edge_left" => sign(fx - centre),
            "edge_right" => sign(centre - fx),
            "sobel_x" => (fx - centre) * binomial[y],
            "sobel_y" => (fy - centre) * binomial[x],
            "diag_down" => {
                if y == x {
                    1.0
                } else {
                    -1.0
                }
            }
            "diag_up" => {
                if y + x == k - 1 {
                    1.0
                } else {
                    -1.0
                }
            }
            "cross" => {
                if y == x || y + x == k - 1 {
                    1.0
                } else {
                    -1.0
                }
            }
            "box_blur" => 1.0 / (k * k) as f32,
            "gaussian" => {
                let total: f32 = binomial.iter().sum();
                binomial[y] * binomial[x] / (total * total)
            }
            // The classic 3x3 sharpen (5 in the middle, -1 on the four neighbours), centred.
            "sharpen" => match (y.abs_diff(mid), x.abs_diff(mid)) {
                (0, 0) => 5.0,
                (0, 1) | (1, 0) => -1.0,
                _ => 0.0,
            },
            "outline" => {
                if y == mid && x == mid {
                    (k * k - 1) as f32
                } else {
                    -1.0
                }
            }
            _ => unreachable!("recipe ids are checked against RECIPES"),
        }
    };
    (0..k)
        .flat_map(|y| (0..k).map(move |x| (y, x)))
        .map(|(y, x)| cell(y, x))
        .collect()
}

fn binomial(n: usize, k: usize) -> f32 {
    (0..k).fold(1.0, |acc, i| acc * (n - i) as f32 / (i + 1) as f32)
}
