//! One image's convolution as an implicit matrix product, read straight from the image.
//!
//! Row p of the patch matrix (the receptive field of output pixel p) is never copied out:
//! the register tile of [`gemm`](super::gemm) reads it from the zero-padded image in
//! segments, one per kernel row when the taps of a row are neighbouring pixels
//! (dilation 1), otherwise one per tap. That saves im2col's copy, which is 25 times the
//! image for a 5x5 kernel and costs as much time as the multiply-adds themselves.

use super::gemm::{add_column_sums, tile, TileTarget, MR, NR};

/// Output pixels along a weight-gradient pass: a tile sums this many products per element
/// before it stores. With d_out packed per pass (SIMD128), 256 measured faster than 128 in V8
/// (relaxed build: conv1 +8%, conv2 +2%; plain +1-2%); natively, with d_out read in place,
/// 256 was 7% slower on the chapter's conv2 (its pass's rows and image rows outgrow L1).
const PIXELS_PER_PASS: usize = if SIMD_TILES { 256 } else { 128 };

/// The weight gradient's layout for the SIMD128 tile: every pass packs d_out, and tiles of
/// neighbouring taps read them from one pointer, which saves V8 address arithmetic. The
/// portable tile (native builds) keeps d_out in place when n fills whole panels and a pointer
/// per row: in native A/B runs the SIMD128 layout was not faster there, and one variant of it
/// made LLVM gather the tile's loads with shuffles, 1.5x slower.
const SIMD_TILES: bool = cfg!(all(target_arch = "wasm32", target_feature = "simd128"));

/// Floats in one SIMD vector (f32x4).
const VECTOR_FLOATS: usize = 4;

/// A correlation of one image (padded already: `width` pixels of `channels` per row) with a
/// `k_h` x `k_w` kernel at `stride` and `dilation`, giving `out_h` x `out_w` pixels.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Correlation {
    pub width: usize,
    pub channels: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride: usize,
    pub dilation: usize,
    pub out_h: usize,
    pub out_w: usize,
}

/// Index tables of one correlation, built once per call and shared by all its images.
pub(crate) struct Tables<'a> {
    /// Where each segment of a receptive field starts, relative to the field, and its length.
    segments: &'a [usize],
    seg_len: usize,
    /// Where each output pixel's receptive field starts in the image.
    starts: &'a [usize],
    /// Where each value (ky, kx, c) of a receptive field sits, relative to the field.
    taps: &'a [usize],
}

impl Correlation {
    pub fn pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Values in one receptive field: the depth of the product.
    pub fn depth(&self) -> usize {
        self.k_h * self.k_w * self.channels
    }

    /// Room [`Correlation::tables`] needs, and a weight-gradient pass's row segments.
    pub fn offsets_len(&self) -> usize {
        self.k_h * self.k_w + self.pixels() + self.depth() + self.rows_per_pass()
    }

    /// Floats of image the correlation reads.
    pub fn image_len(&self) -> usize {
        ((self.out_h - 1) * self.stride + (self.k_h - 1) * self.dilation + 1)
            * self.width
            * self.channels
    }

    /// Output rows per weight-gradient pass.
    fn rows_per_pass(&self) -> usize {
        PIXELS_PER_PASS.div_ceil(self.out_w).min(self.out_h)
    }

    /// Floats of panels a weight-gradient pass packs d_out into, for `n` columns, with room
    /// to start them on a 16-byte boundary.
    pub fn pass_panels_len(&self, n: usize) -> usize {
        self.rows_per_pass() * self.out_w * n.next_multiple_of(NR) + VECTOR_FLOATS - 1
    }

    /// Where output pixel p's receptive field starts in the image.
    fn patch_start(&self, p: usize) -> usize {
        ((p / self.out_w) * self.stride * self.width + (p % self.out_w) * self.stride)
            * self.channels
    }

