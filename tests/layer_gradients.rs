//! Layer kernels checked without a reference framework: finite-difference gradients, fast
//! kernels against their scalar references on odd sizes, dropout and initializer statistics,
//! and the settings a student can get wrong.
//!
//! Finite differences run in f32 with a central step of 1e-2 (1e-3 for pooling), so they are
//! held to 1e-3 abs + 1e-2 rel: the step's truncation error and the f32 rounding of the loss
//! divided by the step are both well below that, while a wrong term in a gradient is not.

mod layer_support;

use convscope::kernels::activation::*;
use convscope::kernels::batchnorm::*;
use convscope::kernels::dropout::*;
use convscope::kernels::geometry::*;
use convscope::kernels::init::*;
use convscope::kernels::loss::*;
use convscope::kernels::optim::*;
use convscope::kernels::pool::*;
use layer_support::*;
use rand::RngExt;

fn assert_gradient(analytic: &[f32], numeric: &[f32], what: &str) {
    assert_close_tol(analytic, numeric, 1e-3, 1e-2, what);
}

/// Geometries with odd sizes, every padding kind, strides below, at and above the window.
fn pool_geometries() -> Vec<PoolGeometry> {
    let mut out = Vec::new();
    for &(batch, h, w, c) in &[
        (1, 1, 1, 1),
        (2, 7, 5, 5),
        (3, 6, 9, 3),
        (1, 8, 8, 4),
        (2, 5, 4, 9),
        (1, 11, 7, 17),
    ] {
        for window in 1..=4 {
            for stride in 1..=4 {
                for padding in [
                    Padding::Valid,
                    Padding::Same,
                    Padding::Explicit(1),
                    Padding::Explicit(2),
                    Padding::PerSide {
                        top: 0,
                        bottom: 1,
                        left: 2,
                        right: 0,
                    },
                    Padding::PerSide {
                        top: 1,
                        bottom: 0,
                        left: 0,
                        right: 1,
                    },
                ] {
                    if let Ok(g) = PoolGeometry::new(batch, (h, w, c), window, stride, padding) {
                        out.push(g);
                    }
                }
            }
        }
    }
    assert!(out.len() > 250, "{} geometries", out.len());
    out
}

#[test]
fn pool_fast_equals_reference_bit_for_bit_on_odd_sizes() {
    let mut rng = seeded(1);
    for g in pool_geometries() {
        // Half the inputs are small integers so that ties are common.
        for ties in [false, true] {
            let input: Vec<f32> = (0..g.input_len())
                .map(|_| {
                    if ties {
                        rng.random_range(-2..3) as f32
                    } else {
                        rng.random::<f32>() * 2.0 - 1.0
                    }
                })
                .collect();
            let d_out = random_vec(g.output_len(), &mut rng);
            for kind in [PoolKind::Max, PoolKind::Average] {
                let mut reference = vec![0.0; g.output_len()];
                pool_forward_reference(&mut reference, &input, kind, &g);
                let mut fast = vec![f32::NAN; g.output_len()];
                let mut argmax = vec![u32::MAX; g.output_len()];
                pool_forward(&mut fast, Some(&mut argmax), &input, kind, &g);
                assert_eq!(fast, reference, "{kind:?} {g:?}");
                let mut without_cache = vec![f32::NAN; g.output_len()];
                pool_forward(&mut without_cache, None, &input, kind, &g);
                assert_eq!(without_cache, reference);

                let mut d_ref = random_vec(g.input_len(), &mut rng);
                let mut d_fast = d_ref.clone();
                pool_backward_reference(&mut d_ref, &d_out, &input, kind, &g);
                pool_backward(&mut d_fast, &d_out, Some(&argmax), kind, &g);
                assert_eq!(d_fast, d_ref, "{kind:?} backward {g:?}");
            }
        }
    }
}

#[test]
fn pool_argmax_points_at_the_maximum_inside_the_window() {
    let mut rng = seeded(2);
    let g = PoolGeometry::new(2, (7, 5, 3), 3, 2, Padding::Same).unwrap();
    let input = random_vec(g.input_len(), &mut rng);
    let mut out = vec![0.0; g.output_len()];
    let mut argmax = vec![0; g.output_len()];
    pool_forward(&mut out, Some(&mut argmax), &input, PoolKind::Max, &g);
    for (o, (&v, &i)) in out.iter().zip(&argmax).enumerate() {
        assert_eq!(input[i as usize], v);
        assert_eq!(
            i as usize % g.channels,
            o % g.channels,
            "the winner is in the same channel"
        );
    }
}

