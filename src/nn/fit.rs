//! Training: Keras's `model.fit` as a step-by-step [`Trainer`] (one batch per call, so that a
//! Web Worker can draw and listen for a stop request between batches) and a blocking [`fit`]
//! loop over it with a progress observer.
//!
//! Per epoch: shuffle the training examples (seeded), train on every batch (the last one may be
//! smaller), evaluate on the validation set in inference mode, log loss and accuracy, consult
//! early stopping. Same config and seed, same numbers. A training step allocates nothing: the
//! batch buffers, model activations and optimizer state are all sized before the first batch.
//!
//! A loss, gradient or updated weight that is not finite, or a loss that has exploded past
//! [`EXPLODED_LOSS`], stops training, and the batch is undone (weights and batch-norm
//! statistics copied back from before it): the model keeps the last good weights, and the
//! message says where it happened and what to try.

use super::clock::{default_clock, Clock};
use super::early_stopping::{EarlyStopping, EarlyStoppingState};
use super::examples::Examples;
use super::layers::Mode;
use super::metrics::{count_correct, evaluate};
use super::model::{Sequential, Weights};
use super::optimizer::{Optimizer, OptimizerSpec};
use crate::limits::MAX_BATCH_ACTIVATION_VALUES;
use crate::rng::{rng_from_seed, Rng};
use crate::{invalid, Result};
use rand::seq::SliceRandom;
use rand::RngExt;
use serde::{Deserialize, Serialize};

/// A batch loss above this means training has blown up: a model that guesses 50/50 has a
/// cross-entropy of 0.69 (ln K for K classes), and the loss from logits grows like the logits
/// themselves, so 1000 means scores in the thousands. With Adam at a learning rate of 10 the
/// loss reaches millions within a batch or two but, computed from the logit, stays finite: a
/// NaN check alone would let such a run go on.
pub const EXPLODED_LOSS: f32 = 1e3;

/// Settings of one training run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FitConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Reshuffle the training examples before every epoch.
    pub shuffle: bool,
    /// Seeds the shuffling and the dropout masks.
    pub seed: u64,
    /// Fraction of the training examples (the last ones, as Keras) held out for validation when
    /// no separate validation set is given; 0 for none.
    pub validation_split: f32,
    pub optimizer: OptimizerSpec,
    pub early_stopping: Option<EarlyStopping>,
}

impl Default for FitConfig {
    /// The recommended settings, see [`FitConfig::recommended`] (Keras's own `fit` defaults,
    /// batch 32 and no early stopping, are what the issue measured failing on small data).
    fn default() -> Self {
        Self::recommended()
    }
}

impl FitConfig {
    /// Settings that train the chapter's model reliably on a few hundred images (measured in
    /// bench/RESULTS.md): Adam 1e-3, batches of 8, the last 20% of the training images for
    /// validation, up to 50 epochs, early stopping on the validation loss with patience 10 from
    /// epoch 5 on, restoring the best epoch.
    ///
    /// Why: at test time batch norm uses moving statistics that move by 1% per *batch*
    /// (momentum 0.99). They start at mean 0, variance 1 and need a few hundred batches to
    /// forget that start and catch up with the weights; until then the model predicts badly at
    /// test time even when it fits its training batches. With 600 images in batches of 32
    /// (15 batches an epoch after the split) that takes 20-30 epochs; in batches of 8
    /// (60 an epoch) about 6. Patience 10 epochs is then 600 batches, several times the
    /// statistics' memory, so a lagging epoch cannot end training; and since the validation
    /// loss still jumps from epoch to epoch with the statistics, the best epoch is restored.
    pub fn recommended() -> Self {
        Self {
            epochs: 50,
            batch_size: 8,
            shuffle: true,
            seed: 0,
            validation_split: 0.2,
            optimizer: OptimizerSpec::default(),
            early_stopping: Some(EarlyStopping {
                patience: 10,
                restore_best_weights: true,
                start_from_epoch: 5,
                ..EarlyStopping::default()
            }),
        }
    }

    /// Checks settings that come from the user.
    pub fn validate(&self) -> Result<()> {
        if self.epochs == 0 {
            return Err(invalid!("train for at least one epoch"));
        }
        if self.batch_size == 0 {
            return Err(invalid!("the batch size must be at least 1"));
        }
        if !(0.0..1.0).contains(&self.validation_split) {
            return Err(invalid!(
                "the validation split must be at least 0 and below 1 (got {})",
                self.validation_split
            ));
        }
        self.optimizer.validate()?;
        if let Some(es) = &self.early_stopping {
            if !(es.min_delta.is_finite()) {
                return Err(invalid!(
                    "early stopping's min_delta must be a number (got {})",
                    es.min_delta
                ));
            }
        }
        Ok(())
    }
}

