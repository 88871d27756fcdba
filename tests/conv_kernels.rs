//! Convolution kernels: hand-checked cases, reference-framework fixtures, finite differences,
//! and the fast kernels against the scalar references on many odd geometries.

mod kernel_support;

use convscope::kernels::conv::*;
use convscope::kernels::scratch::ConvScratch;
use kernel_support::*;

/// The fast kernels agree with the scalar references (bias or none, ReLU or none) on random odd geometries.
#[test]
fn fast_matches_reference_on_random_geometries() {
    let mut rng = seeded(7);
    let mut scratch = ConvScratch::new();
    for case in 0..300 {
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
        conv2d_backward_weight_reference(&mut want_w, with_bias.then_some(&mut want_b[..]), &d_out, &input, &g);
        conv2d_backward_weight(&mut got_w, with_bias.then_some(&mut got_b[..]), &d_out, &input, &g, &mut scratch);
        assert_close(&got_w, &want_w, 1e-4, 1e-5, &format!("d_weight, {what}"));
        assert_close(&got_b, &want_b, 1e-4, 1e-5, &format!("d_bias, {what}"));
    }
}