#[test]
fn pool_gradients_match_finite_differences() {
    let mut rng = seeded(3);
    for (padding, window, stride) in [
        (Padding::Same, 3, 2),
        (Padding::Valid, 2, 2),
        (Padding::Explicit(1), 2, 3),
    ] {
        let g = PoolGeometry::new(2, (5, 7, 3), window, stride, padding).unwrap();
        // Distinct values 0.05 apart, shuffled: no ties, and a step of 1e-3 never changes a winner.
        let mut input: Vec<f32> = (0..g.input_len()).map(|i| i as f32 * 0.05).collect();
        for i in (1..input.len()).rev() {
            input.swap(i, rng.random_range(0..=i));
        }
        let w = random_vec(g.output_len(), &mut rng);
        for kind in [PoolKind::Max, PoolKind::Average] {
            let mut out = vec![0.0; g.output_len()];
            let mut argmax = vec![0; g.output_len()];
            pool_forward(&mut out, Some(&mut argmax), &input, kind, &g);
            let mut analytic = vec![0.0; g.input_len()];
            pool_backward(&mut analytic, &w, Some(&argmax), kind, &g);
            let numeric = numeric_gradient(&input, 1e-3, |x| {
                let mut out = vec![0.0; g.output_len()];
                pool_forward(&mut out, None, x, kind, &g);
                weighted_sum(&out, &w)
            });
            assert_gradient(&analytic, &numeric, &format!("{kind:?} {padding:?}"));
        }
    }
}

#[test]
fn pool_geometry_rejects_what_cannot_work() {
    assert!(PoolGeometry::new(1, (4, 4, 1), 0, 1, Padding::Valid).is_err());
    assert!(PoolGeometry::new(1, (4, 4, 1), 2, 0, Padding::Valid).is_err());
    assert!(PoolGeometry::new(1, (4, 4, 1), 5, 1, Padding::Valid).is_err());
    assert!(PoolGeometry::new(1, (4, 4, 1), 2, 1, Padding::Explicit(2)).is_err());
    assert!(PoolGeometry::new(0, (4, 4, 1), 2, 1, Padding::Valid).is_err());
}

/// Loss sum(bn_train(x) * w) with fresh moving statistics.
fn bn_train_loss(x: &[f32], gamma: &[f32], beta: &[f32], w: &[f32], channels: usize) -> f64 {
    let mut out = vec![0.0; x.len()];
    let (mut mean, mut inv_std) = (vec![0.0; channels], vec![0.0; channels]);
    let (mut mm, mut mv) = (vec![0.0; channels], vec![1.0; channels]);
    batchnorm_forward_train(
        &mut out,
        &mut mean,
        &mut inv_std,
        &mut mm,
        &mut mv,
        x,
        gamma,
        beta,
        channels,
        BatchNormConfig::default(),
    );
    weighted_sum(&out, w)
}

#[test]
fn batchnorm_gradients_match_finite_differences() {
    let mut rng = seeded(4);
    for (rows, channels) in [(2 * 3 * 3, 5), (7, 3)] {
        let input: Vec<f32> = random_vec(rows * channels, &mut rng)
            .iter()
            .map(|v| v * 2.0 + 0.3)
            .collect();
        let gamma: Vec<f32> = random_vec(channels, &mut rng)
            .iter()
            .map(|v| v + 1.5)
            .collect();
        let beta = random_vec(channels, &mut rng);
        let w = random_vec(input.len(), &mut rng);

        let mut out = vec![0.0; input.len()];
        let (mut mean, mut inv_std) = (vec![0.0; channels], vec![0.0; channels]);
        let (mut mm, mut mv) = (vec![0.0; channels], vec![1.0; channels]);
        batchnorm_forward_train(
            &mut out,
            &mut mean,
            &mut inv_std,
            &mut mm,
            &mut mv,
            &input,
            &gamma,
            &beta,
            channels,
            BatchNormConfig::default(),
        );
        let (mut d_input, mut d_gamma, mut d_beta) = (
            vec![0.0; input.len()],
            vec![0.0; channels],
            vec![0.0; channels],
        );
        batchnorm_backward(
            &mut d_input,
            &mut d_gamma,
            &mut d_beta,
            &w,
            &mean,
            &inv_std,
            &input,
            &gamma,
            channels,
        );

        let numeric = numeric_gradient(&input, 1e-2, |x| {
            bn_train_loss(x, &gamma, &beta, &w, channels)
        });
        assert_gradient(&d_input, &numeric, "BN d_input");
        let numeric = numeric_gradient(&gamma, 1e-2, |g| {
            bn_train_loss(&input, g, &beta, &w, channels)
        });
        assert_gradient(&d_gamma, &numeric, "BN d_gamma");
        let numeric = numeric_gradient(&beta, 1e-2, |b| {
            bn_train_loss(&input, &gamma, b, &w, channels)
        });
        assert_gradient(&d_beta, &numeric, "BN d_beta");

        // Inference: a fixed affine map per channel.
        let moving_var: Vec<f32> = random_vec(channels, &mut rng)
            .iter()
            .map(|v| v + 1.5)
            .collect();
        let mut d_input = vec![0.0; input.len()];
        batchnorm_backward_infer(&mut d_input, &w, &gamma, &moving_var, channels, 1e-3);
        let numeric = numeric_gradient(&input, 1e-2, |x| {
            let mut out = vec![0.0; x.len()];
            batchnorm_forward_infer(&mut out, x, &gamma, &beta, &mm, &moving_var, channels, 1e-3);
            weighted_sum(&out, &w)
        });
        assert_gradient(&d_input, &numeric, "BN inference d_input");
    }
}

