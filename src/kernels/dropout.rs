//! Inverted dropout: in training each element is kept with probability 1 - rate and scaled by
//! 1 / (1 - rate), so that the expected activation is unchanged and inference is the identity
//! (the layer simply passes its input through; no kernel is needed).
//!
//! The mask comes from the crate's seeded generator, so a run is reproducible; it cannot match
//! Keras's own random numbers, only its statistics.

use crate::rng::Rng;
use crate::{invalid, Result};
use rand::RngExt;

/// Checks a dropout rate given by the user: it must be in [0, 1).
pub fn validate_rate(rate: f32) -> Result<()> {
    if (0.0..1.0).contains(&rate) {
        Ok(())
    } else {
        Err(invalid!("the dropout rate is the fraction of units dropped: it must be at least 0 and below 1 (got {rate})"))
    }
}

/// Training forward. Draws a fresh mask (each entry 1 / (1 - rate) or 0) into `mask`, the cache
/// for backward, and writes out = input * mask. out (len); mask (len); input (len).
pub fn dropout_forward_train(
    out: &mut [f32],
    mask: &mut [f32],
    input: &[f32],
    rate: f32,
    rng: &mut Rng,
) {
    assert!(
        (0.0..1.0).contains(&rate),
        "dropout rate {rate} not validated"
    );
    assert!(out.len() == input.len() && mask.len() == input.len());
    let keep_scale = 1.0 / (1.0 - rate);
    for ((y, m), &x) in out.iter_mut().zip(mask.iter_mut()).zip(input) {
        // random::<f32>() is uniform in [0, 1): dropped with probability exactly `rate`.
        *m = if rng.random::<f32>() < rate {
            0.0
        } else {
            keep_scale
        };
        *y = x * *m;
    }
}

/// d_input += d_out * mask. d_input (len) +=; d_out (len); mask (len) from the forward.
pub fn dropout_backward(d_input: &mut [f32], d_out: &[f32], mask: &[f32]) {
    assert!(d_input.len() == d_out.len() && mask.len() == d_out.len());
    for ((di, &dy), &m) in d_input.iter_mut().zip(d_out).zip(mask) {
        *di += dy * m;
    }
}
