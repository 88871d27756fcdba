//! A convolution run backwards, as the explorer steps through it. Given dL/d out on the maps:
//! the ReLU mask (where the forward output was <= 0 nothing flows back); dW, where each output
//! cell's gradient times its receptive field adds into the kernel's gradient; dX, where each
//! output cell scatters its gradient times the kernel into the input's gradient; d bias, the sum.
//! The totals come from the training kernels; [`ConvBackward::cell`] and the running sums
//! write the same numbers out one output cell at a time (raster order, one filter).

use super::{name_cells, Upstream};
use crate::app::explorer::ConvRun;
use crate::kernels::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward};
use crate::kernels::geometry::{ConvGeometry, Padding};
use crate::kernels::scratch::ConvScratch;
use crate::{invalid, Result};
use serde::Serialize;

/// A convolution's backward pass for one upstream gradient.
#[derive(Debug, Clone)]
pub struct ConvBackward {
    pub run: ConvRun,
    /// dL/d out on the maps as they are shown (after the ReLU if it is on). (OH, OW, F)
    pub d_out: Vec<f32>,
    /// What reaches the convolution: d_out where the ReLU let the value through. (OH, OW, F)
    pub d_pre: Vec<f32>,
    /// The mean squared error when the gradient comes from a painted target.
    pub loss: Option<f32>,
    /// From the kernels: (K, K, C, F), (F), (H, W, C).
    pub d_weight: Vec<f32>,
    pub d_bias: Vec<f32>,
    pub d_input: Vec<f32>,
}

/// One multiply of a cell's backward pass: what it adds to dW and to dX.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackTap {
    pub ky: usize,
    pub kx: usize,
    pub c: usize,
    /// Position on the padded input.
    pub row: usize,
    pub col: usize,
    pub x: f32,
    pub w: f32,
    /// gradient * x, added to dW[ky][kx][c].
    pub dw: f32,
    /// gradient * w, added to dX at (row, col) unless that is padding (then it is dropped).
    pub dx: f32,
    pub padding: bool,
}

/// One output cell's share of the backward pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BackwardCell {
    pub oy: usize,
    pub ox: usize,
    pub filter: usize,
    /// The receptive field's top-left corner on the padded input and its span.
    pub top: usize,
    pub left: usize,
    pub span: usize,
    /// dL/d out at this cell.
    pub upstream: f32,
    /// The forward value before any ReLU (sum + bias).
    pub value: f32,
    /// True when the ReLU is on and cut this cell (value <= 0): nothing flows back.
    pub masked: bool,
    /// What flows into the kernel's gradients: upstream, or 0 where masked.
    pub gradient: f32,
    pub taps: Vec<BackTap>,
    /// d bias of this filter after this cell (the running sum of `gradient`).
    pub running_bias: f32,
}

/// dX seen as a forward convolution: the upstream gradient spread out by the stride (stride - 1
/// zeros between cells), padded so that the output has the input's size, then convolved with
/// the kernel turned 180 degrees (its channel axes swapped) at the same dilation.
#[derive(Debug, Clone, PartialEq)]
pub struct FlippedView {
    pub height: usize,
    pub width: usize,
    /// (height, width, F): the spread, padded upstream gradient.
    pub map: Vec<f32>,
    /// (K, K, F, C): kernel[ky][kx][f][c] = W[K-1-ky][K-1-kx][c][f].
    pub kernel: Vec<f32>,
    /// The forward convolution of `map` with `kernel`: equals the kernel's dX. (H, W, C)
    pub d_input: Vec<f32>,
}

/// What the backward pass says about these settings: the cells no gradient reaches.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reach {
    /// (H, W): 1 where some window covers the input cell, 0 where none does.
    pub reached: Vec<u8>,
    pub unreached: usize,
    /// Empty when every cell gets a gradient.
    pub message: String,
}

impl ConvBackward {
    /// Runs the backward kernels on `run` for the gradient `upstream` gives its maps.
    pub fn new(run: ConvRun, upstream: &Upstream) -> Result<Self> {
        let g = run.geometry;
        let shape = format!("{}x{}x{}", g.out_h, g.out_w, g.out_c);
        let (d_out, loss) = upstream.gradient(&run.output, &shape)?;
        let d_pre = relu_mask(&d_out, &run.output, run.relu);
        let mut scratch = ConvScratch::new();
        let mut d_weight = vec![0.0; g.weight_len()];
        let mut d_bias = vec![0.0; g.out_c];
        conv2d_backward_weight(
            &mut d_weight,
            Some(&mut d_bias),
            &d_pre,
            &run.input.data,
            &g,
            &mut scratch,
        );
        let mut d_input = vec![0.0; g.input_len()];
        conv2d_backward_input(&mut d_input, &d_pre, &run.weight, &g, &mut scratch);
        Ok(Self {
            run,
            d_out,
            d_pre,
            loss,
            d_weight,
            d_bias,
            d_input,
        })
    }