#[test]
fn batchnorm_fast_matches_reference_on_odd_sizes() {
    let mut rng = seeded(5);
    // Past one block of rows (256) and past one stack group of channels (64).
    for (rows, channels, offset) in [
        (1, 1, 0.0),
        (3, 7, 0.0),
        (300, 5, 3.0),
        (513, 70, -1.0),
        (7, 130, 0.5),
        (2048, 16, 50.0),
    ] {
        let input: Vec<f32> = random_vec(rows * channels, &mut rng)
            .iter()
            .map(|v| v + offset)
            .collect();
        let gamma: Vec<f32> = random_vec(channels, &mut rng)
            .iter()
            .map(|v| v + 1.0)
            .collect();
        let beta = random_vec(channels, &mut rng);
        let d_out = random_vec(input.len(), &mut rng);
        let moving0 = (
            random_vec(channels, &mut rng),
            random_vec(channels, &mut rng)
                .iter()
                .map(|v| v + 1.5)
                .collect::<Vec<_>>(),
        );
        let cfg = BatchNormConfig::default();

        let run = |fast: bool| {
            let mut out = vec![0.0; input.len()];
            let (mut mean, mut inv_std) = (vec![0.0; channels], vec![0.0; channels]);
            let (mut mm, mut mv) = moving0.clone();
            let f = if fast {
                batchnorm_forward_train
            } else {
                batchnorm_forward_train_reference
            };
            f(
                &mut out,
                &mut mean,
                &mut inv_std,
                &mut mm,
                &mut mv,
                &input,
                &gamma,
                &beta,
                channels,
                cfg,
            );
            let mut d_input = vec![0.5; input.len()];
            let (mut d_gamma, mut d_beta) = (vec![0.25; channels], vec![-0.25; channels]);
            let b = if fast {
                batchnorm_backward
            } else {
                batchnorm_backward_reference
            };
            b(
                &mut d_input,
                &mut d_gamma,
                &mut d_beta,
                &d_out,
                &mean,
                &inv_std,
                &input,
                &gamma,
                channels,
            );
            let mut inferred = vec![0.0; input.len()];
            let i = if fast {
                batchnorm_forward_infer
            } else {
                batchnorm_forward_infer_reference
            };
            i(
                &mut inferred,
                &input,
                &gamma,
                &beta,
                &moving0.0,
                &moving0.1,
                channels,
                cfg.epsilon,
            );
            [
                out, mean, inv_std, mm, mv, d_input, d_gamma, d_beta, inferred,
            ]
        };
        let (fast, reference) = (run(true), run(false));
        let names = [
            "out",
            "mean",
            "inv_std",
            "moving_mean",
            "moving_var",
            "d_input",
            "d_gamma",
            "d_beta",
            "inference out",
        ];
        for ((f, r), name) in fast.iter().zip(&reference).zip(names) {
            assert_close(f, r, &format!("{name} at {rows}x{channels}"));
        }
    }
}

