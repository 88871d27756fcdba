//! Checks of the explorer's backward mode shared by the native suite (backward_explorer.rs)
//! and the wasm one (wasm_web.rs): the breakdowns add up to the kernels on odd sizes, and the
//! gradient check passes on the real kernels and fails with each planted bug.
#![allow(dead_code)]

use convscope::app::backward::conv::ConvBackward;
use convscope::app::backward::gradcheck::{Bug, CheckReport, GradCheck};
use convscope::app::backward::pool::PoolBackward;
use convscope::app::backward::{tenths, Upstream};
use convscope::app::explorer::{ConvRun, ConvSettings, PoolRun};
use convscope::app::filters::kernel_preset;
use convscope::app::presets::{digit_seven, face_rgb, input_preset, letter_x, Image};
use convscope::kernels::conv::{conv2d_backward_input_reference, conv2d_backward_weight_reference};
use convscope::kernels::geometry::Padding;
use convscope::kernels::pool::PoolKind;
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
