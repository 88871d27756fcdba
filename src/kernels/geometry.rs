//! The geometry of convolution and pooling: padding, output sizes, and the validated shapes the
//! kernels run on. Plain arithmetic; it imports no other kernel, so every op and the layers can
//! share it.

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
    /// Zero rows and columns given side by side, as ONNX's `pads` and PyTorch's `F.pad` give
    /// them: models exported from those frameworks often pad one side more than the other.
    PerSide {
        top: usize,
        bottom: usize,
        left: usize,
        right: usize,
    },
}

impl Padding {
    /// The zero rows and columns this padding adds around an `in_h` x `in_w` input for a
    /// `k_h` x `k_w` window: (top, bottom, left, right).
    pub fn sides(
        self,
        (in_h, in_w): (usize, usize),
        (k_h, k_w): (usize, usize),
        stride: usize,
        dilation: usize,
    ) -> (usize, usize, usize, usize) {
        match self {
            Padding::Valid => (0, 0, 0, 0),
            Padding::Same => {
                let (top, bottom) = same_padding(in_h, k_h, stride, dilation);
                let (left, right) = same_padding(in_w, k_w, stride, dilation);
                (top, bottom, left, right)
            }
            Padding::Explicit(p) => (p, p, p, p),
            Padding::PerSide {
                top,
                bottom,
                left,
                right,
            } => (top, bottom, left, right),
        }
    }
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
pub fn output_len(
    n: usize,
    k: usize,
    stride: usize,
    dilation: usize,
    pad_total: usize,
) -> Option<usize> {
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
        let (pad_top, pad_bottom, pad_left, pad_right) =
            padding.sides((in_h, in_w), (k_h, k_w), stride, dilation);
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
        Ok(Self {
            batch,
            in_h,
            in_w,
            in_c,
            k_h,
            k_w,
            out_c,
            stride,
            dilation,
            pad_top,
            pad_bottom,
            pad_left,
            pad_right,
            out_h,
            out_w,
        })
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
}

/// The geometry of one depthwise convolution: groups = channels, channel multiplier 1, so each
/// channel is correlated with its own KH x KW filter and the output has the input's channels.
/// Built only through [`DepthwiseGeometry::new`], which validates it as the convolution with
/// `in_c == out_c` (same rules, same messages). A type of its own rather than a
/// [`ConvGeometry`] with equal channels, because that one's `weight_len` (KH * KW * C * C)
/// would be wrong here: the weight is (KH, KW, C).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DepthwiseGeometry {
    pub batch: usize,
    pub in_h: usize,
    pub in_w: usize,
    pub channels: usize,
    pub k_h: usize,
    pub k_w: usize,
    pub stride: usize,
    pub dilation: usize,
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
    pub out_h: usize,
    pub out_w: usize,
}

impl DepthwiseGeometry {
    /// Validates sizes and computes padding and output size; explains what cannot work.
    pub fn new(
        batch: usize,
        (in_h, in_w, channels): (usize, usize, usize),
        (k_h, k_w): (usize, usize),
        stride: usize,
        dilation: usize,
        padding: Padding,
    ) -> Result<Self> {
        let g = ConvGeometry::new(
            batch,
            (in_h, in_w, channels),
            (k_h, k_w, channels),
            stride,
            dilation,
            padding,
        )?;
        Ok(Self {
            batch,
            in_h,
            in_w,
            channels,
            k_h,
            k_w,
            stride,
            dilation,
            pad_top: g.pad_top,
            pad_bottom: g.pad_bottom,
            pad_left: g.pad_left,
            pad_right: g.pad_right,
            out_h: g.out_h,
            out_w: g.out_w,
        })
    }

    pub fn input_len(&self) -> usize {
        self.batch * self.in_h * self.in_w * self.channels
    }
    /// KH * KW * C: the weight (KH, KW, C), which is also the bytes of Keras's (KH, KW, C, 1)
    /// and of a (KH, KW, 1, C) HWIO kernel with C groups.
    pub fn weight_len(&self) -> usize {
        self.k_h * self.k_w * self.channels
    }
    pub fn output_len(&self) -> usize {
        self.batch * self.out_h * self.out_w * self.channels
    }
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
    pub fn new(
        batch: usize,
        (in_h, in_w, channels): (usize, usize, usize),
        window: usize,
        stride: usize,
        padding: Padding,
    ) -> Result<Self> {
        if batch == 0 || in_h == 0 || in_w == 0 || channels == 0 {
            return Err(invalid!("the input must have at least one image, row, column and channel (got {batch}x{in_h}x{in_w}x{channels})"));
        }
        if window == 0 {
            return Err(invalid!("the pooling window must be at least 1x1"));
        }
        if stride == 0 {
            return Err(invalid!("the pooling stride must be at least 1"));
        }
        let (pad_top, pad_bottom, pad_left, pad_right) =
            padding.sides((in_h, in_w), (window, window), stride, 1);
        // 'same' never pads a side by a whole window; explicit padding could.
        if !matches!(padding, Padding::Same) {
            let widest = pad_top.max(pad_bottom).max(pad_left).max(pad_right);
            if widest >= window {
                return Err(invalid!("pooling padding ({widest}) must be smaller than the window ({window}), or some windows would hold only padding"));
            }
        }
        let (Some(out_h), Some(out_w)) = (
            output_len(in_h, window, stride, 1, pad_top + pad_bottom),
            output_len(in_w, window, stride, 1, pad_left + pad_right),
        ) else {
            return Err(invalid!(
                "the pooling window ({window}x{window}) is larger than the input ({in_h}x{in_w})"
            ));
        };
        Ok(Self {
            batch,
            in_h,
            in_w,
            channels,
            window,
            stride,
            pad_top,
            pad_left,
            out_h,
            out_w,
        })
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
