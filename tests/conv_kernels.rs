//! Convolution kernels: hand-checked cases, reference-framework fixtures, finite differences,
//! and the fast kernels against the scalar references on many odd geometries.

mod alloc_support;
mod kernel_support;

use convscope::kernels::conv::*;
use convscope::kernels::geometry::*;
use convscope::kernels::scratch::ConvScratch;
use kernel_support::*;

/// Forward (bias, and bias + fused ReLU) against Keras/JAX, fast and reference.
#[test]
fn forward_matches_keras_fixtures() {
    check_conv_forward_fixtures();
}

/// d_input, d_weight and d_bias for the fixture's upstream gradient, fast and reference.
#[test]
fn gradients_match_keras_fixtures() {
    check_conv_gradient_fixtures();
}

/// The fast kernels agree with the scalar references (bias or none, ReLU or none) on random odd geometries.
#[test]
fn fast_matches_reference_on_random_geometries() {
    check_conv_random_geometries(7, 300);
}

/// Runs the fast forward and returns the output (reference agreement is tested elsewhere).
fn forward(input: &[f32], weight: &[f32], bias: Option<&[f32]>, g: &ConvGeometry) -> Vec<f32> {
    let mut out = vec![f32::NAN; g.output_len()];
    conv2d_forward(
        &mut out,
        input,
        weight,
        bias,
        false,
        g,
        &mut ConvScratch::new(),
    );
    let mut want = vec![f32::NAN; g.output_len()];
    conv2d_forward_reference(&mut want, input, weight, bias, g);
    assert_eq!(out, want, "integer inputs must give identical results");
    out
}

fn ramp(len: usize) -> Vec<f32> {
    (0..len).map(|v| v as f32).collect()
}

/// A 4x4 ramp (0..15) under a 2x2 all-ones kernel with stride 2: each output is a 2x2 block sum.
#[test]
fn ramp_with_ones_kernel_stride_2() {
    let g = ConvGeometry::new(1, (4, 4, 1), (2, 2, 1), 2, 1, Padding::Valid).unwrap();
    assert_eq!((g.out_h, g.out_w), (2, 2));
    // 0 1 2 3 / 4 5 6 7 / 8 9 10 11 / 12 13 14 15
    assert_eq!(
        forward(&ramp(16), &[1.0; 4], Some(&[0.5]), &g),
        [10.5, 18.5, 42.5, 50.5]
    );

    // Every input pixel is in exactly one window: with d_out = 1 its gradient is the kernel value.
    let (mut d_input, mut d_weight, mut d_bias) = (vec![0.0; 16], vec![0.0; 4], vec![0.0; 1]);
    let mut scratch = ConvScratch::new();
    conv2d_backward_input(
        &mut d_input,
        &[1.0, 1.0, 1.0, 1.0],
        &[1.0, 2.0, 3.0, 4.0],
        &g,
        &mut scratch,
    );
    assert_eq!(
        d_input,
        [1., 2., 1., 2., 3., 4., 3., 4., 1., 2., 1., 2., 3., 4., 3., 4.]
    );
    // d_weight[ky][kx] = sum of the pixels at that offset in each window: 0+2+8+10, 1+3+9+11, ...
    conv2d_backward_weight(
        &mut d_weight,
        Some(&mut d_bias),
        &[1.0; 4],
        &ramp(16),
        &g,
        &mut scratch,
    );
    assert_eq!(d_weight, [20.0, 24.0, 36.0, 40.0]);
    assert_eq!(d_bias, [4.0]);
}

/// The chapter's example: a 14x14 input and a 4x4 filter with stride 2 give a 6x6 output.
#[test]
fn chapter_14x14_input_4x4_filter_stride_2_gives_6x6() {
    let g = ConvGeometry::new(1, (14, 14, 1), (4, 4, 1), 2, 1, Padding::Valid).unwrap();
    assert_eq!((g.out_h, g.out_w), (6, 6));
    // The last window starts at row/column 10 and covers 10..13: the formula floor((14 - 4) / 2) + 1.
    let out = forward(&ramp(196), &[1.0; 16], None, &g);
    let window_sum = |r: usize, c: usize| -> f32 {
        (0..4)
            .flat_map(|y| (0..4).map(move |x| ((r + y) * 14 + c + x) as f32))
            .sum()
    };
    assert_eq!(out[0], window_sum(0, 0));
    assert_eq!(out[35], window_sum(10, 10));
    assert_eq!(out[6 + 2], window_sum(2, 4));
}

