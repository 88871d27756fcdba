//! Dropout layer: inverted dropout with a seeded mask in training, the identity in inference
//! (and at rate 0, where Keras also skips it).

use super::{add_into, Mode};
use crate::kernels::dropout::{dropout_backward, dropout_forward_train};
use crate::rng::Rng;

#[derive(Debug)]
pub struct Dropout {
    pub rate: f32,
    /// Values per example (the layer's input shape, flattened).
    per_example: usize,
    /// The last training mask: 0 or 1 / (1 - rate) per element. (N, shape)
    mask: Vec<f32>,
    /// Whether the last forward applied a mask (so backward must too).
    masked: bool,
}

impl Dropout {
    pub fn new(rate: f32, per_example: usize) -> Self {
        Self {
            rate,
            per_example,
            mask: Vec::new(),
            masked: false,
        }
    }

    pub fn reserve(&mut self, batch: usize) {
        if self.rate > 0.0 && self.mask.len() < batch * self.per_example {
            self.mask.resize(batch * self.per_example, 0.0);
        }
    }

    /// out (len); input (len).
    pub fn forward(&mut self, out: &mut [f32], input: &[f32], mode: Mode, rng: &mut Rng) {
        self.masked = mode == Mode::Train && self.rate > 0.0;
        if self.masked {
            dropout_forward_train(out, &mut self.mask[..input.len()], input, self.rate, rng);
        } else {
            out.copy_from_slice(input);
        }
    }

    /// d_input (len) +=; d_out (len).
    pub fn backward(&self, d_input: &mut [f32], d_out: &[f32]) {
        if self.masked {
            dropout_backward(d_input, d_out, &self.mask[..d_out.len()]);
        } else {
            add_into(d_input, d_out);
        }
    }
}
