//! Depthwise 2-D convolution (groups = channels, channel multiplier 1), as Keras's
//! `DepthwiseConv2D` and the depthwise layers of MobileNet and EfficientNet-Lite: each channel is
//! correlated with its own KH x KW filter; channels never mix.
//!
//! Layouts: input (N, H, W, C), weight (KH, KW, C) (the bytes of Keras's (KH, KW, C, 1) and of
//! an HWIO (KH, KW, 1, C) kernel with C groups), bias (C), output (N, OH, OW, C). Stride,
//! dilation and every [`Padding`](super::geometry::Padding) come from [`DepthwiseGeometry`].
//!
//! There are KH * KW multiply-adds per output value, against KH * KW * C_in for a full
//! convolution, so the work is bound by memory, not arithmetic, and a matrix product would only
//! add copies. The fast kernels therefore walk the output pixels once, in order, and for each
//! pixel sweep its C channels, which are contiguous in NHWC: sixteen at a time in four f32x4
//! registers (SIMD128 in the wasm build; four-float arrays natively, which the compiler turns
//! into SSE), then four at a time, then one at a time for the last C % 4. The kernel taps of a
//! pixel that land inside the image are worked out once per pixel; for the interior (every tap
//! inside) without a division, and the loops over taps and channels test no bounds.
//!
//! Each fast kernel adds the same products in the same order as its reference (forward: bias,
//! then the taps row by row; backward: the output pixels in scan order), so natively and in the
//! plain SIMD128 build the results are equal bit for bit. The relaxed-SIMD build uses a
//! multiply-add that the engine may fuse: one rounding fewer per tap.
//!
//! Backward accumulates (+=) into d_input, d_weight and d_bias. The input gradient scatters each
//! output pixel's gradient back over its taps (the transpose of the forward's gather); the weight
//! gradient adds each pixel's products into d_weight, which is small (KH * KW * C) and stays in
//! the L1 cache. Nothing allocates; no scratch is needed.

use super::geometry::DepthwiseGeometry;
use lanes::{Lanes, F4};

/// Scalar reference forward: the definition, written for clarity. Overwrites `out`.
/// out (N, OH, OW, C); input (N, H, W, C); weight (KH, KW, C); bias (C) or none.
pub fn depthwise_forward_reference(
    out: &mut [f32],
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &DepthwiseGeometry,
) {
    check_lengths(
        out.len(),
        input.len(),
        weight.len(),
        bias.map(<[f32]>::len),
        g,
    );
    let c = g.channels;
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for ch in 0..c {
                    let mut acc = bias.map_or(0.0, |b| b[ch]);
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
                            let x =
                                input[((n * g.in_h + iy as usize) * g.in_w + ix as usize) * c + ch];
                            acc += x * weight[(ky * g.k_w + kx) * c + ch];
                        }
                    }
                    out[((n * g.out_h + oy) * g.out_w + ox) * c + ch] = acc;
                }
            }
        }
    }
}

/// Scalar reference of the input gradient.
/// d_input (N, H, W, C) +=; d_out (N, OH, OW, C); weight (KH, KW, C).
pub fn depthwise_backward_input_reference(
    d_input: &mut [f32],
    d_out: &[f32],
    weight: &[f32],
    g: &DepthwiseGeometry,
) {
    check_lengths(d_out.len(), d_input.len(), weight.len(), None, g);
    for_each_tap(g, |input_at, out_at, weight_at| {
        for ch in 0..g.channels {
            d_input[input_at + ch] += d_out[out_at + ch] * weight[weight_at + ch];
        }
    });
}

/// Scalar reference of the weight and bias gradients.
/// d_weight (KH, KW, C) +=; d_bias (C) +=; d_out (N, OH, OW, C); input (N, H, W, C).
pub fn depthwise_backward_weight_reference(
    d_weight: &mut [f32],
    d_bias: Option<&mut [f32]>,
    d_out: &[f32],
    input: &[f32],
    g: &DepthwiseGeometry,
) {
    let bias_len = d_bias.as_deref().map(<[f32]>::len);
    check_lengths(d_out.len(), input.len(), d_weight.len(), bias_len, g);
    for_each_tap(g, |input_at, out_at, weight_at| {
        for ch in 0..g.channels {
            d_weight[weight_at + ch] += d_out[out_at + ch] * input[input_at + ch];
        }
    });
    if let Some(d_bias) = d_bias {
        for pixel in d_out.chunks_exact(g.channels) {
            for (db, &d) in d_bias.iter_mut().zip(pixel) {
                *db += d;
            }
        }
    }
}