/// The textbook vertical edge detector on a 6x6 image, bright left half, dark right half.
#[test]
fn vertical_edge_filter_finds_the_edge() {
    let g = ConvGeometry::new(1, (6, 6, 1), (3, 3, 1), 1, 1, Padding::Valid).unwrap();
    let image: Vec<f32> = (0..36)
        .map(|i| if i % 6 < 3 { 10.0 } else { 0.0 })
        .collect();
    let kernel = [1.0, 0.0, -1.0, 1.0, 0.0, -1.0, 1.0, 0.0, -1.0];
    let row = [0.0, 30.0, 30.0, 0.0];
    assert_eq!(forward(&image, &kernel, None, &g), row.repeat(4));
}

/// 'same' with an even kernel pads like TensorFlow: the extra row and column go to the bottom/right.
#[test]
fn same_padding_with_even_kernel_pads_bottom_right() {
    let g = ConvGeometry::new(1, (4, 4, 1), (2, 2, 1), 1, 1, Padding::Same).unwrap();
    assert_eq!(
        (g.pad_top, g.pad_bottom, g.pad_left, g.pad_right),
        (0, 1, 0, 1)
    );
    let out = forward(&ramp(16), &[1.0; 4], None, &g);
    assert_eq!(out[0], 0.0 + 1.0 + 4.0 + 5.0);
    assert_eq!(out[3], 3.0 + 7.0); // right column: only one kernel column lands inside
    assert_eq!(out[12], 12.0 + 13.0); // bottom row
    assert_eq!(out[15], 15.0); // bottom-right corner sees one pixel
                               // Stride 2 on 5 columns: out = ceil(5/2) = 3, total padding (3-1)*2 + 3 - 5 = 2, split 1/1.
    let g = ConvGeometry::new(1, (5, 5, 1), (3, 3, 1), 2, 1, Padding::Same).unwrap();
    assert_eq!((g.out_h, g.pad_top, g.pad_bottom), (3, 1, 1));
}

/// Explicit padding 1 on a 3x3 image of ones with a 3x3 ones kernel counts each pixel's neighbours.
#[test]
fn explicit_padding_counts_neighbours() {
    let g = ConvGeometry::new(1, (3, 3, 1), (3, 3, 1), 1, 1, Padding::Explicit(1)).unwrap();
    assert_eq!(
        forward(&[1.0; 9], &[1.0; 9], None, &g),
        [4., 6., 4., 6., 9., 6., 4., 6., 4.]
    );
}

/// Per-side padding: a 3x3 ramp with two zero rows on top, none at the bottom, none on the
/// left and one column on the right, under a 2x2 ones kernel with stride 1 (padded 5x4, out 4x3).
/// Rows -2 and -1 are padding: the first output row sees only padding, the second only image
/// row 0; the last column's windows see image column 2 and the padding column.
#[test]
fn per_side_padding_pads_each_side_as_asked() {
    let pads = Padding::PerSide {
        top: 2,
        bottom: 0,
        left: 0,
        right: 1,
    };
    let g = ConvGeometry::new(1, (3, 3, 1), (2, 2, 1), 1, 1, pads).unwrap();
    assert_eq!(
        (
            g.out_h,
            g.out_w,
            g.pad_top,
            g.pad_bottom,
            g.pad_left,
            g.pad_right
        ),
        (4, 3, 2, 0, 0, 1)
    );
    // 0 1 2 / 3 4 5 / 6 7 8
    let out = forward(&ramp(9), &[1.0; 4], None, &g);
    assert_eq!(out, [0., 0., 0., 1., 3., 2., 8., 12., 7., 20., 24., 13.]);
    // With d_out = 1, each pixel's gradient counts the windows over it: image rows 0 and 1 are
    // each under two output rows, row 2 only under the last; column 0 is under one output
    // column, columns 1 and 2 under two.
    let mut d_input = vec![0.0; 9];
    conv2d_backward_input(
        &mut d_input,
        &[1.0; 12],
        &[1.0; 4],
        &g,
        &mut ConvScratch::new(),
    );
    let mut want = vec![0.0; 9];
    conv2d_backward_input_reference(&mut want, &[1.0; 12], &[1.0; 4], &g);
    assert_eq!(d_input, want);
    assert_eq!(d_input, [2., 4., 4., 2., 4., 4., 1., 2., 2.]);
}

/// Dilation 2 spreads a 2x2 kernel over a 3x3 span: out(0,0) = x(0,0) + x(0,2) + x(2,0) + x(2,2).
#[test]
fn dilation_2_skips_every_other_pixel() {
    let g = ConvGeometry::new(1, (5, 5, 1), (2, 2, 1), 1, 2, Padding::Valid).unwrap();
    assert_eq!((g.out_h, g.out_w), (3, 3));
    let out = forward(&ramp(25), &[1.0; 4], None, &g);
    assert_eq!(out[0], 0.0 + 2.0 + 10.0 + 12.0);
    assert_eq!(out[8], 12.0 + 14.0 + 22.0 + 24.0);
}

