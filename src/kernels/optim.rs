//! Optimizers with Keras 3's exact update rules: Adam and SGD (with optional momentum and
//! Nesterov). One state per parameter tensor; `step(params, grads, state)` updates in place.
//!
//! Keras 3 Adam (`keras/src/optimizers/adam.py`), with t = iterations + 1:
//!   alpha = lr * sqrt(1 - beta_2^t) / (1 - beta_1^t)
//!   m += (g - m) * (1 - beta_1);  v += (g^2 - v) * (1 - beta_2)
//!   param -= m * alpha / (sqrt(v) + epsilon)
//! Note where epsilon goes: added to sqrt(v) of the *uncorrected* v, the bias correction being
//! folded into alpha ("epsilon hat" of the Adam paper, section 2), not to sqrt(v_hat).
//!
//! Keras 3 SGD: with momentum, velocity = momentum * velocity - lr * g, then param += velocity,
//! or with Nesterov param += momentum * velocity - lr * g; without momentum param -= lr * g.

use crate::{invalid, Result};

/// Adam's hyper-parameters; the default is Keras's (lr 1e-3, beta_1 0.9, beta_2 0.999, eps 1e-7).
/// The betas are held in f64, as Keras holds them (Python floats), because 1 - beta is formed
/// from them before rounding to f32.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdamConfig {
    pub learning_rate: f32,
    pub beta_1: f64,
    pub beta_2: f64,
    pub epsilon: f32,
}

impl Default for AdamConfig {
    fn default() -> Self {
        Self {
            learning_rate: 1e-3,
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon: 1e-7,
        }
    }
}

impl AdamConfig {
    /// Checks settings that come from the user.
    pub fn validate(&self) -> Result<()> {
        check_learning_rate(self.learning_rate)?;
        for (name, b) in [("beta_1", self.beta_1), ("beta_2", self.beta_2)] {
            if !(0.0..1.0).contains(&b) {
                return Err(invalid!(
                    "Adam's {name} must be at least 0 and below 1 (got {b})"
                ));
            }
        }
        if !(self.epsilon > 0.0 && self.epsilon.is_finite()) {
            return Err(invalid!(
                "Adam's epsilon must be a small positive number (got {})",
                self.epsilon
            ));
        }
        Ok(())
    }
}

/// Adam's memory for one parameter tensor: first and second moment estimates and the number of
/// steps taken (Keras keeps one counter for all tensors; stepping every tensor once per batch
/// keeps ours equal to it).
#[derive(Debug, Clone, PartialEq)]
pub struct AdamState {
    pub m: Vec<f32>,
    pub v: Vec<f32>,
    pub step: u32,
}

impl AdamState {
    /// A fresh state for a tensor of `len` parameters.
    pub fn new(len: usize) -> Self {
        Self {
            m: vec![0.0; len],
            v: vec![0.0; len],
            step: 0,
        }
    }
}

/// The scalars of one Adam step, computed in f32 as Keras does:
/// (alpha, 1 - beta_1, 1 - beta_2, epsilon).
fn adam_coefficients(step: u32, cfg: &AdamConfig) -> [f32; 4] {
    // Keras casts the betas to float32 for the powers, but forms 1 - beta in Python (f64) and
    // rounds that once: the same here, to the last bit. The power is taken in f64 and rounded
    // once, which gives Keras's f32 power; f32 powf itself differs by an ulp between glibc and
    // the wasm build's libm (0.9999^4), and the step with it.
    let power = |beta: f64| ((beta as f32) as f64).powi(step as i32) as f32;
    let alpha = cfg.learning_rate * (1.0 - power(cfg.beta_2)).sqrt() / (1.0 - power(cfg.beta_1));
    [
        alpha,
        (1.0 - cfg.beta_1) as f32,
        (1.0 - cfg.beta_2) as f32,
        cfg.epsilon,
    ]
}

/// One Adam step, element by element: the definition, written for clarity.
/// params (len) updated; grads (len); state for this tensor.
pub fn adam_step_reference(
    params: &mut [f32],
    grads: &[f32],
    state: &mut AdamState,
    cfg: &AdamConfig,
) {
    assert!(
        grads.len() == params.len()
            && state.m.len() == params.len()
            && state.v.len() == params.len()
    );
    state.step += 1;
    let [alpha, one_minus_b1, one_minus_b2, eps] = adam_coefficients(state.step, cfg);
    for i in 0..params.len() {
        let g = grads[i];
        state.m[i] += (g - state.m[i]) * one_minus_b1;
        state.v[i] += (g * g - state.v[i]) * one_minus_b2;
        params[i] -= state.m[i] * alpha / (state.v[i].sqrt() + eps);
    }
}

