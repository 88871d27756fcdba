//! The performance benchmark's workload (issue 6): the chapter's model training on synthetic
//! smiles, inference, the convolution kernels on the chapter's two conv shapes with
//! preallocated buffers, and a SIMD128 f32x4 mul+add loop that measures the engine's peak.
//!
//! [`Workload`] is plain Rust (the native bench, `examples/bench_native.rs`, drives it);
//! [`Bench`] is the wasm-bindgen handle that `bench/run.mjs` drives in Node and in Chromium.
//! Nothing here reads a clock: the caller times each coarse call (`performance.now()` in JS,
//! `Instant` natively), so both sides measure the same work the same way.

use crate::data::synthetic::{generate_set, Difficulty};
use crate::kernels::conv::{
    conv2d_backward_input, conv2d_backward_weight, conv2d_forward, ConvGeometry, Padding,
};
use crate::kernels::scratch::ConvScratch;
use crate::nn::examples::Examples;
use crate::nn::fit::{FitConfig, Trainer};
use crate::nn::layers::Mode;
use crate::nn::model::Sequential;
use crate::nn::spec::ModelSpec;
use crate::rng::rng_from_seed;
use crate::{invalid, Result};
use rand::RngExt;
use wasm_bindgen::prelude::*;

/// The three convolution kernels a training step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvKernel {
    /// Forward pass with bias and the fused ReLU, as the model calls it.
    Forward,
    /// Input gradient (dx).
    BackwardInput,
    /// Weight and bias gradient (dw).
    BackwardWeight,
}

impl ConvKernel {
    /// `fwd`, `dx` or `dw`, the names the bench's report uses.
    pub fn from_name(name: &str) -> Result<Self> {
        match name {
            "fwd" => Ok(Self::Forward),
            "dx" => Ok(Self::BackwardInput),
            "dw" => Ok(Self::BackwardWeight),
            _ => Err(invalid!(
                "unknown convolution kernel '{name}': use fwd, dx or dw"
            )),
        }
    }
}

/// One conv shape with every buffer its three kernels touch, filled once with seeded values.
#[derive(Debug)]
struct KernelCase {
    g: ConvGeometry,
    input: Vec<f32>,    // (N, H, W, CI)
    weight: Vec<f32>,   // (KH, KW, CI, CO)
    bias: Vec<f32>,     // (CO)
    out: Vec<f32>,      // (N, OH, OW, CO)
    d_out: Vec<f32>,    // (N, OH, OW, CO)
    d_input: Vec<f32>,  // (N, H, W, CI)
    d_weight: Vec<f32>, // (KH, KW, CI, CO)
    d_bias: Vec<f32>,   // (CO)
}

impl KernelCase {
    fn new(g: ConvGeometry, seed: u64) -> Self {
        let mut rng = rng_from_seed(seed);
        let mut values = |len: usize| {
            (0..len)
                .map(|_| rng.random::<f32>() - 0.5)
                .collect::<Vec<f32>>()
        };
        Self {
            input: values(g.input_len()),
            weight: values(g.weight_len()),
            bias: values(g.out_c),
            out: vec![0.0; g.output_len()],
            d_out: values(g.output_len()),
            d_input: vec![0.0; g.input_len()],
            d_weight: vec![0.0; g.weight_len()],
            d_bias: vec![0.0; g.out_c],
            g,
        }
    }

    /// Runs `kernel` `reps` times. The gradients accumulate from call to call, as they would
    /// over a batch; their values do not matter here, only that the work is done.
    fn run(&mut self, kernel: ConvKernel, reps: usize, scratch: &mut ConvScratch) {
        for _ in 0..reps {
            match kernel {
                ConvKernel::Forward => conv2d_forward(
                    &mut self.out,
                    &self.input,
                    &self.weight,
                    Some(&self.bias),
                    true,
                    &self.g,
                    scratch,
                ),
                ConvKernel::BackwardInput => conv2d_backward_input(
                    &mut self.d_input,
                    &self.d_out,
                    &self.weight,
                    &self.g,
                    scratch,
                ),
                ConvKernel::BackwardWeight => conv2d_backward_weight(
                    &mut self.d_weight,
                    Some(&mut self.d_bias),
                    &self.d_out,
                    &self.input,
                    &self.g,
                    scratch,
                ),
            }
        }
    }

