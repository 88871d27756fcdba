//! Checks of the explorer's backward mode shared by the native suite (backward_explorer.rs)
//! and the wasm one (wasm_web.rs): the breakdowns add up to the kernels on odd sizes, and the
//! gradient check passes on the real kernels and fails with each planted bug.
#![allow(dead_code)]

use convscope::app::backward::conv::ConvBackward;
use convscope::app::backward::gradcheck::{Bug, CheckReport, GradCheck};
use convscope::app::backward::layers::{BatchNormBackward, DenseBackward, DropoutBackward};
use convscope::app::backward::pool::PoolBackward;
use convscope::app::backward::step::{slow_step, StepChoice};
use convscope::app::backward::{tenths, Upstream};
use convscope::app::explorer::{ConvRun, ConvSettings, PoolRun};
use convscope::app::filters::kernel_preset;
use convscope::app::presets::{digit_seven, face_rgb, input_preset, letter_x, Image};
use convscope::data::synthetic::{generate_set, Difficulty};
use convscope::kernels::conv::{conv2d_backward_input_reference, conv2d_backward_weight_reference};
use convscope::kernels::geometry::Padding;
use convscope::kernels::pool::PoolKind;
use convscope::nn::{FitConfig, OptimizerSpec, Sequential, Trainer};
use convscope::rng::rng_from_seed;
use rand::RngExt;

pub fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x - y).abs() <= tol * scale,
            "{what}[{i}]: {x} vs {y} (scale {scale})"
        );
    }
}

pub fn random_image(h: usize, w: usize, c: usize, seed: u64) -> Image {
    let mut rng = rng_from_seed(seed);
    Image::new(
        h,
        w,
        c,
        (0..h * w * c)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect(),
    )
    .unwrap()
}

pub fn conv_run(image: Image, filters: usize, s: ConvSettings, relu: bool, seed: u64) -> ConvRun {
    let per = s.kernel * s.kernel * image.channels;
    let weights = tenths(filters * per, seed);
    let bias = tenths(filters, seed + 1);
    ConvRun::new(image, &weights, &bias, &s, relu).unwrap()
}

pub fn settings(kernel: usize, stride: usize, padding: Padding, dilation: usize) -> ConvSettings {
    ConvSettings {
        kernel,
        stride,
        padding,
        dilation,
    }
}

/// The breakdowns of every output cell, added up, equal the kernels (and their references).
pub fn check_conv_breakdown(back: &ConvBackward) {
    let g = back.run.geometry;
    let (last_y, last_x) = (g.out_h - 1, g.out_w - 1);
    let mut dx_sum = vec![0.0; g.input_len()];
    for f in 0..g.out_c {
        let dw = back.running_weight(last_y, last_x, f).unwrap();
        close(
            &dw,
            &back.weight_gradient(f).unwrap(),
            1e-5,
            "dW from the cells",
        );
        let share = back.running_input(last_y, last_x, f).unwrap();
        dx_sum.iter_mut().zip(&share).for_each(|(a, b)| *a += b);
        let cell = back.cell(last_y, last_x, f).unwrap();
        assert!((cell.running_bias - back.d_bias[f]).abs() <= 1e-5 * back.d_bias[f].abs().max(1.0));
        // One cell's taps are exactly what it adds to the running dW.
        if g.out_w > 1 {
            let before = back.running_weight(last_y, last_x - 1, f).unwrap();
            let mut step = vec![0.0; dw.len()];
            for t in &cell.taps {
                step[(t.ky * g.k_w + t.kx) * g.in_c + t.c] += t.dw;
            }
            let added: Vec<f32> = dw.iter().zip(&before).map(|(a, b)| a - b).collect();
            close(&added, &step, 1e-4, "one cell's dW products");
        }
    }
    close(&dx_sum, &back.d_input, 1e-5, "dX from the cells");
    close(
        &back.flipped_view().unwrap().d_input,
        &back.d_input,
        1e-5,
        "dX as a flipped-kernel convolution",
    );
    let mut dw_ref = vec![0.0; g.weight_len()];
    let mut db_ref = vec![0.0; g.out_c];
    conv2d_backward_weight_reference(
        &mut dw_ref,
        Some(&mut db_ref),
        &back.d_pre,
        &back.run.input.data,
        &g,
    );
    close(&back.d_weight, &dw_ref, 1e-5, "dW kernel vs reference");
    close(&back.d_bias, &db_ref, 1e-5, "d bias kernel vs reference");
    let mut dx_ref = vec![0.0; g.input_len()];
    conv2d_backward_input_reference(&mut dx_ref, &back.d_pre, &back.run.weight, &g);
    close(&back.d_input, &dx_ref, 1e-5, "dX kernel vs reference");
}

