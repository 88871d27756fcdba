//! Native throughput of the depthwise kernels on one of EfficientNet-Lite0's layers,
//! (1, 112, 112, 96) with a 3x3 kernel, stride 1, 'same': the fast kernels against the scalar
//! references, as information (not a timed test; the bench of `./build.sh bench` is the page's).
//!
//!     cargo run --release --example depthwise_throughput -- [reps]
//!
//! Prints the best of `reps` (default 5) runs of each kernel: milliseconds, millions of
//! multiply-adds per second, and the gigabytes per second of the tensors it must read and write.

use convscope::kernels::depthwise::*;
use convscope::kernels::geometry::{DepthwiseGeometry, Padding};
use std::hint::black_box;
use std::time::Instant;

fn best_of(reps: usize, mut f: impl FnMut()) -> f64 {
    (0..reps)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64()
        })
        .fold(f64::INFINITY, f64::min)
}

fn main() -> convscope::Result<()> {
    let reps = std::env::args()
        .nth(1)
        .map_or(5, |t| t.parse().expect("reps must be a whole number"));
    let g = DepthwiseGeometry::new(1, (112, 112, 96), (3, 3), 1, 1, Padding::Same)?;
    let values = |len: usize, seed: usize| -> Vec<f32> {
        (0..len)
            .map(|i| ((i * 7919 + seed * 104_729) % 2001) as f32 / 1000.0 - 1.0)
            .collect()
    };
    let input = values(g.input_len(), 1);
    let weight = values(g.weight_len(), 2);
    let bias = values(g.channels, 3);
    let d_out = values(g.output_len(), 4);
    let mut out = vec![0.0; g.output_len()];
    let mut d_input = vec![0.0; g.input_len()];
    let mut d_weight = vec![0.0; g.weight_len()];
    let mut d_bias = vec![0.0; g.channels];
    let madds = (g.output_len() * g.k_h * g.k_w) as f64;
    // Each kernel reads one (N, H, W, C) tensor and reads or writes another, once each at least.
    let bytes = ((g.input_len() + g.output_len()) * 4) as f64;
    let report = |name: &str, s: f64| {
        println!(
            "{name:<28} {:>8.3} ms  {:>8.0} M madd/s  {:>6.2} GB/s",
            s * 1e3,
            madds / s / 1e6,
            bytes / s / 1e9
        );
        s
    };
    println!("depthwise {g:?}");
    let r = report(
        "forward, reference",
        best_of(reps, || {
            depthwise_forward_reference(&mut out, &input, &weight, Some(&bias), &g);
            black_box(&out);
        }),
    );
    let f = report(
        "forward, fast",
        best_of(reps, || {
            depthwise_forward(&mut out, &input, &weight, Some(&bias), None, &g);
            black_box(&out);
        }),
    );
    report(
        "forward, fast + ReLU6",
        best_of(reps, || {
            depthwise_forward(&mut out, &input, &weight, Some(&bias), Some((0.0, 6.0)), &g);
            black_box(&out);
        }),
    );
    let ri = report(
        "d_input, reference",
        best_of(reps, || {
            depthwise_backward_input_reference(&mut d_input, &d_out, &weight, &g);
            black_box(&d_input);
        }),
    );
    let fi = report(
        "d_input, fast",
        best_of(reps, || {
            depthwise_backward_input(&mut d_input, &d_out, &weight, &g);
            black_box(&d_input);
        }),
    );
    let rw = report(
        "d_weight + d_bias, reference",
        best_of(reps, || {
            depthwise_backward_weight_reference(
                &mut d_weight,
                Some(&mut d_bias),
                &d_out,
                &input,
                &g,
            );
            black_box(&d_weight);
        }),
    );
    let fw = report(
        "d_weight + d_bias, fast",
        best_of(reps, || {
            depthwise_backward_weight(&mut d_weight, Some(&mut d_bias), &d_out, &input, &g);
            black_box(&d_weight);
        }),
    );
    println!(
        "fast / reference speed-up: forward {:.1}x, d_input {:.1}x, d_weight {:.1}x",
        r / f,
        ri / fi,
        rw / fw
    );
    Ok(())
}
