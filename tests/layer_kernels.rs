//! Layer kernels against Keras 3 (JAX backend) fixtures and hand-checkable integer cases.

mod layer_support;

use convscope::kernels::activation::*;
use convscope::kernels::batchnorm::*;
use convscope::kernels::geometry::*;
use convscope::kernels::loss::*;
use convscope::kernels::optim::*;
use convscope::kernels::pool::*;
use layer_support::checks::*;
use layer_support::*;

#[test]
fn fixtures_come_from_keras_3_on_jax() {
    let generator = fixtures()["generator"].as_str().unwrap();
    assert!(
        generator.starts_with("keras 3.") && generator.ends_with("backend jax"),
        "{generator}"
    );
}

#[test]
fn pooling_matches_keras_forward_and_backward() {
    check_pooling_against_keras();
}

#[test]
fn max_pool_ties_send_the_gradient_to_the_first_in_scan_order_like_keras() {
    // The tie fixtures are small integers: most windows hold several equal maxima. A "last wins"
    // rule would differ from Keras by several units there (checked when the fixture was made).
    let case = &fixtures()["pooling"]["max_w2_s1_valid_ties"];
    let (shape, input) = array(&case["input"]);
    let g = PoolGeometry::new(
        shape[0],
        (shape[1], shape[2], shape[3]),
        2,
        1,
        Padding::Valid,
    )
    .unwrap();
    let mut out = vec![0.0; g.output_len()];
    let mut argmax = vec![0; g.output_len()];
    pool_forward(&mut out, Some(&mut argmax), &input, PoolKind::Max, &g);
    let tied_windows = (0..g.output_len())
        .filter(|&o| {
            let (n, rest) = (
                o / (g.out_h * g.out_w * g.channels),
                o % (g.out_h * g.out_w * g.channels),
            );
            let (oy, ox, c) = (
                rest / (g.out_w * g.channels),
                rest / g.channels % g.out_w,
                rest % g.channels,
            );
            let at = |y: usize, x: usize| input[((n * g.in_h + y) * g.in_w + x) * g.channels + c];
            [
                at(oy, ox),
                at(oy, ox + 1),
                at(oy + 1, ox),
                at(oy + 1, ox + 1),
            ]
            .iter()
            .filter(|&&v| v == out[o])
            .count()
                > 1
        })
        .count();
    assert!(
        tied_windows > 50,
        "the tie fixture should contain many ties, has {tied_windows}"
    );
    let mut d_input = vec![0.0; g.input_len()];
    pool_backward(
        &mut d_input,
        &data(&case["d_out"]),
        Some(&argmax),
        PoolKind::Max,
        &g,
    );
    assert_close(&d_input, &data(&case["d_input"]), "ties");
}

