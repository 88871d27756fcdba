//! The benchmark handle for `bench/run.mjs`: the workload of [`crate::app::bench`] and the peak
//! loops of [`crate::kernels::peak`], one coarse call each; JS times every call.

use crate::app::bench::{conv_flops, ConvKernel, Workload};
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
use crate::kernels::peak::{relaxed_loop_flops, relaxed_madd_loop};
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use crate::kernels::peak::{simd128_loop_flops, simd128_mul_add_loop};
use wasm_bindgen::prelude::*;

/// The benchmark handle for JavaScript: one [`Workload`]; JS times each call.
#[wasm_bindgen]
pub struct Bench(Workload);

#[wasm_bindgen]
impl Bench {
    /// See [`Workload::new`].
    #[wasm_bindgen(constructor)]
    pub fn new(images: usize, batch_size: usize, seed: u32) -> std::result::Result<Bench, JsError> {
        Ok(Bench(Workload::new(images, batch_size, seed as u64)?))
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
        Ok(self.0.train_epoch()?)
    }

    /// Inference on the first `count` images in batches of `batchSize`; returns the sum of probabilities.
    pub fn infer(&mut self, count: usize, batch_size: usize) -> std::result::Result<f32, JsError> {
        Ok(self.0.infer(count, batch_size)?)
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
        let kernel = ConvKernel::from_name(kernel)?;
        Ok(self.0.run_kernel(shape, kernel, reps)?)
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