    /// A sum over a sample of what `kernel` wrote, so that no engine can skip the work. Only a
    /// sample (every CHECKSUM_STRIDE-th value): summing all 2.4 million outputs of conv1 took
    /// about a tenth of the kernel's own time, which the bench then counted as kernel time.
    fn checksum(&self, kernel: ConvKernel) -> f64 {
        let written: &[&[f32]] = match kernel {
            ConvKernel::Forward => &[&self.out],
            ConvKernel::BackwardInput => &[&self.d_input],
            ConvKernel::BackwardWeight => &[&self.d_weight, &self.d_bias],
        };
        written
            .iter()
            .map(|v| {
                v.iter()
                    .step_by(CHECKSUM_STRIDE)
                    .map(|&x| x as f64)
                    .sum::<f64>()
            })
            .sum()
    }
}

/// One value in this many enters a kernel case's checksum.
const CHECKSUM_STRIDE: usize = 61;

/// Multiply-adds of one call of any of the three kernels, counted as 2 flops each:
/// N * OH * OW * KH * KW * CI * CO of them (dx and dw do as many as the forward pass).
pub fn conv_flops(g: &ConvGeometry) -> f64 {
    2.0 * g.output_pixels() as f64 * g.patch_len() as f64 * g.out_c as f64
}

/// The chapter's two convolutions for a batch: 64x64x3 -> 16 and 32x32x16 -> 32, 5x5, same.
pub fn chapter_conv_shapes(batch: usize) -> Result<[ConvGeometry; 2]> {
    Ok([
        ConvGeometry::new(batch, (64, 64, 3), (5, 5, 16), 1, 1, Padding::Same)?,
        ConvGeometry::new(batch, (32, 32, 16), (5, 5, 32), 1, 1, Padding::Same)?,
    ])
}

/// The chapter's model, its training run over synthetic images, and the kernel cases.
#[derive(Debug)]
pub struct Workload {
    model: Sequential,
    trainer: Trainer,
    images: Vec<f32>, // (images, 64, 64, 3)
    labels: Vec<u8>,  // (images)
    cases: Vec<KernelCase>,
    scratch: ConvScratch,
}

impl Workload {
    /// `images` synthetic 64x64 RGB smiles (data seed `seed`), the chapter's model (weights from
    /// `seed`), training in batches of `batch_size` without validation or early stopping (so an
    /// epoch is training only, as the figures count it), and kernel cases of that batch.
    pub fn new(images: usize, batch_size: usize, seed: u64) -> Result<Self> {
        if batch_size == 0 || images < batch_size {
            return Err(invalid!(
                "the bench needs at least one full batch: {images} images, batch size {batch_size}"
            ));
        }
        let data = generate_set(images, seed, Difficulty::Normal, None)?;
        let mut model = Sequential::new(&ModelSpec::chapter(), seed)?;
        let config = FitConfig {
            // An epoch count the bench never reaches: it runs epochs one call at a time.
            epochs: usize::MAX,
            batch_size,
            shuffle: true,
            seed,
            validation_split: 0.0,
            early_stopping: None,
            ..FitConfig::recommended()
        };
        let examples = data.examples();
        let trainer = Trainer::new(&mut model, &examples, None, config)?;
        let shapes = chapter_conv_shapes(batch_size)?;
        let scratch = ConvScratch::for_geometries(&shapes);
        let cases = shapes
            .iter()
            .enumerate()
            .map(|(i, g)| KernelCase::new(*g, seed + i as u64))
            .collect();
        Ok(Self {
            model,
            trainer,
            images: data.images().to_vec(),
            labels: data.labels().to_vec(),
            cases,
            scratch,
        })
    }

