//! 2-D convolution (cross-correlation, as Keras does it) with stride, padding and dilation.
//!
//! Layouts: input (N, H, W, C_in), weights (KH, KW, C_in, C_out), bias (C_out),
//! output (N, OH, OW, C_out).
//!
//! The fast kernels unroll the patches of a chunk of output pixels into rows (im2col) and
//! hand the rest to [`gemm`](super::gemm): forward is cols · W (+ bias, ReLU), the input
//! gradient is d_out · W^T folded back onto the input (col2im), the weight gradient is
//! cols^T · d_out. A chunk is small enough to stay in cache, so the working memory
//! ([`ConvScratch`]) does not depend on the batch size.

use super::gemm::{add_column_sums, gemm, Epilogue, Operand};
use super::scratch::ConvScratch;
use crate::{invalid, Result};

/// Floats of unrolled patches per chunk: 128 KB, which stays in a core's L2 cache.
const COLS_CHUNK_FLOATS: usize = 32 * 1024;

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
    /// Values in one receptive field: KH * KW * C_in (the depth of the matrix product).
    pub fn patch_len(&self) -> usize {
        self.k_h * self.k_w * self.in_c
    }
    /// Output pixels over the whole batch: N * OH * OW (the rows of the matrix product).
    pub fn output_pixels(&self) -> usize {
        self.batch * self.out_h * self.out_w
    }
    /// A 1x1 kernel with stride 1 and no padding: the input itself is the patch matrix.
    fn is_pointwise(&self) -> bool {
        self.k_h == 1 && self.k_w == 1 && self.stride == 1 && self.pad_top + self.pad_bottom + self.pad_left + self.pad_right == 0
    }
    /// Output pixels per chunk: as many patch rows as fit in [`COLS_CHUNK_FLOATS`], a multiple of 4.
    fn chunk_rows(&self) -> usize {
        let fit = (COLS_CHUNK_FLOATS / self.patch_len()).max(4) / 4 * 4;
        fit.min(self.output_pixels())
    }
    /// Floats of scratch the fast kernels need: (patch chunk, transposed weights).
    pub(crate) fn scratch_floats(&self) -> (usize, usize) {
        if self.is_pointwise() {
            (0, 0)
        } else {
            (self.chunk_rows() * self.patch_len(), self.weight_len())
        }
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

/// Scalar reference of the input gradient. d_input (N, H, W, CI) +=; d_out (N, OH, OW, CO); weight (KH, KW, CI, CO).
pub fn conv2d_backward_input_reference(d_input: &mut [f32], d_out: &[f32], weight: &[f32], g: &ConvGeometry) {
    assert_eq!(d_input.len(), g.input_len());
    assert_eq!(d_out.len(), g.output_len());
    assert_eq!(weight.len(), g.weight_len());
    for_each_tap(g, |input_at, out_at, weight_at| {
        for co in 0..g.out_c {
            d_input[input_at] += d_out[out_at + co] * weight[weight_at + co];
        }
    });
}

/// Scalar reference of the weight and bias gradients.
/// d_weight (KH, KW, CI, CO) +=; d_bias (CO) +=; d_out (N, OH, OW, CO); input (N, H, W, CI).
pub fn conv2d_backward_weight_reference(d_weight: &mut [f32], d_bias: Option<&mut [f32]>, d_out: &[f32], input: &[f32], g: &ConvGeometry) {
    assert_eq!(d_weight.len(), g.weight_len());
    assert_eq!(d_out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    for_each_tap(g, |input_at, out_at, weight_at| {
        for co in 0..g.out_c {
            d_weight[weight_at + co] += d_out[out_at + co] * input[input_at];
        }
    });
    if let Some(d_bias) = d_bias {
        assert_eq!(d_bias.len(), g.out_c);
        for pixel in d_out.chunks_exact(g.out_c) {
            for (db, &d) in d_bias.iter_mut().zip(pixel) {
                *db += d;
            }
        }
    }
}

/// Calls `f(input index, output pixel start, weight row start)` for every (output pixel,
/// kernel tap, input channel) whose tap lands inside the input: the loops of the definition.
fn for_each_tap(g: &ConvGeometry, mut f: impl FnMut(usize, usize, usize)) {
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let out_at = ((n * g.out_h + oy) * g.out_w + ox) * g.out_c;
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
                            let input_at = ((n * g.in_h + iy as usize) * g.in_w + ix as usize) * g.in_c + ci;
                            let weight_at = ((ky * g.k_w + kx) * g.in_c + ci) * g.out_c;
                            f(input_at, out_at, weight_at);
                        }
                    }
                }
            }
        }
    }
}

