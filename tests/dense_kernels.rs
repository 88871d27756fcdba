//! Dense and GEMM kernels: hand-checked cases, reference-framework fixtures, finite
//! differences, and the fast kernels against the scalar references on odd sizes.

mod kernel_support;

use convscope::kernels::dense::*;
use convscope::kernels::gemm::*;
use kernel_support::*;

/// Every transpose combination, accumulate, bias and ReLU, on sizes around the 4x8 tile and the 256-deep pass.
#[test]
fn gemm_fast_matches_reference_on_odd_sizes() {
    let mut rng = seeded(11);
    let sizes = [1, 2, 3, 4, 5, 7, 8, 9, 13, 16, 17, 31, 33];
    let mut case = 0;
    for &m in &sizes {
        for &n in &sizes {
            for &k in &[0, 1, 3, 8, 17, 255, 256, 257, 600] {
                case += 1;
                let (ta, tb) = (case % 2 == 1, case % 4 >= 2);
                let (accumulate, relu, with_bias) = (case % 3 == 0, case % 5 < 2, case % 7 < 4);
                // Leading dimensions a little larger than needed, to catch stride mix-ups.
                let lda = if ta { m } else { k } + case % 3;
                let ldb = if tb { k } else { n } + case % 2;
                let ldc = n + case % 4;
                let a = random_vec(&mut rng, if ta { k * lda } else { m * lda });
                let b = random_vec(&mut rng, if tb { n * ldb } else { k * ldb });
                let bias = random_vec(&mut rng, n);
                let start = random_vec(&mut rng, m * ldc);
                let a_op = Operand { data: &a, ld: lda, transposed: ta };
                let b_op = Operand { data: &b, ld: ldb, transposed: tb };
                let epilogue = Epilogue { accumulate, bias: with_bias.then_some(&bias[..]), relu };
                let (mut want, mut got) = (start.clone(), start);
                gemm_reference(&mut want, ldc, a_op, b_op, epilogue, m, n, k);
                gemm(&mut got, ldc, a_op, b_op, epilogue, m, n, k);
                let what = format!("m {m} n {n} k {k} ta {ta} tb {tb} acc {accumulate} relu {relu} bias {with_bias}");
                assert_close(&got, &want, 1e-4, 1e-5, &what);
            }
        }
    }
}

#[test]
fn dense_fast_matches_reference_on_odd_sizes() {
    let mut rng = seeded(12);
    for &(n, i, o) in &[(1, 1, 1), (3, 5, 7), (2, 17, 9), (5, 33, 1), (32, 300, 13), (4, 8, 8), (7, 129, 130)] {
        for &(relu, with_bias) in &[(false, true), (true, true), (true, false)] {
            let input = random_vec(&mut rng, n * i);
            let weight = random_vec(&mut rng, i * o);
            let bias = random_vec(&mut rng, o);
            let bias = with_bias.then_some(&bias[..]);
            let what = format!("n {n} i {i} o {o} relu {relu} bias {with_bias}");
            let mut want = vec![0.0; n * o];
            let mut got = vec![f32::NAN; n * o];
            dense_forward_reference(&mut want, &input, &weight, bias, relu, n, i, o);
            dense_forward(&mut got, &input, &weight, bias, relu, n, i, o);
            assert_close(&got, &want, 1e-5, 1e-5, &format!("forward {what}"));

            let d_out = random_vec(&mut rng, n * o);
            let start_x = random_vec(&mut rng, n * i);
            let start_w = random_vec(&mut rng, i * o);
            let start_b = random_vec(&mut rng, o);
            let (mut want_x, mut got_x) = (start_x.clone(), start_x);
            let (mut want_w, mut got_w) = (start_w.clone(), start_w);
            let (mut want_b, mut got_b) = (start_b.clone(), start_b);
            let first_layer = with_bias && relu; // also cover d_input = None
            dense_backward_reference((!first_layer).then_some(&mut want_x[..]), &mut want_w, with_bias.then_some(&mut want_b[..]), &d_out, &input, &weight, n, i, o);
            dense_backward((!first_layer).then_some(&mut got_x[..]), &mut got_w, with_bias.then_some(&mut got_b[..]), &d_out, &input, &weight, n, i, o);
            assert_close(&got_x, &want_x, 1e-5, 1e-5, &format!("d_input {what}"));
            assert_close(&got_w, &want_w, 1e-5, 1e-5, &format!("d_weight {what}"));
            assert_close(&got_b, &want_b, 1e-5, 1e-5, &format!("d_bias {what}"));
        }
    }
}
