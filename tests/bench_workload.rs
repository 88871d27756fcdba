//! The benchmark's workload (src/web/bench.rs) natively: the figures `./build.sh bench`
//! reports are only as good as the work it times, so check that work is what it claims.

use convscope::app::bench::{chapter_conv_shapes, conv_flops, ConvKernel, Workload};

#[test]
fn flop_counts_of_the_chapter_convolutions() {
    let [conv1, conv2] = chapter_conv_shapes(1).unwrap();
    // 64*64 pixels * 5*5*3 taps * 16 filters, and 32*32 * 5*5*16 * 32, two flops each.
    assert_eq!(conv_flops(&conv1), 2.0 * 4096.0 * 75.0 * 16.0);
    assert_eq!(conv_flops(&conv2), 2.0 * 1024.0 * 400.0 * 32.0);
    let [batch1, _] = chapter_conv_shapes(32).unwrap();
    assert_eq!(conv_flops(&batch1), 32.0 * conv_flops(&conv1));
}

#[test]
fn a_small_workload_trains_infers_and_runs_every_kernel() {
    let mut w = Workload::new(8, 4, 1).unwrap();
    assert_eq!(w.param_count(), 1_063_073);
    assert_eq!(
        (w.image_count(), w.images().len(), w.labels().len()),
        (8, 8 * 64 * 64 * 3, 8)
    );
    let first = w.train_epoch().unwrap();
    let second = w.train_epoch().unwrap();
    assert!(
        first.is_finite() && second.is_finite() && first != second,
        "losses {first}, {second}"
    );
    // Same seed, same run: the timed work is reproducible.
    let mut again = Workload::new(8, 4, 1).unwrap();
    assert_eq!(again.train_epoch().unwrap(), first);

    let p = w.infer(5, 2).unwrap();
    assert!(p > 0.0 && p < 5.0, "5 probabilities sum to {p}");
    assert_eq!(w.conv_shapes().len(), 2);
    for shape in 0..2 {
        for kernel in [
            ConvKernel::Forward,
            ConvKernel::BackwardInput,
            ConvKernel::BackwardWeight,
        ] {
            let once = w.run_kernel(shape, kernel, 1).unwrap();
            let twice = w.run_kernel(shape, kernel, 1).unwrap();
            assert!(
                once.is_finite() && once != 0.0,
                "{kernel:?} on shape {shape}: checksum {once}"
            );
            // The gradients accumulate, so a second call changes the checksum; the forward pass overwrites.
            assert_eq!(
                kernel == ConvKernel::Forward,
                once == twice,
                "{kernel:?} on shape {shape}"
            );
        }
    }
}

#[test]
fn bad_requests_are_explained() {
    assert!(Workload::new(3, 4, 1)
        .unwrap_err()
        .to_string()
        .contains("at least one full batch"));
    let mut w = Workload::new(4, 4, 1).unwrap();
    assert!(w.infer(5, 4).is_err());
    assert!(w.infer(1, 0).is_err());
    assert!(w
        .run_kernel(2, ConvKernel::Forward, 1)
        .unwrap_err()
        .to_string()
        .contains("no shape 2"));
    assert!(ConvKernel::from_name("dy").is_err());
    assert_eq!(
        ConvKernel::from_name("dw").unwrap(),
        ConvKernel::BackwardWeight
    );
}
