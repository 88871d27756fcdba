//! Measures that check an explanation map against where the evidence really is, or against
//! another map: the pointing game (Zhang et al., 2016: does the map's maximum fall in the
//! object's box?), the share of the map's mass inside a box, and Spearman's rank correlation
//! (the model-randomization sanity check of Adebayo et al., 2018, compares a trained model's
//! map with a re-initialized model's this way).

use serde::{Deserialize, Serialize};

/// A box of pixels: `x0 <= x < x1`, `y0 <= y < y1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Region {
    pub x0: usize,
    pub y0: usize,
    pub x1: usize,
    pub y1: usize,
}

impl Region {
    /// The box grown by `margin` pixels on every side (it may reach past the image).
    pub fn dilated(&self, margin: usize) -> Region {
        Region {
            x0: self.x0.saturating_sub(margin),
            y0: self.y0.saturating_sub(margin),
            x1: self.x1 + margin,
            y1: self.y1 + margin,
        }
    }

    pub fn contains(&self, y: usize, x: usize) -> bool {
        (self.y0..self.y1).contains(&y) && (self.x0..self.x1).contains(&x)
    }
}

/// The pointing game for one map (H, W) of `width` columns: is its maximum inside `region`?
/// A map that is the same everywhere (all zero: it points nowhere) is a miss; among equal
/// maxima the first in reading order counts.
pub fn points_inside(map: &[f32], width: usize, region: Region) -> bool {
    let Some((first, &top)) = map
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
    else {
        return false;
    };
    if map.iter().all(|&v| v == top) {
        return false;
    }
    region.contains(first / width, first % width)
}

/// The share of a non-negative map's total (H, W) that lies inside `region`; `None` for a map
/// that is zero everywhere.
pub fn mass_inside(map: &[f32], width: usize, region: Region) -> Option<f32> {
    let total: f64 = map.iter().map(|&v| v as f64).sum();
    if total <= 0.0 {
        return None;
    }
    let inside: f64 = map
        .iter()
        .enumerate()
        .filter(|(i, _)| region.contains(i / width, i % width))
        .map(|(_, &v)| v as f64)
        .sum();
    Some((inside / total) as f32)
}

/// The share of a signed map's evidence for the class (its positive part) that lies inside
/// `region`: evidence against the class does not count either way. `None` when the map has
/// no positive value.
pub fn evidence_inside(map: &[f32], width: usize, region: Region) -> Option<f32> {
    let positive: Vec<f32> = map.iter().map(|&v| v.max(0.0)).collect();
    mass_inside(&positive, width, region)
}

/// Spearman's rank correlation of two equally long samples (ties get their average rank);
/// `None` when either is constant (its ranks do not vary) or the lengths differ or are < 2.
pub fn spearman(a: &[f32], b: &[f32]) -> Option<f32> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    pearson(&ranks(a), &ranks(b))
}

/// Average ranks (1-based), ties sharing the mean of their positions.
fn ranks(values: &[f32]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0f64; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let rank = (start + end + 1) as f64 / 2.0; // mean of start+1 ..= end
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> Option<f32> {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma) * (x - ma);
        sbb += (y - mb) * (y - mb);
    }
    (saa > 0.0 && sbb > 0.0).then(|| (sab / (saa * sbb).sqrt()) as f32)
}

/// How much of a picture's variation is pixel-to-pixel noise: the mean squared difference of
/// horizontal and vertical neighbours over twice the variance (per channel, pooled). Pixel-wise
/// white noise gives 1; a natural photo a few hundredths (the fixture cat 0.046); activation
/// maximization on raw pixels lands near noise, which is why its pictures are unreadable.
/// image (H, W, C); 0 for a flat picture.
pub fn high_frequency_share(image: &[f32], (h, w, c): (usize, usize, usize)) -> f32 {
    assert_eq!(image.len(), h * w * c, "image must be (H, W, C)");
    let (mut diff, mut pairs) = (0f64, 0usize);
    let at = |y: usize, x: usize, ch: usize| image[(y * w + x) * c + ch] as f64;
    for ch in 0..c {
        for y in 0..h {
            for x in 0..w {
                if x + 1 < w {
                    diff += (at(y, x, ch) - at(y, x + 1, ch)).powi(2);
                    pairs += 1;
                }
                if y + 1 < h {
                    diff += (at(y, x, ch) - at(y + 1, x, ch)).powi(2);
                    pairs += 1;
                }
            }
        }
    }
    let mut variance = 0f64;
    for ch in 0..c {
        let values = image.iter().skip(ch).step_by(c).map(|&v| v as f64);
        let mean = values.clone().sum::<f64>() / (h * w) as f64;
        variance += values.map(|v| (v - mean).powi(2)).sum::<f64>() / (h * w) as f64;
    }
    variance /= c as f64;
    if variance == 0.0 || pairs == 0 {
        return 0.0;
    }
    (diff / pairs as f64 / (2.0 * variance)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spearman_of_hand_checked_samples() {
        assert_eq!(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[10.0, 20.0, 30.0, 40.0]),
            Some(1.0)
        );
        assert_eq!(
            spearman(&[1.0, 2.0, 3.0, 4.0], &[4.0, 3.0, 2.0, 1.0]),
            Some(-1.0)
        );
        // Ranks a = 1 2 3 4 5, b = 2 1 4 3 5: d^2 sum 4, rho = 1 - 6*4/(5*24) = 0.8.
        assert!(
            (spearman(&[1.0, 2.0, 3.0, 4.0, 5.0], &[2.0, 1.0, 4.0, 3.0, 5.0]).unwrap() - 0.8).abs()
                < 1e-6
        );
        // Ties: b's ranks are 1.5 1.5 3.
        let r = spearman(&[1.0, 2.0, 3.0], &[0.0, 0.0, 1.0]).unwrap();
        assert!((r - 0.866_025_4).abs() < 1e-6, "{r}");
        assert_eq!(spearman(&[1.0, 1.0], &[1.0, 2.0]), None);
    }

    #[test]
    fn pointing_and_mass() {
        let region = Region {
            x0: 1,
            y0: 1,
            x1: 2,
            y1: 2,
        }; // the centre pixel of 3x3
        let mut map = vec![0.0; 9];
        assert!(!points_inside(&map, 3, region), "a flat map points nowhere");
        assert_eq!(mass_inside(&map, 3, region), None);
        map[4] = 3.0;
        map[0] = 1.0;
        assert!(points_inside(&map, 3, region));
        assert_eq!(mass_inside(&map, 3, region), Some(0.75));
        map[8] = 5.0;
        assert!(!points_inside(&map, 3, region));
        assert!(points_inside(&map, 3, region.dilated(1)));
        // Evidence against the class (negative) is left out: 3 of the 3 + 1 + 5 positive.
        map[2] = -7.0;
        assert_eq!(evidence_inside(&map, 3, region), Some(3.0 / 9.0));
        assert_eq!(evidence_inside(&[-1.0, 0.0, -2.0, 0.0], 2, region), None);
    }
}
