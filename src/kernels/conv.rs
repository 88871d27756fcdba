//! 2-D convolution (cross-correlation, as Keras does it) with stride, padding and dilation.
//!
//! Layouts: input (N, H, W, C_in), weights (KH, KW, C_in, C_out), bias (C_out),
//! output (N, OH, OW, C_out).
//!
//! The fast kernels are matrix products on the register tile of [`gemm`](super::gemm), one
//! image at a time, with the patch matrix read in place (module `implicit`):
//! forward is patches · W (+ bias, ReLU), the weight gradient patches^T · d_out, and with
//! stride 1 the input gradient is the correlation of the padded d_out with the kernel
//! turned 180 degrees (computed transposed, on d_out laid out as channel planes, when there
//! are at most 4 input channels, as in a first layer). Other strides take d_out · W^T and
//! fold it back onto the input (col2im). Working memory ([`ConvScratch`]) is one padded image and some panels, so it
//! does not depend on the batch size.

use super::gemm::{gemm, tile, Epilogue, Operand, TileTarget, MR, NR};
use super::geometry::ConvGeometry;
use super::implicit::{pack_panels, pad_image, pad_planes, Correlation};
use super::scratch::{ConvScratch, ScratchSizes};

/// Floats of patch gradients per chunk of the column path: 128 KB, which stays in L2.
const COLS_CHUNK_FLOATS: usize = 32 * 1024;

impl ConvGeometry {
    fn is_padded(&self) -> bool {
        self.pad_top + self.pad_bottom + self.pad_left + self.pad_right > 0
    }

    /// The forward pass (and the weight gradient) on one padded input image.
    fn forward_correlation(&self) -> Correlation {
        Correlation {
            width: self.in_w + self.pad_left + self.pad_right,
            channels: self.in_c,
            k_h: self.k_h,
            k_w: self.k_w,
            stride: self.stride,
            dilation: self.dilation,
            out_h: self.out_h,
            out_w: self.out_w,
        }
    }

    /// One input image, padded into `buffer` if the geometry pads, else as it is.
    fn pad_input<'a>(&self, image: &'a [f32], buffer: &'a mut [f32]) -> &'a [f32] {
        if !self.is_padded() {
            return image;
        }
        pad_image(
            buffer,
            image,
            (self.in_h, self.in_w, self.in_c),
            (self.pad_top, self.pad_bottom, self.pad_left, self.pad_right),
        );
        buffer
    }

    /// With stride 1, the input gradient is a correlation of d_out, padded by the kernel's
    /// span minus the forward padding, with the kernel turned 180 degrees: that correlation
    /// and the padding (top, bottom, left, right). None for other strides, or when the
    /// forward padding exceeds the span (then the gradient crops instead of pads).
    fn input_gradient_correlation(&self) -> Option<(Correlation, (usize, usize, usize, usize))> {
        let (span_h, span_w) = (
            self.dilation * (self.k_h - 1),
            self.dilation * (self.k_w - 1),
        );
        if self.stride != 1
            || self.pad_top.max(self.pad_bottom) > span_h
            || self.pad_left.max(self.pad_right) > span_w
        {
            return None;
        }
        let pads = (
            span_h - self.pad_top,
            span_h - self.pad_bottom,
            span_w - self.pad_left,
            span_w - self.pad_right,
        );
        let c = Correlation {
            width: self.out_w + pads.2 + pads.3,
            channels: self.out_c,
            k_h: self.k_h,
            k_w: self.k_w,
            stride: 1,
            dilation: self.dilation,
            out_h: self.in_h,
            out_w: self.in_w,
        };
        Some((c, pads))
    }

    /// Whether a stride-1 input gradient takes the planes path: few input channels, which
    /// fit the tile's MR rows.
    fn input_gradient_by_planes(&self) -> bool {
        self.in_c <= MR
    }

    /// Output pixels per chunk of the column path: as many patch rows as fit in [`COLS_CHUNK_FLOATS`].
    fn chunk_rows(&self) -> usize {
        let fit = (COLS_CHUNK_FLOATS / self.patch_len()).max(4) / 4 * 4;
        fit.min(self.output_pixels())
    }

