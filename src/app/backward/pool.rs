//! Pooling run backwards, as the explorer steps through it: max pooling routes each window's
//! gradient to the one cell that won (the first of any tie, as the kernel picks it), average
//! pooling spreads it evenly over the window's real cells (with SAME padding the divisor counts
//! only those, as Keras does). Totals from the training kernel, breakdowns written out per window.

use super::Upstream;
use crate::app::explorer::PoolRun;
use crate::kernels::pool::{pool_backward, pool_forward, PoolKind};
use crate::{invalid, Result};
use serde::Serialize;

/// A pooling's backward pass for one upstream gradient.
#[derive(Debug, Clone)]
pub struct PoolBackward {
    pub run: PoolRun,
    /// dL/d out. (OH, OW)
    pub d_out: Vec<f32>,
    pub loss: Option<f32>,
    /// dL/d input from the kernel. (H, W)
    pub d_input: Vec<f32>,
}

/// Where one window's gradient goes.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolShare {
    /// Position on the padded map.
    pub row: usize,
    pub col: usize,
    pub x: f32,
    pub padding: bool,
    /// What this cell receives from the window.
    pub share: f32,
}

/// One window's backward pass.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PoolBackCell {
    pub oy: usize,
    pub ox: usize,
    pub top: usize,
    pub left: usize,
    pub window: usize,
    pub upstream: f32,
    pub cells: Vec<PoolShare>,
    /// Max pooling: the window cell that gets everything.
    pub winner: Option<usize>,
    /// Max pooling: the other window cells holding the same maximum (they get nothing).
    pub ties: Vec<usize>,
    /// Average pooling: the real cells the gradient is divided among.
    pub divisor: usize,
}

impl PoolBackward {
    pub fn new(run: PoolRun, upstream: &Upstream) -> Result<Self> {
        let g = run.geometry;
        let (d_out, loss) = upstream.gradient(&run.output, &format!("{}x{}", g.out_h, g.out_w))?;
        let mut argmax = vec![0u32; g.output_len()];
        let mut scratch_out = vec![0.0; g.output_len()];
        pool_forward(
            &mut scratch_out,
            Some(&mut argmax),
            &run.input,
            run.kind,
            &g,
        );
        let mut d_input = vec![0.0; g.input_len()];
        pool_backward(&mut d_input, &d_out, Some(&argmax), run.kind, &g);
        Ok(Self {
            run,
            d_out,
            loss,
            d_input,
        })
    }

    /// Window (oy, ox) written out: who receives how much of its gradient.
    pub fn cell(&self, oy: usize, ox: usize) -> Result<PoolBackCell> {
        let forward = self.run.cell(oy, ox)?;
        let upstream = self.d_out[oy * self.run.geometry.out_w + ox];
        let (winner, ties) = match self.run.kind {
            PoolKind::Max => {
                let winner = forward.winner;
                let ties = forward
                    .cells
                    .iter()
                    .enumerate()
                    .filter(|&(i, t)| !t.padding && t.x == forward.output && Some(i) != winner)
                    .map(|(i, _)| i)
                    .collect();
                (winner, ties)
            }
            PoolKind::Average => (None, Vec::new()),
        };
        let cells = forward
            .cells
            .iter()
            .enumerate()
            .map(|(i, t)| PoolShare {
                row: t.row,
                col: t.col,
                x: t.x,
                padding: t.padding,
                share: match self.run.kind {
                    _ if t.padding => 0.0,
                    PoolKind::Max if Some(i) == winner => upstream,
                    PoolKind::Max => 0.0,
                    PoolKind::Average => upstream / forward.count as f32,
                },
            })
            .collect();
        Ok(PoolBackCell {
            oy,
            ox,
            top: forward.top,
            left: forward.left,
            window: forward.window,
            upstream,
            cells,
            winner,
            ties,
            divisor: forward.count,
        })
    }

    /// dX after the windows up to (oy, ox) in raster order, added up as [`PoolBackward::cell`]
    /// shows them. (H, W)
    pub fn running_input(&self, oy: usize, ox: usize) -> Result<Vec<f32>> {
        let g = &self.run.geometry;
        if oy >= g.out_h || ox >= g.out_w {
            return Err(invalid!(
                "there is no pooled cell (row {}, column {}) in a {}x{} output",
                oy + 1,
                ox + 1,
                g.out_h,
                g.out_w
            ));
        }
        let mut dx = vec![0.0; g.input_len()];
        for cell in 0..=oy * g.out_w + ox {
            let c = self.cell(cell / g.out_w, cell % g.out_w)?;
            for s in c.cells.iter().filter(|s| !s.padding) {
                dx[(s.row - g.pad_top) * g.in_w + (s.col - g.pad_left)] += s.share;
            }
        }
        Ok(dx)
    }
}