/// The numbers of one finished epoch (Keras's logs).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EpochLog {
    /// 1-based, as Keras prints it.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (weighted by batch size), in training mode.
    pub loss: f32,
    pub accuracy: f32,
    pub val_loss: Option<f32>,
    pub val_accuracy: Option<f32>,
    /// Wall-clock seconds of the epoch, validation included.
    pub seconds: f64,
    /// Training throughput (validation excluded).
    pub images_per_second: f64,
}

/// Progress after one training batch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BatchProgress {
    /// 1-based epoch and batch within the epoch.
    pub epoch: usize,
    pub batch: usize,
    pub batches: usize,
    /// Loss of this batch.
    pub batch_loss: f32,
    /// Running means over the epoch so far (what Keras's progress bar shows).
    pub loss: f32,
    pub accuracy: f32,
    pub images_per_second: f64,
}

/// Why training ended.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum StopReason {
    /// All epochs ran.
    Completed,
    /// Early stopping ended it after this (1-based) epoch.
    EarlyStopped { epoch: usize },
    /// The observer (the user) asked to stop.
    StoppedByUser,
    /// The loss or a gradient stopped being a finite number at this (1-based) epoch and batch.
    Diverged {
        epoch: usize,
        batch: usize,
        /// What went wrong, e.g. "the loss became infinite" (the page words its own sentence).
        cause: String,
        /// The whole sentence: the cause, where, what was kept, what to try.
        message: String,
    },
}

impl StopReason {
    /// One sentence for a person.
    pub fn describe(&self) -> String {
        match self {
            StopReason::Completed => "trained for all epochs".into(),
            StopReason::EarlyStopped { epoch } => {
                format!("early stopping ended training after epoch {epoch}")
            }
            StopReason::StoppedByUser => "stopped on request".into(),
            StopReason::Diverged { message, .. } => message.clone(),
        }
    }
}

/// Everything a training run produced besides the weights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    pub epochs: Vec<EpochLog>,
    pub stop: Option<StopReason>,
    /// The 1-based epoch whose weights the model ended with, when early stopping restored them.
    pub restored_epoch: Option<usize>,
}

/// The observer's answer after each batch or epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Continue,
    Stop,
}

/// What [`Trainer::step`] did.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The batch just trained (none if training had already finished or diverged on it).
    pub batch: Option<BatchProgress>,
    /// Set when this batch ended an epoch.
    pub epoch: Option<EpochLog>,
    /// Set when training is over.
    pub finished: Option<StopReason>,
}

/// Where the validation examples come from.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Validation {
    None,
    /// The examples from this index on (Keras's `validation_split`).
    SplitAt(usize),
    Separate,
}

/// Keras's `fit`, one batch per [`Trainer::step`]. Pass the same `data` and `validation` to
/// every call as to [`Trainer::new`].
#[derive(Debug)]
pub struct Trainer {
    config: FitConfig,
    optimizer: Optimizer,
    shuffle_rng: Rng,
    validation: Validation,
    /// Training example indices in this epoch's order.
    order: Vec<usize>,
    /// 0-based epoch and the next batch in it.
    epoch: usize,
    next_batch: usize,
    loss_sum: f64,
    correct: usize,
    seen: usize,
    epoch_start: f64,
    train_seconds: f64,
    clock: Clock,
    /// The batch being trained: images (B, H, W, C) and labels (B).
    batch_x: Vec<f32>,
    batch_y: Vec<u8>,
    /// Weights and batch-norm state before the current batch, to undo a diverged step.
    saved: Weights,
    early: Option<EarlyStoppingState>,
    history: History,
    transform: Option<Box<dyn BatchTransform>>,
}