    /// Working memory the fast kernels need for this geometry.
    pub(crate) fn scratch_sizes(&self) -> ScratchSizes {
        let forward = self.forward_correlation();
        let k = self.patch_len();
        let mut sizes = ScratchSizes {
            image: if self.is_padded() {
                (self.in_h + self.pad_top + self.pad_bottom) * forward.width * self.in_c
            } else {
                0
            },
            panels: k * self.out_c.next_multiple_of(NR),
            offsets: forward.offsets_len(),
            ..ScratchSizes::default()
        };
        // The weight gradient packs a pass's rows of d_out.
        sizes.panels = sizes.panels.max(forward.pass_panels_len(self.out_c));
        match self.input_gradient_correlation() {
            Some((c, (top, bottom, _, _))) => {
                // The planes path reads up to NR - 1 floats past the last plane.
                let slack = if self.input_gradient_by_planes() {
                    NR
                } else {
                    0
                };
                sizes.image = sizes
                    .image
                    .max((self.out_h + top + bottom) * c.width * self.out_c + slack);
                sizes.panels = sizes.panels.max(c.depth() * self.in_c.next_multiple_of(NR));
                sizes.offsets = sizes.offsets.max(c.offsets_len());
            }
            None => {
                sizes.cols = self.chunk_rows() * k;
                sizes.weight_t = self.weight_len();
            }
        }
        sizes
    }
}

impl ConvScratch {
    /// Scratch already large enough for every geometry in `geometries`.
    pub fn for_geometries(geometries: &[ConvGeometry]) -> Self {
        let mut scratch = Self::new();
        for g in geometries {
            scratch.reserve(g);
        }
        scratch
    }

    /// Grows (never shrinks) to fit `g`, so that calls with `g` will not allocate.
    pub fn reserve(&mut self, g: &ConvGeometry) {
        self.reserve_sizes(g.scratch_sizes());
    }
}

