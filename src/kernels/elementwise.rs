//! Element-wise addition of two tensors of one shape: the residual connection
//! (`y = x + block(x)`), forward and backward, so that a graph executor finds every op as a kernel.
//!
//! The loops are their own scalar references: one addition per element, which the compiler
//! vectorizes in both builds (SIMD128 in wasm) without changing a bit of the result.
//! No broadcasting: both addends and the sum have the same shape.

/// out = a + b. out (len); a (len); b (len).
pub fn add_forward(out: &mut [f32], a: &[f32], b: &[f32]) {
    assert!(
        out.len() == a.len() && a.len() == b.len(),
        "add: lengths differ"
    );
    for ((y, &x), &z) in out.iter_mut().zip(a).zip(b) {
        *y = x + z;
    }
}

/// The gradient reaching each addend is d_out itself: d_input += d_out. Call it once per addend
/// (once into each of d_a and d_b; twice into the same buffer for x + x).
/// d_input (len) +=; d_out (len).
pub fn add_backward(d_input: &mut [f32], d_out: &[f32]) {
    assert_eq!(d_input.len(), d_out.len(), "add: lengths differ");
    for (d, &g) in d_input.iter_mut().zip(d_out) {
        *d += g;
    }
}
