//! 2-D max and average pooling over NHWC activations.
//!
//! Layouts: input (N, H, W, C), output (N, OH, OW, C). Padding cells never win a max
//! and are not counted in an average (Keras/TensorFlow semantics).

use super::conv::{output_len, same_padding, Padding};
use crate::{invalid, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
}

/// The geometry of one pooling; built only through [`PoolGeometry::new`], which validates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolGeometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub window: usize,
    pub stride: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl PoolGeometry {
    pub fn new(batch: usize, (in_h, in_w, channels): (usize, usize, usize), window: usize, stride: usize, padding: Padding) -> Result<Self> {
        if batch == 0 || in_h == 0 || in_w == 0 || channels == 0 {
            return Err(invalid!("the input must have at least one image, row, column and channel (got {batch}x{in_h}x{in_w}x{channels})"));
        }
        if window == 0 {
            return Err(invalid!("the pooling window must be at least 1x1"));
        }
        if stride == 0 {
            return Err(invalid!("the pooling stride must be at least 1"));
        }
        let ((pad_top, pad_bottom), (pad_left, pad_right)) = match padding {
            Padding::Valid => ((0, 0), (0, 0)),
            Padding::Same => (same_padding(in_h, window, stride, 1), same_padding(in_w, window, stride, 1)),
            Padding::Explicit(p) => {
                if p >= window {
                    return Err(invalid!("pooling padding ({p}) must be smaller than the window ({window}), or some windows would hold only padding"));
                }
                ((p, p), (p, p))
            }
        };
        let (Some(out_h), Some(out_w)) = (
            output_len(in_h, window, stride, 1, pad_top + pad_bottom),
            output_len(in_w, window, stride, 1, pad_left + pad_right),
        ) else {
            return Err(invalid!("the pooling window ({window}x{window}) is larger than the input ({in_h}x{in_w})"));
        };
        Ok(Self { batch, in_h, in_w, channels, window, stride, pad_top, pad_left, out_h, out_w })
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.channels
    }
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.channels
    }

    /// The input rows (or columns) a window starting at output index `o` covers, clipped to the image.
    pub fn window_range(&self, o: usize, pad: usize, n: usize) -> std::ops::Range<usize> {
        let start = (o * self.stride) as isize - pad as isize;
        let end = (start + self.window as isize).min(n as isize);
        (start.max(0) as usize)..(end.max(0) as usize)
    }
}

/// Scalar reference pooling forward. Overwrites `out`. out (N, OH, OW, C); input (N, H, W, C).
pub fn pool_forward_reference(out: &mut [f32], input: &[f32], kind: PoolKind, g: &PoolGeometry) {
    assert_eq!(out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            let rows = g.window_range(oy, g.pad_top, g.in_h);
            for ox in 0..g.out_w {
                let cols = g.window_range(ox, g.pad_left, g.in_w);
                for c in 0..g.channels {
                    let mut max = f32::NEG_INFINITY;
                    let mut sum = 0.0;
                    let mut count = 0usize;
                    for iy in rows.clone() {
                        for ix in cols.clone() {
                            let x = input[((n * g.in_h + iy) * g.in_w + ix) * g.channels + c];
                            max = max.max(x);
                            sum += x;
                            count += 1;
                        }
                    }
                    out[((n * g.out_h + oy) * g.out_w + ox) * g.channels + c] = match kind {
                        PoolKind::Max => max,
                        PoolKind::Average => sum / count as f32,
                    };
                }
            }
        }
    }
}
