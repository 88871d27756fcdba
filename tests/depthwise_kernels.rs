//! Depthwise convolution, ReLU6, global average pooling and add: hand-checked cases, Keras/JAX
//! fixtures, finite differences, and the fast kernels against the scalar references on random
//! odd geometries (the check bodies live in `depthwise_support`, which the browser suite
//! `wasm_depthwise.rs` runs too). Natively fast and reference agree bit for bit.

mod alloc_support;
mod depthwise_support;
mod kernel_support;

use convscope::kernels::depthwise::*;
use convscope::kernels::geometry::*;
use depthwise_support::*;
use kernel_support::{random_vec, seeded};

#[test]
fn depthwise_hand_cases() {
    check_depthwise_hand_cases();
}

#[test]
fn relu6_hand_cases() {
    check_relu6_hand_cases();
}

#[test]
fn global_average_pool_and_add_hand_cases() {
    check_pool_and_add_hand_cases();
}

#[test]
fn depthwise_fast_matches_reference_on_random_geometries() {
    check_depthwise_random_geometries(41, 400);
}

#[test]
fn global_average_pool_fast_matches_reference() {
    check_global_average_pool_random(43);
}

#[test]
fn depthwise_gradients_match_finite_differences() {
    check_depthwise_finite_differences();
}

#[test]
fn relu6_pool_and_add_gradients_match_finite_differences() {
    check_other_finite_differences();
}

#[test]
fn depthwise_matches_keras_fixtures() {
    check_depthwise_fixtures();
}

#[test]
fn relu6_matches_keras_fixtures() {
    check_relu6_fixtures();
}

#[test]
fn global_average_pool_matches_keras_fixtures() {
    check_global_average_pool_fixtures();
}

/// EfficientNet-Lite0's depthwise shapes at 112 and 56 pixels (3x3 and 5x5, strides 1 and 2,
/// 'same' and the per-side pads a PyTorch export uses): fast against reference on real sizes.
#[test]
fn efficientnet_shapes_fast_matches_reference() {
    let mut rng = seeded(47);
    let per_side = Padding::PerSide {
        top: 0,
        bottom: 1,
        left: 0,
        right: 1,
    };
    for g in [
        DepthwiseGeometry::new(1, (112, 112, 32), (3, 3), 1, 1, Padding::Same).unwrap(),
        DepthwiseGeometry::new(1, (112, 112, 96), (3, 3), 2, 1, per_side).unwrap(),
        DepthwiseGeometry::new(2, (56, 56, 144), (5, 5), 2, 1, Padding::Same).unwrap(),
    ] {
        let input = random_vec(&mut rng, g.input_len());
        let weight = random_vec(&mut rng, g.weight_len());
        let bias = random_vec(&mut rng, g.channels);
        let d_out = random_vec(&mut rng, g.output_len());
        let (mut want, mut got) = (vec![0.0; g.output_len()], vec![0.0; g.output_len()]);
        depthwise_forward_reference(&mut want, &input, &weight, Some(&bias), &g);
        depthwise_forward(&mut got, &input, &weight, Some(&bias), None, &g);
        assert_agrees(&got, &want, "forward");
        let (mut want, mut got) = (vec![0.0; g.input_len()], vec![0.0; g.input_len()]);
        depthwise_backward_input_reference(&mut want, &d_out, &weight, &g);
        depthwise_backward_input(&mut got, &d_out, &weight, &g);
        assert_agrees(&got, &want, "d_input");
        let (mut want, mut got) = (vec![0.0; g.weight_len()], vec![0.0; g.weight_len()]);
        let (mut want_b, mut got_b) = (vec![0.0; g.channels], vec![0.0; g.channels]);
        depthwise_backward_weight_reference(&mut want, Some(&mut want_b), &d_out, &input, &g);
        depthwise_backward_weight(&mut got, Some(&mut got_b), &d_out, &input, &g);
        assert_agrees(&got, &want, "d_weight");
        assert_agrees(&got_b, &want_b, "d_bias");
    }
}

#[global_allocator]
static ALLOCATOR: alloc_support::Counting = alloc_support::Counting;

/// The fast kernels take no scratch and allocate nothing: a forward and backward step of a
/// depthwise layer, ReLU6, global average pooling and a residual add.
#[test]
fn fast_kernels_allocate_nothing() {
    use convscope::kernels::activation::*;
    use convscope::kernels::elementwise::*;
    use convscope::kernels::pool::*;
    let mut rng = seeded(53);
    let g = DepthwiseGeometry::new(2, (15, 13, 37), (5, 5), 2, 1, Padding::Same).unwrap();
    let input = random_vec(&mut rng, g.input_len());
    let weight = random_vec(&mut rng, g.weight_len());
    let bias = random_vec(&mut rng, g.channels);
    let d_out = random_vec(&mut rng, g.output_len());
    let mut out = vec![0.0; g.output_len()];
    let mut act = vec![0.0; g.output_len()];
    let mut sum = vec![0.0; g.output_len()];
    let mut pooled = vec![0.0; g.batch * g.channels];
    let mut d_act = vec![0.0; g.output_len()];
    let mut d_input = vec![0.0; g.input_len()];
    let mut d_weight = vec![0.0; g.weight_len()];
    let mut d_bias = vec![0.0; g.channels];
    let shape = (g.batch, g.out_h, g.out_w, g.channels);
    let count = alloc_support::count(|| {
        depthwise_forward(&mut out, &input, &weight, Some(&bias), RELU6_CLIP, &g);
        relu6_forward(&mut act, &out);
        add_forward(&mut sum, &act, &out);
        global_average_pool_forward(&mut pooled, &sum, shape);
        global_average_pool_backward(&mut d_act, &pooled, shape);
        add_backward(&mut d_act, &d_out);
        relu6_backward(&mut d_act, &d_out, &act);
        depthwise_backward_input(&mut d_input, &d_act, &weight, &g);
        depthwise_backward_weight(&mut d_weight, Some(&mut d_bias), &d_act, &input, &g);
    });
    assert_eq!(count, 0, "the fast kernels allocated");
}
