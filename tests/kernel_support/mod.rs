//! Checks shared by the native kernel tests and the wasm (SIMD128) kernel tests: fixtures
//! from Keras/JAX (embedded, so that the browser needs no files), fast against reference on
//! odd sizes, and helpers for seeded random data.
#![allow(dead_code)] // each test file uses a different subset

use convscope::kernels::conv::*;
use convscope::kernels::dense::*;
use convscope::kernels::gemm::*;
use convscope::kernels::geometry::*;
use convscope::kernels::scratch::ConvScratch;
use convscope::rng::{rng_from_seed, Rng};
use rand::RngExt;
use serde::Deserialize;

/// `len` values uniform in [-1, 1).
pub fn random_vec(rng: &mut Rng, len: usize) -> Vec<f32> {
    (0..len).map(|_| rng.random_range(-1.0f32..1.0)).collect()
}

/// Asserts |got - want| <= abs + rel * |want| elementwise, naming the first bad index.
pub fn assert_close(got: &[f32], want: &[f32], abs: f32, rel: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
        let tol = abs + rel * w.abs();
        assert!(
            (g - w).abs() <= tol && g.is_finite(),
            "{what}: index {idx}: got {g}, want {w} (tolerance {tol})"
        );
    }
}

/// A random valid geometry: odd sizes, every padding kind (per-side pads up to 3), strides 1-3,
/// dilations 1-2.
pub fn random_geometry(rng: &mut Rng) -> ConvGeometry {
    loop {
        let batch = rng.random_range(1..=3);
        let in_h = rng.random_range(1..=12);
        let in_w = rng.random_range(1..=12);
        let in_c = [1, 2, 3, 4, 5, 7, 16][rng.random_range(0..7)];
        let k_h = rng.random_range(1..=5);
        let k_w = rng.random_range(1..=5);
        let out_c = [1, 3, 4, 5, 8, 9, 16, 17][rng.random_range(0..8)];
        let stride = rng.random_range(1..=3);
        let dilation = rng.random_range(1..=2);
        let padding = match rng.random_range(0..4) {
            0 => Padding::Valid,
            1 => Padding::Same,
            2 => Padding::Explicit(rng.random_range(0..=2)),
            _ => Padding::PerSide {
                top: rng.random_range(0..=3),
                bottom: rng.random_range(0..=3),
                left: rng.random_range(0..=3),
                right: rng.random_range(0..=3),
            },
        };
        if let Ok(g) = ConvGeometry::new(
            batch,
            (in_h, in_w, in_c),
            (k_h, k_w, out_c),
            stride,
            dilation,
            padding,
        ) {
            return g;
        }
    }
}

pub fn seeded(seed: u64) -> Rng {
    rng_from_seed(seed)
}

/// The reference-framework tolerance the fixtures are checked with: 1e-5 absolute + 1e-4 relative.
pub fn assert_matches_fixture(got: &[f32], want: &[f32], what: &str) {
    assert_close(got, want, 1e-5, 1e-4, what);
}

/// One case of `tests/fixtures/conv/conv_cases.json` (see make_fixtures.py there).
#[derive(Deserialize)]
pub struct ConvCase {
    name: String,
    batch: usize,
    in_h: usize,
    in_w: usize,
    in_c: usize,
    k_h: usize,
    k_w: usize,
    out_c: usize,
    stride: usize,
    dilation: usize,
    padding: serde_json::Value,
    out_h: usize,
    out_w: usize,
    input: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
    d_out: Vec<f32>,
    out: Vec<f32>,
    d_input: Vec<f32>,
    d_weight: Vec<f32>,
    d_bias: Vec<f32>,
}

impl ConvCase {
    pub fn geometry(&self) -> ConvGeometry {
        let padding = match &self.padding {
            serde_json::Value::String(s) if s == "valid" => Padding::Valid,
            serde_json::Value::String(s) if s == "same" => Padding::Same,
            serde_json::Value::Number(p) => Padding::Explicit(p.as_u64().unwrap() as usize),
            other => panic!("{}: unknown padding {other}", self.name),
        };
        let g = ConvGeometry::new(
            self.batch,
            (self.in_h, self.in_w, self.in_c),
            (self.k_h, self.k_w, self.out_c),
            self.stride,
            self.dilation,
            padding,
        )
        .unwrap();
        assert_eq!(
            (g.out_h, g.out_w),
            (self.out_h, self.out_w),
            "{}: output size differs from the framework's",
            self.name
        );
        g
    }
}