    pub fn image_count(&self) -> usize {
        self.labels.len()
    }

    pub fn param_count(&self) -> usize {
        self.model.plan().total_params()
    }

    /// The training images (N, 64, 64, 3) and labels, to give the other frameworks the same data.
    pub fn images(&self) -> &[f32] {
        &self.images
    }
    pub fn labels(&self) -> &[u8] {
        &self.labels
    }

    /// Trains one whole epoch; returns its mean training loss (finite if training is healthy).
    pub fn train_epoch(&mut self) -> Result<f32> {
        let data = Examples::new(&self.images, &self.labels, self.model.input_len())?;
        loop {
            let step = self.trainer.step(&mut self.model, &data, None)?;
            match (step.epoch, step.finished) {
                (Some(log), _) => return Ok(log.loss),
                (None, Some(stop)) => {
                    return Err(invalid!("training stopped: {}", stop.describe()))
                }
                (None, None) => {}
            }
        }
    }

    /// Inference on the first `count` training images in batches of `batch_size`;
    /// returns the sum of the output probabilities.
    pub fn infer(&mut self, count: usize, batch_size: usize) -> Result<f32> {
        if count == 0 || count > self.image_count() || batch_size == 0 {
            return Err(invalid!("inference needs 1 to {} images and a batch of at least 1 (got {count}, batch {batch_size})", self.image_count()));
        }
        let len = self.model.input_len();
        let mut sum = 0.0;
        for chunk in self.images[..count * len].chunks(batch_size * len) {
            sum += self.model.forward(chunk, Mode::Infer).iter().sum::<f32>();
        }
        Ok(sum)
    }

    /// The conv shapes of the kernel cases, in order.
    pub fn conv_shapes(&self) -> Vec<ConvGeometry> {
        self.cases.iter().map(|c| c.g).collect()
    }

    /// Runs `kernel` on conv shape `case` `reps` times; returns a checksum of the results.
    pub fn run_kernel(&mut self, case: usize, kernel: ConvKernel, reps: usize) -> Result<f64> {
        let count = self.cases.len();
        let c = self
            .cases
            .get_mut(case)
            .ok_or_else(|| invalid!("there are {count} conv shapes, no shape {case}"))?;
        c.run(kernel, reps, &mut self.scratch);
        Ok(c.checksum(kernel))
    }
}

/// Flops of one call of [`simd128_mul_add_loop`] with `iterations`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd128_loop_flops(iterations: u32) -> f64 {
    // Each iteration: MUL_CHAINS f32x4 multiplies twice and ADD_CHAINS f32x4 adds twice.
    (2 * 4 * (MUL_CHAINS + ADD_CHAINS)) as f64 * iterations as f64
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const MUL_CHAINS: usize = 6;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
const ADD_CHAINS: usize = 6;

/// The SIMD128 peak: independent chains of f32x4 multiplies and adds (no loads), as many as
/// hide their latency and fit in registers. A multiply by m is undone by a multiply by 1/m and
/// an add of a by an add of -a, so the values neither overflow nor become slow denormals, and
/// since floats do not reassociate no compiler may fold the pairs away. Returns a sum of the
/// chains so that the work cannot be skipped.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn simd128_mul_add_loop(iterations: u32, seed: f32) -> f32 {
    use core::arch::wasm32::*;
    let (m, m_inv) = (f32x4_splat(1.000_1), f32x4_splat(1.0 / 1.000_1));
    let (a, minus_a) = (f32x4_splat(0.5), f32x4_splat(-0.5));
    let mut p = [f32x4_splat(seed); MUL_CHAINS];
    let mut s = [f32x4_splat(seed); ADD_CHAINS];
    for (i, v) in p.iter_mut().chain(s.iter_mut()).enumerate() {
        *v = f32x4_add(*v, f32x4_splat(i as f32));
    }
    for _ in 0..iterations {
        for v in &mut p {
            *v = f32x4_mul(*v, m);
        }
        for v in &mut s {
            *v = f32x4_add(*v, a);
        }
        for v in &mut p {
            *v = f32x4_mul(*v, m_inv);
        }
        for v in &mut s {
            *v = f32x4_add(*v, minus_a);
        }
    }
    let total = p
        .iter()
        .chain(s.iter())
        .fold(f32x4_splat(0.0), |t, v| f32x4_add(t, *v));
    f32x4_extract_lane::<0>(total)
        + f32x4_extract_lane::<1>(total)
        + f32x4_extract_lane::<2>(total)
        + f32x4_extract_lane::<3>(total)
}