/// Calls `f(input pixel start, output pixel start, weight tap start)` for every (output pixel,
/// kernel tap) whose tap lands inside the input: the loops of the definition, in scan order.
fn for_each_tap(g: &DepthwiseGeometry, mut f: impl FnMut(usize, usize, usize)) {
    let c = g.channels;
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                let out_at = ((n * g.out_h + oy) * g.out_w + ox) * c;
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
                        let input_at = ((n * g.in_h + iy as usize) * g.in_w + ix as usize) * c;
                        f(input_at, out_at, (ky * g.k_w + kx) * c);
                    }
                }
            }
        }
    }
}

/// Panics (a programmer error) unless the buffers have the geometry's lengths.
fn check_lengths(
    out_len: usize,
    input_len: usize,
    weight_len: usize,
    bias_len: Option<usize>,
    g: &DepthwiseGeometry,
) {
    assert_eq!(out_len, g.output_len(), "depthwise: output length");
    assert_eq!(input_len, g.input_len(), "depthwise: input length");
    assert_eq!(weight_len, g.weight_len(), "depthwise: weight length");
    if let Some(len) = bias_len {
        assert_eq!(len, g.channels, "depthwise: bias length");
    }
}

/// Fast forward pass; overwrites `out`. With `clip = Some((lo, hi))` the activation is fused:
/// out = clamp(conv + bias, lo, hi), NaN staying NaN; ReLU6 is `Some((0.0, 6.0))`, ReLU
/// `Some((0.0, f32::INFINITY))`. out (N, OH, OW, C); input (N, H, W, C); weight (KH, KW, C);
/// bias (C) or none.
pub fn depthwise_forward(
    out: &mut [f32],
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    clip: Option<(f32, f32)>,
    g: &DepthwiseGeometry,
) {
    check_lengths(
        out.len(),
        input.len(),
        weight.len(),
        bias.map(<[f32]>::len),
        g,
    );
    if let Some((lo, hi)) = clip {
        assert!(lo <= hi, "depthwise: clip range {lo}..{hi} is empty");
    }
    let steps = Steps::of(g);
    let out = out.as_mut_ptr();
    for_each_window(g, |window| {
        let mut pixel = ForwardPixel {
            out,
            input: input.as_ptr(),
            weight: weight.as_ptr(),
            bias: bias.map(<[f32]>::as_ptr),
            clip,
            window,
            steps,
        };
        // SAFETY: the lengths are checked above; every tap of the window lies inside the input
        // (see `for_each_window`), and each block reads channels c0.. < C of a pixel or a tap.
        unsafe { for_channel_blocks(g.channels, &mut pixel) };
    });
}

/// Fast input gradient. d_input (N, H, W, C) +=; d_out (N, OH, OW, C); weight (KH, KW, C).
/// If the forward pass fused a clip, `d_out` must already be masked by (lo < out < hi).
pub fn depthwise_backward_input(
    d_input: &mut [f32],
    d_out: &[f32],
    weight: &[f32],
    g: &DepthwiseGeometry,
) {
    check_lengths(d_out.len(), d_input.len(), weight.len(), None, g);
    let steps = Steps::of(g);
    let d_input = d_input.as_mut_ptr();
    for_each_window(g, |window| {
        let mut pixel = InputGradientPixel {
            d_input,
            d_out: d_out.as_ptr(),
            weight: weight.as_ptr(),
            window,
            steps,
        };
        // SAFETY: as in depthwise_forward.
        unsafe { for_channel_blocks(g.channels, &mut pixel) };
    });
}

/// Fast weight and bias gradients. d_weight (KH, KW, C) +=; d_bias (C) +=;
/// d_out (N, OH, OW, C) (masked by the fused clip, if any); input (N, H, W, C).
pub fn depthwise_backward_weight(
    d_weight: &mut [f32],
    d_bias: Option<&mut [f32]>,
    d_out: &[f32],
    input: &[f32],
    g: &DepthwiseGeometry,
) {
    let bias_len = d_bias.as_deref().map(<[f32]>::len);
    check_lengths(d_out.len(), input.len(), d_weight.len(), bias_len, g);
    let steps = Steps::of(g);
    let d_weight = d_weight.as_mut_ptr();
    let d_bias = d_bias.map(<[f32]>::as_mut_ptr);
    for_each_window(g, |window| {
        let mut pixel = WeightGradientPixel {
            d_weight,
            d_bias,
            d_out: d_out.as_ptr(),
            input: input.as_ptr(),
            window,
            steps,
        };
        // SAFETY: as in depthwise_forward.
        unsafe { for_channel_blocks(g.channels, &mut pixel) };
    });
}

