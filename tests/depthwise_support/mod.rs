//! Checks of the depthwise convolution, ReLU6, global average pooling and add kernels, shared by
//! the native suite (`tests/depthwise_kernels.rs`) and the browser suite (`tests/wasm_depthwise.rs`):
//! hand-checkable integer cases, the fast kernels against the scalar references on random odd
//! geometries, finite differences of the references, and fixtures from Keras/JAX (embedded, so
//! that the browser needs no files; see tests/fixtures/conv/make_depthwise_fixtures.py).
//!
//! The fast kernels add the same products in the same order as the references, so they must
//! agree bit for bit, except in the relaxed-SIMD build, whose multiply-add may be fused (then
//! within 1e-5 absolute + 1e-5 relative).
#![allow(dead_code)] // each test file uses a different subset

use crate::kernel_support::{assert_close, assert_matches_fixture, random_vec, seeded};
use convscope::kernels::activation::*;
use convscope::kernels::depthwise::*;
use convscope::kernels::elementwise::*;
use convscope::kernels::geometry::*;
use convscope::kernels::pool::*;
use convscope::rng::Rng;
use rand::RngExt;
use serde::Deserialize;

/// ReLU6 as the fused clip of the depthwise forward.
pub const RELU6_CLIP: Option<(f32, f32)> = Some((0.0, RELU6_MAX));

/// Whether fast and reference must agree bit for bit (every build but relaxed SIMD's).
fn exact() -> bool {
    !convscope::relaxed_simd_enabled()
}

/// Fast against reference: equal bits (NaN equal to NaN), or close in the relaxed-SIMD build.
pub fn assert_agrees(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths differ");
    if exact() {
        for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
            assert!(
                g.to_bits() == w.to_bits() || (g.is_nan() && w.is_nan()),
                "{what}: index {idx}: got {g}, want {w} (must be equal bit for bit)"
            );
        }
    } else {
        for (idx, (&g, &w)) in got.iter().zip(want).enumerate() {
            let tol = 1e-5 + 1e-5 * w.abs();
            assert!(
                (g.is_nan() && w.is_nan()) || (g - w).abs() <= tol,
                "{what}: index {idx}: got {g}, want {w} (tolerance {tol})"
            );
        }
    }
}

/// A random valid geometry: channels that are not multiples of 4 (and some that are), strides
/// 1-3, dilations 1-2, every padding kind, per-side pads up to 3 (wider than a 1- or 2-tap
/// kernel, so that some windows hold only padding).
pub fn random_depthwise_geometry(rng: &mut Rng) -> DepthwiseGeometry {
    loop {
        let batch = rng.random_range(1..=3);
        let in_h = rng.random_range(1..=11);
        let in_w = rng.random_range(1..=11);
        let channels = [1, 3, 5, 7, 13, 32, 33][rng.random_range(0..7)];
        let k_h = rng.random_range(1..=5);
        let k_w = rng.random_range(1..=5);
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
        if let Ok(g) = DepthwiseGeometry::new(
            batch,
            (in_h, in_w, channels),
            (k_h, k_w),
            stride,
            dilation,
            padding,
        ) {
            return g;
        }
    }
}

fn clamp_all(values: &[f32], (lo, hi): (f32, f32)) -> Vec<f32> {
    values
        .iter()
        .map(|&v| {
            if v < lo {
                lo
            } else if v > hi {
                hi
            } else {
                v
            }
        })
        .collect()
}

fn forward_both(
    input: &[f32],
    weight: &[f32],
    bias: Option<&[f32]>,
    g: &DepthwiseGeometry,
) -> Vec<f32> {
    let mut want = vec![f32::NAN; g.output_len()];
    depthwise_forward_reference(&mut want, input, weight, bias, g);
    let mut got = vec![f32::NAN; g.output_len()];
    depthwise_forward(&mut got, input, weight, bias, None, g);
    assert_agrees(&got, &want, &format!("forward {g:?}"));
    got
}

fn ramp(len: usize) -> Vec<f32> {
    (0..len).map(|v| v as f32).collect()
}