pub fn conv_cases() -> Vec<ConvCase> {
    #[derive(Deserialize)]
    struct File {
        cases: Vec<ConvCase>,
    }
    let file: File =
        serde_json::from_str(include_str!("../fixtures/conv/conv_cases.json")).unwrap();
    assert!(file.cases.len() >= 15, "the fixture file lost cases");
    file.cases
}

/// One case of `tests/fixtures/conv/dense_cases.json` (see make_fixtures.py there).
#[derive(Deserialize)]
pub struct DenseCase {
    name: String,
    n: usize,
    i: usize,
    o: usize,
    input: Vec<f32>,
    weight: Vec<f32>,
    bias: Vec<f32>,
    d_out: Vec<f32>,
    out: Vec<f32>,
    d_input: Vec<f32>,
    d_weight: Vec<f32>,
    d_bias: Vec<f32>,
}

pub fn dense_cases() -> Vec<DenseCase> {
    #[derive(Deserialize)]
    struct File {
        cases: Vec<DenseCase>,
    }
    let file: File =
        serde_json::from_str(include_str!("../fixtures/conv/dense_cases.json")).unwrap();
    assert!(file.cases.len() >= 5, "the fixture file lost cases");
    file.cases
}

/// Forward (bias, and bias + fused ReLU) against Keras/JAX, fast and reference.
pub fn check_conv_forward_fixtures() {
    let mut scratch = ConvScratch::new();
    for case in conv_cases() {
        let g = case.geometry();
        let mut out = vec![f32::NAN; g.output_len()];
        conv2d_forward_reference(&mut out, &case.input, &case.weight, Some(&case.bias), &g);
        assert_matches_fixture(
            &out,
            &case.out,
            &format!("{}: reference forward", case.name),
        );
        conv2d_forward(
            &mut out,
            &case.input,
            &case.weight,
            Some(&case.bias),
            false,
            &g,
            &mut scratch,
        );
        assert_matches_fixture(&out, &case.out, &format!("{}: fast forward", case.name));
        let relu: Vec<f32> = case.out.iter().map(|v| v.max(0.0)).collect();
        conv2d_forward(
            &mut out,
            &case.input,
            &case.weight,
            Some(&case.bias),
            true,
            &g,
            &mut scratch,
        );
        assert_matches_fixture(
            &out,
            &relu,
            &format!("{}: fast forward with ReLU", case.name),
        );
    }
}

/// d_input, d_weight and d_bias for the fixture's upstream gradient, fast and reference, from zeroed buffers.
pub fn check_conv_gradient_fixtures() {
    let mut scratch = ConvScratch::new();
    for case in conv_cases() {
        let g = case.geometry();
        for fast in [false, true] {
            let what = |t: &str| {
                format!(
                    "{}: {} {t}",
                    case.name,
                    if fast { "fast" } else { "reference" }
                )
            };
            let mut d_input = vec![0.0; g.input_len()];
            let mut d_weight = vec![0.0; g.weight_len()];
            let mut d_bias = vec![0.0; g.out_c];
            if fast {
                conv2d_backward_input(&mut d_input, &case.d_out, &case.weight, &g, &mut scratch);
                conv2d_backward_weight(
                    &mut d_weight,
                    Some(&mut d_bias),
                    &case.d_out,
                    &case.input,
                    &g,
                    &mut scratch,
                );
            } else {
                conv2d_backward_input_reference(&mut d_input, &case.d_out, &case.weight, &g);
                conv2d_backward_weight_reference(
                    &mut d_weight,
                    Some(&mut d_bias),
                    &case.d_out,
                    &case.input,
                    &g,
                );
            }
            assert_matches_fixture(&d_input, &case.d_input, &what("d_input"));
            assert_matches_fixture(&d_weight, &case.d_weight, &what("d_weight"));
            assert_matches_fixture(&d_bias, &case.d_bias, &what("d_bias"));
        }
    }
}