#[test]
fn pooling_hand_checked_integers() {
    // One 4x4 image holding 1..16, one channel.
    let input: Vec<f32> = (1..=16).map(|v| v as f32).collect();
    let g = PoolGeometry::new(1, (4, 4, 1), 2, 2, Padding::Valid).unwrap();
    let mut out = vec![0.0; 4];
    let mut argmax = vec![0; 4];
    pool_forward(&mut out, Some(&mut argmax), &input, PoolKind::Max, &g);
    assert_eq!(out, [6.0, 8.0, 14.0, 16.0]);
    assert_eq!(argmax, [5, 7, 13, 15]);
    pool_forward(&mut out, None, &input, PoolKind::Average, &g);
    assert_eq!(out, [3.5, 5.5, 11.5, 13.5]);

    let mut d_input = vec![0.0; 16];
    pool_backward(
        &mut d_input,
        &[1.0, 2.0, 3.0, 4.0],
        Some(&argmax),
        PoolKind::Max,
        &g,
    );
    let mut expected = [0.0; 16];
    expected[5] = 1.0;
    expected[7] = 2.0;
    expected[13] = 3.0;
    expected[15] = 4.0;
    assert_eq!(d_input, expected);

    // Window 3, stride 2, one padding cell on each side: outputs 2x2; the corner window covers
    // rows 0..2 and columns 0..2 only (4 real cells), padding is not counted in the average.
    let g = PoolGeometry::new(1, (4, 4, 1), 3, 2, Padding::Explicit(1)).unwrap();
    assert_eq!((g.out_h, g.out_w), (2, 2));
    let mut out = vec![0.0; 4];
    pool_forward(&mut out, None, &input, PoolKind::Average, &g);
    // top-left: 1 2 5 6 -> 3.5; top-right: columns 1..4 of rows 0..2: 2 3 4 6 7 8 -> 5
    // bottom-left: rows 1..4, columns 0..2: 5 6 9 10 13 14 -> 9.5; bottom-right: 9 cells -> 11
    assert_eq!(out, [3.5, 5.0, 9.5, 11.0]);
    let mut d_input = vec![0.0; 16];
    pool_backward(
        &mut d_input,
        &[4.0, 6.0, 0.0, 0.0],
        None,
        PoolKind::Average,
        &g,
    );
    // 4 spread over 4 cells, 6 over 6 cells; cells 1 and 5 are in both windows.
    assert_eq!(&d_input[..8], &[1.0, 2.0, 1.0, 1.0, 1.0, 2.0, 1.0, 1.0]);
    assert!(d_input[8..].iter().all(|&v| v == 0.0));
    pool_forward(&mut out, None, &input, PoolKind::Max, &g);
    assert_eq!(out, [6.0, 8.0, 14.0, 16.0]);

    // 'same' with window 2, stride 2 on 5 columns: the extra padding column is on the right.
    let row: Vec<f32> = vec![1.0, 9.0, 3.0, 4.0, 7.0];
    let g = PoolGeometry::new(1, (1, 5, 1), 1, 2, Padding::Same).unwrap();
    let mut out = vec![0.0; 3];
    pool_forward(&mut out, None, &row, PoolKind::Max, &g);
    assert_eq!(out, [1.0, 3.0, 7.0]);
}

/// Per-side padding (as ONNX and PyTorch models give it): window 2, stride 2 on the 4x4 image of
/// 1..16 with one padding row on top and one padding column on the left: padded 5x5, so
/// (5 - 2) / 2 + 1 = 2 outputs each way, the windows starting at rows and columns -1 and 1.
#[test]
fn pooling_with_per_side_padding() {
    let input: Vec<f32> = (1..=16).map(|v| v as f32).collect();
    let pads = Padding::PerSide {
        top: 1,
        bottom: 0,
        left: 1,
        right: 0,
    };
    let g = PoolGeometry::new(1, (4, 4, 1), 2, 2, pads).unwrap();
    assert_eq!((g.out_h, g.out_w, g.pad_top, g.pad_left), (2, 2, 1, 1));
    // Windows: {1}, {2 3}, {5 9}, {6 7 10 11}; row 3 and column 3 (13..16, 4, 8, 12) are never covered.
    let mut out = vec![0.0; 4];
    pool_forward(&mut out, None, &input, PoolKind::Average, &g);
    assert_eq!(out, [1.0, 2.5, 7.0, 8.5]);
    let mut argmax = vec![0; 4];
    pool_forward(&mut out, Some(&mut argmax), &input, PoolKind::Max, &g);
    assert_eq!(out, [1.0, 3.0, 9.0, 11.0]);
    assert_eq!(argmax, [0, 2, 8, 10]);
    // A side padded by a whole window would leave windows of padding only.
    let too_wide = Padding::PerSide {
        top: 0,
        bottom: 2,
        left: 0,
        right: 0,
    };
    let err = PoolGeometry::new(1, (4, 4, 1), 2, 2, too_wide).unwrap_err();
    assert!(err.to_string().contains("smaller than the window"), "{err}");
}

