//! Weight initializers with Keras's defaults: glorot-uniform kernels, zero biases (and ones for
//! batch-norm scales and moving variances), drawn from the crate's seeded generator.

use crate::rng::Rng;
use rand::RngExt;

/// (fan_in, fan_out) of a conv kernel (KH, KW, C_in, C_out), as Keras counts them: every input
/// channel of the window feeds each output, and each input feeds every filter of the window.
pub fn conv_fans(k_h: usize, k_w: usize, in_c: usize, out_c: usize) -> (usize, usize) {
    (k_h * k_w * in_c, k_h * k_w * out_c)
}

/// (fan_in, fan_out) of a dense kernel (in, out).
pub fn dense_fans(inputs: usize, outputs: usize) -> (usize, usize) {
    (inputs, outputs)
}

/// Glorot (Xavier) uniform: each weight uniform in [-limit, limit), limit = sqrt(6 / (fan_in +
/// fan_out)), which keeps the activation variance about constant from layer to layer.
/// out (any shape, e.g. (KH, KW, CI, CO)).
pub fn glorot_uniform(out: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut Rng) {
    assert!(fan_in + fan_out > 0);
    let limit = (6.0 / (fan_in + fan_out) as f64).sqrt() as f32;
    for w in out.iter_mut() {
        *w = (rng.random::<f32>() * 2.0 - 1.0) * limit;
    }
}

/// All zeros (biases, batch-norm offsets and moving means).
pub fn zeros(out: &mut [f32]) {
    out.fill(0.0);
}

/// All ones (batch-norm scales and moving variances).
pub fn ones(out: &mut [f32]) {
    out.fill(1.0);
}
