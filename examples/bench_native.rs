//! The native side of `./build.sh bench` (issue 6): the same workload as the wasm bench
//! (`convscope::app::bench::Workload`), timed with `Instant`, printed as one JSON object.
//!
//!     cargo run --release --example bench_native -- [images] [batch] [epochs] [reps]
//!
//! Defaults: 600 images, batch 32, 5 timed epochs after one warm-up epoch, 5 repetitions of
//! each inference and kernel measurement. bench/run.mjs runs it and reads the JSON.

use convscope::app::bench::{conv_flops, ConvKernel, Workload};
use std::hint::black_box;
use std::time::Instant;

fn seconds(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn arg(index: usize, default: usize) -> usize {
    match std::env::args().nth(index) {
        Some(text) => text
            .parse()
            .unwrap_or_else(|_| panic!("argument {index} must be a whole number, got '{text}'")),
        None => default,
    }
}

fn main() -> convscope::Result<()> {
    let (images, batch, epochs, reps) = (arg(1, 600), arg(2, 32), arg(3, 5), arg(4, 5));
    let infer_count = images.min(150);
    let mut w = Workload::new(images, batch, 1)?;
    let mut losses = vec![w.train_epoch()?]; // warm-up: first-touch page faults, caches
    let mut epoch_s = Vec::new();
    for _ in 0..epochs {
        let mut loss = 0.0;
        epoch_s.push(seconds(|| {
            loss = w.train_epoch().expect("the bench's training run failed")
        }));
        losses.push(loss);
    }
    let mut infer_s = Vec::new();
    let mut single_s = Vec::new();
    for _ in 0..reps {
        infer_s.push(seconds(|| {
            let _ = black_box(w.infer(infer_count, batch).expect("inference failed"));
        }));
        single_s.push(seconds(|| {
            let _ = black_box(w.infer(1, 1).expect("inference failed"));
        }));
    }
    let mut kernels = Vec::new();
    for (shape, g) in w.conv_shapes().iter().enumerate() {
        for (name, kernel) in [
            ("fwd", ConvKernel::Forward),
            ("dx", ConvKernel::BackwardInput),
            ("dw", ConvKernel::BackwardWeight),
        ] {
            w.run_kernel(shape, kernel, 1)?;
            let times: Vec<f64> = (0..reps)
                .map(|_| {
                    seconds(|| {
                        let _ = black_box(w.run_kernel(shape, kernel, 1).expect("kernel failed"));
                    })
                })
                .collect();
            kernels.push(serde_json::json!({"shape": shape, "kernel": name, "flops": conv_flops(g), "seconds": times}));
        }
    }
    let report = serde_json::json!({
        "images": images, "batch": batch, "params": w.param_count(),
        "epoch_s": epoch_s, "losses": losses,
        "infer_count": infer_count, "infer_s": infer_s, "single_s": single_s,
        "kernels": kernels,
    });
    println!("{report}");
    Ok(())
}