/// Cases small enough to check on paper, each run through the fast kernel and the reference.
pub fn check_depthwise_hand_cases() {
    // A 3x3 ramp (0..8) under a 2x2 ones kernel, stride 2, one zero row on top and one zero
    // column on the right (padded 4x4):
    //   pad pad pad pad      windows: rows -1..0 x cols 0..1 = 0 + 1      = 1
    //    0   1   2  pad               rows -1..0 x cols 2..3 = 2          = 2
    //    3   4   5  pad               rows  1..2 x cols 0..1 = 3+4+6+7    = 20
    //    6   7   8  pad               rows  1..2 x cols 2..3 = 5 + 8      = 13
    // Five channels (a vector of four and a scalar tail), channel k holding (k + 1) * ramp and
    // bias 10 k: each channel is its own convolution, nothing mixes.
    let pads = Padding::PerSide {
        top: 1,
        bottom: 0,
        left: 0,
        right: 1,
    };
    let g = DepthwiseGeometry::new(1, (3, 3, 5), (2, 2), 2, 1, pads).unwrap();
    assert_eq!(
        (
            g.out_h,
            g.out_w,
            g.pad_top,
            g.pad_bottom,
            g.pad_left,
            g.pad_right
        ),
        (2, 2, 1, 0, 0, 1)
    );
    let input: Vec<f32> = (0..9)
        .flat_map(|p| (0..5).map(move |k| (p * (k + 1)) as f32))
        .collect();
    let bias = [0.0, 10.0, 20.0, 30.0, 40.0];
    let out = forward_both(&input, &[1.0; 20], Some(&bias), &g);
    let want: Vec<f32> = [1.0, 2.0, 20.0, 13.0]
        .iter()
        .flat_map(|&s| (0..5).map(move |k| s * (k + 1) as f32 + 10.0 * k as f32))
        .collect();
    assert_eq!(out, want, "ramp, stride 2, per-side pads");

    // The same geometry with one channel, backward. With stride 2 and a 2x2 kernel every input
    // pixel is in exactly one window, under tap ((iy + 1) % 2, ix % 2): with d_out = 1 its
    // gradient is that weight (kernel 1 2 / 3 4). d_weight[ky][kx] sums the pixels under each
    // tap: (0,0) 0+0+3+5 = 8, (0,1) 0+0+4+0 = 4, (1,0) 0+2+6+8 = 16, (1,1) 1+0+7+0 = 8.
    let g = DepthwiseGeometry::new(1, (3, 3, 1), (2, 2), 2, 1, pads).unwrap();
    for fast in [false, true] {
        let (mut d_input, mut d_weight, mut d_bias) = (vec![0.0; 9], vec![0.0; 4], vec![0.5]);
        let weight = [1.0, 2.0, 3.0, 4.0];
        if fast {
            depthwise_backward_input(&mut d_input, &[1.0; 4], &weight, &g);
            depthwise_backward_weight(&mut d_weight, Some(&mut d_bias), &[1.0; 4], &ramp(9), &g);
        } else {
            depthwise_backward_input_reference(&mut d_input, &[1.0; 4], &weight, &g);
            depthwise_backward_weight_reference(
                &mut d_weight,
                Some(&mut d_bias),
                &[1.0; 4],
                &ramp(9),
                &g,
            );
        }
        assert_eq!(d_input, [3., 4., 3., 1., 2., 1., 3., 4., 3.], "fast {fast}");
        assert_eq!(d_weight, [8., 4., 16., 8.], "fast {fast}");
        assert_eq!(d_bias, [4.5], "fast {fast}: four outputs, onto 0.5");
    }

    // 'same' 3x3 ones on ones counts each pixel's neighbours (4 at a corner, 6 on an edge, 9
    // inside), in each of 7 channels; backward with d_out = 1 counts the windows over each
    // pixel, the same numbers, added onto 1.
    let g = DepthwiseGeometry::new(1, (3, 3, 7), (3, 3), 1, 1, Padding::Same).unwrap();
    let counts = [4., 6., 4., 6., 9., 6., 4., 6., 4.];
    let per_channel = |v: &[f32]| -> Vec<f32> { v.iter().flat_map(|&c| [c; 7]).collect() };
    assert_eq!(
        forward_both(&[1.0; 63], &[1.0; 63], None, &g),
        per_channel(&counts)
    );
    let mut d_input = vec![1.0; 63];
    depthwise_backward_input(&mut d_input, &[1.0; 63], &[1.0; 63], &g);
    let plus_one: Vec<f32> = counts.iter().map(|c| c + 1.0).collect();
    assert_eq!(d_input, per_channel(&plus_one));

    // Dilation 2 spreads a 2x2 kernel over a 3x3 span: out = x(0,0) + x(0,2) + x(2,0) + x(2,2).
    let g = DepthwiseGeometry::new(1, (3, 3, 1), (2, 2), 1, 2, Padding::Valid).unwrap();
    assert_eq!(forward_both(&ramp(9), &[1.0; 4], None, &g), [16.0]);

    // The fused clip: ReLU6 and a narrow range; a NaN input stays NaN, clipped or not.
    let g = DepthwiseGeometry::new(1, (1, 3, 5), (1, 1), 1, 1, Padding::Valid).unwrap();
    let input = [
        -2.0,
        0.0,
        3.0,
        6.0,
        9.0, // pixel 0
        f32::NAN,
        7.0,
        -1.0,
        5.5,
        0.5, // pixel 1
        1.0,
        2.0,
        3.0,
        4.0,
        f32::NAN, // pixel 2
    ];
    let weight = [1.0, 1.0, 1.0, 1.0, 2.0];
    let mut out = vec![0.0; 15];
    depthwise_forward(&mut out, &input, &weight, None, RELU6_CLIP, &g);
    let want = [
        0.0,
        0.0,
        3.0,
        6.0,
        6.0,
        f32::NAN,
        6.0,
        0.0,
        5.5,
        1.0,
        1.0,
        2.0,
        3.0,
        4.0,
        f32::NAN,
    ];
    assert_agrees(&out, &want, "ReLU6 fused into depthwise");
    depthwise_forward(&mut out, &input, &weight, None, Some((-0.5, 2.5)), &g);
    let want = [
        -0.5,
        0.0,
        2.5,
        2.5,
        2.5,
        f32::NAN,
        2.5,
        -0.5,
        2.5,
        1.0,
        1.0,
        2.0,
        2.5,
        2.5,
        f32::NAN,
    ];
    assert_agrees(&out, &want, "clip to -0.5..2.5 fused into depthwise");

    // Geometries that cannot work are explained, as for the convolution.
    let err = DepthwiseGeometry::new(1, (3, 3, 4), (5, 5), 1, 1, Padding::Valid).unwrap_err();
    assert!(
        err.to_string().contains("larger than the padded input"),
        "{err}"
    );
    assert!(DepthwiseGeometry::new(1, (3, 3, 0), (3, 3), 1, 1, Padding::Same).is_err());
    assert!(DepthwiseGeometry::new(1, (3, 3, 4), (3, 3), 0, 1, Padding::Same).is_err());
    assert_eq!(
        DepthwiseGeometry::new(2, (5, 6, 7), (3, 2), 1, 1, Padding::Same)
            .unwrap()
            .weight_len(),
        3 * 2 * 7,
        "the weight is (KH, KW, C), not (KH, KW, C, C)"
    );
}