pub fn pool_run(
    map: Vec<f32>,
    h: usize,
    w: usize,
    kind: PoolKind,
    window: usize,
    stride: usize,
    padding: Padding,
) -> PoolRun {
    PoolRun::new(map, h, w, kind, window, stride, padding).unwrap()
}

pub fn check_pool(back: &PoolBackward) {
    let g = back.run.geometry;
    let dx = back.running_input(g.out_h - 1, g.out_w - 1).unwrap();
    close(&dx, &back.d_input, 1e-6, "pool dX from the windows");
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            let cell = back.cell(oy, ox).unwrap();
            let total: f32 = cell.cells.iter().map(|s| s.share).sum();
            assert!(
                (total - cell.upstream).abs() <= 1e-6,
                "a window passes on all it gets"
            );
        }
    }
}

pub fn explorer_setups() -> Vec<ConvRun> {
    let run = |image: Image, recipes: &[&str], s: ConvSettings| {
        let c = image.channels;
        let filters: Vec<f32> = recipes
            .iter()
            .flat_map(|r| kernel_preset(r, s.kernel, c).unwrap())
            .collect();
        let bias = tenths(recipes.len(), 21);
        ConvRun::new(image, &filters, &bias, &s, false).unwrap()
    };
    vec![
        run(
            digit_seven(28),
            &["edge_top", "edge_bottom", "edge_left", "edge_right"],
            settings(3, 1, Padding::Valid, 1),
        ),
        run(
            letter_x(),
            &["diag_down", "cross", "diag_up"],
            settings(3, 1, Padding::Same, 1),
        ),
        run(
            face_rgb(64),
            &["sobel_x", "redness"],
            settings(5, 2, Padding::Explicit(1), 1),
        ),
        run(
            input_preset("seven14").unwrap(),
            &["edge_top", "edge_left"],
            settings(4, 2, Padding::Valid, 1),
        ),
    ]
}

pub fn checked(run: &ConvRun, bug: Option<Bug>) -> CheckReport {
    let mut check = GradCheck::new(run, bug, 1).unwrap();
    let (_, total) = check.progress();
    let mut slices = 0;
    while !check.advance(50) {
        slices += 1;
    }
    assert_eq!(check.progress(), (total, total));
    assert!(slices >= 1 || total <= 50);
    check.report()
}

/// Every conv case of odd sizes, with a random and a target gradient.
pub fn conv_cases_add_up() {
    let cases = [
        (7, 9, 3, 3, settings(3, 2, Padding::Same, 1), true),
        (9, 7, 2, 2, settings(3, 1, Padding::Explicit(2), 2), false),
        (8, 11, 1, 4, settings(4, 3, Padding::Valid, 1), true),
        (6, 6, 4, 1, settings(2, 2, Padding::Same, 3), false),
        (5, 13, 3, 2, settings(5, 1, Padding::Explicit(1), 1), true),
    ];
    for (i, (h, w, c, f, s, relu)) in cases.into_iter().enumerate() {
        let run = conv_run(random_image(h, w, c, i as u64), f, s, relu, 10 + i as u64);
        check_conv_breakdown(
            &ConvBackward::new(run.clone(), &Upstream::Random { seed: i as u64 }).unwrap(),
        );
        let target = tenths(run.output.len(), 99);
        let back = ConvBackward::new(run, &Upstream::Target(target)).unwrap();
        assert!(back.loss.unwrap() > 0.0);
        check_conv_breakdown(&back);
    }
}

