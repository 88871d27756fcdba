//! Caller-owned working memory for the fast convolution kernels.
//!
//! A training step must not allocate: the model keeps one `ConvScratch` (it may serve every
//! layer), the first call with a geometry grows it, and later calls with that geometry or a
//! smaller one reuse it as it is. Its size does not grow with the batch: the kernels work
//! one image (or one chunk of output pixels) at a time.
//!
//! The arena knows only sizes; how large each buffer must be for a geometry is the
//! convolution's business (`ConvScratch::reserve` is implemented in `conv.rs`).

/// Sizes, in elements, of each buffer for one geometry.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ScratchSizes {
    pub image: usize,
    pub panels: usize,
    pub offsets: usize,
    pub cols: usize,
    pub weight_t: usize,
}

#[derive(Debug, Default)]
pub struct ConvScratch {
    /// One zero-padded image: of the input (forward, weight gradient) or of d_out (input
    /// gradient; as channel planes when the input has few channels).
    image: Vec<f32>,
    /// Weights or d_out packed as 8-wide panels for the register tile.
    panels: Vec<f32>,
    /// Where the segments of a receptive field (or of a pass over output rows) start.
    offsets: Vec<usize>,
    /// The column path of the input gradient (strides above 1): patch gradients of a chunk
    /// of output pixels (rows, KH * KW * CI), and W^T (CO, KH * KW * CI).
    cols: Vec<f32>,
    weight_t: Vec<f32>,
}

/// The buffers, borrowed separately.
pub(crate) struct ScratchParts<'a> {
    pub image: &'a mut [f32],
    pub panels: &'a mut [f32],
    pub offsets: &'a mut [usize],
    pub cols: &'a mut [f32],
    pub weight_t: &'a mut [f32],
}

fn grow<T: Copy + Default>(buffer: &mut Vec<T>, len: usize) {
    if buffer.len() < len {
        buffer.resize(len, T::default());
    }
}

impl ConvScratch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Grows (never shrinks) to `sizes`, so that calls needing no more will not allocate.
    pub(crate) fn reserve_sizes(&mut self, sizes: ScratchSizes) {
        grow(&mut self.image, sizes.image);
        grow(&mut self.panels, sizes.panels);
        grow(&mut self.offsets, sizes.offsets);
        grow(&mut self.cols, sizes.cols);
        grow(&mut self.weight_t, sizes.weight_t);
    }

    /// Current size in bytes (for memory accounting).
    pub fn len_bytes(&self) -> usize {
        4 * (self.image.len() + self.panels.len() + self.cols.len() + self.weight_t.len())
            + std::mem::size_of::<usize>() * self.offsets.len()
    }

    /// All buffers, grown to `sizes` if needed.
    pub(crate) fn parts(&mut self, sizes: ScratchSizes) -> ScratchParts<'_> {
        self.reserve_sizes(sizes);
        ScratchParts {
            image: &mut self.image,
            panels: &mut self.panels,
            offsets: &mut self.offsets,
            cols: &mut self.cols,
            weight_t: &mut self.weight_t,
        }
    }
}