/// ReLU6 on both sides of and exactly at its kinks, and NaN.
pub fn check_relu6_hand_cases() {
    let input = [-1.0, 0.0, 3.0, 6.0, 7.0, f32::NAN, 5.99, 6.01, -0.0];
    let mut out = vec![0.0; input.len()];
    relu6_forward(&mut out, &input);
    assert_agrees(
        &out,
        &[0.0, 0.0, 3.0, 6.0, 6.0, f32::NAN, 5.99, 6.0, -0.0],
        "relu6 forward",
    );
    // Gradient 0 at exactly 0 and exactly 6 (TensorFlow's and JAX's convention), added onto 1.
    let mut d_input = vec![1.0; input.len()];
    relu6_backward(&mut d_input, &[2.0; 9], &out);
    assert_eq!(d_input, [1.0, 1.0, 3.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0]);
}

/// Global average pooling and add on numbers one can check by hand.
pub fn check_pool_and_add_hand_cases() {
    // (1, 2, 2, 3): pixels (1 2 3), (3 4 5), (5 6 7), (7 8 9): means (4 5 6).
    let shape = (1, 2, 2, 3);
    let input = [1., 2., 3., 3., 4., 5., 5., 6., 7., 7., 8., 9.];
    for fast in [false, true] {
        let mut out = vec![f32::NAN; 3];
        let mut d_input = vec![1.0; 12];
        if fast {
            global_average_pool_forward(&mut out, &input, shape);
            global_average_pool_backward(&mut d_input, &[4.0, 8.0, 12.0], shape);
        } else {
            global_average_pool_forward_reference(&mut out, &input, shape);
            global_average_pool_backward_reference(&mut d_input, &[4.0, 8.0, 12.0], shape);
        }
        assert_eq!(out, [4.0, 5.0, 6.0], "fast {fast}");
        // d_out / 4 to each of the four pixels, onto 1.
        assert_eq!(d_input, [2., 3., 4.].repeat(4), "fast {fast}");
    }
    let mut sum = vec![0.0; 3];
    add_forward(&mut sum, &[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]);
    assert_eq!(sum, [11.0, 22.0, 33.0]);
    // x + x: the gradient reaches the one input twice.
    let mut d = vec![1.0; 3];
    add_backward(&mut d, &[0.5, 1.0, 2.0]);
    add_backward(&mut d, &[0.5, 1.0, 2.0]);
    assert_eq!(d, [2.0, 3.0, 5.0]);
}

