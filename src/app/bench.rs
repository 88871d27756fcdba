//! The performance benchmark's workload (issue 6): the chapter's model training on synthetic
//! smiles, inference, the convolution kernels on the chapter's two conv shapes with
//! preallocated buffers (the engine's peak loops are in [`crate::kernels::peak`]).
//!
//! The native bench (`examples/bench_native.rs`) drives [`Workload`] directly; the wasm handle
//! `web::bench::Bench` wraps it for `bench/run.mjs` in Node and in Chromium.
//! Nothing here reads a clock: the caller times each coarse call (`performance.now()` in JS,
//! `Instant` natively), so both sides measure the same work the same way.

use crate::data::synthetic::{generate_set, Difficulty};
use crate::kernels::conv::{conv2d_backward_input, conv2d_backward_weight, conv2d_forward};
use crate::kernels::geometry::{ConvGeometry, Padding};
use crate::kernels::scratch::ConvScratch;
use crate::nn::examples::Examples;
use crate::nn::fit::{FitConfig, Trainer};
use crate::nn::layers::Mode;
use crate::nn::model::Sequential;
use crate::nn::spec::ModelSpec;
use crate::rng::rng_from_seed;
use crate::{invalid, Result};
use rand::RngExt;

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
