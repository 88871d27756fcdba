//! 2-D max and average pooling over NHWC activations, and global average pooling.
//!
//! Layouts: input (N, H, W, C), output (N, OH, OW, C); global pooling's output is (N, C). Padding cells never win a max
//! and are not counted in an average (Keras/TensorFlow semantics).
//!
//! Max pooling remembers, per output element, the flat index of the input element that
//! won (`argmax`), so that backward can route the gradient there without searching again.
//! Ties go to the first element in scan order (row by row, then column by column): this is
//! what TensorFlow's CPU kernel does (it replaces the winner only on a strict `<`) and what
//! JAX's `select_and_scatter_add` does (it keeps the current winner while it is `>=`); the
//! Keras fixtures in `tests/fixtures/layers` contain ties and check it. NaN inputs never win.
//!
//! The fast kernels work on the channels of one window at a time (contiguous in NHWC), four
//! lanes at a time with SIMD128 in the wasm build, and visit the window in the same order as the
//! references: results are equal bit for bit.
//!
//! Global average pooling (Keras's `GlobalAveragePooling2D`, the end of EfficientNet's backbone)
//! is the mean of each channel over all H * W positions: a sum in scan order, then one division,
//! in the reference and in the fast kernel alike (bit for bit). The sums are f32, as Keras's
//! float32 mean: the backbone's last map is 7 x 7.

use super::geometry::PoolGeometry;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolKind {
    Max,
    Average,
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
pub fn pool_backward_reference(
    d_input: &mut [f32],
    d_out: &[f32],
    input: &[f32],
    kind: PoolKind,
    g: &PoolGeometry,
) {
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
                    let index =
                        |iy: usize, ix: usize| ((n * g.in_h + iy) * g.in_w + ix) * g.channels + c;
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
pub fn pool_forward(
    out: &mut [f32],
    mut argmax: Option<&mut [u32]>,
    input: &[f32],
    kind: PoolKind,
    g: &PoolGeometry,
) {
    assert_eq!(out.len(), g.output_len());
    assert_eq!(input.len(), g.input_len());
    assert!(
        u32::try_from(g.input_len()).is_ok(),
        "input too large for u32 argmax indices"
    );
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
                let window = Window {
                    first: ((n * g.in_h + rows.start) * g.in_w + cols.start) * c,
                    rows: rows.len(),
                    cols: cols.len(),
                    row_step: g.in_w * c,
                    channels: c,
                };
                match kind {
                    PoolKind::Max => max_cell(
                        &mut out[o..o + c],
                        argmax.as_deref_mut().map(|a| &mut a[o..o + c]),
                        input,
                        &window,
                    ),
                    PoolKind::Average => average_cell(&mut out[o..o + c], input, &window),
                }
            }
        }
    }
}

/// One pooling window of the input, clipped to the image: `rows` x `cols` cells of `channels`
/// values, the first at flat index `first`, rows `row_step` apart.
struct Window {
    first: usize,
    rows: usize,
    cols: usize,
    row_step: usize,
    channels: usize,
}

impl Window {
    /// Flat index of channel 0 of the window cell (r, q).
    fn cell(&self, r: usize, q: usize) -> usize {
        self.first + r * self.row_step + q * self.channels
    }
    fn count(&self) -> f32 {
        (self.rows * self.cols) as f32
    }
}

// Natively: loop over the window cells, channels innermost (contiguous; LLVM vectorizes).
// In wasm with SIMD128: four channels at a time, their maximum (or sum) and argmax kept in
// registers while the window is scanned. Per element both do exactly what the reference does,
// in the same order, so results are equal bit for bit.

/// Maximum (and, if asked, the flat index of its first occurrence) of each channel over the window.
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn max_cell(best: &mut [f32], arg: Option<&mut [u32]>, input: &[f32], w: &Window) {
    let c = w.channels;
    best.fill(f32::NEG_INFINITY);
    match arg {
        Some(arg) => {
            for (k, i) in arg.iter_mut().enumerate() {
                *i = (w.first + k) as u32;
            }
            for r in 0..w.rows {
                for q in 0..w.cols {
                    let s = w.cell(r, q);
                    for ((b, a), (k, &x)) in best
                        .iter_mut()
                        .zip(arg.iter_mut())
                        .zip(input[s..s + c].iter().enumerate())
                    {
                        if x > *b {
                            *b = x;
                            *a = (s + k) as u32;
                        }
                    }
                }
            }
        }
        None => {
            for r in 0..w.rows {
                for q in 0..w.cols {
                    let s = w.cell(r, q);
                    for (b, &x) in best.iter_mut().zip(&input[s..s + c]) {
                        if x > *b {
                            *b = x;
                        }
                    }
                }
            }
        }
    }
}

