//! The optimizer choice (serializable, for the page and the model file) and its per-layer state:
//! Adam (the default, Keras's settings) or SGD with momentum. Each layer's trainable values are
//! one flat buffer and both rules are element-wise, so one state per layer is the same as
//! Keras's one state per tensor (every tensor steps once per batch).

use super::model::Sequential;
use crate::kernels::optim::{adam_step, sgd_step, AdamConfig, AdamState, SgdConfig, SgdState};
use crate::Result;
use serde::{Deserialize, Serialize};

/// Which optimizer trains the model, with its hyper-parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerSpec {
    Adam {
        #[serde(default = "adam_lr")]
        learning_rate: f32,
        #[serde(default = "beta_1")]
        beta_1: f64,
        #[serde(default = "beta_2")]
        beta_2: f64,
        #[serde(default = "adam_epsilon")]
        epsilon: f32,
    },
    Sgd {
        #[serde(default = "sgd_lr")]
        learning_rate: f32,
        #[serde(default)]
        momentum: f32,
        #[serde(default)]
        nesterov: bool,
    },
}

fn adam_lr() -> f32 {
    AdamConfig::default().learning_rate
}
fn beta_1() -> f64 {
    AdamConfig::default().beta_1
}
fn beta_2() -> f64 {
    AdamConfig::default().beta_2
}
fn adam_epsilon() -> f32 {
    AdamConfig::default().epsilon
}
fn sgd_lr() -> f32 {
    SgdConfig::default().learning_rate
}

impl Default for OptimizerSpec {
    /// Keras's Adam: lr 1e-3, beta_1 0.9, beta_2 0.999, epsilon 1e-7.
    fn default() -> Self {
        Self::adam(adam_lr())
    }
}

impl OptimizerSpec {
    /// Adam with Keras's defaults except the learning rate.
    pub fn adam(learning_rate: f32) -> Self {
        let d = AdamConfig::default();
        OptimizerSpec::Adam {
            learning_rate,
            beta_1: d.beta_1,
            beta_2: d.beta_2,
            epsilon: d.epsilon,
        }
    }

    /// SGD with (heavy-ball) momentum.
    pub fn sgd(learning_rate: f32, momentum: f32) -> Self {
        OptimizerSpec::Sgd {
            learning_rate,
            momentum,
            nesterov: false,
        }
    }

    pub fn learning_rate(&self) -> f32 {
        match *self {
            OptimizerSpec::Adam { learning_rate, .. }
            | OptimizerSpec::Sgd { learning_rate, .. } => learning_rate,
        }
    }

    /// Checks settings that come from the user.
    pub fn validate(&self) -> Result<()> {
        match *self {
            OptimizerSpec::Adam {
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
            } => AdamConfig {
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
            }
            .validate(),
            OptimizerSpec::Sgd {
                learning_rate,
                momentum,
                nesterov,
            } => SgdConfig {
                learning_rate,
                momentum,
                nesterov,
            }
            .validate(),
        }
    }
}

/// The optimizer's memory for one model: one state per layer (empty for layers without
/// trainable values) and the number of steps taken.
#[derive(Debug, Clone, PartialEq)]
pub struct Optimizer {
    spec: OptimizerSpec,
    states: States,
    iterations: u64,
}

#[derive(Debug, Clone, PartialEq)]
enum States {
    Adam(AdamConfig, Vec<AdamState>),
    Sgd(SgdConfig, Vec<SgdState>),
}

impl Optimizer {
    /// Fresh state for `model` (allocates; done once before training).
    pub fn new(spec: OptimizerSpec, model: &Sequential) -> Result<Self> {
        spec.validate()?;
        let sizes = model.layers().iter().map(|l| l.params().len());
        let states = match spec {
            OptimizerSpec::Adam {
                learning_rate,
                beta_1,
                beta_2,
                epsilon,
            } => States::Adam(
                AdamConfig {
                    learning_rate,
                    beta_1,
                    beta_2,
                    epsilon,
                },
                sizes.map(AdamState::new).collect(),
            ),
            OptimizerSpec::Sgd {
                learning_rate,
                momentum,
                nesterov,
            } => States::Sgd(
                SgdConfig {
                    learning_rate,
                    momentum,
                    nesterov,
                },
                sizes.map(SgdState::new).collect(),
            ),
        };
        Ok(Self {
            spec,
            states,
            iterations: 0,
        })
    }

    pub fn spec(&self) -> OptimizerSpec {
        self.spec
    }

    /// Steps taken so far (Keras's `optimizer.iterations`).
    pub fn iterations(&self) -> u64 {
        self.iterations
    }

    /// One update of every layer's values from the gradients of the last backward pass.
    pub fn step(&mut self, model: &mut Sequential) {
        match &mut self.states {
            States::Adam(config, states) => {
                for ((params, grads), state) in model.params_and_grads().zip(states.iter_mut()) {
                    if !params.is_empty() {
                        adam_step(params, grads, state, config);
                    }
                }
            }
            States::Sgd(config, states) => {
                for ((params, grads), state) in model.params_and_grads().zip(states.iter_mut()) {
                    if !params.is_empty() {
                        sgd_step(params, grads, state, config);
                    }
                }
            }
        }
        self.iterations += 1;
    }
}
