//! The backward mode's exports: the explorer's convolution and pooling run backwards (main
//! thread, like [`super::api`]), batch norm, dropout and dense written out, the gradient check
//! (a handle the worker advances in slices), and the slow-motion training step on the
//! worker's session.

use super::api::{ConvLab, PoolLab};
use super::training::TrainingSession;
use super::{to_js, with_arrays};
use crate::app::backward::conv::ConvBackward;
use crate::app::backward::gradcheck::{Bug, GradCheck};
use crate::app::backward::layers::{BatchNormBackward, DenseBackward, DropoutBackward};
use crate::app::backward::pool::PoolBackward;
use crate::app::backward::step::{slow_step_on_session, step_layers, StepChoice};
use crate::app::backward::{tenths, Upstream};
use wasm_bindgen::prelude::*;

#[wasm_bindgen]
impl ConvLab {
    /// This convolution run backwards. `upstream` is `random` (with `seed`) or `target` (with
    /// `target`, (OH, OW, F) values painted by the student; mean squared error).
    pub fn backward(
        &self,
        upstream: &str,
        seed: u32,
        target: &[f32],
    ) -> Result<ConvBackLab, JsError> {
        let upstream = Upstream::parse(upstream, seed.into(), target)?;
        Ok(ConvBackLab(ConvBackward::new(
            self.run().clone(),
            &upstream,
        )?))
    }

    /// A gradient check of the small network built on this setup (see [`GradCheck`]); `bug`
    /// is `none`, `relu-mask`, `batchnorm-mean` or `padding`.
    #[wasm_bindgen(js_name = gradientCheck)]
    pub fn gradient_check(&self, bug: &str, seed: u32) -> Result<GradientCheck, JsError> {
        Ok(GradientCheck(GradCheck::new(
            self.run(),
            Bug::parse(bug)?,
            seed.into(),
        )?))
    }
}

/// A convolution's backward pass.
#[wasm_bindgen]
pub struct ConvBackLab(ConvBackward);

#[wasm_bindgen]
impl ConvBackLab {
    /// The loss when the gradient comes from a painted target, else undefined.
    #[wasm_bindgen(getter)]
    pub fn loss(&self) -> Option<f32> {
        self.0.loss
    }
    /// Filter `f`'s maps: `{upstream, gradient}` (OH, OW) Float32Arrays, the gradient being
    /// what passes the ReLU mask.
    pub fn maps(&self, f: usize) -> Result<JsValue, JsError> {
        let (upstream, gradient) = self.0.maps(f)?;
        with_arrays(
            &serde_json::json!({}),
            &[("upstream", &upstream), ("gradient", &gradient)],
        )
    }
    /// Output cell (oy, ox) of filter `f` written out (see [`crate::app::backward::conv::BackwardCell`]),
    /// with the running `dw` (K, K, C) and `dx` (H, W, C) after it as Float32Arrays.
    pub fn cell(&self, oy: usize, ox: usize, f: usize) -> Result<JsValue, JsError> {
        let cell = self.0.cell(oy, ox, f)?;
        let dw = self.0.running_weight(oy, ox, f)?;
        let dx = self.0.running_input(oy, ox, f)?;
        with_arrays(&cell, &[("dw", &dw), ("dx", &dx)])
    }
    /// The kernels' totals: `{dw (K, K, C) of filter f, dbias (F), dx (H, W, C)}`.
    pub fn totals(&self, f: usize) -> Result<JsValue, JsError> {
        let dw = self.0.weight_gradient(f)?;
        with_arrays(
            &serde_json::json!({}),
            &[
                ("dw", &dw),
                ("dbias", &self.0.d_bias),
                ("dx", &self.0.d_input),
            ],
        )
    }
    /// dX as a convolution with the flipped kernel: `{height, width, map (height, width, F),
    /// kernel (K, K, F, C), dx (H, W, C)}`.
    #[wasm_bindgen(js_name = flippedView)]
    pub fn flipped_view(&self) -> Result<JsValue, JsError> {
        let v = self.0.flipped_view()?;
        with_arrays(
            &serde_json::json!({ "height": v.height, "width": v.width }),
            &[("map", &v.map), ("kernel", &v.kernel), ("dx", &v.d_input)],
        )
    }
    /// `{reached (H, W) of 0/1, unreached, message}`: the input cells no window covers.
    pub fn reach(&self) -> Result<JsValue, JsError> {
        to_js(&self.0.reach())
    }
}

#[wasm_bindgen]
impl PoolLab {
    /// This pooling run backwards (see [`ConvLab::backward`] for `upstream`).
    pub fn backward(
        &self,
        upstream: &str,
        seed: u32,
        target: &[f32],
    ) -> Result<PoolBackLab, JsError> {
        let upstream = Upstream::parse(upstream, seed.into(), target)?;
        Ok(PoolBackLab(PoolBackward::new(
            self.run().clone(),
            &upstream,
        )?))
    }
}

/// A pooling's backward pass.
#[wasm_bindgen]
pub struct PoolBackLab(PoolBackward);