/// One Adam step, four lanes at a time with SIMD128 in the wasm build. The same operations in the
/// same order as [`adam_step_reference`] (no fused multiply-add): equal bit for bit.
/// params (len) updated; grads (len); state for this tensor.
pub fn adam_step(params: &mut [f32], grads: &[f32], state: &mut AdamState, cfg: &AdamConfig) {
    let len = params.len();
    assert!(grads.len() == len && state.m.len() == len && state.v.len() == len);
    state.step += 1;
    let [alpha, one_minus_b1, one_minus_b2, eps] = adam_coefficients(state.step, cfg);
    let (m, v) = (&mut state.m[..], &mut state.v[..]);
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        let (alpha4, b1_4, b2_4, eps4) = (
            f32x4_splat(alpha),
            f32x4_splat(one_minus_b1),
            f32x4_splat(one_minus_b2),
            f32x4_splat(eps),
        );
        while done + 4 <= len {
            // SAFETY: done + 4 <= len for all four slices.
            unsafe {
                let (pp, mp, vp) = (
                    params.as_mut_ptr().add(done) as *mut v128,
                    m.as_mut_ptr().add(done) as *mut v128,
                    v.as_mut_ptr().add(done) as *mut v128,
                );
                let g = v128_load(grads.as_ptr().add(done) as *const v128);
                let m_old = v128_load(mp);
                let m_new = f32x4_add(m_old, f32x4_mul(f32x4_sub(g, m_old), b1_4));
                let v_old = v128_load(vp);
                let v_new = f32x4_add(v_old, f32x4_mul(f32x4_sub(f32x4_mul(g, g), v_old), b2_4));
                let update =
                    f32x4_div(f32x4_mul(m_new, alpha4), f32x4_add(f32x4_sqrt(v_new), eps4));
                v128_store(mp, m_new);
                v128_store(vp, v_new);
                v128_store(pp, f32x4_sub(v128_load(pp), update));
            }
            done += 4;
        }
    }
    for i in done..len {
        let g = grads[i];
        m[i] += (g - m[i]) * one_minus_b1;
        v[i] += (g * g - v[i]) * one_minus_b2;
        params[i] -= m[i] * alpha / (v[i].sqrt() + eps);
    }
}

/// SGD's hyper-parameters; the default is Keras's (lr 0.01, no momentum, no Nesterov).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SgdConfig {
    pub learning_rate: f32,
    pub momentum: f32,
    pub nesterov: bool,
}

impl Default for SgdConfig {
    fn default() -> Self {
        Self {
            learning_rate: 0.01,
            momentum: 0.0,
            nesterov: false,
        }
    }
}

impl SgdConfig {
    /// Checks settings that come from the user.
    pub fn validate(&self) -> Result<()> {
        check_learning_rate(self.learning_rate)?;
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(invalid!(
                "the SGD momentum must be between 0 and 1 (got {})",
                self.momentum
            ));
        }
        Ok(())
    }
}

/// SGD's memory for one parameter tensor: the velocity (unused without momentum).
#[derive(Debug, Clone, PartialEq)]
pub struct SgdState {
    pub velocity: Vec<f32>,
}

impl SgdState {
    /// A fresh state for a tensor of `len` parameters.
    pub fn new(len: usize) -> Self {
        Self {
            velocity: vec![0.0; len],
        }
    }
}

/// One SGD step with Keras 3's formula. params (len) updated; grads (len); state for this tensor.
pub fn sgd_step(params: &mut [f32], grads: &[f32], state: &mut SgdState, cfg: &SgdConfig) {
    assert!(grads.len() == params.len() && state.velocity.len() == params.len());
    let lr = cfg.learning_rate;
    if cfg.momentum == 0.0 {
        for (p, &g) in params.iter_mut().zip(grads) {
            *p -= g * lr;
        }
        return;
    }
    let mu = cfg.momentum;
    for ((p, &g), vel) in params.iter_mut().zip(grads).zip(state.velocity.iter_mut()) {
        *vel = *vel * mu - g * lr;
        *p += if cfg.nesterov {
            *vel * mu - g * lr
        } else {
            *vel
        };
    }
}

fn check_learning_rate(lr: f32) -> Result<()> {
    if lr > 0.0 && lr.is_finite() {
        Ok(())
    } else {
        Err(invalid!(
            "the learning rate must be a positive number (got {lr})"
        ))
    }
}