/// The fast depthwise kernels against the references on random odd geometries: forward with
/// and without bias and with no clip, ReLU6 or a narrow clip; both backwards onto non-zero
/// gradients, with and without the bias gradient.
pub fn check_depthwise_random_geometries(seed: u64, cases: usize) {
    let mut rng = seeded(seed);
    let mut covered = [false; 4];
    for case in 0..cases {
        let g = random_depthwise_geometry(&mut rng);
        covered[match (g.pad_top == g.pad_bottom, g.pad_left == g.pad_right) {
            (true, true) => 0,
            (false, true) => 1,
            (true, false) => 2,
            (false, false) => 3,
        }] = true;
        let input = random_vec(&mut rng, g.input_len());
        let weight = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, g.channels);
        let d_out = random_vec(&mut rng, g.output_len());
        let with_bias = case % 3 != 0;
        let clip = [None, RELU6_CLIP, Some((-0.3, 0.4))][case % 3];
        let bias = with_bias.then_some(&bias[..]);
        let what = format!("case {case} {g:?} bias {with_bias} clip {clip:?}");

        let mut want = vec![0.0; g.output_len()];
        depthwise_forward_reference(&mut want, &input, &weight, bias, &g);
        if let Some(range) = clip {
            want = clamp_all(&want, range);
        }
        let mut got = vec![f32::NAN; g.output_len()];
        depthwise_forward(&mut got, &input, &weight, bias, clip, &g);
        assert_agrees(&got, &want, &format!("forward, {what}"));

        let start = random_vec(&mut rng, g.input_len());
        let (mut want, mut got) = (start.clone(), start);
        depthwise_backward_input_reference(&mut want, &d_out, &weight, &g);
        depthwise_backward_input(&mut got, &d_out, &weight, &g);
        assert_agrees(&got, &want, &format!("d_input, {what}"));

        let start_w = random_vec(&mut rng, g.weight_len());
        let start_b = random_vec(&mut rng, g.channels);
        let (mut want_w, mut got_w) = (start_w.clone(), start_w);
        let (mut want_b, mut got_b) = (start_b.clone(), start_b.clone());
        depthwise_backward_weight_reference(
            &mut want_w,
            with_bias.then_some(&mut want_b[..]),
            &d_out,
            &input,
            &g,
        );
        depthwise_backward_weight(
            &mut got_w,
            with_bias.then_some(&mut got_b[..]),
            &d_out,
            &input,
            &g,
        );
        assert_agrees(&got_w, &want_w, &format!("d_weight, {what}"));
        assert_agrees(&got_b, &want_b, &format!("d_bias, {what}"));
        if !with_bias {
            assert_eq!(got_b, start_b, "d_bias changed without a bias, {what}");
        }
    }
    assert!(
        cases < 40 || covered.iter().all(|&c| c),
        "the random geometries missed a kind of asymmetric padding: {covered:?}"
    );
}