/// Flops of one call of [`relaxed_madd_loop`] with `iterations`.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn relaxed_loop_flops(iterations: u32) -> f64 {
    // Each iteration: MADD_CHAINS f32x4 multiply-adds twice, two flops per lane.
    (2 * 2 * 4 * MADD_CHAINS) as f64 * iterations as f64
}

/// Independent multiply-add chains: as many as hide the FMA latency and, with the four
/// constants, fit in x64's 16 vector registers (V8 keeps one for itself).
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
const MADD_CHAINS: usize = 10;

/// The relaxed-SIMD peak: independent chains of f32x4 multiply-adds (no loads). Each chain
/// does v = v * m + a, then v = v * (1/m) - a/m, which returns to about v, so the values
/// stay in range; a fused and an unfused multiply-add both qualify. Returns a sum of the
/// chains so that the work cannot be skipped.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub fn relaxed_madd_loop(iterations: u32, seed: f32) -> f32 {
    use core::arch::wasm32::*;
    let (m, m_inv) = (f32x4_splat(1.000_1), f32x4_splat(1.0 / 1.000_1));
    let (a, minus_a_over_m) = (f32x4_splat(0.5), f32x4_splat(-0.5 / 1.000_1));
    let mut v = [f32x4_splat(seed); MADD_CHAINS];
    for (i, x) in v.iter_mut().enumerate() {
        *x = f32x4_add(*x, f32x4_splat(i as f32));
    }
    for _ in 0..iterations {
        for x in &mut v {
            *x = f32x4_relaxed_madd(*x, m, a);
        }
        for x in &mut v {
            *x = f32x4_relaxed_madd(*x, m_inv, minus_a_over_m);
        }
    }
    let total = v.iter().fold(f32x4_splat(0.0), |t, x| f32x4_add(t, *x));
    f32x4_extract_lane::<0>(total)
        + f32x4_extract_lane::<1>(total)
        + f32x4_extract_lane::<2>(total)
        + f32x4_extract_lane::<3>(total)
}

fn js_error(e: crate::Error) -> JsError {
    JsError::new(&e.to_string())
}

/// The benchmark handle for JavaScript: one [`Workload`]; JS times each call.
#[wasm_bindgen]
pub struct Bench(Workload);

#[wasm_bindgen]
impl Bench {
    /// See [`Workload::new`].
    #[wasm_bindgen(constructor)]
    pub fn new(images: usize, batch_size: usize, seed: u32) -> std::result::Result<Bench, JsError> {
        Ok(Bench(
            Workload::new(images, batch_size, seed as u64).map_err(js_error)?,
        ))
    }

    #[wasm_bindgen(js_name = imageCount)]
    pub fn image_count(&self) -> usize {
        self.0.image_count()
    }

    #[wasm_bindgen(js_name = paramCount)]
    pub fn param_count(&self) -> usize {
        self.0.param_count()
    }

    /// The training images (N, 64, 64, 3) as a fresh Float32Array.
    pub fn images(&self) -> Vec<f32> {
        self.0.images().to_vec()
    }