#[wasm_bindgen]
impl PoolBackLab {
    #[wasm_bindgen(getter)]
    pub fn loss(&self) -> Option<f32> {
        self.0.loss
    }
    /// dL/d out, (OH, OW).
    pub fn upstream(&self) -> Vec<f32> {
        self.0.d_out.clone()
    }
    /// The kernel's dX, (H, W).
    #[wasm_bindgen(js_name = inputGradient)]
    pub fn input_gradient(&self) -> Vec<f32> {
        self.0.d_input.clone()
    }
    /// Window (oy, ox) written out, with the running `dx` (H, W) after it.
    pub fn cell(&self, oy: usize, ox: usize) -> Result<JsValue, JsError> {
        let cell = self.0.cell(oy, ox)?;
        let dx = self.0.running_input(oy, ox)?;
        with_arrays(&cell, &[("dx", &dx)])
    }
}

/// Batch norm, dropout and dense run backwards on the explorer's maps `input` (rows, C):
/// `{batchNorm: terms of (row, channel), dropout: {mask, upstream, dx}, dense: outer(i, j)}`.
/// Seeded upstream gradients and weights, so that the numbers stay put while one looks.
#[wasm_bindgen(js_name = layerBackward)]
pub fn layer_backward(
    input: &[f32],
    channels: usize,
    row: usize,
    channel: usize,
    dropout_rate: f32,
    seed: u32,
) -> Result<JsValue, JsError> {
    let seed = u64::from(seed);
    let n = input.len();
    let gamma: Vec<f32> = tenths(channels, seed)
        .iter()
        .map(|g| 1.0 + 0.5 * g)
        .collect();
    let bn = BatchNormBackward::new(
        input.to_vec(),
        channels,
        gamma,
        tenths(channels, seed + 1),
        tenths(n, seed + 2),
    )?;
    let terms = bn.terms(row, channel)?;
    let drop = DropoutBackward::new(input, dropout_rate, seed + 3, tenths(n, seed + 4))?;
    // Dense: the values of this row as inputs of a 3-unit layer.
    let x: Vec<f32> = input[row * channels..(row + 1) * channels].to_vec();
    let units = 3;
    let dense = DenseBackward::new(
        x,
        tenths(channels * units, seed + 5),
        tenths(units, seed + 6),
        channels,
        units,
    )?;
    let outer = dense.outer(channel, 0)?;
    let answer = to_js(
        &serde_json::json!({ "batchNorm": terms, "outer": outer, "units": units, "dropoutRate": dropout_rate }),
    )?;
    let bn_arrays = with_arrays(
        &serde_json::json!({}),
        &[
            ("dx", &bn.d_input),
            ("direct", &bn.paths.direct),
            ("viaMean", &bn.paths.via_mean),
            ("viaVariance", &bn.paths.via_variance),
        ],
    )?;
    super::set(&answer, "batchNormMaps", &bn_arrays)?;
    let drop_arrays = with_arrays(
        &serde_json::json!({}),
        &[
            ("mask", &drop.mask),
            ("upstream", &drop.d_out),
            ("dx", &drop.d_input),
        ],
    )?;
    super::set(&answer, "dropout", &drop_arrays)?;
    let dense_arrays = with_arrays(
        &serde_json::json!({ "inputs": channels }),
        &[
            ("x", &dense.input),
            ("weight", &dense.weight),
            ("upstream", &dense.d_out),
            ("dw", &dense.d_weight),
            ("dx", &dense.d_input),
            ("dbias", &dense.d_bias),
        ],
    )?;
    super::set(&answer, "dense", &dense_arrays)?;
    Ok(answer)
}

/// A gradient check in progress; the worker calls `advance` until it returns true.
#[wasm_bindgen]
pub struct GradientCheck(GradCheck);

#[wasm_bindgen]
impl GradientCheck {
    /// Checks up to `count` more values; true when all are done.
    pub fn advance(&mut self, count: usize) -> bool {
        self.0.advance(count)
    }
    /// `[done, total]`.
    pub fn progress(&self) -> Vec<u32> {
        let (done, total) = self.0.progress();
        vec![done as u32, total as u32]
    }
    /// The verdict so far (see [`crate::app::backward::gradcheck::CheckReport`]).
    pub fn report(&self) -> Result<JsValue, JsError> {
        to_js(&self.0.report())
    }
}

#[wasm_bindgen]
impl TrainingSession {
    /// One training step of the session's model in slow motion, on the first `batch` training
    /// images (a copy of the model takes the step; the session's own is left as it is).
    /// `choice` is `{layer, weight, channel, learningRate, dropoutSeed}`.
    #[wasm_bindgen(js_name = slowStep)]
    pub fn slow_step(
        &mut self,
        batch: usize,
        layer: usize,
        weight: usize,
        channel: usize,
        learning_rate: f32,
        seed: u32,
    ) -> Result<JsValue, JsError> {
        let choice = StepChoice {
            layer,
            weight,
            channel,
            learning_rate,
            dropout_seed: seed.into(),
        };
        to_js(&slow_step_on_session(self.session_mut(), batch, choice)?)
    }

    /// The model's layers for the slow-motion step's choice: `[{index, name, weights}]`.
    #[wasm_bindgen(js_name = slowStepLayers)]
    pub fn slow_step_layers(&mut self) -> Result<JsValue, JsError> {
        let layers: Vec<_> = step_layers(self.session_mut())
            .into_iter()
            .map(|(index, name, weights)| serde_json::json!({ "index": index, "name": name, "weights": weights }))
            .collect();
        to_js(&layers)
    }
}