#[test]
fn pooling_backward_accumulates() {
    let input: Vec<f32> = (1..=16).map(|v| v as f32).collect();
    let g = PoolGeometry::new(1, (4, 4, 1), 2, 2, Padding::Valid).unwrap();
    let mut out = vec![0.0; 4];
    let mut argmax = vec![0; 4];
    pool_forward(&mut out, Some(&mut argmax), &input, PoolKind::Max, &g);
    let mut d_input = vec![10.0; 16];
    pool_backward(&mut d_input, &[1.0; 4], Some(&argmax), PoolKind::Max, &g);
    assert_eq!(d_input[5], 11.0);
    assert_eq!(d_input[0], 10.0);
    let mut d_input = vec![10.0; 16];
    pool_backward(&mut d_input, &[4.0; 4], None, PoolKind::Average, &g);
    assert!(d_input.iter().all(|&v| v == 11.0));
}

#[test]
fn batchnorm_matches_keras_in_training_and_inference() {
    check_batchnorm_against_keras();
}

#[test]
fn batchnorm_moving_statistics_equal_keras_bit_for_bit() {
    check_batchnorm_moving_statistics_bit_exact();
}

#[test]
fn batchnorm_hand_checked() {
    // One channel, rows 1 2 3 4 5 6: mean 3.5, biased variance 17.5 / 6; eps 0 would give
    // unit variance, so use a tiny epsilon and check the definition directly.
    let input = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
    let cfg = BatchNormConfig {
        momentum: 0.5,
        epsilon: 1e-6,
    };
    let mut out = [0.0; 6];
    let (mut mean, mut inv_std) = ([0.0], [0.0]);
    let (mut moving_mean, mut moving_var) = ([1.0], [1.0]);
    batchnorm_forward_train(
        &mut out,
        &mut mean,
        &mut inv_std,
        &mut moving_mean,
        &mut moving_var,
        &input,
        &[2.0],
        &[10.0],
        1,
        cfg,
    );
    let var = 17.5f32 / 6.0;
    assert_eq!(mean, [3.5]);
    assert_close(&inv_std, &[1.0 / (var + 1e-6).sqrt()], "inv_std");
    assert_close(&moving_mean, &[0.5 * 1.0 + 0.5 * 3.5], "moving mean");
    assert_close(
        &moving_var,
        &[0.5 * 1.0 + 0.5 * var],
        "moving var uses the biased variance",
    );
    let expected: Vec<f32> = input
        .iter()
        .map(|&x| (x - 3.5) / (var + 1e-6).sqrt() * 2.0 + 10.0)
        .collect();
    assert_close(&out, &expected, "normalized");
    // Gradient of sum(out) w.r.t. the input is 0: shifting all inputs changes nothing.
    let (mut d_input, mut d_gamma, mut d_beta) = ([0.0; 6], [0.0], [0.0]);
    batchnorm_backward(
        &mut d_input,
        &mut d_gamma,
        &mut d_beta,
        &[1.0; 6],
        &mean,
        &inv_std,
        &input,
        &[2.0],
        1,
    );
    assert_close_tol(&d_input, &[0.0; 6], 1e-6, 0.0, "d_input of a sum");
    assert_eq!(d_beta, [6.0]);
    assert_close_tol(&d_gamma, &[0.0], 1e-5, 0.0, "normalized values sum to 0");
}

#[test]
fn activations_match_keras() {
    for (name, forward, backward) in [
        (
            "relu",
            relu_forward as fn(&mut [f32], &[f32]),
            relu_backward as fn(&mut [f32], &[f32], &[f32]),
        ),
        ("sigmoid", sigmoid_forward, sigmoid_backward),
    ] {
        let case = &fixtures()["activations"][name];
        let input = data(&case["input"]);
        let mut out = vec![0.0; input.len()];
        forward(&mut out, &input);
        assert_close(&out, &data(&case["out"]), &format!("{name} forward"));
        let mut d_input = vec![0.0; input.len()];
        backward(&mut d_input, &data(&case["d_out"]), &out);
        assert_close(
            &d_input,
            &data(&case["d_input"]),
            &format!("{name} backward"),
        );
    }
}