/// Global average pooling, fast against reference, on odd shapes.
pub fn check_global_average_pool_random(seed: u64) {
    let mut rng = seeded(seed);
    for shape in [
        (1, 1, 1, 1),
        (2, 3, 5, 7),
        (3, 7, 7, 13),
        (1, 4, 4, 32),
        (2, 1, 9, 33),
    ] {
        let (n, h, w, c) = shape;
        let input = random_vec(&mut rng, n * h * w * c);
        let d_out = random_vec(&mut rng, n * c);
        let (mut want, mut got) = (vec![0.0; n * c], vec![f32::NAN; n * c]);
        global_average_pool_forward_reference(&mut want, &input, shape);
        global_average_pool_forward(&mut got, &input, shape);
        assert_agrees(
            &got,
            &want,
            &format!("global average pool forward {shape:?}"),
        );
        let start = random_vec(&mut rng, input.len());
        let (mut want, mut got) = (start.clone(), start);
        global_average_pool_backward_reference(&mut want, &d_out, shape);
        global_average_pool_backward(&mut got, &d_out, shape);
        assert_agrees(
            &got,
            &want,
            &format!("global average pool backward {shape:?}"),
        );
    }
}

/// Central differences of L = sum(out * r), summed in f64, against the reference gradients.
/// L is linear in each argument, so a large step (0.25) costs no truncation error and keeps
/// the f32 rounding of the forward small against it.
pub fn check_depthwise_finite_differences() {
    let mut rng = seeded(31);
    let per_side = Padding::PerSide {
        top: 1,
        bottom: 0,
        left: 2,
        right: 1,
    };
    let geometries = [
        DepthwiseGeometry::new(2, (5, 7, 3), (3, 3), 2, 1, Padding::Same).unwrap(),
        DepthwiseGeometry::new(1, (6, 5, 5), (2, 3), 1, 2, per_side).unwrap(),
        DepthwiseGeometry::new(1, (7, 6, 6), (5, 5), 3, 1, Padding::Explicit(2)).unwrap(),
    ];
    for g in geometries {
        let input = random_vec(&mut rng, g.input_len());
        let weight = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, g.channels);
        let r = random_vec(&mut rng, g.output_len());
        let loss = |input: &[f32], weight: &[f32], bias: &[f32]| -> f64 {
            let mut out = vec![0.0; g.output_len()];
            depthwise_forward_reference(&mut out, input, weight, Some(bias), &g);
            out.iter().zip(&r).map(|(&o, &r)| o as f64 * r as f64).sum()
        };
        let (mut d_input, mut d_weight, mut d_bias) = (
            vec![0.0; g.input_len()],
            vec![0.0; g.weight_len()],
            vec![0.0; g.channels],
        );
        depthwise_backward_input_reference(&mut d_input, &r, &weight, &g);
        depthwise_backward_weight_reference(&mut d_weight, Some(&mut d_bias), &r, &input, &g);
        let h = 0.25f32;
        for (which, analytic) in [(0, &d_input), (1, &d_weight), (2, &d_bias)] {
            let numeric: Vec<f32> = (0..analytic.len())
                .map(|idx| {
                    let at = |step: f32| {
                        let mut args = [input.clone(), weight.clone(), bias.clone()];
                        args[which][idx] += step;
                        loss(&args[0], &args[1], &args[2])
                    };
                    ((at(h) - at(-h)) / (2.0 * h as f64)) as f32
                })
                .collect();
            let name = ["d_input", "d_weight", "d_bias"][which];
            assert_close(
                analytic,
                &numeric,
                2e-4,
                1e-3,
                &format!("{name} vs finite differences, {g:?}"),
            );
        }
    }
}