impl Trainer {
    /// Checks data and settings against the model and prepares every buffer.
    pub fn new(
        model: &mut Sequential,
        data: &Examples,
        validation: Option<&Examples>,
        config: FitConfig,
    ) -> Result<Self> {
        config.validate()?;
        let classes = model.output_kind().classes();
        let (train_len, validation_mode) = match (validation, config.validation_split) {
            (Some(v), _) => {
                v.check_for(model.input_len(), classes, "the validation images")?;
                (data.len(), Validation::Separate)
            }
            (None, f) if f > 0.0 => {
                let (train, _) = data.split_validation(f)?;
                (train.len(), Validation::SplitAt(train.len()))
            }
            (None, _) => (data.len(), Validation::None),
        };
        data.check_for(model.input_len(), classes, "the training images")?;
        if let Some(es) = &config.early_stopping {
            if es.monitor.needs_validation() && validation_mode == Validation::None {
                return Err(invalid!(
                    "early stopping watches {}, but there is no validation data: give a validation split or set",
                    es.monitor.name()
                ));
            }
        }
        let batch = config.batch_size.min(train_len);
        check_batch_memory(model, batch)?;
        model.reserve(batch);
        let mut seeds = rng_from_seed(config.seed);
        model.seed_dropout(seeds.random::<u64>());
        Ok(Self {
            optimizer: Optimizer::new(config.optimizer, model)?,
            shuffle_rng: rng_from_seed(seeds.random::<u64>()),
            validation: validation_mode,
            order: (0..train_len).collect(),
            epoch: 0,
            next_batch: 0,
            loss_sum: 0.0,
            correct: 0,
            seen: 0,
            epoch_start: 0.0,
            train_seconds: 0.0,
            clock: default_clock(),
            batch_x: vec![0.0; batch * model.input_len()],
            batch_y: vec![0; batch],
            saved: model.snapshot(),
            early: config.early_stopping.map(EarlyStoppingState::new),
            history: History {
                epochs: Vec::new(),
                stop: None,
                restored_epoch: None,
            },
            transform: None,
            config,
        })
    }

    /// Times the run with `clock` (by default the system's natively, none in wasm).
    pub fn with_clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Passes every training batch through `transform` (augmentation) before training on it.
    pub fn with_transform(mut self, transform: Box<dyn BatchTransform>) -> Self {
        self.transform = Some(transform);
        self
    }

    fn now_seconds(&self) -> f64 {
        (self.clock)() / 1000.0
    }

    /// Training throughput so far in this epoch; 0 when the clock did not move.
    fn images_per_second(&self) -> f64 {
        if self.train_seconds > 0.0 {
            self.seen as f64 / self.train_seconds
        } else {
            0.0
        }
    }

    pub fn config(&self) -> &FitConfig {
        &self.config
    }

    pub fn history(&self) -> &History {
        &self.history
    }

    pub fn optimizer(&self) -> &Optimizer {
        &self.optimizer
    }

    pub fn is_finished(&self) -> bool {
        self.history.stop.is_some()
    }