/// Fast forward pass; overwrites `out`. With `relu`, out = max(0, conv + bias).
/// out (N, OH, OW, CO); input (N, H, W, CI); weight (KH, KW, CI, CO); bias (CO) or none.
pub fn conv2d_forward(out: &mut [f32], input: &[f32], weight: &[f32], bias: Option<&[f32]>, relu: bool, g: &ConvGeometry, scratch: &mut ConvScratch) {
    assert_eq!(out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    assert_eq!(weight.len(), g.weight_len());
    if let Some(b) = bias {
        assert_eq!(b.len(), g.out_c);
    }
    let (k, co) = (g.patch_len(), g.out_c);
    let epilogue = Epilogue { accumulate: false, bias, relu };
    let w = Operand::plain(weight, co);
    if g.is_pointwise() {
        gemm(out, co, Operand::plain(input, k), w, epilogue, g.output_pixels(), co, k);
        return;
    }
    let (cols, _) = scratch.buffers(g);
    for (r0, rows) in chunks(g) {
        let cols = &mut cols[..rows * k];
        im2col(cols, input, g, r0);
        gemm(&mut out[r0 * co..(r0 + rows) * co], co, Operand::plain(cols, k), w, epilogue, rows, co, k);
    }
}

/// Fast input gradient. d_input (N, H, W, CI) +=; d_out (N, OH, OW, CO); weight (KH, KW, CI, CO).
/// If the forward pass fused a ReLU, `d_out` must already be masked by (out > 0).
pub fn conv2d_backward_input(d_input: &mut [f32], d_out: &[f32], weight: &[f32], g: &ConvGeometry, scratch: &mut ConvScratch) {
    assert_eq!(d_input.len(), g.input_len());
    assert_eq!(d_out.len(), g.output_len());
    assert_eq!(weight.len(), g.weight_len());
    let (k, co) = (g.patch_len(), g.out_c);
    let accumulate = Epilogue { accumulate: true, ..Epilogue::default() };
    if g.is_pointwise() {
        gemm(d_input, k, Operand::plain(d_out, co), Operand::transposed(weight, co), accumulate, g.output_pixels(), k, co);
        return;
    }
    let (cols, weight_t) = scratch.buffers(g);
    // W^T once per call, so that every chunk reads contiguous rows of it.
    let weight_t = &mut weight_t[..k * co];
    for (p, row) in weight.chunks_exact(co).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            weight_t[c * k + p] = v;
        }
    }
    let overwrite = Epilogue::default();
    for (r0, rows) in chunks(g) {
        let d_cols = &mut cols[..rows * k];
        gemm(d_cols, k, Operand::plain(&d_out[r0 * co..(r0 + rows) * co], co), Operand::plain(weight_t, k), overwrite, rows, k, co);
        col2im_add(d_input, d_cols, g, r0);
    }
}

/// Fast weight and bias gradients. d_weight (KH, KW, CI, CO) +=; d_bias (CO) +=;
/// d_out (N, OH, OW, CO) (masked by the fused ReLU if any); input (N, H, W, CI).
pub fn conv2d_backward_weight(d_weight: &mut [f32], d_bias: Option<&mut [f32]>, d_out: &[f32], input: &[f32], g: &ConvGeometry, scratch: &mut ConvScratch) {
    assert_eq!(d_weight.len(), g.weight_len());
    assert_eq!(d_out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    let (k, co) = (g.patch_len(), g.out_c);
    let accumulate = Epilogue { accumulate: true, ..Epilogue::default() };
    if g.is_pointwise() {
        gemm(d_weight, co, Operand::transposed(input, k), Operand::plain(d_out, co), accumulate, k, co, g.output_pixels());
    } else {
        let (cols, _) = scratch.buffers(g);
        for (r0, rows) in chunks(g) {
            let cols = &mut cols[..rows * k];
            im2col(cols, input, g, r0);
            let d_out = &d_out[r0 * co..(r0 + rows) * co];
            gemm(d_weight, co, Operand::transposed(cols, k), Operand::plain(d_out, co), accumulate, k, co, rows);
        }
    }
    if let Some(d_bias) = d_bias {
        add_column_sums(d_bias, d_out, g.output_pixels(), co);
    }
}

/// (first output pixel, pixel count) of each chunk, over the whole batch.
fn chunks(g: &ConvGeometry) -> impl Iterator<Item = (usize, usize)> {
    let (total, step) = (g.output_pixels(), g.chunk_rows());
    (0..total).step_by(step).map(move |r0| (r0, step.min(total - r0)))
}

/// Where one output pixel's patch starts in the input, and which taps of a kernel row fall inside it.
struct PatchCursor<'g> {
    g: &'g ConvGeometry,
    n: usize,
    oy: usize,
    ox: usize,
}