    /// The labels (N) as a fresh Uint8Array.
    pub fn labels(&self) -> Vec<u8> {
        self.0.labels().to_vec()
    }

    /// Trains one epoch; returns its mean loss.
    #[wasm_bindgen(js_name = trainEpoch)]
    pub fn train_epoch(&mut self) -> std::result::Result<f32, JsError> {
        self.0.train_epoch().map_err(js_error)
    }

    /// Inference on the first `count` images in batches of `batchSize`; returns the sum of probabilities.
    pub fn infer(&mut self, count: usize, batch_size: usize) -> std::result::Result<f32, JsError> {
        self.0.infer(count, batch_size).map_err(js_error)
    }

    /// The conv shapes as `[{batch, height, width, inChannels, kernel, outChannels, flops}]`.
    #[wasm_bindgen(js_name = convShapes)]
    pub fn conv_shapes(&self) -> std::result::Result<JsValue, JsError> {
        let shapes: Vec<serde_json::Value> = self
            .0
            .conv_shapes()
            .iter()
            .map(|g| {
                serde_json::json!({"batch": g.batch, "height": g.in_h, "width": g.in_w, "inChannels": g.in_c,
                    "kernel": g.k_h, "outChannels": g.out_c, "flops": conv_flops(g)})
            })
            .collect();
        let serializer = serde_wasm_bindgen::Serializer::json_compatible();
        serde::Serialize::serialize(&shapes, &serializer)
            .map_err(|e| JsError::new(&format!("internal error while answering: {e}")))
    }

    /// Runs kernel `fwd`, `dx` or `dw` on conv shape `shape` `reps` times; returns a checksum.
    #[wasm_bindgen(js_name = runKernel)]
    pub fn run_kernel(
        &mut self,
        shape: usize,
        kernel: &str,
        reps: usize,
    ) -> std::result::Result<f64, JsError> {
        let kernel = ConvKernel::from_name(kernel).map_err(js_error)?;
        self.0.run_kernel(shape, kernel, reps).map_err(js_error)
    }

    /// Runs the SIMD128 mul+add peak loop; returns `[flops, checksum]`.
    #[wasm_bindgen(js_name = simdPeakLoop)]
    pub fn simd_peak_loop(iterations: u32) -> std::result::Result<Vec<f64>, JsError> {
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            let checksum = simd128_mul_add_loop(iterations, 1.0 + iterations as f32 * 1e-9);
            Ok(vec![simd128_loop_flops(iterations), checksum as f64])
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
        {
            let _ = iterations;
            Err(JsError::new(
                "this module was built without SIMD128, so it cannot measure the SIMD128 peak",
            ))
        }
    }

    /// Runs the relaxed-SIMD multiply-add peak loop; returns `[flops, checksum]`.
    #[wasm_bindgen(js_name = relaxedPeakLoop)]
    pub fn relaxed_peak_loop(iterations: u32) -> std::result::Result<Vec<f64>, JsError> {
        #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
        {
            let checksum = relaxed_madd_loop(iterations, 1.0 + iterations as f32 * 1e-9);
            Ok(vec![relaxed_loop_flops(iterations), checksum as f64])
        }
        #[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
        {
            let _ = iterations;
            Err(JsError::new(
                "this module was built without relaxed SIMD, so it cannot measure the multiply-add peak",
            ))
        }
    }

    /// Bytes of wasm linear memory now (it only grows, so after training it is the training peak).
    #[wasm_bindgen(js_name = memoryBytes)]
    pub fn memory_bytes() -> std::result::Result<f64, JsError> {
        #[cfg(target_arch = "wasm32")]
        {
            Ok(core::arch::wasm32::memory_size::<0>() as f64 * 65536.0)
        }
        #[cfg(not(target_arch = "wasm32"))]
        {
            Err(JsError::new("linear memory exists only in the wasm build"))
        }
    }
}