    /// Batches per epoch.
    pub fn batches_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.config.batch_size)
    }

    /// Trains on the next batch; at the end of an epoch also validates and consults early
    /// stopping. Returns what happened; once finished, returns the stop reason again.
    pub fn step(
        &mut self,
        model: &mut Sequential,
        data: &Examples,
        validation: Option<&Examples>,
    ) -> Result<Step> {
        if let Some(stop) = &self.history.stop {
            return Ok(Step {
                batch: None,
                epoch: None,
                finished: Some(stop.clone()),
            });
        }
        if self.next_batch == 0 {
            self.begin_epoch();
        }
        let batches = self.batches_per_epoch();
        let bs = self.config.batch_size;
        let indices =
            &self.order[self.next_batch * bs..((self.next_batch + 1) * bs).min(self.order.len())];
        let n = indices.len();
        let len = model.input_len();
        for (k, &i) in indices.iter().enumerate() {
            data.image_values(i)
                .copy_to(&mut self.batch_x[k * len..(k + 1) * len]);
            self.batch_y[k] = data.labels()[i];
        }
        if let Some(t) = &mut self.transform {
            t.transform(&mut self.batch_x, n);
        }
        let t0 = self.now_seconds();
        let (loss, correct) = match self.train_batch(model, n) {
            Ok(result) => result,
            Err(what) => {
                let (epoch, batch) = (self.epoch + 1, self.next_batch + 1);
                let message = format!(
                    "{what} at epoch {epoch}, batch {batch}; training stopped there and the weights from before that batch are kept. Try a smaller learning rate"
                );
                let stop = StopReason::Diverged {
                    epoch,
                    batch,
                    cause: what,
                    message,
                };
                self.history.stop = Some(stop.clone());
                return Ok(Step {
                    batch: None,
                    epoch: None,
                    finished: Some(stop),
                });
            }
        };
        self.train_seconds += self.now_seconds() - t0;
        self.loss_sum += loss as f64 * n as f64;
        self.correct += correct;
        self.seen += n;
        self.next_batch += 1;
        let progress = BatchProgress {
            epoch: self.epoch + 1,
            batch: self.next_batch,
            batches,
            batch_loss: loss,
            loss: (self.loss_sum / self.seen as f64) as f32,
            accuracy: self.correct as f32 / self.seen as f32,
            images_per_second: self.images_per_second(),
        };
        let mut step = Step {
            batch: Some(progress),
            epoch: None,
            finished: None,
        };
        if self.next_batch == batches {
            let (log, stop) = self.end_epoch(model, data, validation)?;
            step.epoch = Some(log);
            if let Some(stop) = stop {
                self.finish(model, stop.clone());
                step.finished = Some(stop);
            }
        }
        Ok(step)
    }

    /// Ends training on request (between batches), restoring the best weights if early stopping
    /// was told to, as Keras does at the end of training.
    pub fn stop(&mut self, model: &mut Sequential) {
        if self.history.stop.is_none() {
            self.finish(model, StopReason::StoppedByUser);
        }
    }

    fn begin_epoch(&mut self) {
        if self.config.shuffle {
            self.order.shuffle(&mut self.shuffle_rng);
        }
        self.loss_sum = 0.0;
        self.correct = 0;
        self.seen = 0;
        self.train_seconds = 0.0;
        self.epoch_start = self.now_seconds();
    }

    /// One optimizer step on the first `n` examples of the batch buffers: (loss, correct), or
    /// what went wrong, with the model as before the batch.
    fn train_batch(
        &mut self,
        model: &mut Sequential,
        n: usize,
    ) -> std::result::Result<(f32, usize), String> {
        let x = &self.batch_x[..n * model.input_len()];
        let y = &self.batch_y[..n];
        model.snapshot_into(&mut self.saved);
        let undo = |model: &mut Sequential, saved: &Weights, what| {
            model
                .restore(saved)
                .expect("the snapshot was taken from this model");
            Err(what)
        };
        model.forward(x, Mode::Train);
        let loss = model.loss(y, true);
        if !loss.is_finite() {
            return undo(
                model,
                &self.saved,
                if loss.is_nan() {
                    "the loss became NaN (not a number)"
                } else {
                    "the loss became infinite"
                }
                .into(),
            );
        }
        if loss > EXPLODED_LOSS {
            return undo(
                model,
                &self.saved,
                format!("the loss exploded to {loss:.3e}"),
            );
        }
        let correct = count_correct(model, y);
        model.zero_grads();
        model.backward_loss();
        if model
            .layers()
            .iter()
            .any(|l| l.grads().iter().any(|g| !g.is_finite()))
        {
            return undo(
                model,
                &self.saved,
                "a gradient became NaN or infinite".into(),
            );
        }
        self.optimizer.step(model);
        // A finite gradient times a huge learning rate can still overflow a weight.
        if model
            .layers()
            .iter()
            .any(|l| l.params().iter().chain(l.state()).any(|w| !w.is_finite()))
        {
            return undo(model, &self.saved, "a weight became NaN or infinite".into());
        }
        Ok((loss, correct))
    }

    fn end_epoch(
        &mut self,
        model: &mut Sequential,
        data: &Examples,
        validation: Option<&Examples>,
    ) -> Result<(EpochLog, Option<StopReason>)> {
        let val = match (self.validation, validation) {
            (Validation::Separate, Some(v)) => Some(*v),
            (Validation::Separate, None) => {
                return Err(invalid!("the validation set given at the start is missing"))
            }
            (Validation::SplitAt(at), _) => Some(data.range(at, data.len())),
            (Validation::None, _) => None,
        };
        let scores = match val {
            Some(v) => Some(evaluate(model, &v, self.config.batch_size)?),
            None => None,
        };
        let log = EpochLog {
            epoch: self.epoch + 1,
            loss: (self.loss_sum / self.seen as f64) as f32,
            accuracy: self.correct as f32 / self.seen as f32,
            val_loss: scores.as_ref().map(|s| s.loss),
            val_accuracy: scores.as_ref().map(|s| s.accuracy),
            seconds: self.now_seconds() - self.epoch_start,
            images_per_second: self.images_per_second(),
        };
        self.history.epochs.push(log);
        let mut stop = None;
        if let Some(early) = &mut self.early {
            let value = match early.config.monitor {
                super::early_stopping::Monitor::ValLoss => log.val_loss,
                super::early_stopping::Monitor::ValAccuracy => log.val_accuracy,
                super::early_stopping::Monitor::Loss => Some(log.loss),
                super::early_stopping::Monitor::Accuracy => Some(log.accuracy),
            }
            .expect("checked in Trainer::new that the watched value exists");
            if early.on_epoch_end(self.epoch, value, model) {
                stop = Some(StopReason::EarlyStopped {
                    epoch: self.epoch + 1,
                });
            }
        }
        self.epoch += 1;
        self.next_batch = 0;
        if stop.is_none() && self.epoch == self.config.epochs {
            stop = Some(StopReason::Completed);
        }
        Ok((log, stop))
    }

    fn finish(&mut self, model: &mut Sequential, stop: StopReason) {
        if let Some(early) = &self.early {
            self.history.restored_epoch = early.on_train_end(model).map(|e| e + 1);
        }
        self.history.stop = Some(stop);
    }
}