impl<'g> PatchCursor<'g> {
    fn at(g: &'g ConvGeometry, pixel: usize) -> Self {
        let per_image = g.out_h * g.out_w;
        Self { g, n: pixel / per_image, oy: pixel % per_image / g.out_w, ox: pixel % g.out_w }
    }

    fn advance(&mut self) {
        self.ox += 1;
        if self.ox == self.g.out_w {
            self.ox = 0;
            self.oy += 1;
            if self.oy == self.g.out_h {
                self.oy = 0;
                self.n += 1;
            }
        }
    }

    /// For kernel row `ky`: the input row's start index (or None if it is padding), the
    /// first input column `x0` (may be negative), and the taps [lo, hi) that land inside.
    fn row(&self, ky: usize) -> Option<(usize, isize, usize, usize)> {
        let g = self.g;
        let iy = (self.oy * g.stride + ky * g.dilation) as isize - g.pad_top as isize;
        if iy < 0 || iy >= g.in_h as isize {
            return None;
        }
        let row_at = (self.n * g.in_h + iy as usize) * g.in_w * g.in_c;
        let x0 = (self.ox * g.stride) as isize - g.pad_left as isize;
        let d = g.dilation as isize;
        // Tap kx lands at x0 + kx * d, inside when 0 <= x0 + kx*d < in_w.
        let lo = if x0 < 0 { ((-x0 + d - 1) / d) as usize } else { 0 };
        let hi = ((g.in_w as isize - x0 + d - 1) / d).clamp(0, g.k_w as isize) as usize;
        Some((row_at, x0, lo.min(hi), hi))
    }
}

/// Unrolls the patches of output pixels r0.. into the rows of `cols` (rows, KH * KW * CI).
fn im2col(cols: &mut [f32], input: &[f32], g: &ConvGeometry, r0: usize) {
    let (ci, seg) = (g.in_c, g.k_w * g.in_c);
    let mut cursor = PatchCursor::at(g, r0);
    for row in cols.chunks_exact_mut(g.patch_len()) {
        for (ky, dst) in row.chunks_exact_mut(seg).enumerate() {
            let Some((row_at, x0, lo, hi)) = cursor.row(ky) else {
                dst.fill(0.0);
                continue;
            };
            dst[..lo * ci].fill(0.0);
            dst[hi * ci..].fill(0.0);
            if lo == hi {
                continue;
            }
            if g.dilation == 1 {
                // Neighbouring taps are neighbouring pixels: one contiguous copy.
                let src = row_at + (x0 + lo as isize) as usize * ci;
                copy(&mut dst[lo * ci..hi * ci], &input[src..src + (hi - lo) * ci]);
            } else {
                for kx in lo..hi {
                    let src = row_at + (x0 + (kx * g.dilation) as isize) as usize * ci;
                    copy(&mut dst[kx * ci..(kx + 1) * ci], &input[src..src + ci]);
                }
            }
        }
        cursor.advance();
    }
}

/// Adds each row of `d_cols` (rows, KH * KW * CI), the gradient of a patch, back onto the
/// input pixels it came from: the transpose of [`im2col`].
fn col2im_add(d_input: &mut [f32], d_cols: &[f32], g: &ConvGeometry, r0: usize) {
    let (ci, seg) = (g.in_c, g.k_w * g.in_c);
    let mut cursor = PatchCursor::at(g, r0);
    for row in d_cols.chunks_exact(g.patch_len()) {
        for (ky, src) in row.chunks_exact(seg).enumerate() {
            let Some((row_at, x0, lo, hi)) = cursor.row(ky) else { continue };
            if lo == hi {
                continue;
            }
            if g.dilation == 1 {
                let dst = row_at + (x0 + lo as isize) as usize * ci;
                add(&mut d_input[dst..dst + (hi - lo) * ci], &src[lo * ci..hi * ci]);
            } else {
                for kx in lo..hi {
                    let dst = row_at + (x0 + (kx * g.dilation) as isize) as usize * ci;
                    add(&mut d_input[dst..dst + ci], &src[kx * ci..(kx + 1) * ci]);
                }
            }
        }
        cursor.advance();
    }
}

fn copy(dst: &mut [f32], src: &[f32]) {
    dst.copy_from_slice(src);
}

fn add(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}