    /// Where value k = (ky, kx, c) of a receptive field sits, relative to its start.
    fn tap_offset(&self, k: usize) -> usize {
        let (tap, c) = (k / self.channels, k % self.channels);
        ((tap / self.k_w) * self.dilation * self.width + (tap % self.k_w) * self.dilation)
            * self.channels
            + c
    }

    /// Builds the index tables in `offsets` (at least [`Correlation::offsets_len`] long), so that
    /// the tile loops do no divisions; returns them and the rest of `offsets`.
    pub fn tables<'a>(&self, offsets: &'a mut [usize]) -> (Tables<'a>, &'a mut [usize]) {
        // A segment per kernel row if its taps are adjacent pixels, else one per tap.
        let seg_len = if self.dilation == 1 {
            self.k_w * self.channels
        } else {
            self.channels
        };
        let (segments, rest) = offsets.split_at_mut(self.depth() / seg_len);
        let (starts, rest) = rest.split_at_mut(self.pixels());
        let (taps, rest) = rest.split_at_mut(self.depth());
        for (s, offset) in segments.iter_mut().enumerate() {
            *offset = self.tap_offset(s * seg_len);
        }
        for (p, start) in starts.iter_mut().enumerate() {
            *start = self.patch_start(p);
        }
        for (k, tap) in taps.iter_mut().enumerate() {
            *tap = self.tap_offset(k);
        }
        (
            Tables {
                segments,
                seg_len,
                starts,
                taps,
            },
            rest,
        )
    }

    /// Panics (a programmer error) unless every receptive field lies inside `image`.
    pub(crate) fn check(&self, image: &[f32]) {
        assert!(
            (self.out_w - 1) * self.stride + (self.k_w - 1) * self.dilation < self.width,
            "correlation: kernel overruns the row"
        );
        assert!(
            image.len() >= self.image_len(),
            "correlation: image too short"
        );
    }

    /// out (pixels, n) (+)= patches (pixels, depth) · B (depth, n), then bias and ReLU as `target` says.
    /// B comes as NR-wide panels (ceil(n / NR), depth, NR) from [`pack_panels`].
    pub fn forward(
        &self,
        out: &mut [f32],
        image: &[f32],
        panels: &[f32],
        n: usize,
        target: TileTarget,
        t: &Tables,
    ) {
        self.check(image);
        let (pixels, depth) = (self.pixels(), self.depth());
        assert!(out.len() >= pixels * n && panels.len() >= n.div_ceil(NR) * depth * NR);
        assert!(t.starts.len() == pixels && t.segments.len() * t.seg_len == depth);
        assert_eq!((target.c_rs, target.c_cs), (n, 1));
        for (panel, j0) in (0..n).step_by(NR).enumerate() {
            let b = panels[panel * depth * NR..].as_ptr();
            for i0 in (0..pixels).step_by(MR) {
                let mr = MR.min(pixels - i0);
                // Rows past the end repeat the last pixel; their results are discarded.
                let rows: [*const f32; MR] =
                    std::array::from_fn(|r| image[t.starts[i0 + r.min(mr - 1)]..].as_ptr());
                // SAFETY: `check` bounds every receptive field inside `image`; the panel holds depth rows of NR.
                let acc = unsafe { tile::multiply(t.segments, t.seg_len, rows, 1, b, NR) };
                target.write(out, acc, i0, j0, mr, NR.min(n - j0));
            }
        }
    }

    /// d_weight (depth, n) += patches^T (depth, pixels) · d_out (pixels, n), and d_bias (n) +=
    /// the column sums of d_out if given. `row_segments` is room for a pass's row starts,
    /// `panels` for a pass's rows of d_out ([`Correlation::pass_panels_len`]).
    #[allow(clippy::too_many_arguments)]
    pub fn weight_gradient(
        &self,
        d_weight: &mut [f32],
        mut d_bias: Option<&mut [f32]>,
        image: &[f32],
        d_out: &[f32],
        n: usize,
        t: &Tables,
        row_segments: &mut [usize],
        panels: &mut [f32],
    ) {
        self.check(image);
        let (pixels, depth) = (self.pixels(), self.depth());
        assert!(d_weight.len() >= depth * n && t.taps.len() == depth);
        assert!(d_out.len() >= pixels * n && panels.len() >= self.pass_panels_len(n));
        // Panels on a 16-byte boundary: the tile's vector loads of B then never straddle two
        // cache lines.
        let aligned = panels.as_ptr().align_offset(4 * VECTOR_FLOATS);
        let panels = &mut panels[aligned.min(VECTOR_FLOATS - 1)..];
        let target = TileTarget {
            c_rs: n,
            c_cs: 1,
            add: true,
            bias: None,
            bias_by_row: false,
            relu: false,
        };
        let a_cs = self.stride * self.channels;
        // One pass covers whole output rows: a segment per row, out_w pixels `stride` apart.
        let rows_per_pass = self.rows_per_pass();
        for oy0 in (0..self.out_h).step_by(rows_per_pass) {
            let segments = &mut row_segments[..rows_per_pass.min(self.out_h - oy0)];
            for (r, offset) in segments.iter_mut().enumerate() {
                *offset = t.starts[(oy0 + r) * self.out_w];
            }
            let (first, count) = (oy0 * self.out_w, segments.len() * self.out_w);
            // B: the pass's rows of d_out as panels (ceil(n / NR), count, NR), contiguous for
            // the tile (its B pointer then steps by a constant) and in L1 for every tile; or
            // natively, when n fills whole panels, d_out in place.
            let pass = &d_out[first * n..(first + count) * n];
            let in_place = !SIMD_TILES && n.is_multiple_of(NR);
            if in_place {
                if let Some(d_bias) = d_bias.as_deref_mut() {
                    add_column_sums(d_bias, pass, count, n);
                }
            } else {
                pack_pass(panels, pass, n, d_bias.as_deref_mut());
            }
            // Every pixel of the pass reads at most this far into `image`, plus its taps.
            let last_start = t.starts[first + count - 1];
            for (panel, j0) in (0..n).step_by(NR).enumerate() {
                let (b, b_rs) = if in_place {
                    (pass[j0..].as_ptr(), n)
                } else {
                    (
                        panels[panel * count * NR..(panel + 1) * count * NR].as_ptr(),
                        NR,
                    )
                };
                let nr = NR.min(n - j0);
                // Tiles of MR rows in depth order. In the SIMD128 build, a tile whose taps are
                // neighbouring floats (within a kernel row, or one tap's channels) reads them
                // from one pointer, where all MR floats from its first tap lie inside `image`
                // for every pixel of the pass (the last pixel reads furthest).
                for i0 in (0..depth).step_by(MR) {
                    let mr = MR.min(depth - i0);
                    let at = t.taps[i0];
                    let adjacent = t.taps[i0 + mr - 1] == at + mr - 1;
                    // SAFETY (both calls): `check` bounds every (tap, pixel) inside `image`, and
                    // the one-pointer tile's extra floats are inside it as checked; rows past
                    // mr read floats of other taps, and are discarded. B holds a row (b_rs
                    // apart) per pixel of the pass.
                    let acc = if SIMD_TILES && adjacent && last_start + at + MR <= image.len() {
                        let a = image[at..].as_ptr();
                        unsafe { tile::multiply_adjacent(segments, self.out_w, a, a_cs, b) }
                    } else {
                        // Rows past mr repeat the last tap; their results are discarded.
                        let rows: [*const f32; MR] =
                            std::array::from_fn(|r| image[t.taps[i0 + r.min(mr - 1)]..].as_ptr());
                        unsafe { tile::multiply(segments, self.out_w, rows, a_cs, b, b_rs) }
                    };
                    target.write(d_weight, acc, i0, j0, mr, nr);
                }
            }
        }
    }
}

