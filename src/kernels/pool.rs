//! 2-D max and average pooling over NHWC activations.
//!
//! Layouts: input (N, H, W, C), output (N, OH, OW, C). Padding cells never win a max
//! and are not counted in an average (Keras/TensorFlow semantics).
//!
//! Max pooling remembers, per output element, the flat index of the input element that
//! won (`argmax`), so that backward can route the gradient there without searching again.
//! Ties go to the first element in scan order (row by row, then column by column): this is
//! what TensorFlow's CPU kernel does (it replaces the winner only on a strict `<`) and what
//! JAX's `select_and_scatter_add` does (it keeps the current winner while it is `>=`); the
//! Keras fixtures in `tests/fixtures/layers` contain ties and check it. NaN inputs never win.
//!
//! The fast kernels loop over channels innermost (contiguous in NHWC), four lanes at a time
//! with SIMD128 in the wasm build, in the same order as the references: results are equal bit
//! for bit.

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

/// Scalar reference pooling backward. Accumulates into `d_input`.
/// d_input (N, H, W, C) +=; d_out (N, OH, OW, C); input (N, H, W, C), searched again for each max.
pub fn pool_backward_reference(d_input: &mut [f32], d_out: &[f32], input: &[f32], kind: PoolKind, g: &PoolGeometry) {
    assert_eq!(d_input.len(), g.input_len());
    assert_eq!(d_out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            let rows = g.window_range(oy, g.pad_top, g.in_h);
            for ox in 0..g.out_w {
                let cols = g.window_range(ox, g.pad_left, g.in_w);
                for c in 0..g.channels {
                    let d = d_out[((n * g.out_h + oy) * g.out_w + ox) * g.channels + c];
                    let index = |iy: usize, ix: usize| ((n * g.in_h + iy) * g.in_w + ix) * g.channels + c;
                    match kind {
                        PoolKind::Max => {
                            // First strict maximum in scan order; the first cell if none beats -inf.
                            let mut best = f32::NEG_INFINITY;
                            let mut winner = index(rows.start, cols.start);
                            for iy in rows.clone() {
                                for ix in cols.clone() {
                                    if input[index(iy, ix)] > best {
                                        best = input[index(iy, ix)];
                                        winner = index(iy, ix);
                                    }
                                }
                            }
                            d_input[winner] += d;
                        }
                        PoolKind::Average => {
                            let share = d / (rows.len() * cols.len()) as f32;
                            for iy in rows.clone() {
                                for ix in cols.clone() {
                                    d_input[index(iy, ix)] += share;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Fast pooling forward. Overwrites `out`; for max pooling also writes `argmax` when given
/// (the training cache; inference can pass `None`). Average pooling ignores `argmax`.
/// out (N, OH, OW, C); argmax (N, OH, OW, C) flat input indices; input (N, H, W, C).
pub fn pool_forward(out: &mut [f32], mut argmax: Option<&mut [u32]>, input: &[f32], kind: PoolKind, g: &PoolGeometry) {
    assert_eq!(out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    assert!(u32::try_from(g.input_len()).is_ok(), "input too large for u32 argmax indices");
    if let Some(a) = argmax.as_deref() {
        assert_eq!(a.len(), g.output_len());
    }
    let c = g.channels;
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            let rows = g.window_range(oy, g.pad_top, g.in_h);
            for ox in 0..g.out_w {
                let cols = g.window_range(ox, g.pad_left, g.in_w);
                let o = ((n * g.out_h + oy) * g.out_w + ox) * c;
                let out_cell = &mut out[o..o + c];
                let cell_start = |iy: usize, ix: usize| ((n * g.in_h + iy) * g.in_w + ix) * c;
                match kind {
                    PoolKind::Max => {
                        out_cell.fill(f32::NEG_INFINITY);
                        match argmax.as_deref_mut() {
                            Some(a) => {
                                let arg_cell = &mut a[o..o + c];
                                let first = cell_start(rows.start, cols.start) as u32;
                                for (k, i) in arg_cell.iter_mut().enumerate() {
                                    *i = first + k as u32;
                                }
                                for iy in rows.clone() {
                                    for ix in cols.clone() {
                                        let s = cell_start(iy, ix);
                                        max_tracking_into(out_cell, arg_cell, &input[s..s + c], s as u32);
                                    }
                                }
                            }
                            None => {
                                for iy in rows.clone() {
                                    for ix in cols.clone() {
                                        let s = cell_start(iy, ix);
                                        max_into(out_cell, &input[s..s + c]);
                                    }
                                }
                            }
                        }
                    }
                    PoolKind::Average => {
                        out_cell.fill(0.0);
                        for iy in rows.clone() {
                            for ix in cols.clone() {
                                let s = cell_start(iy, ix);
                                add_into(out_cell, &input[s..s + c]);
                            }
                        }
                        div_by(out_cell, (rows.len() * cols.len()) as f32);
                    }
                }
            }
        }
    }
}

/// Fast pooling backward. Accumulates into `d_input`. Max pooling needs the `argmax` cache
/// written by [`pool_forward`]; average pooling needs nothing and ignores it.
/// d_input (N, H, W, C) +=; d_out (N, OH, OW, C); argmax (N, OH, OW, C).
pub fn pool_backward(d_input: &mut [f32], d_out: &[f32], argmax: Option<&[u32]>, kind: PoolKind, g: &PoolGeometry) {
    assert_eq!(d_input.len(), g.input_len());
    assert_eq!(d_out.len(), g.output_len());
    match kind {
        PoolKind::Max => {
            let argmax = argmax.expect("max pooling backward needs the argmax cache from pool_forward");
            assert_eq!(argmax.len(), g.output_len());
            // A scatter: each output's gradient goes to the one input that won its window.
            for (&d, &i) in d_out.iter().zip(argmax) {
                d_input[i as usize] += d;
            }
        }
        PoolKind::Average => {
            let c = g.channels;
            for n in 0..g.batch {
                for oy in 0..g.out_h {
                    let rows = g.window_range(oy, g.pad_top, g.in_h);
                    for ox in 0..g.out_w {
                        let cols = g.window_range(ox, g.pad_left, g.in_w);
                        let o = ((n * g.out_h + oy) * g.out_w + ox) * c;
                        let count = (rows.len() * cols.len()) as f32;
                        for iy in rows.clone() {
                            for ix in cols.clone() {
                                let s = ((n * g.in_h + iy) * g.in_w + ix) * c;
                                add_divided_into(&mut d_input[s..s + c], &d_out[o..o + c], count);
                            }
                        }
                    }
                }
            }
        }
    }
}

// Channel-row helpers: SIMD128 in the wasm build, plain loops (which LLVM vectorizes) natively.
// Each does per element exactly what the reference does, so results match bit for bit.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

/// best = max(best, x) elementwise (NaN never wins).
fn max_into(best: &mut [f32], x: &[f32]) {
    let len = best.len();
    assert_eq!(x.len(), len);
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while done + 4 <= len {
        // SAFETY: done + 4 <= len for both slices (asserted equal below).
        unsafe {
            let b = best.as_mut_ptr().add(done) as *mut v128;
            let v = v128_load(x.as_ptr().add(done) as *const v128);
            let old = v128_load(b);
            v128_store(b, v128_bitselect(v, old, f32x4_gt(v, old)));
        }
        done += 4;
    }
    for i in done..len {
        if x[i] > best[i] {
            best[i] = x[i];
        }
    }
}

/// Like [`max_into`], also recording the flat index `base + k` of each new winner.
fn max_tracking_into(best: &mut [f32], arg: &mut [u32], x: &[f32], base: u32) {
    let len = best.len();
    assert!(x.len() == len && arg.len() == len);
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while done + 4 <= len {
        // SAFETY: done + 4 <= len for all three slices.
        unsafe {
            let b = best.as_mut_ptr().add(done) as *mut v128;
            let a = arg.as_mut_ptr().add(done) as *mut v128;
            let v = v128_load(x.as_ptr().add(done) as *const v128);
            let old = v128_load(b);
            let wins = f32x4_gt(v, old);
            let idx = u32x4_add(u32x4_splat(base + done as u32), u32x4(0, 1, 2, 3));
            v128_store(b, v128_bitselect(v, old, wins));
            v128_store(a, v128_bitselect(idx, v128_load(a), wins));
        }
        done += 4;
    }
    for i in done..len {
        if x[i] > best[i] {
            best[i] = x[i];
            arg[i] = base + i as u32;
        }
    }
}

/// acc += x elementwise.
fn add_into(acc: &mut [f32], x: &[f32]) {
    let len = acc.len();
    assert_eq!(x.len(), len);
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while done + 4 <= len {
        // SAFETY: done + 4 <= len for both slices.
        unsafe {
            let a = acc.as_mut_ptr().add(done) as *mut v128;
            v128_store(a, f32x4_add(v128_load(a), v128_load(x.as_ptr().add(done) as *const v128)));
        }
        done += 4;
    }
    for i in done..len {
        acc[i] += x[i];
    }
}

/// acc += d / count elementwise (division, not a reciprocal, to match the reference exactly).
fn add_divided_into(acc: &mut [f32], d: &[f32], count: f32) {
    let len = acc.len();
    assert_eq!(d.len(), len);
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while done + 4 <= len {
        // SAFETY: done + 4 <= len for both slices.
        unsafe {
            let a = acc.as_mut_ptr().add(done) as *mut v128;
            let share = f32x4_div(v128_load(d.as_ptr().add(done) as *const v128), f32x4_splat(count));
            v128_store(a, f32x4_add(v128_load(a), share));
        }
        done += 4;
    }
    for i in done..len {
        acc[i] += d[i] / count;
    }
}

/// x /= count elementwise.
fn div_by(x: &mut [f32], count: f32) {
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    while done + 4 <= x.len() {
        // SAFETY: done + 4 <= len.
        unsafe {
            let p = x.as_mut_ptr().add(done) as *mut v128;
            v128_store(p, f32x4_div(v128_load(p), f32x4_splat(count)));
        }
        done += 4;
    }
    for v in &mut x[done..] {
        *v /= count;
    }
}
