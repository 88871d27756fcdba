//! MaxPooling2D and AveragePooling2D layers. Max pooling always records which input won each
//! window, also in inference, so that explanations can backpropagate through a trained model.

use crate::kernels::geometry::{Padding, PoolGeometry};
use crate::kernels::pool::{pool_backward, pool_forward, PoolKind};

#[derive(Debug)]
pub struct Pooling {
    pub kind: PoolKind,
    /// (H, W, C) of one input example.
    pub input: (usize, usize, usize),
    pub pool: usize,
    pub stride: usize,
    pub padding: Padding,
    /// Flat input index of each output's winner (max pooling only). (N, OH, OW, C)
    argmax: Vec<u32>,
}

impl Pooling {
    pub fn new(
        kind: PoolKind,
        input: (usize, usize, usize),
        pool: usize,
        stride: usize,
        padding: Padding,
    ) -> Self {
        Self {
            kind,
            input,
            pool,
            stride,
            padding,
            argmax: Vec::new(),
        }
    }

    pub fn geometry(&self, batch: usize) -> PoolGeometry {
        PoolGeometry::new(batch, self.input, self.pool, self.stride, self.padding)
            .expect("the model plan validated this pooling")
    }

    pub fn reserve(&mut self, batch: usize) {
        if self.kind == PoolKind::Max {
            let len = self.geometry(batch).output_len();
            if self.argmax.len() < len {
                self.argmax.resize(len, 0);
            }
        }
    }

    /// out (N, OH, OW, C); input (N, H, W, C).
    pub fn forward(&mut self, out: &mut [f32], input: &[f32], batch: usize) {
        let g = self.geometry(batch);
        let argmax = (self.kind == PoolKind::Max).then(|| &mut self.argmax[..g.output_len()]);
        pool_forward(out, argmax, input, self.kind, &g);
    }

    /// d_input (N, H, W, C) +=; d_out (N, OH, OW, C).
    pub fn backward(&self, d_input: &mut [f32], d_out: &[f32], batch: usize) {
        let g = self.geometry(batch);
        let argmax = (self.kind == PoolKind::Max).then(|| &self.argmax[..g.output_len()]);
        pool_backward(d_input, d_out, argmax, self.kind, &g);
    }
}