/// Forward (with and without fused ReLU) and all gradients against Keras/JAX, fast and reference.
pub fn check_dense_fixtures() {
    for c in dense_cases() {
        let (n, i, o) = (c.n, c.i, c.o);
        let relu_out: Vec<f32> = c.out.iter().map(|v| v.max(0.0)).collect();
        for fast in [false, true] {
            let what = |t: &str| {
                format!(
                    "{}: {} {t}",
                    c.name,
                    if fast { "fast" } else { "reference" }
                )
            };
            let forward = if fast {
                dense_forward
            } else {
                dense_forward_reference
            };
            let backward = if fast {
                dense_backward
            } else {
                dense_backward_reference
            };
            let mut out = vec![f32::NAN; n * o];
            forward(&mut out, &c.input, &c.weight, Some(&c.bias), false, n, i, o);
            assert_matches_fixture(&out, &c.out, &what("forward"));
            forward(&mut out, &c.input, &c.weight, Some(&c.bias), true, n, i, o);
            assert_matches_fixture(&out, &relu_out, &what("forward with ReLU"));
            let (mut d_input, mut d_weight, mut d_bias) =
                (vec![0.0; n * i], vec![0.0; i * o], vec![0.0; o]);
            backward(
                Some(&mut d_input),
                &mut d_weight,
                Some(&mut d_bias),
                &c.d_out,
                &c.input,
                &c.weight,
                n,
                i,
                o,
            );
            assert_matches_fixture(&d_input, &c.d_input, &what("d_input"));
            assert_matches_fixture(&d_weight, &c.d_weight, &what("d_weight"));
            assert_matches_fixture(&d_bias, &c.d_bias, &what("d_bias"));
        }
    }
}

/// The fast kernels agree with the scalar references (bias or none, ReLU or none) on random odd geometries.
pub fn check_conv_random_geometries(seed: u64, cases: usize) {
    let mut rng = seeded(seed);
    let mut scratch = ConvScratch::new();
    for case in 0..cases {
        let g = random_geometry(&mut rng);
        let input = random_vec(&mut rng, g.input_len());
        let weight = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, g.out_c);
        let d_out = random_vec(&mut rng, g.output_len());
        let with_bias = case % 3 != 0;
        let relu = case % 2 == 0;
        let bias = with_bias.then_some(&bias[..]);
        let what = format!("case {case} {g:?} bias {with_bias} relu {relu}");

        let mut want = vec![0.0; g.output_len()];
        conv2d_forward_reference(&mut want, &input, &weight, bias, &g);
        if relu {
            want.iter_mut().for_each(|v| *v = v.max(0.0));
        }
        let mut got = vec![f32::NAN; g.output_len()];
        conv2d_forward(&mut got, &input, &weight, bias, relu, &g, &mut scratch);
        assert_close(&got, &want, 1e-5, 1e-5, &format!("forward, {what}"));

        // Gradients accumulate: start both from the same non-zero values.
        let start = random_vec(&mut rng, g.input_len());
        let (mut want, mut got) = (start.clone(), start);
        conv2d_backward_input_reference(&mut want, &d_out, &weight, &g);
        conv2d_backward_input(&mut got, &d_out, &weight, &g, &mut scratch);
        assert_close(&got, &want, 1e-5, 1e-5, &format!("d_input, {what}"));

        let start_w = random_vec(&mut rng, g.weight_len());
        let start_b = random_vec(&mut rng, g.out_c);
        let (mut want_w, mut got_w) = (start_w.clone(), start_w);
        let (mut want_b, mut got_b) = (start_b.clone(), start_b);
        conv2d_backward_weight_reference(
            &mut want_w,
            with_bias.then_some(&mut want_b[..]),
            &d_out,
            &input,
            &g,
        );
        conv2d_backward_weight(
            &mut got_w,
            with_bias.then_some(&mut got_b[..]),
            &d_out,
            &input,
            &g,
            &mut scratch,
        );
        assert_close(&got_w, &want_w, 1e-4, 1e-5, &format!("d_weight, {what}"));
        assert_close(&got_b, &want_b, 1e-4, 1e-5, &format!("d_bias, {what}"));
    }
}

