//! Keras 3's `EarlyStopping` callback: watch a quantity at the end of every epoch, stop when it
//! has not improved by more than `min_delta` for `patience` epochs, and optionally put back the
//! weights of the best epoch when training ends (Keras 3 restores them whether or not training
//! stopped early). `start_from_epoch` ignores the first epochs, while batch-norm moving
//! statistics (momentum 0.99) still lag behind the weights and validation numbers mislead.

use super::model::{Sequential, Weights};
use serde::{Deserialize, Serialize};

/// The quantity early stopping watches (Keras's `monitor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Monitor {
    ValLoss,
    ValAccuracy,
    Loss,
    Accuracy,
}

impl Monitor {
    /// Keras's name, as in the logs (`val_loss`).
    pub fn name(&self) -> &'static str {
        match self {
            Monitor::ValLoss => "val_loss",
            Monitor::ValAccuracy => "val_accuracy",
            Monitor::Loss => "loss",
            Monitor::Accuracy => "accuracy",
        }
    }

    /// Losses improve downwards, accuracies upwards.
    pub fn higher_is_better(&self) -> bool {
        matches!(self, Monitor::ValAccuracy | Monitor::Accuracy)
    }

    pub fn needs_validation(&self) -> bool {
        matches!(self, Monitor::ValLoss | Monitor::ValAccuracy)
    }
}

/// Early-stopping settings; `Default` is Keras's (val_loss, patience 0, min_delta 0, no restore).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EarlyStopping {
    pub monitor: Monitor,
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Changes smaller than this do not count as improvement.
    pub min_delta: f32,
    /// At the end, put back the weights of the best epoch.
    pub restore_best_weights: bool,
    /// Epochs (counted from 0) to train before watching at all.
    pub start_from_epoch: usize,
}

impl Default for EarlyStopping {
    fn default() -> Self {
        Self {
            monitor: Monitor::ValLoss,
            patience: 0,
            min_delta: 0.0,
            restore_best_weights: false,
            start_from_epoch: 0,
        }
    }
}

/// What early stopping remembers during one training run.
#[derive(Debug, Clone)]
pub struct EarlyStoppingState {
    pub config: EarlyStopping,
    wait: usize,
    best: Option<f32>,
    /// 0-based epoch of the best value (or of the first watched epoch).
    best_epoch: Option<usize>,
    best_weights: Option<Weights>,
}

impl EarlyStoppingState {
    pub fn new(config: EarlyStopping) -> Self {
        Self {
            config,
            wait: 0,
            best: None,
            best_epoch: None,
            best_weights: None,
        }
    }

    /// 0-based epoch whose weights are (or would be) restored.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best_epoch
    }

    pub fn best_value(&self) -> Option<f32> {
        self.best
    }

    fn is_improvement(&self, current: f32, reference: Option<f32>) -> bool {
        let Some(reference) = reference else {
            return true;
        };
        let delta = self.config.min_delta.abs();
        if self.config.monitor.higher_is_better() {
            current - delta > reference
        } else {
            current + delta < reference
        }
    }

    /// Keras's `on_epoch_end` for 0-based `epoch` with the watched value `current`; true means
    /// stop training now. A NaN value never counts as an improvement.
    pub fn on_epoch_end(&mut self, epoch: usize, current: f32, model: &Sequential) -> bool {
        if epoch < self.config.start_from_epoch {
            return false;
        }
        if self.config.restore_best_weights && self.best_weights.is_none() {
            self.best_weights = Some(model.snapshot());
            self.best_epoch = Some(epoch);
        }
        self.wait += 1;
        if !current.is_nan() && self.is_improvement(current, self.best) {
            self.best = Some(current);
            self.best_epoch = Some(epoch);
            if let Some(w) = &mut self.best_weights {
                model.snapshot_into(w);
            }
            self.wait = 0;
            return false;
        }
        self.wait >= self.config.patience && epoch > 0
    }

    /// Keras's `on_train_end`: restores the best weights if asked to. Returns the 0-based epoch
    /// restored, if any.
    pub fn on_train_end(&self, model: &mut Sequential) -> Option<usize> {
        let weights = self
            .best_weights
            .as_ref()
            .filter(|_| self.config.restore_best_weights)?;
        model.restore(weights).expect("snapshot of this very model");
        self.best_epoch
    }
}
