//! Dense and GEMM kernels: hand-checked cases, reference-framework fixtures, finite
//! differences, and the fast kernels against the scalar references on odd sizes.

mod kernel_support;

use convscope::kernels::dense::*;
use kernel_support::*;

/// Forward (with and without fused ReLU) and all gradients against Keras/JAX, fast and reference.
#[test]
fn dense_matches_keras_fixtures() {
    check_dense_fixtures();
}

/// Every transpose combination, accumulate, bias and ReLU, on sizes around the 4x8 tile and the 256-deep pass.
#[test]
fn gemm_fast_matches_reference_on_odd_sizes() {
    check_gemm_odd_sizes();
}

#[test]
fn dense_fast_matches_reference_on_odd_sizes() {
    check_dense_odd_sizes();
}

/// out = [1 2; 3 4] · [1 0 1; 0 1 1] + (10, 20, 30), and its gradients for d_out = ones.
#[test]
fn dense_small_integer_case() {
    let (n, i, o) = (2, 2, 3);
    let input = [1.0, 2.0, 3.0, 4.0];
    let weight = [1.0, 0.0, 1.0, 0.0, 1.0, 1.0];
    let mut out = [0.0; 6];
    dense_forward(
        &mut out,
        &input,
        &weight,
        Some(&[10.0, 20.0, -30.0]),
        false,
        n,
        i,
        o,
    );
    assert_eq!(out, [11.0, 22.0, -27.0, 13.0, 24.0, -23.0]);
    dense_forward(
        &mut out,
        &input,
        &weight,
        Some(&[10.0, 20.0, -30.0]),
        true,
        n,
        i,
        o,
    );
    assert_eq!(out, [11.0, 22.0, 0.0, 13.0, 24.0, 0.0]);
    // d_input = d_out · W^T: row sums of W (2, 2); d_weight = input^T · d_out: column sums of input per row (4, 6);
    // d_bias = column sums of d_out (2 each). Starting from 1 shows that gradients accumulate.
    let (mut d_input, mut d_weight, mut d_bias) = ([1.0; 4], [1.0; 6], [1.0; 3]);
    dense_backward(
        Some(&mut d_input),
        &mut d_weight,
        Some(&mut d_bias),
        &[1.0; 6],
        &input,
        &weight,
        n,
        i,
        o,
    );
    assert_eq!(d_input, [3.0, 3.0, 3.0, 3.0]);
    assert_eq!(d_weight, [5.0, 5.0, 5.0, 7.0, 7.0, 7.0]);
    assert_eq!(d_bias, [3.0, 3.0, 3.0]);
}

/// Central differences of L = sum(out * r), in f64, against every gradient element.
#[test]
fn dense_gradients_match_finite_differences() {
    let mut rng = seeded(4);
    let (n, i, o) = (3, 11, 6);
    let input = random_vec(&mut rng, n * i);
    let weight = random_vec(&mut rng, i * o);
    let bias = random_vec(&mut rng, o);
    let r = random_vec(&mut rng, n * o);
    let (mut d_input, mut d_weight, mut d_bias) =
        (vec![0.0; n * i], vec![0.0; i * o], vec![0.0; o]);
    dense_backward(
        Some(&mut d_input),
        &mut d_weight,
        Some(&mut d_bias),
        &r,
        &input,
        &weight,
        n,
        i,
        o,
    );
    let loss = |args: &[Vec<f32>; 3]| -> f64 {
        let mut out = vec![0.0; n * o];
        dense_forward(&mut out, &args[0], &args[1], Some(&args[2]), false, n, i, o);
        out.iter().zip(&r).map(|(&a, &b)| a as f64 * b as f64).sum()
    };
    // L is linear in each argument: a large step has no truncation error.
    let h = 0.25;
    for (which, analytic) in [(0, &d_input), (1, &d_weight), (2, &d_bias)] {
        for idx in 0..analytic.len() {
            let at = |step: f32| {
                let mut args = [input.clone(), weight.clone(), bias.clone()];
                args[which][idx] += step;
                loss(&args)
            };
            let fd = ((at(h) - at(-h)) / (2.0 * h as f64)) as f32;
            assert_close(
                &[analytic[idx]],
                &[fd],
                1e-4,
                1e-3,
                &format!("gradient {which} index {idx}"),
            );
        }
    }
}

/// The chapter's dense layers at batch 32 and at batch 1 (one image: a single row of C):
/// 8192 -> 128 (ReLU) -> 1, fast against reference.
#[test]
fn dense_chapter_shapes_fast_matches_reference() {
    let mut rng = seeded(13);
    for &(n, i, o, relu) in &[
        (32, 8192, 128, true),
        (32, 128, 1, false),
        (1, 8192, 128, true),
        (1, 128, 1, false),
    ] {
        let input = random_vec(&mut rng, n * i);
        let weight = random_vec(&mut rng, i * o);
        let bias = random_vec(&mut rng, o);
        let d_out = random_vec(&mut rng, n * o);
        let (mut want, mut got) = (vec![0.0; n * o], vec![0.0; n * o]);
        dense_forward_reference(&mut want, &input, &weight, Some(&bias), relu, n, i, o);
        dense_forward(&mut got, &input, &weight, Some(&bias), relu, n, i, o);
        assert_close(&got, &want, 1e-3, 1e-4, "forward");
        let (mut want_x, mut got_x) = (vec![0.0; n * i], vec![0.0; n * i]);
        let (mut want_w, mut got_w) = (vec![0.0; i * o], vec![0.0; i * o]);
        let (mut want_b, mut got_b) = (vec![0.0; o], vec![0.0; o]);
        dense_backward_reference(
            Some(&mut want_x),
            &mut want_w,
            Some(&mut want_b),
            &d_out,
            &input,
            &weight,
            n,
            i,
            o,
        );
        dense_backward(
            Some(&mut got_x),
            &mut got_w,
            Some(&mut got_b),
            &d_out,
            &input,
            &weight,
            n,
            i,
            o,
        );
        assert_close(&got_x, &want_x, 1e-4, 1e-4, "d_input");
        assert_close(&got_w, &want_w, 1e-4, 1e-4, "d_weight");
        assert_close(&got_b, &want_b, 1e-4, 1e-4, "d_bias");
    }
}