    fn check_cell(&self, oy: usize, ox: usize, f: usize) -> Result<()> {
        let g = &self.run.geometry;
        if oy >= g.out_h || ox >= g.out_w || f >= g.out_c {
            return Err(invalid!(
                "there is no output cell (row {}, column {}) of filter {} in a {}x{}x{} output",
                oy + 1,
                ox + 1,
                f + 1,
                g.out_h,
                g.out_w,
                g.out_c
            ));
        }
        Ok(())
    }

    /// Output cell (oy, ox) of filter `f` written out: its gradient, the mask, and what each
    /// tap adds to dW and dX.
    pub fn cell(&self, oy: usize, ox: usize, f: usize) -> Result<BackwardCell> {
        self.check_cell(oy, ox, f)?;
        let forward = self.run.cell(oy, ox, f)?;
        let g = &self.run.geometry;
        let at = (oy * g.out_w + ox) * g.out_c + f;
        let gradient = self.d_pre[at];
        let taps = forward
            .terms
            .iter()
            .map(|t| BackTap {
                ky: t.ky,
                kx: t.kx,
                c: t.c,
                row: t.row,
                col: t.col,
                x: t.x,
                w: t.w,
                dw: gradient * t.x,
                dx: if t.padding { 0.0 } else { gradient * t.w },
                padding: t.padding,
            })
            .collect();
        let running_bias = (0..=oy * g.out_w + ox)
            .map(|cell| self.d_pre[cell * g.out_c + f])
            .sum();
        Ok(BackwardCell {
            oy,
            ox,
            filter: f,
            top: forward.top,
            left: forward.left,
            span: forward.span,
            upstream: self.d_out[at],
            value: forward.value,
            masked: self.run.relu && self.run.output[at] <= 0.0,
            gradient,
            taps,
            running_bias,
        })
    }

    /// Filter `f`'s dW after the output cells up to (oy, ox) in raster order, added up one
    /// cell at a time as [`ConvBackward::cell`] shows them. (K, K, C)
    pub fn running_weight(&self, oy: usize, ox: usize, f: usize) -> Result<Vec<f32>> {
        self.check_cell(oy, ox, f)?;
        let g = &self.run.geometry;
        let mut dw = vec![0.0; g.k_h * g.k_w * g.in_c];
        self.for_each_tap_until(oy, ox, f, |tap, input_at, gradient| {
            if let Some(i) = input_at {
                dw[tap] += gradient * self.run.input.data[i];
            }
        });
        Ok(dw)
    }

    /// Filter `f`'s share of dX after the output cells up to (oy, ox) in raster order. The
    /// shares of all filters add up to the kernel's dX. (H, W, C)
    pub fn running_input(&self, oy: usize, ox: usize, f: usize) -> Result<Vec<f32>> {
        self.check_cell(oy, ox, f)?;
        let g = &self.run.geometry;
        let mut dx = vec![0.0; g.input_len()];
        self.for_each_tap_until(oy, ox, f, |tap, input_at, gradient| {
            if let Some(i) = input_at {
                dx[i] += gradient * self.run.weight[tap * g.out_c + f];
            }
        });
        Ok(dx)
    }

    /// Calls `visit(tap, input index or None on padding, gradient)` for every tap of every
    /// output cell of filter `f` up to (oy, ox); `tap` indexes (ky, kx, c).
    fn for_each_tap_until(
        &self,
        oy: usize,
        ox: usize,
        f: usize,
        mut visit: impl FnMut(usize, Option<usize>, f32),
    ) {
        let g = &self.run.geometry;
        for cell in 0..=oy * g.out_w + ox {
            let gradient = self.d_pre[cell * g.out_c + f];
            if gradient == 0.0 {
                continue;
            }
            let (cy, cx) = (cell / g.out_w, cell % g.out_w);
            for ky in 0..g.k_h {
                for kx in 0..g.k_w {
                    let input_at = input_cell(
                        g,
                        cy * g.stride + ky * g.dilation,
                        cx * g.stride + kx * g.dilation,
                    );
                    for c in 0..g.in_c {
                        let tap = (ky * g.k_w + kx) * g.in_c + c;
                        visit(
                            tap,
                            input_at.map(|(y, x)| (y * g.in_w + x) * g.in_c + c),
                            gradient,
                        );
                    }
                }
            }
        }
    }

    /// Filter `f`'s map of dL/d out, and of the gradient after the ReLU mask. (OH, OW) each.
    pub fn maps(&self, f: usize) -> Result<(Vec<f32>, Vec<f32>)> {
        self.check_cell(0, 0, f)?;
        let c = self.run.geometry.out_c;
        let pick = |v: &[f32]| v.iter().skip(f).step_by(c).copied().collect();
        Ok((pick(&self.d_out), pick(&self.d_pre)))
    }