/// Packs `d_out` (rows, n) as NR-wide panels (ceil(n / NR), rows, NR), zero-padding the last
/// panel, and adds its column sums to `sums` (n) if given (summed over the rows first, in
/// NR-wide vectors, then added).
fn pack_pass(panels: &mut [f32], d_out: &[f32], n: usize, sums: Option<&mut [f32]>) {
    let rows = d_out.len() / n;
    let mut sums = sums;
    for (panel, j0) in (0..n).step_by(NR).enumerate() {
        let nr = NR.min(n - j0);
        let dst = &mut panels[panel * rows * NR..(panel + 1) * rows * NR];
        let mut sum = [0.0f32; NR];
        for (dst, src) in dst.chunks_exact_mut(NR).zip(d_out[j0..].chunks(n)) {
            // Fixed-size copies, which the compiler turns into vector loads and stores.
            let mut v = [0.0f32; NR];
            if nr == NR {
                v = src[..NR].try_into().expect("NR floats");
            } else {
                v[..nr].copy_from_slice(&src[..nr]);
            }
            for (s, x) in sum.iter_mut().zip(v) {
                *s += x;
            }
            dst.copy_from_slice(&v);
        }
        if let Some(sums) = sums.as_deref_mut() {
            for (s, x) in sums[j0..j0 + nr].iter_mut().zip(sum) {
                *s += x;
            }
        }
    }
}