#[test]
fn activations_hand_checked() {
    let mut out = [0.0; 4];
    relu_forward(&mut out, &[-2.0, 0.0, 3.0, f32::NAN]);
    assert_eq!(&out[..3], &[0.0, 0.0, 3.0]);
    assert!(out[3].is_nan(), "a NaN must stay visible");
    let mut d = [1.0; 4];
    relu_backward(&mut d, &[5.0; 4], &[0.0, 0.0, 3.0, 0.0]);
    assert_eq!(d, [1.0, 1.0, 6.0, 1.0]);
    assert_eq!(sigmoid(0.0), 0.5);
    assert_eq!(sigmoid(-1000.0), 0.0);
    assert_eq!(sigmoid(1000.0), 1.0);
    let mut d = [0.0];
    sigmoid_backward(&mut d, &[4.0], &[0.5]);
    assert_eq!(d, [1.0]);
}

#[test]
fn binary_cross_entropy_matches_keras() {
    for name in ["bce_hard", "bce_soft"] {
        let case = &fixtures()["losses"][name];
        let (logits, labels) = (data(&case["logits"]), data(&case["labels"]));
        let loss = binary_cross_entropy_with_logits_forward(&logits, &labels);
        assert_close(&[loss], &[number(&case["loss"])], &format!("{name} loss"));
        let mut d_logits = vec![0.0; logits.len()];
        binary_cross_entropy_with_logits_backward(&mut d_logits, &logits, &labels, 1.0);
        assert_close(
            &d_logits,
            &data(&case["d_logits"]),
            &format!("{name} d_logits"),
        );
        let probs = data(&case["probs"]);
        let from_probs = binary_cross_entropy_from_probabilities(&probs, &labels);
        assert_close(
            &[from_probs],
            &[number(&case["loss_from_probs"])],
            &format!("{name} Keras clipped loss"),
        );
    }
}

#[test]
fn logit_loss_keeps_what_the_probability_clip_loses() {
    // A confidently wrong prediction: logit 40 for label 0. Keras's clipped loss from the
    // probability stops at -ln(1 - (1 - 1e-7)) where 1 - 1e-7 rounds to 1 - 2^-23 in f32: 15.94.
    // The loss from the logit is the true 40, and its gradient is the full (sigmoid - y) = 1.
    let clipped = binary_cross_entropy_from_probabilities(&[sigmoid(40.0)], &[0.0]);
    assert_close(&[clipped], &[-(2f32.powi(-23)).ln()], "clipped");
    assert_close(&[clipped], &[15.942385], "clipped, as Keras prints it");
    let exact = binary_cross_entropy_with_logits_forward(&[40.0], &[0.0]);
    assert_close(&[exact], &[40.0], "exact");
    let mut d = [0.0];
    binary_cross_entropy_with_logits_backward(&mut d, &[40.0], &[0.0], 1.0);
    assert_eq!(d, [1.0]);
    // Hand-checkable: logit 0 is probability 1/2 whatever the label: ln 2.
    assert_close(
        &[binary_cross_entropy_with_logits_forward(
            &[0.0, 0.0],
            &[1.0, 0.0],
        )],
        &[std::f32::consts::LN_2],
        "ln 2",
    );
}

#[test]
fn categorical_cross_entropy_matches_keras() {
    for name in ["cce_one_hot", "cce_soft"] {
        let case = &fixtures()["losses"][name];
        let (shape, logits) = array(&case["logits"]);
        let labels = data(&case["labels"]);
        let classes = shape[1];
        let mut probs = vec![0.0; logits.len()];
        let loss =
            categorical_cross_entropy_with_logits_forward(&mut probs, &logits, &labels, classes);
        assert!(loss.is_finite());
        assert_close(&[loss], &[number(&case["loss"])], &format!("{name} loss"));
        assert_close(&probs, &data(&case["probs"]), &format!("{name} softmax"));
        let mut d_logits = vec![0.0; logits.len()];
        categorical_cross_entropy_with_logits_backward(
            &mut d_logits,
            &probs,
            &labels,
            classes,
            1.0,
        );
        assert_close(
            &d_logits,
            &data(&case["d_logits"]),
            &format!("{name} d_logits"),
        );
    }
}

