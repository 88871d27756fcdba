//! Caller-owned working memory for the fast convolution kernels.
//!
//! A training step must not allocate: the model keeps one `ConvScratch` (it may serve every
//! layer), the first call with a geometry grows it, and later calls with that geometry or a
//! smaller one reuse it as it is. Its size does not grow with the batch: convolutions work
//! through the batch in chunks of output pixels.

use super::conv::ConvGeometry;

#[derive(Debug, Default)]
pub struct ConvScratch {
    /// One chunk of unrolled patches (im2col), or of their gradients: (rows, KH * KW * CI).
    cols: Vec<f32>,
    /// The weights transposed for the input gradient: (CO, KH * KW * CI).
    weight_t: Vec<f32>,
}

impl ConvScratch {
    pub fn new() -> Self {
        Self::default()
    }

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
        let (cols, weight_t) = g.scratch_floats();
        if self.cols.len() < cols {
            self.cols.resize(cols, 0.0);
        }
        if self.weight_t.len() < weight_t {
            self.weight_t.resize(weight_t, 0.0);
        }
    }

    /// Current size in floats (for memory accounting).
    pub fn len_floats(&self) -> usize {
        self.cols.len() + self.weight_t.len()
    }

    /// Both buffers, grown to fit `g` if needed.
    pub(crate) fn buffers(&mut self, g: &ConvGeometry) -> (&mut [f32], &mut [f32]) {
        self.reserve(g);
        (&mut self.cols, &mut self.weight_t)
    }
}