#[test]
fn batchnorm_config_defaults_and_validation() {
    assert_eq!(
        BatchNormConfig::default(),
        BatchNormConfig {
            momentum: 0.99,
            epsilon: 1e-3
        }
    );
    assert!(BatchNormConfig::default().validate().is_ok());
    assert!(BatchNormConfig {
        momentum: 1.5,
        epsilon: 1e-3
    }
    .validate()
    .is_err());
    let err = BatchNormConfig {
        momentum: 0.9,
        epsilon: 0.0,
    }
    .validate()
    .unwrap_err();
    assert!(err.to_string().contains("epsilon"), "{err}");
}

#[test]
fn loss_gradients_match_finite_differences() {
    let mut rng = seeded(6);
    let logits: Vec<f32> = random_vec(9, &mut rng).iter().map(|v| v * 4.0).collect();
    let labels: Vec<f32> = (0..9)
        .map(|i| if i % 3 == 0 { 0.3 } else { (i % 2) as f32 })
        .collect();
    let mut analytic = vec![0.0; 9];
    binary_cross_entropy_with_logits_backward(&mut analytic, &logits, &labels, 1.0);
    let numeric = numeric_gradient(&logits, 1e-2, |z| {
        binary_cross_entropy_with_logits_forward(z, &labels) as f64
    });
    assert_gradient(&analytic, &numeric, "BCE");

    let classes = 4;
    let logits: Vec<f32> = random_vec(5 * classes, &mut rng)
        .iter()
        .map(|v| v * 3.0)
        .collect();
    let mut labels = vec![0.0; 5 * classes];
    for row in 0..5 {
        labels[row * classes + row % classes] = 1.0;
    }
    labels[..classes].copy_from_slice(&[0.1, 0.2, 0.3, 0.4]);
    let mut probs = vec![0.0; logits.len()];
    categorical_cross_entropy_with_logits_forward(&mut probs, &logits, &labels, classes);
    let mut analytic = vec![0.0; logits.len()];
    categorical_cross_entropy_with_logits_backward(&mut analytic, &probs, &labels, classes, 1.0);
    let numeric = numeric_gradient(&logits, 1e-2, |z| {
        let mut p = vec![0.0; z.len()];
        categorical_cross_entropy_with_logits_forward(&mut p, z, &labels, classes) as f64
    });
    assert_gradient(&analytic, &numeric, "CCE");
}

#[test]
fn activation_gradients_match_finite_differences() {
    let mut rng = seeded(7);
    // Keep ReLU inputs away from its kink at 0.
    let x: Vec<f32> = random_vec(40, &mut rng)
        .iter()
        .map(|v| v * 3.0)
        .filter(|v| v.abs() > 0.05)
        .collect();
    let w = random_vec(x.len(), &mut rng);
    for (name, forward, backward) in [
        (
            "relu",
            relu_forward as fn(&mut [f32], &[f32]),
            relu_backward as fn(&mut [f32], &[f32], &[f32]),
        ),
        ("sigmoid", sigmoid_forward, sigmoid_backward),
    ] {
        let mut out = vec![0.0; x.len()];
        forward(&mut out, &x);
        let mut analytic = vec![0.0; x.len()];
        backward(&mut analytic, &w, &out);
        let numeric = numeric_gradient(&x, 1e-2, |v| {
            let mut out = vec![0.0; v.len()];
            forward(&mut out, v);
            weighted_sum(&out, &w)
        });
        assert_gradient(&analytic, &numeric, name);
    }
}

#[test]
fn dropout_is_inverted_and_drops_the_right_fraction() {
    let len = 1_000_003;
    let input: Vec<f32> = (0..len).map(|i| 1.0 + (i % 7) as f32).collect();
    let rate = 0.1;
    let mut out = vec![0.0; len];
    let mut mask = vec![0.0; len];
    dropout_forward_train(&mut out, &mut mask, &input, rate, &mut seeded(8));
    let dropped = mask.iter().filter(|&&m| m == 0.0).count();
    let kept_scale = 1.0 / (1.0 - rate);
    assert!(
        mask.iter().all(|&m| m == 0.0 || m == kept_scale),
        "mask holds only 0 and 1/(1-rate)"
    );
    // Binomial: standard deviation sqrt(n p (1-p)) ~ 300; allow 5 of them.
    let expected = rate as f64 * len as f64;
    assert!(
        (dropped as f64 - expected).abs() < 5.0 * (expected * 0.9).sqrt(),
        "dropped {dropped} of {len}"
    );
    for ((&y, &x), &m) in out.iter().zip(&input).zip(&mask) {
        assert_eq!(y, x * m);
    }
    // Inverted scaling keeps the mean: E[out] = E[in].
    let mean_in: f64 = input.iter().map(|&v| v as f64).sum::<f64>() / len as f64;
    let mean_out: f64 = out.iter().map(|&v| v as f64).sum::<f64>() / len as f64;
    assert!(
        (mean_out / mean_in - 1.0).abs() < 3e-3,
        "mean {mean_out} vs {mean_in}"
    );

    // Backward routes through the same mask and accumulates.
    let mut d_input = vec![1.0; len];
    dropout_backward(&mut d_input, &vec![2.0; len], &mask);
    for (&d, &m) in d_input.iter().zip(&mask) {
        assert_eq!(d, 1.0 + 2.0 * m);
    }

    // Same seed, same mask; another seed, another mask.
    let mut again = vec![0.0; len];
    dropout_forward_train(&mut out, &mut again, &input, rate, &mut seeded(8));
    assert_eq!(again, mask);
    dropout_forward_train(&mut out, &mut again, &input, rate, &mut seeded(9));
    assert_ne!(again, mask);

    // Rate 0 keeps everything unscaled.
    dropout_forward_train(&mut out, &mut again, &input, 0.0, &mut seeded(8));
    assert_eq!(out, input);
}

