//! The convolution explorer's computations, free of wasm-bindgen so they test natively:
//! run a convolution or a pooling for the page's settings, break one output cell down into
//! its multiply-adds, and explain in words the settings that cannot work.
//!
//! The numeric kernels are called in exactly two places ([`run_conv`], [`run_pool`]), so that
//! switching to the fast kernels is a one-line change each.

use super::presets::Image;
use crate::kernels::conv::conv2d_forward;
use crate::kernels::geometry::{output_len, ConvGeometry, Padding, PoolGeometry};
use crate::kernels::pool::{pool_forward, PoolKind};
use crate::kernels::scratch::ConvScratch;
use crate::{invalid, Result};
use serde::{Deserialize, Serialize};

use crate::limits::explorer::{
    MAX_CALCULATOR, MAX_CHANNELS, MAX_DILATION, MAX_FILTERS, MAX_KERNEL, MAX_PADDING, MAX_SIDE,
    MAX_STRIDE,
};

/// The sliders of the convolution explorer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvSettings {
    pub kernel: usize,
    pub stride: usize,
    pub padding: Padding,
    pub dilation: usize,
}

/// The explorer's sliders as the page sends them.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConvRequest {
    pub kernel: usize,
    pub stride: usize,
    /// `valid`, `same` or `explicit`.
    pub padding: String,
    #[serde(default)]
    pub pad: usize,
    pub dilation: usize,
    /// Whether the maps go through a ReLU (only a [`ConvRun`] uses it).
    #[serde(default)]
    pub relu: bool,
}

impl ConvRequest {
    /// The geometry, and whether to apply a ReLU.
    pub fn settings(&self) -> Result<(ConvSettings, bool)> {
        let padding = parse_padding(&self.padding, self.pad)?;
        Ok((
            ConvSettings {
                kernel: self.kernel,
                stride: self.stride,
                padding,
                dilation: self.dilation,
            },
            self.relu,
        ))
    }
}

/// Reads the page's padding control: `valid`, `same`, or `explicit` with a number.
pub fn parse_padding(mode: &str, pad: usize) -> Result<Padding> {
    match mode {
        "valid" => Ok(Padding::Valid),
        "same" => Ok(Padding::Same),
        "explicit" if pad <= MAX_PADDING => Ok(Padding::Explicit(pad)),
        "explicit" => Err(invalid!(
            "the padding must be at most {MAX_PADDING} (got {pad})"
        )),
        _ => Err(invalid!(
            "padding must be 'valid', 'same' or a number (got '{mode}')"
        )),
    }
}

/// A problem with the settings, attached to the control that can fix it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// `kernel`, `stride`, `padding`, `dilation` or `input`.
    pub control: &'static str,
    /// `error` (nothing can be computed) or `note` (it works, but something is worth knowing).
    pub level: &'static str,
    pub message: String,
}

fn error(control: &'static str, message: String) -> Diagnostic {
    Diagnostic {
        control,
        level: "error",
        message,
    }
}
fn note(control: &'static str, message: String) -> Diagnostic {
    Diagnostic {
        control,
        level: "note",
        message,
    }
}

/// Settings outside the sliders' limits (only a hand-edited link can produce them).
fn limit_errors(height: usize, width: usize, s: &ConvSettings) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
        out.push(error(
            "input",
            format!(
                "the input must be between 1x1 and {MAX_SIDE}x{MAX_SIDE} (got {height}x{width})"
            ),
        ));
    }
    if !(1..=MAX_KERNEL).contains(&s.kernel) {
        out.push(error(
            "kernel",
            format!(
                "the kernel size must be between 1 and {MAX_KERNEL} (got {})",
                s.kernel
            ),
        ));
    }
    if !(1..=MAX_STRIDE).contains(&s.stride) {
        out.push(error(
            "stride",
            format!(
                "the stride must be between 1 and {MAX_STRIDE} (got {})",
                s.stride
            ),
        ));
    }
    if !(1..=MAX_DILATION).contains(&s.dilation) {
        out.push(error(
            "dilation",
            format!(
                "the dilation must be between 1 and {MAX_DILATION} (got {})",
                s.dilation
            ),
        ));
    }
    if let Padding::Explicit(p) = s.padding {
        if p > MAX_PADDING {
            out.push(error(
                "padding",
                format!("the padding must be at most {MAX_PADDING} (got {p})"),
            ));
        }
    }
    out
}