/// The weight gradient on geometries that take every path of its passes: several passes with a
/// short last one, a pass of one row wider than a pass, tiles of neighbouring taps (within a
/// kernel row, or one tap's channels under dilation), tiles across kernel rows or taps, a short
/// last tile (3 or 1 rows) at the very end of an unpadded image, strides of 2, and out_c that
/// leaves the last 8-wide panel part empty. Accumulates onto non-zero d_weight and d_bias.
pub fn check_conv_weight_gradient_passes() {
    let mut rng = seeded(23);
    let mut scratch = ConvScratch::new();
    let cases = [
        // (batch, (h, w, c), (kh, kw, out_c), stride, dilation, padding)
        (2, (37, 29, 3), (5, 5, 13), 1, 1, Padding::Same),
        (1, (23, 41, 5), (3, 4, 9), 2, 1, Padding::Valid),
        (2, (19, 17, 4), (3, 3, 8), 1, 2, Padding::Explicit(1)),
        (1, (40, 9, 1), (5, 2, 7), 1, 1, Padding::Valid),
        (1, (9, 131, 2), (3, 3, 3), 1, 1, Padding::Same),
        (2, (21, 14, 7), (2, 3, 17), 1, 1, Padding::Valid),
        (1, (13, 11, 3), (3, 3, 16), 2, 2, Padding::Valid),
    ];
    for (batch, input, kernel, stride, dilation, padding) in cases {
        let g = ConvGeometry::new(batch, input, kernel, stride, dilation, padding).unwrap();
        let x = random_vec(&mut rng, g.input_len());
        let d_out = random_vec(&mut rng, g.output_len());
        for with_bias in [true, false] {
            let start_w = random_vec(&mut rng, g.weight_len());
            let start_b = random_vec(&mut rng, g.out_c);
            let (mut want_w, mut got_w) = (start_w.clone(), start_w);
            let (mut want_b, mut got_b) = (start_b.clone(), start_b.clone());
            conv2d_backward_weight_reference(
                &mut want_w,
                with_bias.then_some(&mut want_b[..]),
                &d_out,
                &x,
                &g,
            );
            conv2d_backward_weight(
                &mut got_w,
                with_bias.then_some(&mut got_b[..]),
                &d_out,
                &x,
                &g,
                &mut scratch,
            );
            let what = format!("{g:?} bias {with_bias}");
            // Sums over up to 2 * 37 * 29 products: allow for f32 rounding in another order.
            assert_close(&got_w, &want_w, 1e-3, 1e-4, &format!("d_weight, {what}"));
            assert_close(&got_b, &want_b, 1e-3, 1e-4, &format!("d_bias, {what}"));
            if !with_bias {
                assert_eq!(got_b, start_b, "d_bias changed without a bias, {what}");
            }
        }
    }
}

/// Every transpose combination, accumulate, bias and ReLU, on sizes around the 4x8 tile and the 256-deep pass.
pub fn check_gemm_odd_sizes() {
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
                let a_op = Operand {
                    data: &a,
                    ld: lda,
                    transposed: ta,
                };
                let b_op = Operand {
                    data: &b,
                    ld: ldb,
                    transposed: tb,
                };
                let epilogue = Epilogue {
                    accumulate,
                    bias: with_bias.then_some(&bias[..]),
                    relu,
                };
                let (mut want, mut got) = (start.clone(), start);
                gemm_reference(&mut want, ldc, a_op, b_op, epilogue, m, n, k);
                gemm(&mut got, ldc, a_op, b_op, epilogue, m, n, k);
                let what = format!("m {m} n {n} k {k} ta {ta} tb {tb} acc {accumulate} relu {relu} bias {with_bias}");
                assert_close(&got, &want, 1e-4, 1e-5, &what);
            }
        }
    }
}

/// Dense fast against reference on odd sizes, with and without bias, ReLU and d_input.
pub fn check_dense_odd_sizes() {
    let mut rng = seeded(12);
    for &(n, i, o) in &[
        (1, 1, 1),
        (3, 5, 7),
        (2, 17, 9),
        (5, 33, 1),
        (32, 300, 13),
        (4, 8, 8),
        (7, 129, 130),
        (1, 77, 70),
    ] {
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
            dense_backward_reference(
                (!first_layer).then_some(&mut want_x[..]),
                &mut want_w,
                with_bias.then_some(&mut want_b[..]),
                &d_out,
                &input,
                &weight,
                n,
                i,
                o,
            );
            dense_backward(
                (!first_layer).then_some(&mut got_x[..]),
                &mut got_w,
                with_bias.then_some(&mut got_b[..]),
                &d_out,
                &input,
                &weight,
                n,
                i,
                o,
            );
            assert_close(&got_x, &want_x, 1e-5, 1e-5, &format!("d_input {what}"));
            assert_close(&got_w, &want_w, 1e-5, 1e-5, &format!("d_weight {what}"));
            assert_close(&got_b, &want_b, 1e-5, 1e-5, &format!("d_bias {what}"));
        }
    }
}