/// Channels: a 1x1 kernel mixes the channels of each pixel, and each filter makes one output channel.
#[test]
fn channels_sum_into_each_filter() {
    let g = ConvGeometry::new(1, (1, 2, 3), (1, 1, 2), 1, 1, Padding::Valid).unwrap();
    // Pixel 0 = (1, 2, 3), pixel 1 = (4, 5, 6); filter 0 = (1, 1, 1), filter 1 = (1, 0, -1).
    let weight = [1.0, 1.0, 1.0, 0.0, 1.0, -1.0];
    assert_eq!(
        forward(&[1., 2., 3., 4., 5., 6.], &weight, Some(&[0.0, 100.0]), &g),
        [6.0, 98.0, 15.0, 98.0]
    );
}

#[test]
fn impossible_geometries_are_explained() {
    let err = ConvGeometry::new(1, (3, 3, 1), (5, 5, 1), 1, 1, Padding::Valid).unwrap_err();
    assert!(
        err.to_string().contains("larger than the padded input"),
        "{err}"
    );
    assert!(ConvGeometry::new(1, (8, 8, 1), (3, 3, 1), 0, 1, Padding::Valid).is_err());
    assert!(ConvGeometry::new(1, (8, 8, 1), (3, 3, 1), 1, 0, Padding::Valid).is_err());
    assert!(ConvGeometry::new(0, (8, 8, 1), (3, 3, 1), 1, 1, Padding::Valid).is_err());
    // Dilation 3 makes a 3x3 kernel span 7 pixels: too big for 6 without padding, fine with 'same'.
    assert!(ConvGeometry::new(1, (6, 6, 1), (3, 3, 1), 1, 3, Padding::Valid).is_err());
    assert!(ConvGeometry::new(1, (6, 6, 1), (3, 3, 1), 1, 3, Padding::Same).is_ok());
}

/// Loss L = sum(out * r) for fixed random r, in f64; its gradients are the backward passes with d_out = r.
fn loss(input: &[f32], weight: &[f32], bias: &[f32], r: &[f32], g: &ConvGeometry) -> f64 {
    let mut out = vec![0.0; g.output_len()];
    conv2d_forward(
        &mut out,
        input,
        weight,
        Some(bias),
        false,
        g,
        &mut ConvScratch::new(),
    );
    out.iter().zip(r).map(|(&o, &r)| o as f64 * r as f64).sum()
}

/// Central differences of L against every element of d_input, d_weight and d_bias.
#[test]
fn gradients_match_finite_differences() {
    let mut rng = seeded(3);
    let geometries = [
        ConvGeometry::new(2, (5, 7, 3), (3, 2, 4), 2, 1, Padding::Same).unwrap(),
        ConvGeometry::new(1, (6, 5, 2), (2, 3, 3), 1, 2, Padding::Explicit(1)).unwrap(),
        ConvGeometry::new(1, (7, 6, 5), (4, 4, 5), 3, 1, Padding::Same).unwrap(),
    ];
    for g in geometries {
        let input = random_vec(&mut rng, g.input_len());
        let weight = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, g.out_c);
        let r = random_vec(&mut rng, g.output_len());
        let mut scratch = ConvScratch::new();
        let (mut d_input, mut d_weight, mut d_bias) = (
            vec![0.0; g.input_len()],
            vec![0.0; g.weight_len()],
            vec![0.0; g.out_c],
        );
        conv2d_backward_input(&mut d_input, &r, &weight, &g, &mut scratch);
        conv2d_backward_weight(
            &mut d_weight,
            Some(&mut d_bias),
            &r,
            &input,
            &g,
            &mut scratch,
        );
        // L is linear in each argument, so a large step costs no truncation error and keeps f32 rounding small.
        let h = 0.25f32;
        let numeric = |which: usize, idx: usize| -> f32 {
            let at = |step: f32| {
                let mut args = [input.clone(), weight.clone(), bias.clone()];
                args[which][idx] += step;
                loss(&args[0], &args[1], &args[2], &r, &g)
            };
            let (plus, minus) = (at(h), at(-h));
            ((plus - minus) / (2.0 * h as f64)) as f32
        };
        for (which, analytic) in [(0, &d_input), (1, &d_weight), (2, &d_bias)] {
            let fd: Vec<f32> = (0..analytic.len()).map(|idx| numeric(which, idx)).collect();
            assert_close(
                analytic,
                &fd,
                2e-4,
                1e-3,
                &format!(
                    "{:?} gradient {which} vs finite differences, {g:?}",
                    ["d_input", "d_weight", "d_bias"][which]
                ),
            );
        }
    }
}

/// The weight gradient's passes and tiles on odd geometries (see the check's comment).
#[test]
fn weight_gradient_passes_match_reference() {
    check_conv_weight_gradient_passes();
}