/// Explains, in words, what is wrong or surprising with these settings for an input of
/// `height` x `width`. An empty list means all is well; any `error` means no output.
pub fn diagnose(height: usize, width: usize, s: &ConvSettings) -> Vec<Diagnostic> {
    let mut out = limit_errors(height, width, s);
    if !out.is_empty() {
        return out;
    }
    let span = s.dilation * (s.kernel - 1) + 1;
    let (pads_h, pads_w) = padding_totals(height, width, s);
    let (padded_h, padded_w) = (height + pads_h, width + pads_w);
    if span > padded_h.min(padded_w) {
        let control = if s.dilation > 1 { "dilation" } else { "kernel" };
        let spread = if s.dilation > 1 {
            format!(
                " (with dilation {} it spans {span}x{span} cells)",
                s.dilation
            )
        } else {
            String::new()
        };
        out.push(error(
            control,
            format!(
                "The {k}x{k} kernel{spread} does not fit in the padded input ({padded_h}x{padded_w}), so there is no output. Use a smaller kernel{}, or more padding.",
                if s.dilation > 1 { " or dilation" } else { "" },
                k = s.kernel
            ),
        ));
        return out;
    }
    if s.stride > span {
        out.push(note(
            "stride",
            format!("The stride ({}) is larger than the kernel's span ({span}): the kernel jumps over some input cells, which are never looked at.", s.stride),
        ));
    }
    let (rows_left, cols_left) = ((padded_h - span) % s.stride, (padded_w - span) % s.stride);
    if (rows_left > 0 || cols_left > 0) && s.stride <= span {
        let what = match (rows_left, cols_left) {
            (r, 0) => format!("last {r} row(s)"),
            (0, c) => format!("last {c} column(s)"),
            (r, c) => format!("last {r} row(s) and {c} column(s)"),
        };
        out.push(note(
            "stride",
            format!("The {what} of the padded input are never covered: one more step would run off the edge (that is the floor in the formula)."),
        ));
    }
    if let Padding::Explicit(p) = s.padding {
        if p >= span {
            out.push(note("padding", format!("With padding {p} and a kernel spanning {span} cells, the outermost outputs see only padding zeros.")));
        }
    }
    out
}

/// Padding (top, bottom, left, right) these settings add around a `height` x `width` input.
/// Only meaningful for settings within the limits (see [`diagnose`]).
fn paddings(height: usize, width: usize, s: &ConvSettings) -> (usize, usize, usize, usize) {
    s.padding
        .sides((height, width), (s.kernel, s.kernel), s.stride, s.dilation)
}

fn padding_totals(height: usize, width: usize, s: &ConvSettings) -> (usize, usize) {
    let (t, b, l, r) = paddings(height, width, s);
    (t + b, l + r)
}

/// What the formula panel shows: the padding, the output size (None when nothing fits) and
/// the explanations of [`diagnose`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Description {
    pub pad_top: usize,
    pub pad_bottom: usize,
    pub pad_left: usize,
    pub pad_right: usize,
    /// d(k-1)+1: how many input cells the dilated kernel spans.
    pub span: usize,
    pub out_height: Option<usize>,
    pub out_width: Option<usize>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Describes these settings for a `height` x `width` input, whether or not they work.
pub fn describe(height: usize, width: usize, s: &ConvSettings) -> Description {
    let diagnostics = diagnose(height, width, s);
    if !limit_errors(height, width, s).is_empty() {
        return Description {
            pad_top: 0,
            pad_bottom: 0,
            pad_left: 0,
            pad_right: 0,
            span: 0,
            out_height: None,
            out_width: None,
            diagnostics,
        };
    }
    let (pad_top, pad_bottom, pad_left, pad_right) = paddings(height, width, s);
    let span = s.dilation * (s.kernel - 1) + 1;
    let out_height = output_len(height, s.kernel, s.stride, s.dilation, pad_top + pad_bottom);
    let out_width = output_len(width, s.kernel, s.stride, s.dilation, pad_left + pad_right);
    Description {
        pad_top,
        pad_bottom,
        pad_left,
        pad_right,
        span,
        out_height,
        out_width,
        diagnostics,
    }
}

