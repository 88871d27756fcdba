//! The explorer's backward mode: every breakdown it shows adds up to the training kernels'
//! results (conv dW, dX and d bias with stride, padding, dilation and several channels; max and
//! average pooling, SAME included; batch norm's three paths; dropout; dense), a hand-checkable
//! integer case, the cells no gradient reaches, the slow-motion step against one `fit` step,
//! and the gradient check: passing on the real kernels, failing with each planted bug.
#![cfg(not(target_arch = "wasm32"))]

mod backward_support;

use backward_support::*;
use convscope::app::backward::conv::ConvBackward;
use convscope::app::backward::gradcheck::{Bug, GradCheck};
use convscope::app::backward::pool::PoolBackward;
use convscope::app::backward::Upstream;
use convscope::app::explorer::ConvRun;
use convscope::app::presets::{face_rgb, Image};
use convscope::kernels::geometry::Padding;
use convscope::kernels::pool::PoolKind;

#[test]
fn conv_breakdowns_add_up_to_the_kernels_on_odd_sizes() {
    conv_cases_add_up();
}

#[test]
fn a_hand_checkable_integer_case() {
    // Input 1..9 (3x3), kernel [[1, 0], [0, -1]], valid, stride 1: out = x[i][j] - x[i+1][j+1] = -4.
    let input = Image::new(3, 3, 1, (1..=9).map(|v| v as f32).collect()).unwrap();
    let run = ConvRun::new(
        input,
        &[1.0, 0.0, 0.0, -1.0],
        &[0.0],
        &settings(2, 1, Padding::Valid, 1),
        false,
    )
    .unwrap();
    assert_eq!(run.output, vec![-4.0; 4]);
    // MSE over 4 outputs: dL/dout = (out - t) / 2; t = out - 2 * [1, 0, 0, -1] gives [1, 0, 0, -1].
    let target = vec![-6.0, -4.0, -4.0, -2.0];
    let back = ConvBackward::new(run, &Upstream::Target(target)).unwrap();
    assert_eq!(back.d_out, vec![1.0, 0.0, 0.0, -1.0]);
    assert_eq!(back.loss, Some(2.0));
    // dW = patch(0,0) - patch(1,1) = [1,2,4,5] - [5,6,8,9].
    assert_eq!(back.d_weight, vec![-4.0, -4.0, -4.0, -4.0]);
    assert_eq!(back.d_bias, vec![0.0]);
    // dX: cell (0,0) scatters +W at the top left, cell (1,1) scatters -W at the bottom right.
    assert_eq!(
        back.d_input,
        vec![1.0, 0.0, 0.0, 0.0, -2.0, 0.0, 0.0, 0.0, 1.0]
    );
    let cell = back.cell(1, 1, 0).unwrap();
    assert_eq!(cell.gradient, -1.0);
    assert_eq!(
        cell.taps.iter().map(|t| t.dw).collect::<Vec<_>>(),
        vec![-5.0, -6.0, -8.0, -9.0]
    );
    assert_eq!(
        cell.taps.iter().map(|t| t.dx).collect::<Vec<_>>(),
        vec![-1.0, 0.0, 0.0, 1.0]
    );
    let view = back.flipped_view().unwrap();
    assert_eq!((view.height, view.width), (4, 4));
    // The kernel turned 180 degrees.
    assert_eq!(view.kernel, vec![-1.0, 0.0, 0.0, 1.0]);
    assert_eq!(view.d_input, back.d_input);
}

#[test]
fn the_relu_mask_stops_the_gradient_where_the_map_was_zero() {
    let run = conv_run(
        random_image(6, 6, 1, 3),
        2,
        settings(3, 1, Padding::Same, 1),
        true,
        4,
    );
    let back = ConvBackward::new(run, &Upstream::Random { seed: 5 }).unwrap();
    let g = back.run.geometry;
    let mut masked = 0;
    for oy in 0..g.out_h {
        for ox in 0..g.out_w {
            for f in 0..g.out_c {
                let cell = back.cell(oy, ox, f).unwrap();
                assert_eq!(cell.masked, cell.value <= 0.0);
                if cell.masked {
                    masked += 1;
                    assert_eq!(cell.gradient, 0.0);
                    assert!(cell.taps.iter().all(|t| t.dw == 0.0 && t.dx == 0.0));
                } else {
                    assert_eq!(cell.gradient, cell.upstream);
                }
            }
        }
    }
    assert!(
        masked > 0 && masked < g.output_len(),
        "the case should have cells on both sides ({masked})"
    );
}