/// The chapter's two convolutions at a small batch: fast against reference on real sizes.
#[test]
fn chapter_shapes_fast_matches_reference() {
    let mut rng = seeded(5);
    for g in [
        ConvGeometry::new(2, (64, 64, 3), (5, 5, 16), 1, 1, Padding::Same).unwrap(),
        ConvGeometry::new(2, (32, 32, 16), (5, 5, 32), 1, 1, Padding::Same).unwrap(),
    ] {
        let input = random_vec(&mut rng, g.input_len());
        let weight = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, g.out_c);
        let d_out = random_vec(&mut rng, g.output_len());
        let mut scratch = ConvScratch::new();
        let (mut want, mut got) = (vec![0.0; g.output_len()], vec![0.0; g.output_len()]);
        conv2d_forward_reference(&mut want, &input, &weight, Some(&bias), &g);
        conv2d_forward(
            &mut got,
            &input,
            &weight,
            Some(&bias),
            false,
            &g,
            &mut scratch,
        );
        assert_close(&got, &want, 1e-4, 1e-5, "chapter forward");
        let (mut want, mut got) = (vec![0.0; g.input_len()], vec![0.0; g.input_len()]);
        conv2d_backward_input_reference(&mut want, &d_out, &weight, &g);
        conv2d_backward_input(&mut got, &d_out, &weight, &g, &mut scratch);
        assert_close(&got, &want, 1e-4, 1e-5, "chapter d_input");
        let (mut want, mut got) = (vec![0.0; g.weight_len()], vec![0.0; g.weight_len()]);
        let (mut want_b, mut got_b) = (vec![0.0; g.out_c], vec![0.0; g.out_c]);
        conv2d_backward_weight_reference(&mut want, Some(&mut want_b), &d_out, &input, &g);
        conv2d_backward_weight(&mut got, Some(&mut got_b), &d_out, &input, &g, &mut scratch);
        // Sums over 8192 products: allow for f32 rounding in a different order.
        assert_close(&got, &want, 2e-3, 1e-4, "chapter d_weight");
        assert_close(&got_b, &want_b, 2e-3, 1e-4, "chapter d_bias");
    }
}

#[global_allocator]
static ALLOCATOR: alloc_support::Counting = alloc_support::Counting;

/// Once the scratch fits a geometry, a training step's convolutions allocate nothing, and the scratch does not grow.
#[test]
fn no_allocation_once_scratch_is_grown() {
    let mut rng = seeded(9);
    let big = ConvGeometry::new(3, (20, 18, 16), (5, 5, 32), 1, 1, Padding::Same).unwrap();
    let small = ConvGeometry::new(3, (19, 17, 3), (3, 3, 16), 2, 1, Padding::Valid).unwrap();
    let mut scratch = ConvScratch::for_geometries(&[big, small]);
    let size = scratch.len_bytes();
    assert!(size > 0);
    for g in [big, small, big] {
        let input = random_vec(&mut rng, g.input_len());
        let weight = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, g.out_c);
        let d_out = random_vec(&mut rng, g.output_len());
        let mut out = vec![0.0; g.output_len()];
        let mut d_input = vec![0.0; g.input_len()];
        let mut d_weight = vec![0.0; g.weight_len()];
        let mut d_bias = vec![0.0; g.out_c];
        let count = alloc_support::count(|| {
            conv2d_forward(
                &mut out,
                &input,
                &weight,
                Some(&bias),
                true,
                &g,
                &mut scratch,
            );
            conv2d_backward_input(&mut d_input, &d_out, &weight, &g, &mut scratch);
            conv2d_backward_weight(
                &mut d_weight,
                Some(&mut d_bias),
                &d_out,
                &input,
                &g,
                &mut scratch,
            );
        });
        assert_eq!(count, 0, "{g:?} allocated");
        assert_eq!(scratch.len_bytes(), size, "the scratch grew");
    }
    // A fresh scratch grows on first use to the same size, and its size does not depend on the batch.
    let mut fresh = ConvScratch::new();
    let g = big;
    let mut out = vec![0.0; g.output_len()];
    conv2d_forward(
        &mut out,
        &random_vec(&mut rng, g.input_len()),
        &random_vec(&mut rng, g.weight_len()),
        None,
        false,
        &g,
        &mut fresh,
    );
    assert_eq!(
        fresh.len_bytes(),
        ConvScratch::for_geometries(&[big]).len_bytes()
    );
    let batch_of_32 = ConvGeometry::new(32, (20, 18, 16), (5, 5, 32), 1, 1, Padding::Same).unwrap();
    assert_eq!(
        ConvScratch::for_geometries(&[batch_of_32]).len_bytes(),
        fresh.len_bytes()
    );
}