/// Max and average pooling, valid and SAME, on a 7x9 map.
pub fn pool_cases_add_up() {
    let map: Vec<f32> = random_image(7, 9, 1, 11).data;
    for kind in [PoolKind::Max, PoolKind::Average] {
        for (window, stride, padding) in [
            (2, 2, Padding::Same),
            (3, 2, Padding::Valid),
            (3, 1, Padding::Same),
            (2, 3, Padding::Valid),
        ] {
            let run = pool_run(map.clone(), 7, 9, kind, window, stride, padding);
            check_pool(&PoolBackward::new(run, &Upstream::Random { seed: 3 }).unwrap());
        }
    }
}

/// The check on `run` passes without a bug and fails with each, pointing below the dense layer.
pub fn gradient_check_tells_bugs(run: &ConvRun, label: &str) {
    let report = checked(run, None);
    for t in &report.tensors {
        assert!(
            t.passed,
            "{label}, {}: relative error {} (worst: {} vs {})",
            t.name, t.relative_error, t.worst_analytic, t.worst_numeric
        );
        assert!(t.checked > 0);
    }
    for bug in [Bug::ReluMask, Bug::BatchNormMean, Bug::PaddingGradient] {
        let report = checked(run, Some(bug));
        assert!(
            !report.passed,
            "{label}: the check misses the planted {bug:?}"
        );
        let worst = report
            .tensors
            .iter()
            .map(|t| t.relative_error)
            .fold(0.0, f32::max);
        assert!(
            worst > 0.1,
            "{label}, {bug:?}: the planted bug shows only as {worst}"
        );
        // The tensors after the bug (nearer the loss) still pass: the check points at it.
        assert!(
            report.tensors[6].passed && report.tensors[7].passed,
            "{label}, {bug:?}: the dense layer is above the bug"
        );
    }
}

pub fn batch_norm_paths_add_up() {
    for (rows, channels) in [(1, 1), (7, 3), (33, 5), (2, 1)] {
        let input: Vec<f32> = random_image(rows, channels, 1, rows as u64)
            .data
            .iter()
            .map(|v| v * 3.0 + 0.5)
            .collect();
        let gamma = tenths(channels, 1).iter().map(|g| 1.0 + g).collect();
        let beta = tenths(channels, 2);
        let d_out = tenths(rows * channels, 3);
        let bn =
            BatchNormBackward::new(input.clone(), channels, gamma, beta, d_out.clone()).unwrap();
        for r in 0..rows {
            for c in 0..channels {
                let t = bn.terms(r, c).unwrap();
                assert!(
                    (t.sum - t.kernel).abs() <= 1e-5 * t.kernel.abs().max(1.0),
                    "({r}, {c}): {} vs {}",
                    t.sum,
                    t.kernel
                );
            }
        }
        for c in 0..channels {
            let sum_dy: f32 = (0..rows).map(|r| d_out[r * channels + c]).sum();
            let t = bn.terms(0, c).unwrap();
            assert!((t.d_beta - sum_dy).abs() < 1e-5);
            let sum_dy_xhat: f32 = (0..rows)
                .map(|r| bn.terms(r, c).unwrap())
                .map(|t| t.dy * t.xhat)
                .sum();
            assert!((t.d_gamma - sum_dy_xhat).abs() < 1e-4);
            // The mean and variance paths cancel the gradient's mean: dx sums to 0 per channel.
            let sum_dx: f32 = (0..rows).map(|r| bn.d_input[r * channels + c]).sum();
            assert!(sum_dx.abs() < 1e-4, "{sum_dx}");
        }
    }
    assert!(
        BatchNormBackward::new(vec![1.0; 6], 4, vec![1.0; 4], vec![0.0; 4], vec![0.0; 6]).is_err()
    );
}