#[test]
fn cells_a_stride_skips_get_no_gradient_and_are_named() {
    let run = conv_run(
        random_image(5, 5, 1, 7),
        1,
        settings(1, 2, Padding::Valid, 1),
        false,
        8,
    );
    let back = ConvBackward::new(run, &Upstream::Random { seed: 9 }).unwrap();
    let reach = back.reach();
    assert_eq!(reach.unreached, 16);
    assert!(
        reach
            .message
            .starts_with("16 of the input's 25 cells are never under the kernel"),
        "{}",
        reach.message
    );
    assert!(
        reach
            .message
            .contains("row 1, column 2; row 1, column 4; row 2, column 1"),
        "{}",
        reach.message
    );
    assert!(reach.message.contains("and 10 more"), "{}", reach.message);
    for (i, r) in reach.reached.iter().enumerate() {
        if *r == 0 {
            assert_eq!(back.d_input[i], 0.0);
        }
    }
    // Dilation skips cells too; a plain 3x3 stride 1 reaches all.
    let dilated = conv_run(
        random_image(7, 7, 1, 1),
        1,
        settings(2, 3, Padding::Valid, 3),
        false,
        2,
    );
    assert!(
        ConvBackward::new(dilated, &Upstream::Random { seed: 1 })
            .unwrap()
            .reach()
            .unreached
            > 0
    );
    let plain = conv_run(
        random_image(7, 7, 1, 1),
        1,
        settings(3, 1, Padding::Valid, 1),
        false,
        2,
    );
    let reach = ConvBackward::new(plain, &Upstream::Random { seed: 1 })
        .unwrap()
        .reach();
    assert_eq!((reach.unreached, reach.message.as_str()), (0, ""));
}

#[test]
fn bad_requests_are_explained() {
    let run = conv_run(
        random_image(5, 5, 1, 7),
        2,
        settings(3, 1, Padding::Valid, 1),
        false,
        8,
    );
    let err = ConvBackward::new(run.clone(), &Upstream::Target(vec![0.0; 25]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the target has 25 values but the output (3x3x2) has 18"),
        "{err}"
    );
    let back = ConvBackward::new(run, &Upstream::Random { seed: 1 }).unwrap();
    let err = back.cell(3, 0, 0).unwrap_err().to_string();
    assert!(
        err.contains("no output cell (row 4, column 1) of filter 1 in a 3x3x2 output"),
        "{err}"
    );
    assert!(back.running_input(0, 0, 2).is_err());
    let err = Upstream::parse("loss", 0, &[]).unwrap_err().to_string();
    assert!(err.contains("'random' or 'target'"), "{err}");
    assert!(Upstream::parse("target", 0, &[f32::NAN]).is_err());
    let err = Bug::parse("typo").unwrap_err().to_string();
    assert!(err.contains("no planted bug called 'typo'"), "{err}");
}

#[test]
fn pooling_routes_and_spreads_as_the_kernel_does() {
    pool_cases_add_up();
}

#[test]
fn max_pooling_ties_go_to_the_first_cell_and_are_named() {
    // Window (0,0) holds 5 twice: the first in scan order wins, the other is a tie.
    let map = vec![5.0, 1.0, 2.0, 5.0];
    let run = pool_run(map, 2, 2, PoolKind::Max, 2, 2, Padding::Valid);
    let back = PoolBackward::new(run, &Upstream::Target(vec![3.0])).unwrap();
    // dL/dout = 2 (5 - 3) / 1 = 4, all to cell 0.
    assert_eq!(back.d_input, vec![4.0, 0.0, 0.0, 0.0]);
    let cell = back.cell(0, 0).unwrap();
    assert_eq!((cell.winner, cell.ties.clone()), (Some(0), vec![3]));
}

#[test]
fn same_average_pooling_divides_by_the_real_cells() {
    // 5x5, window 2, stride 2, SAME: 3x3 windows; the last row and column of windows hang over
    // one padding row or column, so they divide by 2, and the corner by 1.
    let run = pool_run(vec![1.0; 25], 5, 5, PoolKind::Average, 2, 2, Padding::Same);
    let back = PoolBackward::new(run, &Upstream::Random { seed: 4 }).unwrap();
    let divisors: Vec<usize> = (0..9)
        .map(|i| back.cell(i / 3, i % 3).unwrap().divisor)
        .collect();
    assert_eq!(divisors, vec![4, 4, 2, 4, 4, 2, 2, 2, 1]);
    let corner = back.cell(2, 2).unwrap();
    let real: Vec<f32> = corner
        .cells
        .iter()
        .filter(|s| !s.padding)
        .map(|s| s.share)
        .collect();
    assert_eq!(real, vec![corner.upstream]);
    check_pool(&back);
}

#[test]
fn the_gradient_check_passes_on_the_real_kernels_and_fails_with_each_bug() {
    for (i, run) in explorer_setups().iter().enumerate() {
        gradient_check_tells_bugs(run, &format!("setup {i}"));
    }
}

#[test]
fn a_gradient_check_too_large_for_the_page_is_sampled_or_refused() {
    // The RGB face at 64x64 with eight 5x5 filters, SAME, is sampled, with a note.
    let face = conv_run(face_rgb(64), 8, settings(5, 1, Padding::Same, 1), false, 1);
    let check = GradCheck::new(&face, None, 1).unwrap();
    let report = check.report();
    assert!(report.note.contains("picked at random"), "{}", report.note);
    // A 256x256 picture with eight 15x15 filters is refused with a message.
    let big = conv_run(
        random_image(256, 256, 3, 1),
        8,
        settings(15, 1, Padding::Same, 1),
        false,
        1,
    );
    let err = GradCheck::new(&big, None, 1).unwrap_err().to_string();
    assert!(err.contains("too large for a gradient check"), "{err}");
}

#[test]
fn batch_norm_paths_add_up_to_the_kernel() {
    batch_norm_paths_add_up();
}

#[test]
fn dropout_and_dense_breakdowns_match_the_kernels() {
    dropout_and_dense_add_up();
}

#[test]
fn the_slow_motion_step_is_one_fit_step() {
    slow_step_is_one_fit_step();
}