/// ReLU6, global average pooling and add against central differences (ReLU6 away from its kinks).
pub fn check_other_finite_differences() {
    let mut rng = seeded(37);
    let weighted_sum = |out: &[f32], r: &[f32]| -> f64 {
        out.iter().zip(r).map(|(&o, &r)| o as f64 * r as f64).sum()
    };

    // ReLU6: inputs in [-2, 8) at least 0.05 from 0 and 6; a step of 0.01 never crosses a kink.
    let x: Vec<f32> = (0..200)
        .map(|_| loop {
            let v = rng.random_range(-2.0f32..8.0);
            if v.abs() > 0.05 && (v - 6.0).abs() > 0.05 {
                break v;
            }
        })
        .collect();
    let r = random_vec(&mut rng, x.len());
    let mut y = vec![0.0; x.len()];
    relu6_forward(&mut y, &x);
    let mut analytic = vec![0.0; x.len()];
    relu6_backward(&mut analytic, &r, &y);
    let h = 0.01f32;
    let numeric: Vec<f32> = (0..x.len())
        .map(|i| {
            let at = |step: f32| {
                let mut x = x.clone();
                x[i] += step;
                let mut y = vec![0.0; x.len()];
                relu6_forward(&mut y, &x);
                weighted_sum(&y, &r)
            };
            ((at(h) - at(-h)) / (2.0 * h as f64)) as f32
        })
        .collect();
    assert_close(
        &analytic,
        &numeric,
        1e-3,
        1e-3,
        "relu6 vs finite differences",
    );

    // Global average pooling (linear: step 0.25).
    let shape = (2, 3, 4, 5);
    let input = random_vec(&mut rng, 2 * 3 * 4 * 5);
    let r = random_vec(&mut rng, 2 * 5);
    let mut analytic = vec![0.0; input.len()];
    global_average_pool_backward_reference(&mut analytic, &r, shape);
    let h = 0.25f32;
    let numeric: Vec<f32> = (0..input.len())
        .map(|i| {
            let at = |step: f32| {
                let mut x = input.clone();
                x[i] += step;
                let mut out = vec![0.0; 10];
                global_average_pool_forward_reference(&mut out, &x, shape);
                weighted_sum(&out, &r)
            };
            ((at(h) - at(-h)) / (2.0 * h as f64)) as f32
        })
        .collect();
    assert_close(
        &analytic,
        &numeric,
        1e-5,
        1e-4,
        "global average pool vs finite differences",
    );

    // Add: both addends (linear: step 0.25).
    let a = random_vec(&mut rng, 17);
    let b = random_vec(&mut rng, 17);
    let r = random_vec(&mut rng, 17);
    let mut d_a = vec![0.0; 17];
    add_backward(&mut d_a, &r);
    for which in 0..2 {
        let numeric: Vec<f32> = (0..17)
            .map(|i| {
                let at = |step: f32| {
                    let mut args = [a.clone(), b.clone()];
                    args[which][i] += step;
                    let mut out = vec![0.0; 17];
                    add_forward(&mut out, &args[0], &args[1]);
                    weighted_sum(&out, &r)
                };
                ((at(h) - at(-h)) / (2.0 * h as f64)) as f32
            })
            .collect();
        assert_close(&d_a, &numeric, 1e-5, 1e-4, &format!("add, addend {which}"));
    }
}

/// The fixture file written by make_depthwise_fixtures.py.
#[derive(Deserialize)]
struct Fixture {
    depthwise: Vec<DepthwiseCase>,
    relu6: Vec<LayerCase>,
    global_average_pool: Vec<LayerCase>,
}