/// One convolution as the explorer shows it: its inputs, geometry and activation maps.
#[derive(Debug, Clone)]
pub struct ConvRun {
    pub input: Image,
    pub weight: Vec<f32>, // (K, K, C, F)
    pub bias: Vec<f32>,   // (F)
    pub relu: bool,
    pub geometry: ConvGeometry,
    pub output: Vec<f32>, // (OH, OW, F)
}

impl ConvRun {
    /// Validates everything and convolves. `filters` holds one filter after another, as the
    /// page edits them: (F, K, K, C); `bias` is (F).
    pub fn new(
        input: Image,
        filters: &[f32],
        bias: &[f32],
        s: &ConvSettings,
        relu: bool,
    ) -> Result<Self> {
        if let Some(d) = diagnose(input.height, input.width, s)
            .into_iter()
            .find(|d| d.level == "error")
        {
            return Err(invalid!("{}", d.message));
        }
        if input.channels > MAX_CHANNELS {
            return Err(invalid!(
                "the input may have at most {MAX_CHANNELS} channels (got {})",
                input.channels
            ));
        }
        let per_filter = s.kernel * s.kernel * input.channels;
        let count = bias.len();
        if count == 0 || count > MAX_FILTERS {
            return Err(invalid!(
                "use between 1 and {MAX_FILTERS} filters (got {count})"
            ));
        }
        if filters.len() != count * per_filter {
            return Err(invalid!(
                "{count} filter(s) of {k}x{k}x{c} need {} weights, but {} were given",
                count * per_filter,
                filters.len(),
                k = s.kernel,
                c = input.channels
            ));
        }
        if filters.iter().chain(bias).any(|v| !v.is_finite()) {
            return Err(invalid!("a kernel weight or bias is not a finite number"));
        }
        let geometry = ConvGeometry::new(
            1,
            (input.height, input.width, input.channels),
            (s.kernel, s.kernel, count),
            s.stride,
            s.dilation,
            s.padding,
        )?;
        let weight = filters_to_hwio(filters, count, per_filter);
        let mut output = vec![0.0; geometry.output_len()];
        run_conv(&mut output, &input.data, &weight, bias, &geometry);
        if relu {
            output.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        Ok(Self {
            input,
            weight,
            bias: bias.to_vec(),
            relu,
            geometry,
            output,
        })
    }

    /// Filter `f`'s activation map. Returns (OH, OW).
    pub fn map(&self, f: usize) -> Result<Vec<f32>> {
        let g = &self.geometry;
        if f >= g.out_c {
            return Err(invalid!(
                "there is no filter number {} (there are {})",
                f + 1,
                g.out_c
            ));
        }
        Ok(self
            .output
            .iter()
            .skip(f)
            .step_by(g.out_c)
            .copied()
            .collect())
    }

    /// The multiply-adds behind output cell (oy, ox) of filter `f`.
    pub fn cell(&self, oy: usize, ox: usize, f: usize) -> Result<ConvCell> {
        let g = &self.geometry;
        if oy >= g.out_h || ox >= g.out_w || f >= g.out_c {
            return Err(invalid!(
                "there is no output cell ({oy}, {ox}) of filter {} in a {}x{}x{} output",
                f + 1,
                g.out_h,
                g.out_w,
                g.out_c
            ));
        }
        let mut terms = Vec::with_capacity(g.k_h * g.k_w * g.in_c);
        for ky in 0..g.k_h {
            for kx in 0..g.k_w {
                // Coordinates on the padded input, where padding starts at row/column 0.
                let (row, col) = (
                    oy * g.stride + ky * g.dilation,
                    ox * g.stride + kx * g.dilation,
                );
                let inside = row >= g.pad_top
                    && row < g.pad_top + g.in_h
                    && col >= g.pad_left
                    && col < g.pad_left + g.in_w;
                for c in 0..g.in_c {
                    let x = if inside {
                        self.input.data
                            [((row - g.pad_top) * g.in_w + (col - g.pad_left)) * g.in_c + c]
                    } else {
                        0.0
                    };
                    let w = self.weight[((ky * g.k_w + kx) * g.in_c + c) * g.out_c + f];
                    terms.push(Term {
                        ky,
                        kx,
                        c,
                        row,
                        col,
                        x,
                        w,
                        product: x * w,
                        padding: !inside,
                    });
                }
            }
        }
        let sum = terms.iter().map(|t| t.product).sum::<f32>();
        let bias = self.bias[f];
        let output = self.output[(oy * g.out_w + ox) * g.out_c + f];
        Ok(ConvCell {
            oy,
            ox,
            filter: f,
            top: oy * g.stride,
            left: ox * g.stride,
            span: g.dilation * (g.k_h - 1) + 1,
            terms,
            sum,
            bias,
            value: sum + bias,
            relu: self.relu,
            output,
        })
    }
}

/// One multiply of a cell's multiply-adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Term {
    pub ky: usize,
    pub kx: usize,
    pub c: usize,
    /// Position on the padded input.
    pub row: usize,
    pub col: usize,
    pub x: f32,
    pub w: f32,
    pub product: f32,
    /// True when the kernel sits on a padding cell here (x is then 0).
    pub padding: bool,
}

