//! The layer kernels in the browser: SIMD128 fast paths against their scalar references on odd
//! sizes, and the Keras fixtures through the SIMD code. Run with `wasm-pack test --headless --chrome`.
#![cfg(target_arch = "wasm32")]

mod layer_support;

use convscope::kernels::batchnorm::*;
use convscope::kernels::geometry::*;
use convscope::kernels::optim::*;
use convscope::kernels::pool::*;
use layer_support::*;
use rand::RngExt;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn built_with_simd128() {
    assert!(
        convscope::simd_enabled(),
        "the wasm build lost its +simd128 flag"
    );
}

#[wasm_bindgen_test]
fn simd_pooling_equals_reference_bit_for_bit() {
    let mut rng = seeded(21);
    let mut checked = 0;
    for &(batch, h, w, c) in &[
        (2, 7, 5, 5),
        (1, 6, 9, 3),
        (1, 8, 8, 4),
        (2, 5, 4, 9),
        (1, 9, 7, 17),
    ] {
        for window in 1..=3 {
            for stride in 1..=3 {
                for padding in [Padding::Valid, Padding::Same, Padding::Explicit(1)] {
                    let Ok(g) = PoolGeometry::new(batch, (h, w, c), window, stride, padding) else {
                        continue;
                    };
                    let input: Vec<f32> = (0..g.input_len())
                        .map(|_| {
                            rng.random_range(-2..3) as f32
                                + if checked % 2 == 0 {
                                    0.0
                                } else {
                                    rng.random::<f32>()
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
                        let mut d_ref = vec![0.0; g.input_len()];
                        let mut d_fast = vec![0.0; g.input_len()];
                        pool_backward_reference(&mut d_ref, &d_out, &input, kind, &g);
                        pool_backward(&mut d_fast, &d_out, Some(&argmax), kind, &g);
                        assert_eq!(d_fast, d_ref, "{kind:?} backward {g:?}");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 100);
}

#[wasm_bindgen_test]
fn simd_pooling_matches_keras() {
    for (name, case) in fixtures()["pooling"].as_object().unwrap() {
        let (shape, input) = array(&case["input"]);
        let kind = if case["kind"] == "max" {
            PoolKind::Max
        } else {
            PoolKind::Average
        };
        let window = case["window"].as_u64().unwrap() as usize;
        let stride = case["stride"].as_u64().unwrap() as usize;
        let g = PoolGeometry::new(
            shape[0],
            (shape[1], shape[2], shape[3]),
            window,
            stride,
            padding_from(case["padding"].as_str().unwrap()),
        )
        .unwrap();
        let mut out = vec![0.0; g.output_len()];
        let mut argmax = vec![0; g.output_len()];
        pool_forward(&mut out, Some(&mut argmax), &input, kind, &g);
        assert_close(&out, &data(&case["out"]), name);
        let mut d_input = vec![0.0; g.input_len()];
        pool_backward(&mut d_input, &data(&case["d_out"]), Some(&argmax), kind, &g);
        assert_close(&d_input, &data(&case["d_input"]), name);
    }
}

#[wasm_bindgen_test]
fn simd_batchnorm_matches_reference_and_keras() {
    let mut rng = seeded(22);
    for (rows, channels) in [(3, 7), (300, 5), (513, 70), (260, 16), (5, 131)] {
        let input: Vec<f32> = random_vec(rows * channels, &mut rng)
            .iter()
            .map(|v| v * 2.0 + 0.7)
            .collect();
        let gamma: Vec<f32> = random_vec(channels, &mut rng)
            .iter()
            .map(|v| v + 1.0)
            .collect();
        let beta = random_vec(channels, &mut rng);
        let d_out = random_vec(input.len(), &mut rng);
        let cfg = BatchNormConfig::default();
        let run = |fast: bool| {
            let mut out = vec![0.0; input.len()];
            let (mut mean, mut inv_std) = (vec![0.0; channels], vec![0.0; channels]);
            let (mut mm, mut mv) = (vec![0.1; channels], vec![1.2; channels]);
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
            let (mut d_input, mut d_gamma, mut d_beta) = (
                vec![0.0; input.len()],
                vec![0.0; channels],
                vec![0.0; channels],
            );
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
                &mm,
                &mv,
                channels,
                cfg.epsilon,
            );
            [
                out, mean, inv_std, mm, mv, d_input, d_gamma, d_beta, inferred,
            ]
        };
        for (k, (f, r)) in run(true).iter().zip(&run(false)).enumerate() {
            assert_close(f, r, &format!("buffer {k} at {rows}x{channels}"));
        }
    }
    for (name, case) in fixtures()["batchnorm"].as_object().unwrap() {
        let (shape, input) = array(&case["input"]);
        let channels = *shape.last().unwrap();
        let cfg = BatchNormConfig {
            momentum: number(&case["momentum"]),
            epsilon: number(&case["epsilon"]),
        };
        let mut out = vec![0.0; input.len()];
        let (mut mean, mut inv_std) = (vec![0.0; channels], vec![0.0; channels]);
        let (mut mm, mut mv) = (data(&case["moving_mean"]), data(&case["moving_var"]));
        batchnorm_forward_train(
            &mut out,
            &mut mean,
            &mut inv_std,
            &mut mm,
            &mut mv,
            &input,
            &data(&case["gamma"]),
            &data(&case["beta"]),
            channels,
            cfg,
        );
        assert_close(&out, &data(&case["exact"]["out_train"]), name);
        assert_close(&mv, &data(&case["new_moving_var"]), name);
        let (mut d_input, mut d_gamma, mut d_beta) = (
            vec![0.0; input.len()],
            vec![0.0; channels],
            vec![0.0; channels],
        );
        batchnorm_backward(
            &mut d_input,
            &mut d_gamma,
            &mut d_beta,
            &data(&case["d_out"]),
            &mean,
            &inv_std,
            &input,
            &data(&case["gamma"]),
            channels,
        );
        assert_close(&d_input, &data(&case["exact"]["d_input"]), name);
        assert_close(&d_gamma, &data(&case["exact"]["d_gamma"]), name);
    }
}

#[wasm_bindgen_test]
fn simd_adam_equals_reference_bit_for_bit_and_matches_keras() {
    let mut rng = seeded(23);
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

    let case = &fixtures()["optimizers"]["adam_custom"];
    let cfg = AdamConfig {
        learning_rate: number(&case["lr"]),
        beta_1: number(&case["beta_1"]),
        beta_2: number(&case["beta_2"]),
        epsilon: number(&case["epsilon"]),
    };
    let mut params = data(&case["param"]);
    let mut state = AdamState::new(params.len());
    for (g, expected) in case["grads"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["after"].as_array().unwrap())
    {
        adam_step(&mut params, &data(g), &mut state, &cfg);
        assert_close(&params, &data(expected), "adam_custom");
    }
}