/// One output pixel and the taps of its receptive field that land inside the input:
/// rows `ky`, columns `kx` of the kernel; `input` is the flat index of channel 0 of the input
/// pixel under tap (ky.start, kx.start), `out` that of the output pixel.
struct Window {
    out: usize,
    input: usize,
    ky: std::ops::Range<usize>,
    kx: std::ops::Range<usize>,
}

/// Flat distances of one geometry: between kernel rows and columns in the input (dilated), and
/// between kernel rows in the weight.
#[derive(Clone, Copy)]
struct Steps {
    channels: usize,
    input_row: usize,
    input_col: usize,
    weight_row: usize,
}

impl Steps {
    fn of(g: &DepthwiseGeometry) -> Self {
        Self {
            channels: g.channels,
            input_row: g.in_w * g.channels * g.dilation,
            input_col: g.channels * g.dilation,
            weight_row: g.k_w * g.channels,
        }
    }
}

/// One axis of the geometry: which kernel taps of an output position land inside the input.
struct Axis {
    n: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    pad: usize,
    /// Output positions all of whose taps land inside.
    interior: std::ops::Range<usize>,
}

impl Axis {
    fn new(n: usize, k: usize, stride: usize, dilation: usize, pad: usize, out: usize) -> Self {
        // Inside when o * stride >= pad and o * stride - pad + (k - 1) * dilation <= n - 1.
        let span = (k - 1) * dilation;
        let hi = if n - 1 + pad >= span {
            ((n - 1 + pad - span) / stride + 1).min(out)
        } else {
            0
        };
        let lo = pad.div_ceil(stride).min(hi);
        Self {
            n,
            k,
            stride,
            dilation,
            pad,
            interior: lo..hi,
        }
    }

    /// For output position `o`: (input position of the first tap inside, the taps inside).
    /// With no tap inside (padding wider than the dilated kernel) the range is empty.
    #[inline(always)]
    fn taps(&self, o: usize) -> (usize, std::ops::Range<usize>) {
        if self.interior.contains(&o) {
            return (o * self.stride - self.pad, 0..self.k);
        }
        let start = (o * self.stride) as isize - self.pad as isize;
        let d = self.dilation as isize;
        // Tap t lands at start + t * d: inside when 0 <= start + t * d < n.
        let lo = if start < 0 {
            ((-start + d - 1) / d) as usize
        } else {
            0
        };
        let hi = ((self.n as isize - start + d - 1) / d).clamp(0, self.k as isize) as usize;
        if lo >= hi {
            return (0, 0..0);
        }
        ((start + lo as isize * d) as usize, lo..hi)
    }
}

/// Calls `f` with the window of every output pixel, in scan order (batch, row, column).
#[inline(always)]
fn for_each_window(g: &DepthwiseGeometry, mut f: impl FnMut(&Window)) {
    let rows = Axis::new(g.in_h, g.k_h, g.stride, g.dilation, g.pad_top, g.out_h);
    let cols = Axis::new(g.in_w, g.k_w, g.stride, g.dilation, g.pad_left, g.out_w);
    let c = g.channels;
    for n in 0..g.batch {
        for oy in 0..g.out_h {
            let (iy, ky) = rows.taps(oy);
            for ox in 0..g.out_w {
                let (ix, kx) = cols.taps(ox);
                f(&Window {
                    out: ((n * g.out_h + oy) * g.out_w + ox) * c,
                    input: ((n * g.in_h + iy) * g.in_w + ix) * c,
                    ky: ky.clone(),
                    kx,
                });
            }
        }
    }
}

/// The work on one window for a block of channels c0 .. c0 + V * L::LANES. (Pointers step on
/// with `wrapping_add`: after the last tap they may point past the buffer, and are not read.)
trait ChannelBlock {
    /// # Safety
    /// c0 + V * L::LANES <= C, and the pointers of `self` cover the window's pixels and taps.
    unsafe fn run<L: Lanes, const V: usize>(&mut self, c0: usize);
}