/// Mean of each channel over the window (cells outside the image are not in it).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn average_cell(mean: &mut [f32], input: &[f32], w: &Window) {
    let c = w.channels;
    mean.fill(0.0);
    for r in 0..w.rows {
        for q in 0..w.cols {
            let s = w.cell(r, q);
            for (m, &x) in mean.iter_mut().zip(&input[s..s + c]) {
                *m += x;
            }
        }
    }
    let count = w.count();
    for m in mean.iter_mut() {
        *m /= count;
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use core::arch::wasm32::*;

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn max_cell(best: &mut [f32], mut arg: Option<&mut [u32]>, input: &[f32], w: &Window) {
    let c = w.channels;
    let vectors = c / 4 * 4;
    assert!(w.cell(w.rows - 1, w.cols - 1) + c <= input.len());
    for k in (0..vectors).step_by(4) {
        let lanes = u32x4(0, 1, 2, 3);
        // SAFETY: every load reads channels k..k + 4 <= c of a cell inside `input` (asserted
        // for the last cell above), and k + 4 <= best.len() == arg.len() == c.
        unsafe {
            let mut b = f32x4_splat(f32::NEG_INFINITY);
            let mut a = u32x4_add(u32x4_splat((w.first + k) as u32), lanes);
            for r in 0..w.rows {
                for q in 0..w.cols {
                    let s = w.cell(r, q) + k;
                    let x = v128_load(input.as_ptr().add(s) as *const v128);
                    let wins = f32x4_gt(x, b);
                    b = v128_bitselect(x, b, wins);
                    if arg.is_some() {
                        a = v128_bitselect(u32x4_add(u32x4_splat(s as u32), lanes), a, wins);
                    }
                }
            }
            v128_store(best.as_mut_ptr().add(k) as *mut v128, b);
            if let Some(arg) = arg.as_deref_mut() {
                v128_store(arg.as_mut_ptr().add(k) as *mut v128, a);
            }
        }
    }
    for k in vectors..c {
        let (mut b, mut a) = (f32::NEG_INFINITY, w.first + k);
        for r in 0..w.rows {
            for q in 0..w.cols {
                let s = w.cell(r, q) + k;
                if input[s] > b {
                    b = input[s];
                    a = s;
                }
            }
        }
        best[k] = b;
        if let Some(arg) = arg.as_deref_mut() {
            arg[k] = a as u32;
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn average_cell(mean: &mut [f32], input: &[f32], w: &Window) {
    let c = w.channels;
    let vectors = c / 4 * 4;
    let count = w.count();
    assert!(w.cell(w.rows - 1, w.cols - 1) + c <= input.len());
    for k in (0..vectors).step_by(4) {
        // SAFETY: as in max_cell.
        unsafe {
            let mut sum = f32x4_splat(0.0);
            for r in 0..w.rows {
                for q in 0..w.cols {
                    sum = f32x4_add(
                        sum,
                        v128_load(input.as_ptr().add(w.cell(r, q) + k) as *const v128),
                    );
                }
            }
            v128_store(
                mean.as_mut_ptr().add(k) as *mut v128,
                f32x4_div(sum, f32x4_splat(count)),
            );
        }
    }
    for k in vectors..c {
        let mut sum = 0.0;
        for r in 0..w.rows {
            for q in 0..w.cols {
                sum += input[w.cell(r, q) + k];
            }
        }
        mean[k] = sum / count;
    }
}

/// Fast pooling backward. Accumulates into `d_input`. Max pooling needs the `argmax` cache
/// written by [`pool_forward`]; average pooling needs nothing and ignores it.
/// d_input (N, H, W, C) +=; d_out (N, OH, OW, C); argmax (N, OH, OW, C).
pub fn pool_backward(
    d_input: &mut [f32],
    d_out: &[f32],
    argmax: Option<&[u32]>,
    kind: PoolKind,
    g: &PoolGeometry,
) {
    assert_eq!(d_input.len(), g.input_len());
    assert_eq!(d_out.len(), g.output_len());
    match kind {
        PoolKind::Max => {
            let argmax =
                argmax.expect("max pooling backward needs the argmax cache from pool_forward");
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

// The average-pooling backward row: SIMD128 in the wasm build, a plain loop natively.

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
            let share = f32x4_div(
                v128_load(d.as_ptr().add(done) as *const v128),
                f32x4_splat(count),
            );
            v128_store(a, f32x4_add(v128_load(a), share));
        }
        done += 4;
    }
    for i in done..len {
        acc[i] += d[i] / count;
    }
}

/// (N, H, W, C) of a global pooling's input, checked against the buffers' lengths.
fn global_sizes(
    out_len: usize,
    input_len: usize,
    (batch, in_h, in_w, channels): (usize, usize, usize, usize),
) -> (usize, usize, usize) {
    let pixels = in_h * in_w;
    assert!(
        batch > 0 && pixels > 0 && channels > 0,
        "global pooling needs a non-empty input (got {batch}x{in_h}x{in_w}x{channels})"
    );
    assert_eq!(out_len, batch * channels);
    assert_eq!(input_len, batch * pixels * channels);
    (batch, pixels, channels)
}

/// Scalar reference of global average pooling. Overwrites `out`.
/// out (N, C); input (N, H, W, C); shape = (N, H, W, C).
pub fn global_average_pool_forward_reference(
    out: &mut [f32],
    input: &[f32],
    shape: (usize, usize, usize, usize),
) {
    let (batch, pixels, c) = global_sizes(out.len(), input.len(), shape);
    for n in 0..batch {
        for k in 0..c {
            let mut sum = 0.0;
            for p in 0..pixels {
                sum += input[(n * pixels + p) * c + k];
            }
            out[n * c + k] = sum / pixels as f32;
        }
    }
}

/// Scalar reference of the global average pooling backward: every position of an image gets
/// its channel's d_out / (H * W). d_input (N, H, W, C) +=; d_out (N, C); shape = (N, H, W, C).
pub fn global_average_pool_backward_reference(
    d_input: &mut [f32],
    d_out: &[f32],
    shape: (usize, usize, usize, usize),
) {
    let (batch, pixels, c) = global_sizes(d_out.len(), d_input.len(), shape);
    for n in 0..batch {
        for p in 0..pixels {
            for k in 0..c {
                d_input[(n * pixels + p) * c + k] += d_out[n * c + k] / pixels as f32;
            }
        }
    }
}

/// Fast global average pooling: whole pixels (C contiguous channels) added into the output row,
/// in the reference's order. Overwrites `out`. out (N, C); input (N, H, W, C); shape = (N, H, W, C).
pub fn global_average_pool_forward(
    out: &mut [f32],
    input: &[f32],
    shape: (usize, usize, usize, usize),
) {
    let (_, pixels, c) = global_sizes(out.len(), input.len(), shape);
    for (mean, image) in out.chunks_exact_mut(c).zip(input.chunks_exact(pixels * c)) {
        mean.fill(0.0);
        for pixel in image.chunks_exact(c) {
            add_into(mean, pixel);
        }
        for m in mean.iter_mut() {
            *m /= pixels as f32;
        }
    }
}

/// Fast global average pooling backward. d_input (N, H, W, C) +=; d_out (N, C); shape = (N, H, W, C).
pub fn global_average_pool_backward(
    d_input: &mut [f32],
    d_out: &[f32],
    shape: (usize, usize, usize, usize),
) {
    let (_, pixels, c) = global_sizes(d_out.len(), d_input.len(), shape);
    for (d, image) in d_out
        .chunks_exact(c)
        .zip(d_input.chunks_exact_mut(pixels * c))
    {
        for pixel in image.chunks_exact_mut(c) {
            add_divided_into(pixel, d, pixels as f32);
        }
    }
}

/// acc += x elementwise: SIMD128 in the wasm build, a plain loop natively.
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
            let v = v128_load(x.as_ptr().add(done) as *const v128);
            v128_store(a, f32x4_add(v128_load(a), v));
        }
        done += 4;
    }
    for i in done..len {
        acc[i] += x[i];
    }
}