/// Scalar reference: the definition, written for clarity. Overwrites `out`.
/// out (N, OH, OW, CO); input (N, H, W, CI); weight (KH, KW, CI, CO); bias (CO) or none.
pub fn conv2d_forward_reference(
    out: &mut [f32],
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &ConvGeometry,
) {
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
                            let ix =
                                (ox * g.stride + kx * g.dilation) as isize - g.pad_left as isize;
                            if ix < 0 || ix >= g.in_w as isize {
                                continue;
                            }
                            for ci in 0..g.in_c {
                                let x = input[((n * g.in_h + iy as usize) * g.in_w + ix as usize)
                                    * g.in_c
                                    + ci];
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
pub fn conv2d_backward_input_reference(
    d_input: &mut [f32],
    d_out: &[f32],
    weight: &[f32],
    g: &ConvGeometry,
) {
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
pub fn conv2d_backward_weight_reference(
    d_weight: &mut [f32],
    d_bias: Option<&mut [f32]>,
    d_out: &[f32],
    input: &[f32],
    g: &ConvGeometry,
) {
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
                            let input_at =
                                ((n * g.in_h + iy as usize) * g.in_w + ix as usize) * g.in_c + ci;
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
pub fn conv2d_forward(
    out: &mut [f32],
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    g: &ConvGeometry,
    scratch: &mut ConvScratch,
) {
    assert_eq!(out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    assert_eq!(weight.len(), g.weight_len());
    if let Some(b) = bias {
        assert_eq!(b.len(), g.out_c);
    }
    let s = scratch.parts(g.scratch_sizes());
    let c = g.forward_correlation();
    let (k, co) = (g.patch_len(), g.out_c);
    pack_panels(s.panels, k, co, |r, j| weight[r * co + j]);
    let target = TileTarget {
        c_rs: co,
        c_cs: 1,
        add: false,
        bias,
        bias_by_row: false,
        relu,
    };
    let (tables, _) = c.tables(s.offsets);
    for (image, out) in input
        .chunks_exact(g.in_h * g.in_w * g.in_c)
        .zip(out.chunks_exact_mut(c.pixels() * co))
    {
        let image = g.pad_input(image, s.image);
        c.forward(out, image, s.panels, co, target, &tables);
    }
}

/// Fast input gradient. d_input (N, H, W, CI) +=; d_out (N, OH, OW, CO); weight (KH, KW, CI, CO).
/// If the forward pass fused a ReLU, `d_out` must already be masked by (out > 0).
pub fn conv2d_backward_input(
    d_input: &mut [f32],
    d_out: &[f32],
    weight: &[f32],
    g: &ConvGeometry,
    scratch: &mut ConvScratch,
) {
    assert_eq!(d_input.len(), g.input_len());
    assert_eq!(d_out.len(), g.output_len());
    assert_eq!(weight.len(), g.weight_len());
    let s = scratch.parts(g.scratch_sizes());
    let (ci, co) = (g.in_c, g.out_c);
    let Some((c, pads)) = g.input_gradient_correlation() else {
        return backward_input_by_columns(d_input, d_out, weight, g, s.cols, s.weight_t);
    };
    if g.input_gradient_by_planes() {
        return backward_input_by_planes(
            d_input, d_out, weight, g, &c, pads, s.image, s.panels, s.offsets,
        );
    }
    // The input gradient correlates the padded d_out with the kernel turned 180 degrees,
    // its channel axes swapped: B (KH * KW * CO, CI), row (ky, kx, co) = W[KH-1-ky][KW-1-kx][.][co].
    let (k_h, k_w) = (g.k_h, g.k_w);
    pack_panels(s.panels, c.depth(), ci, |r, j| {
        let (tap, o) = (r / co, r % co);
        let (ky, kx) = (k_h - 1 - tap / k_w, k_w - 1 - tap % k_w);
        weight[((ky * k_w + kx) * ci + j) * co + o]
    });
    let target = TileTarget {
        c_rs: ci,
        c_cs: 1,
        add: true,
        bias: None,
        bias_by_row: false,
        relu: false,
    };
    let (tables, _) = c.tables(s.offsets);
    let out_image = g.out_h * g.out_w * co;
    for (d_out, d_input) in d_out
        .chunks_exact(out_image)
        .zip(d_input.chunks_exact_mut(g.in_h * g.in_w * ci))
    {
        pad_image(s.image, d_out, (g.out_h, g.out_w, co), pads);
        c.forward(d_input, s.image, s.panels, ci, target, &tables);
    }
}

/// Fast weight and bias gradients. d_weight (KH, KW, CI, CO) +=; d_bias (CO) +=;
/// d_out (N, OH, OW, CO) (masked by the fused ReLU if any); input (N, H, W, CI).
pub fn conv2d_backward_weight(
    d_weight: &mut [f32],
    d_bias: Option<&mut [f32]>,
    d_out: &[f32],
    input: &[f32],
    g: &ConvGeometry,
    scratch: &mut ConvScratch,
) {
    assert_eq!(d_weight.len(), g.weight_len());
    assert_eq!(d_out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    let s = scratch.parts(g.scratch_sizes());
    let c = g.forward_correlation();
    let co = g.out_c;
    let pixels = c.pixels();
    let (tables, row_segments) = c.tables(s.offsets);
    let mut d_bias = d_bias;
    if let Some(d_bias) = &d_bias {
        assert_eq!(d_bias.len(), co);
    }
    for (image, d_out) in input
        .chunks_exact(g.in_h * g.in_w * g.in_c)
        .zip(d_out.chunks_exact(pixels * co))
    {
        let image = g.pad_input(image, s.image);
        // The bias gradient is summed while the correlation packs d_out.
        c.weight_gradient(
            d_weight,
            d_bias.as_deref_mut(),
            image,
            d_out,
            co,
            &tables,
            row_segments,
            s.panels,
        );
    }
}

/// The input gradient with at most MR input channels (stride 1): the same correlation as
/// [`conv2d_backward_input`]'s, transposed, d_input^T (CI, pixels) = W' (CI, taps * CO) ·
/// patches^T, so that the few input channels are the tile's rows and eight neighbouring
/// pixels its columns. (As columns, 3 channels would fill 3 of the tile's 8 lanes.) The tile
/// loads eight pixels of one channel at once from d_out padded into channel planes.
#[allow(clippy::too_many_arguments)]
fn backward_input_by_planes(
    d_input: &mut [f32],
    d_out: &[f32],
    weight: &[f32],
    g: &ConvGeometry,
    c: &Correlation,
    pads: (usize, usize, usize, usize),
    planes: &mut [f32],
    packed: &mut [f32],
    offsets: &mut [usize],
) {
    let (ci, co, k_h, k_w) = (g.in_c, g.out_c, g.k_h, g.k_w);
    let (taps, depth) = (k_h * k_w, k_h * k_w * g.out_c);
    // W' (CI, taps * CO): row r, column (tap, o) = W[KH-1-ky][KW-1-kx][r][o], tap = (ky, kx).
    let packed = &mut packed[..ci * depth];
    for (r, row) in packed.chunks_exact_mut(depth).enumerate() {
        for (tap, values) in row.chunks_exact_mut(co).enumerate() {
            let (ky, kx) = (k_h - 1 - tap / k_w, k_w - 1 - tap % k_w);
            let at = ((ky * k_w + kx) * ci + r) * co;
            values.copy_from_slice(&weight[at..at + co]);
        }
    }
    // d_out padded as planes (CO, out_h + top + bottom, width); a segment per tap.
    let width = c.width;
    let plane = (g.out_h + pads.0 + pads.1) * width;
    assert!(
        planes.len() >= co * plane + NR,
        "conv: scratch too small for the planes"
    );
    // The planes hold as many floats as the padded image would: the same bounds hold.
    c.check(&planes[..co * plane]);
    let segments = &mut offsets[..taps];
    for (tap, offset) in segments.iter_mut().enumerate() {
        *offset = ((tap / k_w) * width + tap % k_w) * g.dilation;
    }
    let target = TileTarget {
        c_rs: 1,
        c_cs: ci,
        add: true,
        bias: None,
        bias_by_row: true,
        relu: false,
    };
    for (d_out, d_input) in d_out
        .chunks_exact(g.out_h * g.out_w * co)
        .zip(d_input.chunks_exact_mut(g.in_h * g.in_w * ci))
    {
        pad_planes(planes, d_out, (g.out_h, g.out_w, co), pads);
        for y in 0..g.in_h {
            for x0 in (0..g.in_w).step_by(NR) {
                let b = planes[y * width + x0..].as_ptr();
                // Rows past CI repeat the last channel; their results are discarded.
                let rows: [*const f32; MR] =
                    std::array::from_fn(|r| packed[r.min(ci - 1) * depth..].as_ptr());
                // SAFETY: the correlation's receptive fields lie inside the padded planes, so
                // every tap of pixels x0.. of row y, of every plane, is inside `planes`; lanes
                // past the row's end read at most NR - 1 floats further (the slack asserted
                // above) and are discarded. Each row of `packed` holds depth floats.
                let acc = unsafe { tile::multiply_planes(segments, co, rows, b, plane) };
                target.write(d_input, acc, 0, y * g.in_w + x0, ci, NR.min(g.in_w - x0));
            }
        }
    }
}

/// The input gradient for strides above 1: d_cols = d_out · W^T, a chunk of output pixels
/// at a time, each row added back onto the input pixels of its patch (col2im).
fn backward_input_by_columns(
    d_input: &mut [f32],
    d_out: &[f32],
    weight: &[f32],
    g: &ConvGeometry,
    cols: &mut [f32],
    weight_t: &mut [f32],
) {
    let (k, co) = (g.patch_len(), g.out_c);
    // W^T once per call, so that every chunk reads contiguous rows of it.
    let weight_t = &mut weight_t[..k * co];
    for (p, row) in weight.chunks_exact(co).enumerate() {
        for (c, &v) in row.iter().enumerate() {
            weight_t[c * k + p] = v;
        }
    }
    for (r0, rows) in chunks(g) {
        let d_cols = &mut cols[..rows * k];
        let d_out = Operand::plain(&d_out[r0 * co..(r0 + rows) * co], co);
        gemm(
            d_cols,
            k,
            d_out,
            Operand::plain(weight_t, k),
            Epilogue::default(),
            rows,
            k,
            co,
        );
        col2im_add(d_input, d_cols, g, r0);
    }
}

/// (first output pixel, pixel count) of each chunk, over the whole batch.
fn chunks(g: &ConvGeometry) -> impl Iterator<Item = (usize, usize)> {
    let (total, step) = (g.output_pixels(), g.chunk_rows());
    (0..total)
        .step_by(step)
        .map(move |r0| (r0, step.min(total - r0)))
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
        Self {
            g,
            n: pixel / per_image,
            oy: pixel % per_image / g.out_w,
            ox: pixel % g.out_w,
        }
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
        let lo = if x0 < 0 {
            ((-x0 + d - 1) / d) as usize
        } else {
            0
        };
        let hi = ((g.in_w as isize - x0 + d - 1) / d).clamp(0, g.k_w as isize) as usize;
        Some((row_at, x0, lo.min(hi), hi))
    }
}

/// Adds each row of `d_cols` (rows, KH * KW * CI), the gradient of a patch, back onto the
/// input pixels it came from: the transpose of [`im2col`].
fn col2im_add(d_input: &mut [f32], d_cols: &[f32], g: &ConvGeometry, r0: usize) {
    let (ci, seg) = (g.in_c, g.k_w * g.in_c);
    let mut cursor = PatchCursor::at(g, r0);
    for row in d_cols.chunks_exact(g.patch_len()) {
        for (ky, src) in row.chunks_exact(seg).enumerate() {
            let Some((row_at, x0, lo, hi)) = cursor.row(ky) else {
                continue;
            };
            if lo == hi {
                continue;
            }
            if g.dilation == 1 {
                let dst = row_at + (x0 + lo as isize) as usize * ci;
                add(
                    &mut d_input[dst..dst + (hi - lo) * ci],
                    &src[lo * ci..hi * ci],
                );
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

fn add(dst: &mut [f32], src: &[f32]) {
    for (d, &s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}