    /// Filter `f`'s dW from the kernel. (K, K, C)
    pub fn weight_gradient(&self, f: usize) -> Result<Vec<f32>> {
        self.check_cell(0, 0, f)?;
        let c = self.run.geometry.out_c;
        Ok(self.d_weight.iter().skip(f).step_by(c).copied().collect())
    }

    /// dX as a convolution with the flipped kernel, computed by the forward kernel.
    pub fn flipped_view(&self) -> Result<FlippedView> {
        let g = &self.run.geometry;
        let span_h = g.dilation * (g.k_h - 1) + 1;
        let span_w = g.dilation * (g.k_w - 1) + 1;
        let (height, width) = (g.in_h + span_h - 1, g.in_w + span_w - 1);
        let f = g.out_c;
        // Upstream cell (oy, ox) lands where the flipped kernel's window over it ends on the
        // input cells it touched: row oy * s + (span - 1) - pad_top. Cells whose row falls off
        // the map touched only padding and are dropped.
        let mut map = vec![0.0; height * width * f];
        for oy in 0..g.out_h {
            let Some(row) = (oy * g.stride + span_h - 1).checked_sub(g.pad_top) else {
                continue;
            };
            for ox in 0..g.out_w {
                let Some(col) = (ox * g.stride + span_w - 1).checked_sub(g.pad_left) else {
                    continue;
                };
                if row >= height || col >= width {
                    continue;
                }
                for k in 0..f {
                    map[(row * width + col) * f + k] = self.d_pre[(oy * g.out_w + ox) * f + k];
                }
            }
        }
        let (ci, kh, kw) = (g.in_c, g.k_h, g.k_w);
        let mut kernel = vec![0.0; g.weight_len()];
        for ky in 0..kh {
            for kx in 0..kw {
                for k in 0..f {
                    for c in 0..ci {
                        kernel[((ky * kw + kx) * f + k) * ci + c] = self.run.weight
                            [(((kh - 1 - ky) * kw + (kw - 1 - kx)) * ci + c) * f + k];
                    }
                }
            }
        }
        let view = ConvGeometry::new(
            1,
            (height, width, f),
            (kh, kw, ci),
            1,
            g.dilation,
            Padding::Valid,
        )?;
        let mut d_input = vec![0.0; view.output_len()];
        conv2d_forward(
            &mut d_input,
            &map,
            &kernel,
            None,
            false,
            &view,
            &mut ConvScratch::new(),
        );
        Ok(FlippedView {
            height,
            width,
            map,
            kernel,
            d_input,
        })
    }

    /// Which input cells some window covers, and a message naming those none does (their
    /// gradient is 0 whatever the loss).
    pub fn reach(&self) -> Reach {
        let g = &self.run.geometry;
        let mut reached = vec![0u8; g.in_h * g.in_w];
        for oy in 0..g.out_h {
            for ox in 0..g.out_w {
                for ky in 0..g.k_h {
                    for kx in 0..g.k_w {
                        let at = input_cell(
                            g,
                            oy * g.stride + ky * g.dilation,
                            ox * g.stride + kx * g.dilation,
                        );
                        if let Some((y, x)) = at {
                            reached[y * g.in_w + x] = 1;
                        }
                    }
                }
            }
        }
        let missed: Vec<(usize, usize)> = (0..g.in_h * g.in_w)
            .filter(|&i| reached[i] == 0)
            .map(|i| (i / g.in_w, i % g.in_w))
            .collect();
        let message = if missed.is_empty() {
            String::new()
        } else {
            format!(
                "{} of the input's {} cells are never under the kernel (stride {}, dilation {}), so no gradient reaches them: their dL/dx is 0 whatever the loss. They are {}.",
                missed.len(),
                g.in_h * g.in_w,
                g.stride,
                g.dilation,
                name_cells(&missed)
            )
        };
        Reach {
            unreached: missed.len(),
            reached,
            message,
        }
    }
}

/// The input cell under padded position (row, col), or None on padding.
fn input_cell(g: &ConvGeometry, row: usize, col: usize) -> Option<(usize, usize)> {
    let y = row.checked_sub(g.pad_top).filter(|&y| y < g.in_h)?;
    let x = col.checked_sub(g.pad_left).filter(|&x| x < g.in_w)?;
    Some((y, x))
}

/// The ReLU's backward: the gradient passes where the output is above 0, as `relu_backward`.
fn relu_mask(d_out: &[f32], output: &[f32], relu: bool) -> Vec<f32> {
    if !relu {
        return d_out.to_vec();
    }
    let mut d_pre = vec![0.0; d_out.len()];
    crate::kernels::activation::relu_backward(&mut d_pre, d_out, output);
    d_pre
}