#[derive(Deserialize)]
struct DepthwiseCase {
    name: String,
    batch: usize,
    in_h: usize,
    in_w: usize,
    channels: usize,
    k_h: usize,
    k_w: usize,
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

/// A Keras layer's float32 forward and its VJP for `d_out`.
#[derive(Deserialize)]
struct LayerCase {
    name: String,
    shape: Vec<usize>,
    out_shape: Vec<usize>,
    input: Vec<f32>,
    d_out: Vec<f32>,
    out: Vec<f32>,
    d_input: Vec<f32>,
}

impl DepthwiseCase {
    fn geometry(&self) -> DepthwiseGeometry {
        use serde_json::Value;
        let padding = match &self.padding {
            Value::String(s) if s == "valid" => Padding::Valid,
            Value::String(s) if s == "same" => Padding::Same,
            Value::Number(p) => Padding::Explicit(p.as_u64().unwrap() as usize),
            Value::Array(sides) => {
                let s: Vec<usize> = sides.iter().map(|v| v.as_u64().unwrap() as usize).collect();
                Padding::PerSide {
                    top: s[0],
                    bottom: s[1],
                    left: s[2],
                    right: s[3],
                }
            }
            other => panic!("{}: unknown padding {other}", self.name),
        };
        let g = DepthwiseGeometry::new(
            self.batch,
            (self.in_h, self.in_w, self.channels),
            (self.k_h, self.k_w),
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

fn fixture() -> Fixture {
    let f: Fixture =
        serde_json::from_str(include_str!("../fixtures/conv/depthwise_cases.json")).unwrap();
    assert!(
        f.depthwise.len() >= 13,
        "the fixture file lost depthwise cases"
    );
    assert!(
        f.relu6.len() >= 2 && f.global_average_pool.len() >= 4,
        "the fixture file lost cases"
    );
    f
}

/// Depthwise forward (plain, ReLU6 fused, a narrow clip fused) and all gradients against JAX
/// (and Keras's DepthwiseConv2D for 'valid'/'same'), fast and reference.
pub fn check_depthwise_fixtures() {
    for case in fixture().depthwise {
        let g = case.geometry();
        let bias = Some(&case.bias[..]);
        let mut out = vec![f32::NAN; g.output_len()];
        depthwise_forward_reference(&mut out, &case.input, &case.weight, bias, &g);
        assert_matches_fixture(
            &out,
            &case.out,
            &format!("{}: reference forward", case.name),
        );
        for clip in [None, RELU6_CLIP, Some((-0.25, 0.25))] {
            let want = match clip {
                Some(range) => clamp_all(&case.out, range),
                None => case.out.clone(),
            };
            depthwise_forward(&mut out, &case.input, &case.weight, bias, clip, &g);
            let what = format!("{}: fast forward, clip {clip:?}", case.name);
            assert_matches_fixture(&out, &want, &what);
        }
        for fast in [false, true] {
            let what = |t: &str| {
                let kind = if fast { "fast" } else { "reference" };
                format!("{}: {kind} {t}", case.name)
            };
            let mut d_input = vec![0.0; g.input_len()];
            let mut d_weight = vec![0.0; g.weight_len()];
            let mut d_bias = vec![0.0; g.channels];
            if fast {
                depthwise_backward_input(&mut d_input, &case.d_out, &case.weight, &g);
                depthwise_backward_weight(
                    &mut d_weight,
                    Some(&mut d_bias),
                    &case.d_out,
                    &case.input,
                    &g,
                );
            } else {
                depthwise_backward_input_reference(&mut d_input, &case.d_out, &case.weight, &g);
                depthwise_backward_weight_reference(
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

/// Keras's ReLU(max_value=6) forward and gradient, inputs of exactly 0 and 6 among them.
pub fn check_relu6_fixtures() {
    for case in fixture().relu6 {
        assert_eq!(case.shape, case.out_shape, "{}", case.name);
        let mut out = vec![f32::NAN; case.input.len()];
        relu6_forward(&mut out, &case.input);
        assert_matches_fixture(&out, &case.out, &format!("{}: forward", case.name));
        let mut d_input = vec![0.0; case.input.len()];
        relu6_backward(&mut d_input, &case.d_out, &out);
        // The gradient is d_out or 0: exact.
        assert_eq!(d_input, case.d_input, "{}: gradient", case.name);
    }
}

/// Keras's GlobalAveragePooling2D forward and gradient, fast and reference.
pub fn check_global_average_pool_fixtures() {
    for case in fixture().global_average_pool {
        let [n, h, w, c] = case.shape[..] else {
            panic!("{}: not a 4-D shape", case.name)
        };
        assert_eq!(case.out_shape, [n, c], "{}", case.name);
        for fast in [false, true] {
            let what = |t: &str| format!("{}: fast {fast} {t}", case.name);
            let mut out = vec![f32::NAN; n * c];
            let mut d_input = vec![0.0; case.input.len()];
            if fast {
                global_average_pool_forward(&mut out, &case.input, (n, h, w, c));
                global_average_pool_backward(&mut d_input, &case.d_out, (n, h, w, c));
            } else {
                global_average_pool_forward_reference(&mut out, &case.input, (n, h, w, c));
                global_average_pool_backward_reference(&mut d_input, &case.d_out, (n, h, w, c));
            }
            assert_matches_fixture(&out, &case.out, &what("forward"));
            assert_matches_fixture(&d_input, &case.d_input, &what("d_input"));
        }
    }
}