#[test]
fn categorical_cross_entropy_hand_checked() {
    // Two equal logits: probability 1/2 each; loss ln 2; gradient (1/2 - 1, 1/2) / 1 row.
    let mut probs = [0.0; 2];
    let loss =
        categorical_cross_entropy_with_logits_forward(&mut probs, &[3.0, 3.0], &[1.0, 0.0], 2);
    assert_close(&[loss], &[std::f32::consts::LN_2], "ln 2");
    let mut d = [0.0; 2];
    categorical_cross_entropy_with_logits_backward(&mut d, &probs, &[1.0, 0.0], 2, 2.0);
    assert_eq!(d, [-1.0, 1.0]);
}

#[test]
fn adam_matches_keras_over_three_steps() {
    check_adam_against_keras();
    let default = &fixtures()["optimizers"]["adam_default"];
    let cfg = AdamConfig::default();
    assert_eq!(
        (cfg.learning_rate, cfg.beta_1, cfg.beta_2, cfg.epsilon),
        (
            number(&default["lr"]),
            default["beta_1"].as_f64().unwrap(),
            default["beta_2"].as_f64().unwrap(),
            number(&default["epsilon"])
        )
    );
}

#[test]
fn adam_equals_keras_bit_for_bit() {
    check_adam_bit_exact();
}

#[test]
fn adam_hand_checked_first_step() {
    // At step 1 the bias-corrected update is lr * g / (|g| + eps / sqrt(1 - beta_2)) ~ lr * sign(g):
    // m = 0.1 g, v = 0.001 g^2, alpha = lr sqrt(0.001) / 0.1.
    let mut params = [1.0, 1.0];
    let mut state = AdamState::new(2);
    adam_step(
        &mut params,
        &[0.5, -2.0],
        &mut state,
        &AdamConfig {
            epsilon: 0.0,
            ..AdamConfig::default()
        },
    );
    assert_close_tol(&params, &[0.999, 1.001], 1e-7, 0.0, "one step of size lr");
}

#[test]
fn sgd_matches_keras_over_three_steps() {
    for name in ["sgd_plain", "sgd_momentum", "sgd_nesterov"] {
        let case = &fixtures()["optimizers"][name];
        let cfg = SgdConfig {
            learning_rate: number(&case["lr"]),
            momentum: number(&case["momentum"]),
            nesterov: case["nesterov"].as_bool().unwrap(),
        };
        let mut params = data(&case["param"]);
        let mut state = SgdState::new(params.len());
        for (k, (g, expected)) in case["grads"]
            .as_array()
            .unwrap()
            .iter()
            .zip(case["after"].as_array().unwrap())
            .enumerate()
        {
            sgd_step(&mut params, &data(g), &mut state, &cfg);
            assert_close(
                &params,
                &data(expected),
                &format!("{name}: after step {}", k + 1),
            );
        }
    }
    assert_eq!(
        SgdConfig::default(),
        SgdConfig {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false
        }
    );
}

#[test]
fn sgd_hand_checked_momentum() {
    // velocity: -0.1, then 0.9 * -0.1 - 0.1 = -0.19; params 1 -> 0.9 -> 0.71.
    let mut params = [1.0];
    let mut state = SgdState::new(1);
    let cfg = SgdConfig {
        learning_rate: 0.1,
        momentum: 0.9,
        nesterov: false,
    };
    sgd_step(&mut params, &[1.0], &mut state, &cfg);
    sgd_step(&mut params, &[1.0], &mut state, &cfg);
    assert_close_tol(&params, &[0.71], 1e-6, 0.0, "momentum");
}