/// An output cell written out: its receptive field and its multiply-adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConvCell {
    pub oy: usize,
    pub ox: usize,
    pub filter: usize,
    /// Top-left corner of the receptive field on the padded input, and its span in cells.
    pub top: usize,
    pub left: usize,
    pub span: usize,
    pub terms: Vec<Term>,
    pub sum: f32,
    pub bias: f32,
    /// sum + bias, before any ReLU.
    pub value: f32,
    pub relu: bool,
    /// The value on the map (after ReLU if it is on).
    pub output: f32,
}

/// (F, K, K, C) filters as the page edits them -> HWIO (K, K, C, F) weights as the kernel wants.
fn filters_to_hwio(filters: &[f32], count: usize, per_filter: usize) -> Vec<f32> {
    let mut weight = vec![0.0; filters.len()];
    for f in 0..count {
        for i in 0..per_filter {
            weight[i * count + f] = filters[f * per_filter + i];
        }
    }
    weight
}

/// The one place the explorer calls a convolution kernel: the fast (SIMD128) one that
/// training uses; the page shows its numbers next to the hand-written cell breakdown.
fn run_conv(out: &mut [f32], input: &[f32], weight: &[f32], bias: &[f32], g: &ConvGeometry) {
    conv2d_forward(
        out,
        input,
        weight,
        Some(bias),
        false,
        g,
        &mut ConvScratch::new(),
    );
}

/// The one place the explorer calls a pooling kernel.
fn run_pool(out: &mut [f32], input: &[f32], kind: PoolKind, g: &PoolGeometry) {
    pool_forward(out, None, input, kind, g);
}

/// Reads the page's pooling kind: `max` or `average`.
pub fn parse_pool_kind(kind: &str) -> Result<PoolKind> {
    match kind {
        "max" => Ok(PoolKind::Max),
        "average" | "avg" => Ok(PoolKind::Average),
        _ => Err(invalid!(
            "pooling must be 'max' or 'average' (got '{kind}')"
        )),
    }
}

/// One pooling of a single map, as the explorer shows it.
#[derive(Debug, Clone)]
pub struct PoolRun {
    pub input: Vec<f32>, // (H, W)
    pub kind: PoolKind,
    pub geometry: PoolGeometry,
    pub pad_bottom: usize,
    pub pad_right: usize,
    pub output: Vec<f32>, // (OH, OW)
}