/// Packs B (rows, n), element (r, j) = `get(r, j)`, as NR-wide panels (ceil(n / NR), rows, NR),
/// zero-padding the last panel.
pub(crate) fn pack_panels(
    panels: &mut [f32],
    rows: usize,
    n: usize,
    get: impl Fn(usize, usize) -> f32,
) {
    for (panel, j0) in (0..n).step_by(NR).enumerate() {
        let dst = &mut panels[panel * rows * NR..(panel + 1) * rows * NR];
        for (r, row) in dst.chunks_exact_mut(NR).enumerate() {
            for (j, d) in row.iter_mut().enumerate() {
                *d = if j0 + j < n { get(r, j0 + j) } else { 0.0 };
            }
        }
    }
}

/// Copies an image (h, w, c) into `dst` as c planes (c, h + top + bottom, w + left + right),
/// each inside a zero border: one channel's pixels side by side, for a tile that loads
/// eight neighbouring pixels as its B row.
pub(crate) fn pad_planes(
    dst: &mut [f32],
    src: &[f32],
    (h, w, c): (usize, usize, usize),
    (top, bottom, left, right): (usize, usize, usize, usize),
) {
    let width = w + left + right;
    let plane = (h + top + bottom) * width;
    dst[..c * plane].fill(0.0);
    for (p, pixel) in src.chunks_exact(c).enumerate() {
        let at = (top + p / w) * width + left + p % w;
        for (channel, &v) in pixel.iter().enumerate() {
            dst[channel * plane + at] = v;
        }
    }
}

/// Copies an image (h, w, c) into `dst` (h + top + bottom, w + left + right, c) inside a zero border.
pub(crate) fn pad_image(
    dst: &mut [f32],
    src: &[f32],
    (h, w, c): (usize, usize, usize),
    (top, bottom, left, right): (usize, usize, usize, usize),
) {
    let row = (w + left + right) * c;
    let dst = &mut dst[..(h + top + bottom) * row];
    dst[..top * row].fill(0.0);
    dst[(top + h) * row..].fill(0.0);
    for (y, src_row) in src.chunks_exact(w * c).enumerate() {
        let dst_row = &mut dst[(top + y) * row..(top + y + 1) * row];
        dst_row[..left * c].fill(0.0);
        dst_row[left * c..(left + w) * c].copy_from_slice(src_row);
        dst_row[(left + w) * c..].fill(0.0);
    }
}