#[test]
fn dropout_rate_validation() {
    assert!(validate_rate(0.0).is_ok());
    assert!(validate_rate(0.5).is_ok());
    assert!(validate_rate(1.0).is_err());
    assert!(validate_rate(-0.1).is_err());
    assert!(validate_rate(f32::NAN).is_err());
}

#[test]
fn adam_fast_equals_reference_bit_for_bit_over_a_million_parameters() {
    let mut rng = seeded(10);
    let len = 1_000_003;
    let mut fast = random_vec(len, &mut rng);
    let mut reference = fast.clone();
    let (mut state_fast, mut state_ref) = (AdamState::new(len), AdamState::new(len));
    let cfg = AdamConfig::default();
    for _ in 0..3 {
        let grads = random_vec(len, &mut rng);
        adam_step(&mut fast, &grads, &mut state_fast, &cfg);
        adam_step_reference(&mut reference, &grads, &mut state_ref, &cfg);
    }
    assert!(fast == reference && state_fast == state_ref);
}

#[test]
fn optimizer_validation() {
    assert!(AdamConfig::default().validate().is_ok());
    assert!(AdamConfig {
        learning_rate: 0.0,
        ..AdamConfig::default()
    }
    .validate()
    .is_err());
    assert!(AdamConfig {
        beta_1: 1.0,
        ..AdamConfig::default()
    }
    .validate()
    .is_err());
    assert!(AdamConfig {
        epsilon: -1.0,
        ..AdamConfig::default()
    }
    .validate()
    .is_err());
    assert!(SgdConfig::default().validate().is_ok());
    assert!(SgdConfig {
        learning_rate: f32::INFINITY,
        ..SgdConfig::default()
    }
    .validate()
    .is_err());
    assert!(SgdConfig {
        momentum: -0.5,
        ..SgdConfig::default()
    }
    .validate()
    .is_err());
}

#[test]
fn glorot_uniform_has_the_keras_limit_and_variance() {
    let (fan_in, fan_out) = conv_fans(5, 5, 3, 16);
    assert_eq!((fan_in, fan_out), (75, 400));
    assert_eq!(dense_fans(2048, 128), (2048, 128));
    let limit = (6.0f32 / (75 + 400) as f32).sqrt();
    let mut w = vec![0.0; 200_000];
    glorot_uniform(&mut w, fan_in, fan_out, &mut seeded(11));
    assert!(w.iter().all(|&v| v.abs() <= limit));
    let max = w.iter().fold(0.0f32, |m, &v| m.max(v.abs()));
    assert!(max > 0.99 * limit, "the whole range is used");
    // Uniform on [-l, l]: mean 0, variance l^2 / 3 = 2 / (fan_in + fan_out).
    let n = w.len() as f64;
    let mean = w.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = w.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    assert!(mean.abs() < 0.01 * limit as f64);
    assert!((var / (2.0 / 475.0) - 1.0).abs() < 0.01, "variance {var}");

    let mut again = vec![0.0; w.len()];
    glorot_uniform(&mut again, fan_in, fan_out, &mut seeded(11));
    assert_eq!(again, w, "seeded");
    zeros(&mut again);
    assert!(again.iter().all(|&v| v == 0.0));
    ones(&mut again);
    assert!(again.iter().all(|&v| v == 1.0));
}