impl PoolRun {
    /// Pools one (H, W) map; `window` and `stride` as the sliders give them.
    pub fn new(
        input: Vec<f32>,
        height: usize,
        width: usize,
        kind: PoolKind,
        window: usize,
        stride: usize,
        padding: Padding,
    ) -> Result<Self> {
        if height > MAX_SIDE || width > MAX_SIDE {
            return Err(invalid!(
                "the map must be at most {MAX_SIDE}x{MAX_SIDE} (got {height}x{width})"
            ));
        }
        if window > MAX_KERNEL || stride > MAX_STRIDE {
            return Err(invalid!("the pooling window must be at most {MAX_KERNEL} and the stride at most {MAX_STRIDE}"));
        }
        if input.len() != height * width {
            return Err(invalid!(
                "the map has {} values but {height}x{width} needs {}",
                input.len(),
                height * width
            ));
        }
        let geometry = PoolGeometry::new(1, (height, width, 1), window, stride, padding)?;
        let mut output = vec![0.0; geometry.output_len()];
        run_pool(&mut output, &input, kind, &geometry);
        let after = |out: usize, pad: usize, n: usize| {
            ((out - 1) * stride + window).saturating_sub(n + pad)
        };
        let pad_bottom = after(geometry.out_h, geometry.pad_top, height);
        let pad_right = after(geometry.out_w, geometry.pad_left, width);
        Ok(Self {
            input,
            kind,
            geometry,
            pad_bottom,
            pad_right,
            output,
        })
    }

    /// The window behind output cell (oy, ox) and how it became one number.
    pub fn cell(&self, oy: usize, ox: usize) -> Result<PoolCell> {
        let g = &self.geometry;
        if oy >= g.out_h || ox >= g.out_w {
            return Err(invalid!(
                "there is no pooled cell ({oy}, {ox}) in a {}x{} output",
                g.out_h,
                g.out_w
            ));
        }
        let mut cells = Vec::with_capacity(g.window * g.window);
        for dy in 0..g.window {
            for dx in 0..g.window {
                let (row, col) = (oy * g.stride + dy, ox * g.stride + dx);
                let inside = row >= g.pad_top
                    && row < g.pad_top + g.in_h
                    && col >= g.pad_left
                    && col < g.pad_left + g.in_w;
                let x = if inside {
                    self.input[(row - g.pad_top) * g.in_w + col - g.pad_left]
                } else {
                    0.0
                };
                cells.push(PoolTerm {
                    row,
                    col,
                    x,
                    padding: !inside,
                });
            }
        }
        let output = self.output[oy * g.out_w + ox];
        // The first real cell holding the maximum, so the page can ring it.
        let winner = match self.kind {
            PoolKind::Max => cells.iter().position(|t| !t.padding && t.x == output),
            PoolKind::Average => None,
        };
        let count = cells.iter().filter(|t| !t.padding).count();
        let kind = if self.kind == PoolKind::Max {
            "max"
        } else {
            "average"
        };
        Ok(PoolCell {
            oy,
            ox,
            top: oy * g.stride,
            left: ox * g.stride,
            window: g.window,
            kind,
            cells,
            count,
            winner,
            output,
        })
    }
}

/// One cell of a pooling window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolTerm {
    pub row: usize,
    pub col: usize,
    pub x: f32,
    pub padding: bool,
}

/// A pooled cell written out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PoolCell {
    pub oy: usize,
    pub ox: usize,
    pub top: usize,
    pub left: usize,
    pub window: usize,
    pub kind: &'static str,
    pub cells: Vec<PoolTerm>,
    /// How many real (non-padding) cells the window holds: the divisor of an average.
    pub count: usize,
    pub winner: Option<usize>,
    pub output: f32,
}

/// The shape calculator: (H, W, C) after pooling with this window, stride and padding.
pub fn pool_shape(
    height: usize,
    width: usize,
    channels: usize,
    window: usize,
    stride: usize,
    padding: Padding,
) -> Result<(usize, usize, usize)> {
    const LARGE: usize = MAX_CALCULATOR;
    if height > LARGE || width > LARGE || channels > LARGE || window > LARGE || stride > LARGE {
        return Err(invalid!(
            "these numbers are too large for the calculator (at most {LARGE})"
        ));
    }
    let g = PoolGeometry::new(1, (height, width, channels), window, stride, padding)?;
    Ok((g.out_h, g.out_w, g.channels))
}
