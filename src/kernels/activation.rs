//! Element-wise activations: ReLU and sigmoid, forward and backward.
//!
//! Backward takes the forward *output*: ReLU's output is positive exactly where its input is,
//! and sigmoid's derivative is y (1 - y), so the input need not be kept.

/// out = max(x, 0). out (len); input (len).
pub fn relu_forward(out: &mut [f32], input: &[f32]) {
    assert_eq!(out.len(), input.len());
    for (y, &x) in out.iter_mut().zip(input) {
        // `x > 0` rather than `x.max(0.0)`: a NaN input stays NaN, so divergence stays visible.
        *y = if x > 0.0 || x.is_nan() { x } else { 0.0 };
    }
}

/// d_input += d_out where the unit was active (out > 0); the gradient at exactly 0 is 0, as in
/// TensorFlow and JAX. d_input (len) +=; d_out (len); out (len) from [`relu_forward`].
pub fn relu_backward(d_input: &mut [f32], d_out: &[f32], out: &[f32]) {
    assert!(d_input.len() == d_out.len() && out.len() == d_out.len());
    for ((di, &dy), &y) in d_input.iter_mut().zip(d_out).zip(out) {
        if y > 0.0 {
            *di += dy;
        }
    }
}

/// The logistic function, without overflow for any input.
pub fn sigmoid(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// out = sigmoid(x). out (len); input (len).
pub fn sigmoid_forward(out: &mut [f32], input: &[f32]) {
    assert_eq!(out.len(), input.len());
    for (y, &x) in out.iter_mut().zip(input) {
        *y = sigmoid(x);
    }
}

/// d_input += d_out * y * (1 - y). d_input (len) +=; d_out (len); out (len) from [`sigmoid_forward`].
pub fn sigmoid_backward(d_input: &mut [f32], d_out: &[f32], out: &[f32]) {
    assert!(d_input.len() == d_out.len() && out.len() == d_out.len());
    for ((di, &dy), &y) in d_input.iter_mut().zip(d_out).zip(out) {
        *di += dy * y * (1.0 - y);
    }
}
