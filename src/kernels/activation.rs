//! Element-wise activations: ReLU, ReLU6 and sigmoid, forward and backward.
//!
//! Backward takes the forward *output*: ReLU's output is positive exactly where its input is,
//! ReLU6's lies strictly between 0 and 6 exactly where its input does, and sigmoid's derivative
//! is y (1 - y), so the input need not be kept.
//!
//! Each loop is its own scalar reference: one comparison or one exp per element, which the
//! compiler vectorizes (or not) without changing a bit of the result.

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

/// ReLU6's upper limit: MobileNet's and EfficientNet-Lite's activation, min(max(x, 0), 6).
pub const RELU6_MAX: f32 = 6.0;

/// ReLU6 of one value; NaN stays NaN (as in [`relu_forward`]) because both tests fail for it.
#[inline]
pub fn relu6(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else if x > RELU6_MAX {
        RELU6_MAX
    } else {
        x
    }
}

/// out = min(max(x, 0), 6). out (len); input (len).
pub fn relu6_forward(out: &mut [f32], input: &[f32]) {
    assert_eq!(out.len(), input.len());
    for (y, &x) in out.iter_mut().zip(input) {
        *y = relu6(x);
    }
}

/// d_input += d_out where 0 < out < 6. At exactly 0 and exactly 6 the gradient is 0: that is
/// TensorFlow's `Relu6Grad` (`(x > 0) & (x < 6)`), `jax.nn.relu6`'s custom derivative, and so
/// Keras 3's `ReLU(max_value=6)` on JAX (the fixture holds inputs of exactly 0 and 6 and checks
/// it); PyTorch's `hardtanh_backward` agrees. A NaN output passes no gradient.
/// d_input (len) +=; d_out (len); out (len) from [`relu6_forward`].
pub fn relu6_backward(d_input: &mut [f32], d_out: &[f32], out: &[f32]) {
    assert!(d_input.len() == d_out.len() && out.len() == d_out.len());
    for ((di, &dy), &y) in d_input.iter_mut().zip(d_out).zip(out) {
        if y > 0.0 && y < RELU6_MAX {
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