/// `f32` values in a megabyte.
const MB_OF_F32: usize = 1024 * 1024 / 4;

/// Refuses a batch whose activations would not fit in the page's memory, before allocating.
fn check_batch_memory(model: &Sequential, batch: usize) -> Result<()> {
    let needed = model.plan().batch_activation_values(batch);
    if needed > MAX_BATCH_ACTIVATION_VALUES {
        let fits = MAX_BATCH_ACTIVATION_VALUES / model.plan().batch_activation_values(1).max(1);
        let advice = if fits == 0 {
            "make the model smaller".to_string()
        } else {
            format!("use a batch size of at most {fits}")
        };
        return Err(invalid!(
            "a batch of {batch} images needs {} MB for this model's activations, more than the {} MB the page allows; {advice}",
            needed / MB_OF_F32,
            MAX_BATCH_ACTIVATION_VALUES / MB_OF_F32
        ));
    }
    Ok(())
}

/// Changes each training batch after the trainer assembles it and before the model sees it
/// (data augmentation, `data::augment`). Validation images never pass through it.
pub trait BatchTransform: std::fmt::Debug {
    /// `images`: the batch buffer, (B, H, W, C); only its first `count` images are real.
    fn transform(&mut self, images: &mut [f32], count: usize);
}

/// Receives progress during [`fit`]; either answer may ask to stop.
pub trait Observer {
    fn on_batch(&mut self, _progress: &BatchProgress) -> Control {
        Control::Continue
    }
    fn on_epoch(&mut self, _log: &EpochLog) -> Control {
        Control::Continue
    }
}

/// A closure observes batches.
impl<F: FnMut(&BatchProgress) -> Control> Observer for F {
    fn on_batch(&mut self, progress: &BatchProgress) -> Control {
        self(progress)
    }
}

/// An observer that watches nothing.
pub struct Silent;

impl Observer for Silent {}

/// Keras's `model.fit`: trains until the epochs run out, early stopping ends it, the loss
/// diverges or the observer says stop. The model ends with the best epoch's weights when early
/// stopping restores them.
pub fn fit(
    model: &mut Sequential,
    data: &Examples,
    validation: Option<&Examples>,
    config: FitConfig,
    observer: &mut impl Observer,
) -> Result<History> {
    fit_timed(model, data, validation, config, observer, default_clock())
}

/// [`fit`] timed by `clock` (the wasm build has no clock of its own).
pub fn fit_timed(
    model: &mut Sequential,
    data: &Examples,
    validation: Option<&Examples>,
    config: FitConfig,
    observer: &mut impl Observer,
    clock: Clock,
) -> Result<History> {
    let trainer = Trainer::new(model, data, validation, config)?.with_clock(clock);
    run(trainer, model, data, validation, observer)
}

/// [`fit`] with every training batch passed through `transform` first (augmentation); `None`
/// is plain [`fit`].
pub fn fit_transformed(
    model: &mut Sequential,
    data: &Examples,
    validation: Option<&Examples>,
    config: FitConfig,
    observer: &mut impl Observer,
    transform: Option<Box<dyn BatchTransform>>,
) -> Result<History> {
    let mut trainer = Trainer::new(model, data, validation, config)?;
    if let Some(t) = transform {
        trainer = trainer.with_transform(t);
    }
    run(trainer, model, data, validation, observer)
}

fn run(
    mut trainer: Trainer,
    model: &mut Sequential,
    data: &Examples,
    validation: Option<&Examples>,
    observer: &mut impl Observer,
) -> Result<History> {
    loop {
        let step = trainer.step(model, data, validation)?;
        let mut control = Control::Continue;
        if let Some(progress) = &step.batch {
            control = observer.on_batch(progress);
        }
        if let Some(log) = &step.epoch {
            if observer.on_epoch(log) == Control::Stop {
                control = Control::Stop;
            }
        }
        if step.finished.is_some() {
            break;
        }
        if control == Control::Stop {
            trainer.stop(model);
            break;
        }
    }
    Ok(trainer.history)
}