/// Runs `block` over all `channels`: blocks of 16, then of 4, then single channels.
///
/// # Safety
/// As [`ChannelBlock::run`], for the whole window.
#[inline(always)]
unsafe fn for_channel_blocks<B: ChannelBlock>(channels: usize, block: &mut B) {
    let mut c0 = 0;
    while c0 + 16 <= channels {
        block.run::<F4, 4>(c0);
        c0 += 16;
    }
    while c0 + 4 <= channels {
        block.run::<F4, 1>(c0);
        c0 += 4;
    }
    while c0 < channels {
        block.run::<f32, 1>(c0);
        c0 += 1;
    }
}

/// out = clip(bias + sum over taps of x * w), one window.
struct ForwardPixel<'a> {
    out: *mut f32,
    input: *const f32,
    weight: *const f32,
    bias: Option<*const f32>,
    clip: Option<(f32, f32)>,
    window: &'a Window,
    steps: Steps,
}

impl ChannelBlock for ForwardPixel<'_> {
    #[inline(always)]
    unsafe fn run<L: Lanes, const V: usize>(&mut self, c0: usize) {
        let (w, s) = (self.window, self.steps);
        let mut acc: [L; V] = match self.bias {
            Some(b) => std::array::from_fn(|v| L::load(b.add(c0 + v * L::LANES))),
            None => [L::splat(0.0); V],
        };
        let mut row = self.input.add(w.input + c0);
        for ky in w.ky.clone() {
            let mut x = row;
            let mut k = self
                .weight
                .add(ky * s.weight_row + w.kx.start * s.channels + c0);
            for _ in w.kx.clone() {
                for (v, a) in acc.iter_mut().enumerate() {
                    let at = v * L::LANES;
                    *a = a.madd(L::load(x.add(at)), L::load(k.add(at)));
                }
                x = x.wrapping_add(s.input_col);
                k = k.wrapping_add(s.channels);
            }
            row = row.wrapping_add(s.input_row);
        }
        let out = self.out.add(w.out + c0);
        for (v, a) in acc.into_iter().enumerate() {
            let a = match self.clip {
                Some((lo, hi)) => a.clip(lo, hi),
                None => a,
            };
            a.store(out.add(v * L::LANES));
        }
    }
}

/// d_input at each tap += d_out * w, one window.
struct InputGradientPixel<'a> {
    d_input: *mut f32,
    d_out: *const f32,
    weight: *const f32,
    window: &'a Window,
    steps: Steps,
}

impl ChannelBlock for InputGradientPixel<'_> {
    #[inline(always)]
    unsafe fn run<L: Lanes, const V: usize>(&mut self, c0: usize) {
        let (w, s) = (self.window, self.steps);
        let dy: [L; V] =
            std::array::from_fn(|v| L::load(self.d_out.add(w.out + c0 + v * L::LANES)));
        let mut row = self.d_input.add(w.input + c0);
        for ky in w.ky.clone() {
            let mut dx = row;
            let mut k = self
                .weight
                .add(ky * s.weight_row + w.kx.start * s.channels + c0);
            for _ in w.kx.clone() {
                for (v, &d) in dy.iter().enumerate() {
                    let at = v * L::LANES;
                    L::load(dx.add(at))
                        .madd(d, L::load(k.add(at)))
                        .store(dx.add(at));
                }
                dx = dx.wrapping_add(s.input_col);
                k = k.wrapping_add(s.channels);
            }
            row = row.wrapping_add(s.input_row);
        }
    }
}

/// d_bias += d_out and d_weight at each tap += d_out * x, one window.
struct WeightGradientPixel<'a> {
    d_weight: *mut f32,
    d_bias: Option<*mut f32>,
    d_out: *const f32,
    input: *const f32,
    window: &'a Window,
    steps: Steps,
}