pub fn dropout_and_dense_add_up() {
    let input = random_image(5, 7, 1, 1).data;
    let d_out = tenths(input.len(), 2);
    let drop = DropoutBackward::new(&input, 0.4, 7, d_out.clone()).unwrap();
    let kept = 1.0 / 0.6f32;
    assert!(drop.mask.iter().all(|&m| m == 0.0 || m == kept));
    assert!(drop.mask.contains(&0.0) && drop.mask.contains(&kept));
    let expected: Vec<f32> = d_out.iter().zip(&drop.mask).map(|(d, m)| d * m).collect();
    assert_eq!(drop.d_input, expected);
    assert!(DropoutBackward::new(&input, 1.0, 7, d_out).is_err());

    let (batch, inputs, units) = (3, 5, 2);
    let x = tenths(batch * inputs, 4);
    let w = tenths(inputs * units, 5);
    let dy = tenths(batch * units, 6);
    let dense = DenseBackward::new(x.clone(), w.clone(), dy.clone(), inputs, units).unwrap();
    for i in 0..inputs {
        for j in 0..units {
            let o = dense.outer(i, j).unwrap();
            assert!((o.sum - o.kernel).abs() < 1e-6);
        }
        for n in 0..batch {
            let by_hand: f32 = (0..units)
                .map(|j| dy[n * units + j] * w[i * units + j])
                .sum();
            assert!((by_hand - dense.d_input[n * inputs + i]).abs() < 1e-6);
        }
    }
    for j in 0..units {
        let sum: f32 = (0..batch).map(|n| dy[n * units + j]).sum();
        assert!((sum - dense.d_bias[j]).abs() < 1e-6);
    }
    assert!(dense.outer(inputs, 0).is_err());
}

pub fn slow_step_is_one_fit_step() {
    let spec = convscope::nn::ModelSpec::chapter();
    let batch = 6;
    let data = generate_set(batch, 5, Difficulty::Normal, None).unwrap();
    let x = data.images().to_vec();
    let labels = data.labels().to_vec();

    let config = FitConfig {
        epochs: 1,
        batch_size: batch,
        shuffle: false,
        validation_split: 0.0,
        early_stopping: None,
        optimizer: OptimizerSpec::adam(1e-3),
        seed: 17,
    };
    let mut fitted = Sequential::new(&spec, 3).unwrap();
    let examples = data.examples();
    let mut trainer = Trainer::new(&mut fitted, &examples, None, config).unwrap();
    let step = trainer.step(&mut fitted, &examples, None).unwrap();
    let fit_loss = step.batch.unwrap().batch_loss;

    // The trainer seeds dropout with the first number its seed draws.
    let dropout_seed = rng_from_seed(config.seed).random::<u64>();
    let mut slow = Sequential::new(&spec, 3).unwrap();
    let last = slow.layers().len() - 1;
    for (layer, weight) in [(0, 7), (last, 3)] {
        let mut model = Sequential::new(&spec, 3).unwrap();
        let shown = slow_step(
            &mut model,
            &x,
            &labels,
            StepChoice {
                layer,
                weight,
                channel: 1,
                learning_rate: 1e-3,
                dropout_seed,
            },
        )
        .unwrap();
        assert_eq!(shown.loss_before, fit_loss);
        for (a, b) in model.layers().iter().zip(fitted.layers()) {
            assert_eq!(
                a.params(),
                b.params(),
                "{}: the slow step's weights differ from fit's",
                a.name()
            );
        }
        let u = &shown.update;
        assert_eq!(u.after, model.layers()[layer].params()[weight]);
        assert!(
            (u.before - u.keras_step - u.after).abs() <= 1e-7 * u.before.abs().max(1.0),
            "{u:?}"
        );
        // On step 1 the bias corrections undo the (1 - beta) factors: m_hat = g, v_hat = g^2.
        assert!((u.m_hat - u.gradient).abs() <= 1e-6 * u.gradient.abs());
        assert!((u.textbook_step - u.keras_step).abs() <= 1e-3 * u.keras_step.abs() + 1e-9);
        // The loss after is the stepped model's on the same batch with the same masks.
        fitted.seed_dropout(dropout_seed);
        fitted.forward(&x, convscope::nn::Mode::Train);
        assert_eq!(shown.loss_after, fitted.loss(&labels, false));
        assert_ne!(shown.loss_after, shown.loss_before);
        assert_eq!(shown.forward.len(), model.layers().len());
        assert_eq!(shown.backward.len(), model.layers().len());
        assert!(shown
            .backward
            .iter()
            .all(|p| p.norm.is_finite() && p.norm > 0.0));
        slow = model;
    }
    drop(slow);
    let mut model = Sequential::new(&spec, 3).unwrap();
    let err = slow_step(
        &mut model,
        &x,
        &labels,
        StepChoice {
            layer: 0,
            weight: 100_000,
            channel: 0,
            learning_rate: 1e-3,
            dropout_seed,
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("there is no weight number 100001"),
        "{err}"
    );
}
