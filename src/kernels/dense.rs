//! Fully connected (Dense) layer kernels: out = input · W + bias, and its gradients.
//!
//! Layouts: input (N, I), weight (I, O) as Keras stores it, bias (O), output (N, O).
//! The fast versions are single calls of [`gemm`](super::gemm); no scratch is needed.

use super::gemm::{add_column_sums, gemm, Epilogue, Operand};

/// Scalar reference forward; overwrites `out`. With `relu`, out = max(0, input · W + bias).
/// out (N, O); input (N, I); weight (I, O); bias (O) or none.
#[allow(clippy::too_many_arguments)]
pub fn dense_forward_reference(
    out: &mut [f32],
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    n: usize,
    i: usize,
    o: usize,
) {
    check(out, input, weight, bias, n, i, o);
    for b in 0..n {
        for c in 0..o {
            let mut acc = bias.map_or(0.0, |bias| bias[c]);
            for p in 0..i {
                acc += input[b * i + p] * weight[p * o + c];
            }
            out[b * o + c] = if relu { super::gemm::relu(acc) } else { acc };
        }
    }
}

/// Fast forward; same contract as [`dense_forward_reference`].
#[allow(clippy::too_many_arguments)]
pub fn dense_forward(
    out: &mut [f32],
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    relu: bool,
    n: usize,
    i: usize,
    o: usize,
) {
    check(out, input, weight, bias, n, i, o);
    gemm(
        out,
        o,
        Operand::plain(input, i),
        Operand::plain(weight, o),
        Epilogue {
            accumulate: false,
            bias,
            relu,
        },
        n,
        o,
        i,
    );
}

/// Scalar reference backward; accumulates (+=) into every gradient given.
/// d_input (N, I) or none (a first layer needs none); d_weight (I, O); d_bias (O) or none;
/// d_out (N, O), already masked by (out > 0) if the forward pass fused a ReLU; input (N, I); weight (I, O).
#[allow(clippy::too_many_arguments)]
pub fn dense_backward_reference(
    d_input: Option<&mut [f32]>,
    d_weight: &mut [f32],
    d_bias: Option<&mut [f32]>,
    d_out: &[f32],
    input: &[f32],
    weight: &[f32],
    n: usize,
    i: usize,
    o: usize,
) {
    check_backward(&d_input, d_weight, &d_bias, d_out, input, weight, n, i, o);
    if let Some(d_input) = d_input {
        for b in 0..n {
            for p in 0..i {
                let mut acc = 0.0;
                for c in 0..o {
                    acc += d_out[b * o + c] * weight[p * o + c];
                }
                d_input[b * i + p] += acc;
            }
        }
    }
    for p in 0..i {
        for c in 0..o {
            let mut acc = 0.0;
            for b in 0..n {
                acc += input[b * i + p] * d_out[b * o + c];
            }
            d_weight[p * o + c] += acc;
        }
    }
    if let Some(d_bias) = d_bias {
        for c in 0..o {
            d_bias[c] += (0..n).map(|b| d_out[b * o + c]).sum::<f32>();
        }
    }
}

/// Fast backward; same contract as [`dense_backward_reference`].
#[allow(clippy::too_many_arguments)]
pub fn dense_backward(
    d_input: Option<&mut [f32]>,
    d_weight: &mut [f32],
    d_bias: Option<&mut [f32]>,
    d_out: &[f32],
    input: &[f32],
    weight: &[f32],
    n: usize,
    i: usize,
    o: usize,
) {
    check_backward(&d_input, d_weight, &d_bias, d_out, input, weight, n, i, o);
    let accumulate = Epilogue {
        accumulate: true,
        ..Epilogue::default()
    };
    if let Some(d_input) = d_input {
        // d_input (N, I) += d_out (N, O) · W^T (O, I)
        gemm(
            d_input,
            i,
            Operand::plain(d_out, o),
            Operand::transposed(weight, o),
            accumulate,
            n,
            i,
            o,
        );
    }
    // d_weight (I, O) += input^T (I, N) · d_out (N, O)
    gemm(
        d_weight,
        o,
        Operand::transposed(input, i),
        Operand::plain(d_out, o),
        accumulate,
        i,
        o,
        n,
    );
    if let Some(d_bias) = d_bias {
        add_column_sums(d_bias, d_out, n, o);
    }
}

#[allow(clippy::too_many_arguments)]
fn check(
    out: &[f32],
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    n: usize,
    i: usize,
    o: usize,
) {
    assert_eq!(out.len(), n * o, "dense: out must be (N, O)");
    assert_eq!(input.len(), n * i, "dense: input must be (N, I)");
    assert_eq!(weight.len(), i * o, "dense: weight must be (I, O)");
    if let Some(b) = bias {
        assert_eq!(b.len(), o, "dense: bias must be (O)");
    }
}

#[allow(clippy::too_many_arguments)]
fn check_backward(
    d_input: &Option<&mut [f32]>,
    d_weight: &[f32],
    d_bias: &Option<&mut [f32]>,
    d_out: &[f32],
    input: &[f32],
    weight: &[f32],
    n: usize,
    i: usize,
    o: usize,
) {
    check(d_out, input, weight, None, n, i, o);
    assert_eq!(d_weight.len(), i * o, "dense: d_weight must be (I, O)");
    if let Some(d) = d_input {
        assert_eq!(d.len(), n * i, "dense: d_input must be (N, I)");
    }
    if let Some(d) = d_bias {
        assert_eq!(d.len(), o, "dense: d_bias must be (O)");
    }
}