impl ChannelBlock for WeightGradientPixel<'_> {
    #[inline(always)]
    unsafe fn run<L: Lanes, const V: usize>(&mut self, c0: usize) {
        let (w, s) = (self.window, self.steps);
        let dy: [L; V] =
            std::array::from_fn(|v| L::load(self.d_out.add(w.out + c0 + v * L::LANES)));
        if let Some(db) = self.d_bias {
            for (v, &d) in dy.iter().enumerate() {
                let at = db.add(c0 + v * L::LANES);
                L::load(at).add(d).store(at);
            }
        }
        let mut row = self.input.add(w.input + c0);
        for ky in w.ky.clone() {
            let mut x = row;
            let mut dk = self
                .d_weight
                .add(ky * s.weight_row + w.kx.start * s.channels + c0);
            for _ in w.kx.clone() {
                for (v, &d) in dy.iter().enumerate() {
                    let at = v * L::LANES;
                    L::load(dk.add(at))
                        .madd(d, L::load(x.add(at)))
                        .store(dk.add(at));
                }
                x = x.wrapping_add(s.input_col);
                dk = dk.wrapping_add(s.channels);
            }
            row = row.wrapping_add(s.input_row);
        }
    }
}

/// A few f32 lanes handled as one value: `f32` itself (one lane) and `F4` (four: a SIMD128
/// vector in the wasm build, a four-float array natively, which the compiler vectorizes).
/// Every operation does per lane exactly what the scalar reference does.
mod lanes {
    pub trait Lanes: Copy {
        const LANES: usize;
        /// # Safety
        /// `p .. p + LANES` must be readable.
        unsafe fn load(p: *const f32) -> Self;
        /// # Safety
        /// `p .. p + LANES` must be writable.
        unsafe fn store(self, p: *mut f32);
        fn splat(v: f32) -> Self;
        fn add(self, other: Self) -> Self;
        /// self + a * b: a multiply, then an add, as the reference's `acc += a * b`.
        fn madd(self, a: Self, b: Self) -> Self;
        /// lo where below lo, hi where above hi; NaN stays NaN (both tests fail for it).
        fn clip(self, lo: f32, hi: f32) -> Self;
    }

    impl Lanes for f32 {
        const LANES: usize = 1;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            *p
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            *p = self;
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            v
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            self + other
        }
        #[inline(always)]
        fn madd(self, a: Self, b: Self) -> Self {
            self + a * b
        }
        #[inline(always)]
        fn clip(self, lo: f32, hi: f32) -> Self {
            // Two selects rather than an if-else chain: the compiler vectorizes them.
            let v = if self < lo { lo } else { self };
            if v > hi {
                hi
            } else {
                v
            }
        }
    }

    /// Four lanes natively: plain arrays.
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    #[derive(Clone, Copy)]
    pub struct F4([f32; 4]);

    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    impl Lanes for F4 {
        const LANES: usize = 4;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // [f32; 4] has f32's alignment.
            F4(*(p as *const [f32; 4]))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            *(p as *mut [f32; 4]) = self.0;
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            F4([v; 4])
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            F4(std::array::from_fn(|i| self.0[i] + other.0[i]))
        }
        #[inline(always)]
        fn madd(self, a: Self, b: Self) -> Self {
            F4(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }
        #[inline(always)]
        fn clip(self, lo: f32, hi: f32) -> Self {
            F4(self.0.map(|v| v.clip(lo, hi)))
        }
    }

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    use core::arch::wasm32::*;

    /// Four lanes in the wasm build: one SIMD128 vector.
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    #[derive(Clone, Copy)]
    pub struct F4(v128);

    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    impl Lanes for F4 {
        const LANES: usize = 4;
        #[inline(always)]
        unsafe fn load(p: *const f32) -> Self {
            // wasm's v128.load takes any alignment.
            F4(v128_load(p as *const v128))
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        #[inline(always)]
        fn splat(v: f32) -> Self {
            F4(f32x4_splat(v))
        }
        #[inline(always)]
        fn add(self, other: Self) -> Self {
            F4(f32x4_add(self.0, other.0))
        }
        /// The relaxed-SIMD build (`+relaxed-simd`) uses one multiply-add, which the engine may
        /// or may not fuse; plain SIMD128 multiplies, then adds, as the reference.
        #[inline(always)]
        fn madd(self, a: Self, b: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            {
                F4(f32x4_relaxed_madd(a.0, b.0, self.0))
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            {
                F4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
            }
        }
        #[inline(always)]
        fn clip(self, lo: f32, hi: f32) -> Self {
            let (lo, hi) = (f32x4_splat(lo), f32x4_splat(hi));
            // Comparisons with NaN are false, so a NaN lane keeps its value.
            let v = v128_bitselect(lo, self.0, f32x4_lt(self.0, lo));
            F4(v128_bitselect(hi, v, f32x4_gt(v, hi)))
        }
    }
}
