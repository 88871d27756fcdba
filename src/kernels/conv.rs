//! 2-D convolution (cross-correlation, as Keras does it) with stride, padding and dilation.
//!
//! Layouts: input (N, H, W, C_in), weights (KH, KW, C_in, C_out), bias (C_out),
//! output (N, OH, OW, C_out).

use crate::{invalid, Result};

/// How the input is padded, in Keras's words or explicitly.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Padding {
    /// No padding.
    Valid,
    /// TensorFlow's `same`: output = ceil(n / stride); an odd total puts the extra row/column at the bottom/right.
    Same,
    /// The same number of zero rows/columns on every side.
    Explicit(usize),
}

/// The full geometry of one convolution; built only through [`ConvGeometry::new`], which validates it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvGeometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub in_c: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub out_c: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
    pub out_h: usize,
    pub out_w: usize,
}

/// Output length along one axis: floor((n + pads - d(k-1) - 1) / s) + 1, or None if the
/// dilated kernel does not fit in the padded input.
pub fn output_len(n: usize, k: usize, stride: usize, dilation: usize, pad_total: usize) -> Option<usize> {
    let span = dilation * (k - 1) + 1;
    let padded = n + pad_total;
    (padded >= span).then(|| (padded - span) / stride + 1)
}

/// TensorFlow's `same` padding along one axis: (before, after).
pub fn same_padding(n: usize, k: usize, stride: usize, dilation: usize) -> (usize, usize) {
    let span = dilation * (k - 1) + 1;
    let out = n.div_ceil(stride);
    let total = ((out - 1) * stride + span).saturating_sub(n);
    (total / 2, total - total / 2)
}

impl ConvGeometry {
    /// Validates sizes and computes padding and output size; explains what cannot work.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        batch: usize,
        (in_h, in_w, in_c): (usize, usize, usize),
        (k_h, k_w, out_c): (usize, usize, usize),
        stride: usize,
        dilation: usize,
        padding: Padding,
    ) -> Result<Self> {
        if batch == 0 || in_h == 0 || in_w == 0 || in_c == 0 {
            return Err(invalid!("the input must have at least one image, one row, one column and one channel (got {batch}x{in_h}x{in_w}x{in_c})"));
        }
        if k_h == 0 || k_w == 0 || out_c == 0 {
            return Err(invalid!("the kernel must be at least 1x1 with at least one filter (got {k_h}x{k_w}, {out_c} filters)"));
        }
        if stride == 0 {
            return Err(invalid!("the stride must be at least 1"));
        }
        if dilation == 0 {
            return Err(invalid!("the dilation must be at least 1"));
        }
        let ((pad_top, pad_bottom), (pad_left, pad_right)) = match padding {
            Padding::Valid => ((0, 0), (0, 0)),
            Padding::Same => (same_padding(in_h, k_h, stride, dilation), same_padding(in_w, k_w, stride, dilation)),
            Padding::Explicit(p) => ((p, p), (p, p)),
        };
        let out_h = output_len(in_h, k_h, stride, dilation, pad_top + pad_bottom);
        let out_w = output_len(in_w, k_w, stride, dilation, pad_left + pad_right);
        let (Some(out_h), Some(out_w)) = (out_h, out_w) else {
            return Err(invalid!(
                "the kernel ({k_h}x{k_w}, dilation {dilation}, so it spans {}x{}) is larger than the padded input ({}x{}); use a smaller kernel or more padding",
                dilation * (k_h - 1) + 1,
                dilation * (k_w - 1) + 1,
                in_h + pad_top + pad_bottom,
                in_w + pad_left + pad_right
            ));
        };
        Ok(Self { batch, in_h, in_w, in_c, k_h, k_w, out_c, stride, dilation, pad_top, pad_bottom, pad_left, pad_right, out_h, out_w })
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.in_c
    }
    pub fn weight_len(&self) -> usize {
        self.k_h * self.k_w * self.in_c * self.out_c
    }
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.out_c
    }
}

/// Scalar reference: the definition, written for clarity. Overwrites `out`.
/// out (N, OH, OW, CO); input (N, H, W, CI); weight (KH, KW, CI, CO); bias (CO) or none.
pub fn conv2d_forward_reference(out: &mut [f32], input: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &ConvGeometry) {
    assert_eq!(out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    assert_eq!(weight.len(), g.weight_len());
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for co in 0..g.out_c {
                    let mut acc = bias.map_or(0.0, |b| b[co]);
                    for ky in 0..g.k_h {
                        let iy = (oy * g.stride + ky * g.dilation) as isize - g.pad_top as isize;
                        if iy < 0 || iy >= g.in_h as isize {
                            continue;
                        }
                        for kx in 0..g.k_w {
                            let ix = (ox * g.stride + kx * g.dilation) as isize - g.pad_left as isize;
                            if ix < 0 || ix >= g.in_w as isize {
                                continue;
                            }
                            for ci in 0..g.in_c {
                                let x = input[((n * g.in_h + iy as usize) * g.in_w + ix as usize) * g.in_c + ci];
                                let w = weight[((ky * g.k_w + kx) * g.in_c + ci) * g.out_c + co];
                                acc += x * w;
                            }
                        }
                    }
                    out[((n * g.out_h + oy) * g.out_w + ox) * g.out_c + co] = acc;
                }
            }
        }
    }
}
