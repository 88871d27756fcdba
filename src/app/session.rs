//! One training session as the page sees it: the loaded data, the model, a run of the
//! step-wise [`Trainer`] and the last test evaluation. Plain Rust (no wasm-bindgen), so it is
//! tested natively; `web::training` wraps it for the worker.
//!
//! Every call that can fail leaves the session as it was: a damaged file or a bad setting
//! never costs the student the data or the model they already have.

use crate::data::augment::{batch_transform, Augmentation, Augmenter};
use crate::data::folder::{FolderBuilder, FolderOptions};
use crate::data::happy::{check_happy_file, happy_from_arrays, HappyPart};
use crate::data::picture::Picture;
use crate::data::pixel;
use crate::data::synthetic::{generate, Difficulty, SyntheticParams};
use crate::data::Dataset;
use crate::limits::training::{
    MAX_BATCH_SIZE, MAX_BN_MOMENTUM, MAX_EPOCHS, MAX_LEARNING_RATE, MIN_LEARNING_RATE,
};
use crate::nn::clock::{default_clock, Clock};
use crate::nn::io::{load_model, save_model, LoadedModel};
use crate::nn::metrics::{evaluate, predict, predict_examples};
use crate::nn::{
    BatchProgress, EarlyStopping, EpochLog, Evaluation, Examples, FitConfig, InputShape, LayerSpec,
    Layout, ModelSpec, OptimizerSpec, Sequential, StopReason, Summary, Trainer,
};
use crate::{invalid, Result};
use serde::{Deserialize, Serialize};

mod cross;
pub use cross::CrossReport;

/// Share of a dropped image folder or a webcam capture kept aside for testing.
pub const TEST_FRACTION: f32 = 0.2;
/// Side of the images a folder or a capture becomes (the chapter's model input).
pub const IMAGE_SIDE: usize = 64;

/// What a folder or a capture becomes: the chapter's model input, in colour.
pub const FOLDER_OPTIONS: FolderOptions = FolderOptions {
    height: IMAGE_SIDE,
    width: IMAGE_SIDE,
    channels: 3,
};

/// Mixed into the training seed for the augmentation's draws, so that they do not repeat the
/// shuffling's or the dropout masks' stream.
const AUGMENTATION_STREAM: u64 = 0xa06_5eed;
/// Most augmented variants of one picture the gallery's preview asks for at once.
pub const MAX_PREVIEW_VARIANTS: usize = 64;

/// Largest batch the test set is scored in.
const SCORE_BATCH: usize = 64;

fn score_batch(model: &Sequential) -> usize {
    model.scoring_batch(SCORE_BATCH)
}

/// The hyper-parameters the page offers (the rest are [`FitConfig::recommended`]).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrainSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f32,
    /// Epochs without a better validation loss before stopping; 0 turns early stopping off.
    pub patience: usize,
    /// Seeds the weights, the shuffling and the dropout masks.
    pub seed: u64,
    /// Momentum of every batch-norm layer's moving averages (Keras: 0.99); `None` keeps the model's.
    #[serde(default)]
    pub bn_momentum: Option<f64>,
    /// Random changes to every training batch; the default changes nothing.
    #[serde(default)]
    pub augmentation: Augmentation,
}

impl TrainSettings {
    fn fit_config(&self) -> Result<FitConfig> {
        if !(MIN_LEARNING_RATE..=MAX_LEARNING_RATE).contains(&self.learning_rate) {
            return Err(invalid!(
                "the learning rate must be from {MIN_LEARNING_RATE} to {MAX_LEARNING_RATE} (got {})",
                self.learning_rate
            ));
        }
        if self.epochs > MAX_EPOCHS {
            return Err(invalid!(
                "at most {MAX_EPOCHS} epochs, please (got {})",
                self.epochs
            ));
        }
        if self.batch_size > MAX_BATCH_SIZE {
            return Err(invalid!(
                "the batch size can be at most {MAX_BATCH_SIZE} (got {})",
                self.batch_size
            ));
        }
        if self.patience > MAX_EPOCHS {
            return Err(invalid!(
                "the patience can be at most {MAX_EPOCHS} epochs (got {})",
                self.patience
            ));
        }
        let recommended = FitConfig::recommended();
        // Early stopping watches from a fifth of the run on, and at the latest from where the
        // recommended settings start: batch-norm's moving statistics lag the weights in the
        // first epochs, so early validation losses say little.
        let latest_start = recommended
            .early_stopping
            .map_or(0, |es| es.start_from_epoch);
        let early_stopping = (self.patience > 0).then(|| EarlyStopping {
            patience: self.patience,
            restore_best_weights: true,
            start_from_epoch: (self.epochs / 5).min(latest_start),
            ..EarlyStopping::default()
        });
        let config = FitConfig {
            epochs: self.epochs,
            batch_size: self.batch_size,
            seed: self.seed,
            optimizer: OptimizerSpec::adam(self.learning_rate),
            early_stopping,
            ..recommended
        };
        config.validate()?;
        Ok(config)
    }
}

/// Training settings the page proposes for the loaded data (the student may change them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuggestedSettings {
    pub epochs: usize,
    pub batch_size: usize,
    pub patience: usize,
    /// f64 so that the page shows 0.99, not f32's 0.9900000095.
    pub bn_momentum: f64,
}

/// The student's own pictures (a folder, a zip, webcam frames, the Happy House files) get
/// the command line's recommended, early-stopped settings ([`FitConfig::recommended`]: they
/// are what trains the chapter's model reliably on real photos); `None` for the synthetic
/// faces, which keep the page's quick run (its defaults, in `www/js/state.js`).
pub fn suggested_settings(synthetic: bool) -> Option<SuggestedSettings> {
    if synthetic {
        return None;
    }
    let r = FitConfig::recommended();
    let es = r
        .early_stopping
        .expect("the recommended settings stop early");
    Some(SuggestedSettings {
        epochs: r.epochs,
        batch_size: r.batch_size,
        patience: es.patience,
        // Keras's own momentum, which the recommended settings were measured with.
        bn_momentum: 0.99,
    })
}

/// What the page shows about the loaded data.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DataInfo {
    pub description: String,
    pub train: usize,
    pub test: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    pub class_names: Vec<String>,
    pub train_counts: Vec<usize>,
    pub test_counts: Vec<usize>,
    /// What the student should know about the load (files skipped, pictures left out).
    pub notes: Vec<String>,
    /// Training settings that suit these data (see [`suggested_settings`]).
    pub suggested: Option<SuggestedSettings>,
}

/// What one call to [`Session::train_for`] did.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrainReport {
    /// The last batch trained in this call (the progress bar needs only the latest).
    pub batch: Option<BatchProgress>,
    pub batches_trained: usize,
    pub epochs: Vec<EpochLog>,
    pub finished: Option<Finished>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Finished {
    pub stop: StopReason,
    pub message: String,
    /// The 1-based epoch whose weights the model kept (early stopping restored them).
    pub restored_epoch: Option<usize>,
}

/// The test-set evaluation with what the confusion matrix links to.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TestResults {
    #[serde(flatten)]
    pub evaluation: Evaluation,
    /// True class of every test image.
    pub labels: Vec<u8>,
    /// Probability of the predicted class for every test image.
    pub confidence: Vec<f32>,
    /// Probability of the last class ("smiling") for every test image.
    pub probability: Vec<f32>,
    pub class_names: Vec<String>,
}

use super::datasets::LoadedData as Data;

/// A folder being loaded picture by picture.
struct FolderLoad {
    builder: FolderBuilder,
    notes: Vec<String>,
    description: String,
    seed: u64,
}

/// What the page needs to load a folder's pictures: which files to decode, in order.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FolderStart {
    /// Indices into the listed paths, in dataset order.
    pub files: Vec<usize>,
    pub class_names: Vec<String>,
    pub class_counts: Vec<usize>,
    pub notes: Vec<String>,
}

/// Which set an image index refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Split {
    Train,
    Test,
}

impl Split {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "train" => Ok(Split::Train),
            "test" => Ok(Split::Test),
            other => Err(invalid!("there is no '{other}' set: use train or test")),
        }
    }
}

/// The session: data, model, training run.
pub struct Session {
    data: Option<Data>,
    /// A Happy House training file waiting for its test file, or the reverse.
    happy_train: Option<Dataset>,
    happy_test: Option<Dataset>,
    spec: Option<ModelSpec>,
    model: Option<Sequential>,
    trainer: Option<Trainer>,
    folder: Option<FolderLoad>,
    /// Times the training calls (the page's worker gives one that reads JS time).
    clock: Clock,
}

impl Default for Session {
    fn default() -> Self {
        Self::with_clock(default_clock())
    }
}

impl Session {
    /// A session timed by the system clock (natively; in wasm give one with [`Session::with_clock`]).
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_clock(clock: Clock) -> Self {
        Self {
            data: None,
            happy_train: None,
            happy_test: None,
            spec: None,
            model: None,
            trainer: None,
            folder: None,
            clock,
        }
    }

    /// Generates the synthetic smiles; `difficulty` is easy, normal or hard.
    pub fn load_synthetic(
        &mut self,
        train: usize,
        test: usize,
        seed: u64,
        difficulty: &str,
    ) -> Result<DataInfo> {
        let difficulty = parse_difficulty(difficulty)?;
        let (train_set, test_set) = generate(&SyntheticParams {
            train,
            test,
            seed,
            difficulty,
            confound: None,
        })?;
        let description = format!("synthetic smiles ({difficulty:?}, seed {seed})").to_lowercase();
        Ok(self
            .replace_data(Data::with_test_set(train_set, test_set, seed, description).synthetic()))
    }

    /// Reads a Happy House `.h5` file (native builds; the page reads the file in JavaScript
    /// and calls [`Session::load_happy_part`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_happy_h5(&mut self, bytes: &[u8], file_name: &str, seed: u64) -> Result<DataInfo> {
        let (part, set) =
            crate::data::h5::read_happy_h5(bytes).map_err(|e| invalid!("{file_name}: {e}"))?;
        self.load_happy_part(part, set, file_name, seed)
    }

    /// Takes one part of a Happy House file (`file_name` names it in messages). The first file
    /// of a pair is kept until its partner arrives; a training file alone is split 80/20 into
    /// train and test by `seed`, which also orders the training images (see
    /// [`Dataset::spread_order`]).
    pub fn load_happy_part(
        &mut self,
        part: HappyPart,
        set: Dataset,
        file_name: &str,
        seed: u64,
    ) -> Result<DataInfo> {
        let (mut happy_train, mut happy_test) = (self.happy_train.clone(), self.happy_test.clone());
        match part {
            HappyPart::Train => happy_train = Some(set),
            HappyPart::Test => happy_test = Some(set),
        }
        let data = match (&happy_train, &happy_test) {
            (Some(train), Some(test)) => {
                if train.image_len() != test.image_len() {
                    return Err(invalid!(
                        "{file_name}: its images are {}x{}x{}, but the other file's are {}x{}x{}",
                        test.height(),
                        test.width(),
                        test.channels(),
                        train.height(),
                        train.width(),
                        train.channels()
                    ));
                }
                Data::with_test_set(
                    train.clone(),
                    test.clone(),
                    seed,
                    "Happy House (train and test files)".into(),
                )
            }
            (Some(train), None) => Data::split(
                train.clone(),
                TEST_FRACTION,
                seed,
                "Happy House training file (a fifth kept for testing)".into(),
                Vec::new(),
            )?,
            (None, Some(_)) => {
                self.happy_test = happy_test;
                return Err(invalid!(
                    "{file_name} is the test file: drop the training file (train_happy.h5) too"
                ));
            }
            (None, None) => unreachable!("one part was just read"),
        };
        self.happy_train = happy_train;
        self.happy_test = happy_test;
        Ok(self.replace_data(data))
    }

    /// Takes the arrays of a Happy House file the page's HDF5 reader read (`part` is `train`
    /// or `test`, as [`check_happy_description`] said); see [`Session::load_happy_part`].
    pub fn load_happy_arrays(
        &mut self,
        part: &str,
        arrays: &HappyArrays,
        file_name: &str,
        seed: u64,
    ) -> Result<DataInfo> {
        let (part, set) = happy_set(part, arrays, file_name)?;
        self.load_happy_part(part, set, file_name, seed)
    }

    /// Reads a folder of images, one subfolder per class (the files of a dropped folder with
    /// their relative paths), resized to 64x64 RGB and split into train and test by `seed`
    /// (native builds; the page decodes the pictures and calls [`Session::load_folder_plan`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_image_folder(
        &mut self,
        entries: &[crate::data::folder::FileEntry],
        description: &str,
        seed: u64,
    ) -> Result<DataInfo> {
        let (set, notes) = super::datasets::read_folder(entries, &FOLDER_OPTIONS)?;
        self.replace_with_split(set, description, seed, notes)
    }

    /// Starts loading a folder from its files' paths (a path ending in `/` is a folder): checks
    /// its structure and plans which pictures become the dataset, in order. The pictures then
    /// arrive one by one ([`Session::add_folder_picture`]) and [`Session::finish_folder`] makes
    /// them the data. The data loaded before stay until then, and stay if anything fails.
    pub fn begin_folder<S: AsRef<str>>(
        &mut self,
        paths: &[S],
        description: &str,
        seed: u64,
    ) -> Result<FolderStart> {
        let plan = crate::data::folder::plan_image_folder(paths, &FOLDER_OPTIONS)?;
        let start = FolderStart {
            files: plan.files().collect(),
            class_names: plan.class_names(),
            class_counts: plan.class_counts(),
            notes: plan.notes(),
        };
        self.folder = Some(FolderLoad {
            builder: plan.builder(),
            notes: start.notes.clone(),
            description: description.to_string(),
            seed,
        });
        Ok(start)
    }

    /// Adds the next planned picture of the folder being loaded, decoded; it is shrunk to the
    /// model's input here. Returns how many have arrived.
    pub fn add_folder_picture(&mut self, picture: &Picture) -> Result<usize> {
        let load = self
            .folder
            .as_mut()
            .ok_or_else(|| invalid!("no folder is being loaded"))?;
        let rgb = crate::data::folder::shrink(picture, &FOLDER_OPTIONS);
        load.builder.push(&rgb)?;
        Ok(load.builder.progress().0)
    }

    /// Makes the folder's pictures the data: split into train and test by the seed.
    pub fn finish_folder(&mut self) -> Result<DataInfo> {
        let load = self
            .folder
            .take()
            .ok_or_else(|| invalid!("no folder is being loaded"))?;
        let set = load.builder.finish()?;
        self.replace_with_split(set, &load.description, load.seed, load.notes)
    }

    /// Forgets a folder whose loading failed (the data before it stay).
    pub fn cancel_folder(&mut self) {
        self.folder = None;
    }

    /// Splits a labelled set into train and test by `seed` (a fifth of each class for testing),
    /// describes it with its class counts and makes it the session's data.
    fn replace_with_split(
        &mut self,
        set: Dataset,
        what: &str,
        seed: u64,
        notes: Vec<String>,
    ) -> Result<DataInfo> {
        let classes: Vec<String> = set
            .class_names()
            .iter()
            .zip(&set.class_counts())
            .map(|(c, n)| format!("{n} {c}"))
            .collect();
        let description = format!(
            "{what} ({}; a fifth of each class kept for testing)",
            classes.join(", ")
        );
        let data = Data::split(set, TEST_FRACTION, seed, description, notes)?;
        Ok(self.replace_data(data))
    }

    /// Reads a zip archive of an image folder (see [`Session::load_image_folder`]; native
    /// builds, the page unpacks with [`crate::data::folder::read_zip_entries`] and decodes).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn load_zip(&mut self, bytes: &[u8], file_name: &str, seed: u64) -> Result<DataInfo> {
        let entries = crate::data::folder::read_zip_entries(bytes)
            .map_err(|e| invalid!("{file_name}: {e}"))?;
        self.load_image_folder(&entries, &format!("images from {file_name}"), seed)
            .map_err(|e| invalid!("{file_name}: {e}"))
    }

    /// Makes a dataset of webcam frames: `rgba` holds (N, side, side, 4) bytes, `labels` the
    /// class of each frame (0: `class_names[0]`, ...); split into train and test by `seed`.
    pub fn load_captured(
        &mut self,
        rgba: &[u8],
        labels: &[u8],
        side: usize,
        class_names: &[String],
        seed: u64,
    ) -> Result<DataInfo> {
        let set = frames_dataset(rgba, labels, side, class_names)?;
        if class_names.len() < 2 {
            return Err(invalid!(
                "a classifier needs frames of at least two classes"
            ));
        }
        let counts = set.class_counts();
        if let Some(c) = counts.iter().position(|&n| n < 2) {
            return Err(invalid!("capture at least two frames of “{}” (there are {}), so that one can be kept for testing", class_names[c], counts[c]));
        }
        self.replace_with_split(set, "webcam frames", seed, Vec::new())
    }

    fn replace_data(&mut self, data: Data) -> DataInfo {
        // A model for other image sizes cannot train on the new data: start it afresh.
        if let Some(spec) = &self.spec {
            let input = spec.input;
            if input.height * input.width * input.channels != data.train.image_len() {
                self.spec = None;
                self.model = None;
            }
        }
        self.trainer = None;
        self.data = Some(data);
        self.data_info().expect("data was just set")
    }

    pub fn data_info(&self) -> Option<DataInfo> {
        let d = self.data.as_ref()?;
        Some(DataInfo {
            description: d.description.clone(),
            train: d.train.len(),
            test: d.test.len(),
            height: d.train.height(),
            width: d.train.width(),
            channels: d.train.channels(),
            class_names: d.train.class_names().to_vec(),
            train_counts: d.train.class_counts(),
            test_counts: d.test.class_counts(),
            notes: d.notes.clone(),
            suggested: suggested_settings(d.synthetic),
        })
    }

    /// The loaded (training, test) sets.
    pub fn sets(&self) -> Result<(&Dataset, &Dataset)> {
        let d = self.data()?;
        Ok((&d.train, &d.test))
    }

    fn data(&self) -> Result<&Data> {
        self.data
            .as_ref()
            .ok_or_else(|| invalid!("load some data first"))
    }

    /// The chapter's model for the loaded images' channels and classes.
    pub fn chapter_spec(&self) -> Result<ModelSpec> {
        self.layout_spec(&Layout::chapter())
    }

    /// The model of an editor layout for the loaded images and classes.
    fn layout_spec(&self, layout: &Layout) -> Result<ModelSpec> {
        let d = self.data()?;
        let input = InputShape {
            height: d.train.height(),
            width: d.train.width(),
            channels: d.train.channels(),
        };
        Ok(layout.spec(input, d.train.class_names().len()))
    }

    /// Builds a model from a spec in JSON (`None`: the chapter's model) with weights from `seed`.
    pub fn build_model(&mut self, spec_json: Option<&str>, seed: u64) -> Result<Summary> {
        let spec = match spec_json {
            Some(text) => ModelSpec::from_json(text)?,
            None => self.chapter_spec()?,
        };
        self.build_spec(spec, seed)
    }

    /// Builds the model of an editor layout for the loaded data, with weights from `seed`.
    pub fn build_layout(&mut self, layout: &Layout, seed: u64) -> Result<Summary> {
        let spec = self.layout_spec(layout)?;
        self.build_spec(spec, seed)
    }

    /// The editor layout of the current model (`None`: no model, or one the editor cannot show).
    pub fn layout(&self) -> Option<Layout> {
        self.spec.as_ref().and_then(Layout::of_spec)
    }

    fn build_spec(&mut self, spec: ModelSpec, seed: u64) -> Result<Summary> {
        if let Some(d) = &self.data {
            check_input_fits(&spec.input, &d.train, "the loaded ones are")?;
        }
        let model = Sequential::new(&spec, seed)?;
        let summary = model.summary();
        self.spec = Some(spec);
        self.model = Some(model);
        self.trainer = None;
        Ok(summary)
    }

    pub fn summary(&self) -> Option<Summary> {
        self.model.as_ref().map(Sequential::summary)
    }

    pub fn spec_json(&self) -> Option<String> {
        self.spec.as_ref().map(ModelSpec::to_json)
    }

    /// Starts a fresh run: the model's weights are initialized again from the seed, so the same
    /// settings give the same curves.
    pub fn start_training(&mut self, settings: &TrainSettings) -> Result<usize> {
        let config = settings.fit_config()?;
        let mut spec = match &self.spec {
            Some(s) => s.clone(),
            None => self.chapter_spec()?,
        };
        if let Some(m) = settings.bn_momentum {
            if !(0.0..=MAX_BN_MOMENTUM).contains(&m) {
                return Err(invalid!(
                    "the batch-norm momentum must be from 0 to {MAX_BN_MOMENTUM} (got {m})"
                ));
            }
            for layer in &mut spec.layers {
                if let LayerSpec::BatchNorm { momentum, .. } = layer {
                    *momentum = m;
                }
            }
        }
        let mut model = Sequential::new(&spec, settings.seed)?;
        let d = self.data()?;
        let train = examples(&d.train)?;
        let mut trainer = Trainer::new(&mut model, &train, None, config)?.with_clock(self.clock);
        let seed = settings.seed ^ AUGMENTATION_STREAM;
        if let Some(t) = batch_transform(settings.augmentation, &d.train, seed)? {
            trainer = trainer.with_transform(t);
        }
        let batches = trainer.batches_per_epoch();
        self.spec = Some(spec);
        self.model = Some(model);
        self.trainer = Some(trainer);
        Ok(batches)
    }

    /// Trains batches until `budget_ms` milliseconds have passed (at least one batch) or the
    /// run ends. Short calls keep the worker able to hear Pause and Stop.
    pub fn train_for(&mut self, budget_ms: f64) -> Result<TrainReport> {
        let Session {
            data,
            model,
            trainer,
            clock: now_ms,
            ..
        } = self;
        let (Some(d), Some(model), Some(trainer)) =
            (data.as_ref(), model.as_mut(), trainer.as_mut())
        else {
            return Err(invalid!("press Train to start a training run first"));
        };
        let train = examples(&d.train)?;
        let start = now_ms();
        let mut report = TrainReport {
            batch: None,
            batches_trained: 0,
            epochs: Vec::new(),
            finished: None,
        };
        loop {
            let step = trainer.step(model, &train, None)?;
            if let Some(b) = step.batch {
                report.batch = Some(b);
                report.batches_trained += 1;
            }
            report.epochs.extend(step.epoch);
            if let Some(stop) = step.finished {
                report.finished = Some(finished(stop, trainer.history().restored_epoch));
                break;
            }
            if now_ms() - start >= budget_ms {
                break;
            }
        }
        Ok(report)
    }

    /// Ends the run between batches (restoring the best epoch's weights, as early stopping does).
    pub fn stop_training(&mut self) -> Option<Finished> {
        let (Some(model), Some(trainer)) = (self.model.as_mut(), self.trainer.as_mut()) else {
            return None;
        };
        trainer.stop(model);
        let h = trainer.history();
        Some(finished(
            h.stop.clone().expect("stop() sets the reason"),
            h.restored_epoch,
        ))
    }

    /// The model's input shape (there must be a model).
    fn model_input(&self) -> Result<crate::nn::InputShape> {
        Ok(self
            .model
            .as_ref()
            .ok_or_else(|| invalid!("build or load a model first"))?
            .spec()
            .input)
    }

    fn model_mut(&mut self) -> Result<&mut Sequential> {
        self.model
            .as_mut()
            .ok_or_else(|| invalid!("build or load a model first"))
    }

    fn check_fits(&self, set: &Dataset) -> Result<()> {
        let model = self
            .model
            .as_ref()
            .ok_or_else(|| invalid!("build or load a model first"))?;
        check_input_fits(&model.spec().input, set, "the loaded ones are")
    }

    /// Scores the model on the test set.
    pub fn evaluate_test(&mut self) -> Result<TestResults> {
        let d = self
            .data
            .as_ref()
            .ok_or_else(|| invalid!("load some data first"))?;
        self.check_fits(&d.test)?;
        let test = examples(&d.test)?;
        let model = self.model.as_mut().expect("checked above");
        let batch = score_batch(model);
        let evaluation = evaluate(model, &test, batch)?;
        let probs = predict_examples(model, &test, batch)?;
        let units = model.output_kind().units();
        let class_prob = |i: usize, c: usize| {
            if units == 1 {
                if c == 1 {
                    probs[i]
                } else {
                    1.0 - probs[i]
                }
            } else {
                probs[i * units + c]
            }
        };
        let classes = d.test.class_names().len();
        let confidence = (0..d.test.len())
            .map(|i| class_prob(i, evaluation.predictions[i]))
            .collect();
        let probability = (0..d.test.len())
            .map(|i| class_prob(i, classes - 1))
            .collect();
        Ok(TestResults {
            evaluation,
            labels: d.test.labels().to_vec(),
            confidence,
            probability,
            class_names: d.test.class_names().to_vec(),
        })
    }

    /// `count` augmented variants of one image of a set, (count, H, W, C): what training with
    /// `settings` would show the model in its place. `seed` picks the variants.
    pub fn augmentation_preview(
        &self,
        split: Split,
        index: usize,
        settings: &Augmentation,
        count: usize,
        seed: u64,
    ) -> Result<Vec<f32>> {
        if count == 0 || count > MAX_PREVIEW_VARIANTS {
            return Err(invalid!(
                "the preview shows from 1 to {MAX_PREVIEW_VARIANTS} variants (got {count})"
            ));
        }
        let set = self.set_with_image(split, index)?;
        let shape = (set.height(), set.width(), set.channels());
        let mut augmenter = Augmenter::new(*settings, shape, seed)?;
        Ok(augmenter.variants(&set.image(index), count))
    }

    /// The set `split`, checked to hold image `index`.
    fn set_with_image(&self, split: Split, index: usize) -> Result<&Dataset> {
        let d = self.data()?;
        let set = match split {
            Split::Train => &d.train,
            Split::Test => &d.test,
        };
        if index >= set.len() {
            return Err(invalid!(
                "there is no image {index}: the set has {} images",
                set.len()
            ));
        }
        Ok(set)
    }

    /// Class probabilities for one image of a set.
    pub fn predict_index(&mut self, split: Split, index: usize) -> Result<Vec<f32>> {
        let set = self.set_with_image(split, index)?;
        self.check_fits(set)?;
        let image = set.image(index).to_vec();
        let model = self.model_mut()?;
        let p = predict(model, &image, 1)?;
        Ok(class_probabilities(&p))
    }

    /// Class probabilities for a photo (PNG or JPEG bytes, decoded here; native builds, the
    /// page decodes in the browser and calls [`Session::predict_picture`]).
    #[cfg(not(target_arch = "wasm32"))]
    pub fn predict_photo(&mut self, bytes: &[u8]) -> Result<PhotoPrediction> {
        self.model_input()?;
        let picture = super::upload::decode_upload(bytes)?;
        self.predict_picture(&picture)
    }

    /// Class probabilities for a decoded photo, cut to the model's input, and the model's
    /// view of it as RGBA bytes.
    pub fn predict_picture(&mut self, picture: &Picture) -> Result<PhotoPrediction> {
        let input = self.model_input()?;
        let rgb = super::upload::fit_for_model(picture, input.height, input.width)?;
        let image = if input.channels == 1 {
            rgb.chunks_exact(3)
                .map(|p| pixel::gray([p[0], p[1], p[2]]))
                .collect()
        } else {
            rgb.clone()
        };
        let probabilities = self.predict_pixels(&image)?;
        let rgba = pixel::rgba_from_values(&rgb, 3);
        Ok(PhotoPrediction {
            probabilities,
            rgba,
            height: input.height,
            width: input.width,
        })
    }

    /// Class probabilities for one (H, W, 4) RGBA frame of the model's input size (a webcam frame).
    pub fn predict_rgba(&mut self, rgba: &[u8], height: usize, width: usize) -> Result<Vec<f32>> {
        let input = self.model_input()?;
        if (height, width) != (input.height, input.width) || rgba.len() != height * width * 4 {
            return Err(invalid!(
                "the model takes {}x{} pictures, not {height}x{width} ({} bytes)",
                input.height,
                input.width,
                rgba.len()
            ));
        }
        let image = pixel::values_from_rgba(rgba, input.channels);
        self.predict_pixels(&image)
    }

    fn predict_pixels(&mut self, image: &[f32]) -> Result<Vec<f32>> {
        let model = self.model_mut()?;
        let p = predict(model, image, 1)?;
        Ok(class_probabilities(&p))
    }

    /// The model file: weights, description and the settings it was trained with.
    pub fn save(&self, notes: &serde_json::Value) -> Result<Vec<u8>> {
        let model = self
            .model
            .as_ref()
            .ok_or_else(|| invalid!("there is no model to save yet"))?;
        save_model(model, notes)
    }

    /// Reads a model file; on any problem the current model stays.
    /// An ONNX file of a chain convscope can train loads the same way.
    pub fn load(&mut self, bytes: &[u8]) -> Result<(Summary, serde_json::Value)> {
        use crate::nn::onnx::ImportedModel;
        let loaded = match super::export::open_onnx(bytes)? {
            None => load_model(bytes)?,
            Some(ImportedModel::Sequential(model, training)) => LoadedModel { model, training },
            Some(ImportedModel::Graph(..)) => return Err(invalid!(
                "this ONNX model is a network convscope can explain but not train here (it has residual adds, grouped convolutions or a layer order the training panel does not build): open it in Look inside, under the pretrained network"
            )),
        };
        if let Some(d) = &self.data {
            check_input_fits(&loaded.model.spec().input, &d.train, "the loaded data are")
                .map_err(|e| invalid!("{e}: load matching data first"))?;
        }
        let summary = loaded.model.summary();
        self.spec = Some(loaded.model.spec().clone());
        self.model = Some(loaded.model);
        self.trainer = None;
        Ok((summary, loaded.training))
    }

    /// Images of a set as RGBA bytes, one (H, W, 4) block after another, for the page to draw.
    pub fn images_rgba(&self, split: Split, indices: &[usize]) -> Result<Vec<u8>> {
        let d = self.data()?;
        let set = match split {
            Split::Train => &d.train,
            Split::Test => &d.test,
        };
        let mut out = Vec::with_capacity(indices.len() * set.height() * set.width() * 4);
        for &i in indices {
            if i >= set.len() {
                return Err(invalid!(
                    "there is no image {i}: the set has {} images",
                    set.len()
                ));
            }
            out.extend(pixel::rgba_from_values(&set.image(i), set.channels()));
        }
        Ok(out)
    }

    /// Labels of a set.
    pub fn labels(&self, split: Split) -> Result<Vec<u8>> {
        let d = self.data()?;
        Ok(match split {
            Split::Train => d.train.labels().to_vec(),
            Split::Test => d.test.labels().to_vec(),
        })
    }
}

/// What the explanations ([`super::inside`]) need: the model and the loaded sets, and a way
/// to put in the shortcut lab's data.
impl Session {
    pub(crate) fn model_and_data(
        &mut self,
    ) -> (Option<&mut Sequential>, Option<(&Dataset, &Dataset)>) {
        (
            self.model.as_mut(),
            self.data.as_ref().map(|d| (&d.train, &d.test)),
        )
    }

    pub(crate) fn set_data(
        &mut self,
        train: Dataset,
        test: Dataset,
        description: String,
    ) -> DataInfo {
        self.replace_data(Data {
            train,
            test,
            description,
            notes: Vec::new(),
            synthetic: true,
        })
    }
}

/// A photo's prediction and what the model saw.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhotoPrediction {
    pub probabilities: Vec<f32>,
    /// (H, W, 4) bytes: the photo cut and resized to the model's input.
    #[serde(skip)]
    pub rgba: Vec<u8>,
    pub height: usize,
    pub width: usize,
}

/// The dataset in a Happy House file's `part` (`train` or `test`); messages name the file.
fn happy_set(part: &str, arrays: &HappyArrays, file_name: &str) -> Result<(HappyPart, Dataset)> {
    let read = || -> Result<_> {
        let part = HappyPart::parse(part)?;
        let (x_key, y_key) = part.keys();
        let labels = whole_numbers(arrays.labels, y_key)?;
        let set = happy_from_arrays(
            arrays.pixels,
            arrays.x_shape,
            &labels,
            arrays.y_shape,
            x_key,
            y_key,
        )?;
        Ok((part, set))
    };
    read().map_err(|e| invalid!("{file_name}: {e}"))
}

fn parse_difficulty(name: &str) -> Result<Difficulty> {
    match name {
        "easy" => Ok(Difficulty::Easy),
        "normal" => Ok(Difficulty::Normal),
        "hard" => Ok(Difficulty::Hard),
        other => Err(invalid!(
            "the difficulty must be easy, normal or hard (got '{other}')"
        )),
    }
}

/// Webcam frames (RGBA, `side` x `side` each) as an RGB dataset.
fn frames_dataset(
    rgba: &[u8],
    labels: &[u8],
    side: usize,
    class_names: &[String],
) -> Result<Dataset> {
    if side == 0 || side > 1024 {
        return Err(invalid!(
            "captured frames must be 1 to 1024 pixels a side (got {side})"
        ));
    }
    if rgba.len() != labels.len() * side * side * 4 {
        return Err(invalid!(
            "{} frames of {side}x{side} pixels need {} bytes, not {}",
            labels.len(),
            labels.len() * side * side * 4,
            rgba.len()
        ));
    }
    if labels.iter().any(|&l| l as usize >= class_names.len()) {
        return Err(invalid!(
            "a frame has a class that is not one of {}",
            class_names.join(", ")
        ));
    }
    let images = rgba
        .chunks_exact(4)
        .flat_map(|px| [px[0], px[1], px[2]])
        .collect();
    Dataset::from_bytes(images, labels.to_vec(), side, side, 3, class_names.to_vec())
}

fn examples(set: &Dataset) -> Result<Examples<'_>> {
    Ok(set.examples())
}

fn finished(stop: StopReason, restored_epoch: Option<usize>) -> Finished {
    let message = stop.describe();
    Finished {
        stop,
        message,
        restored_epoch,
    }
}

/// One sigmoid output p becomes [1 - p, p]; softmax outputs are already per class.
fn class_probabilities(p: &[f32]) -> Vec<f32> {
    if p.len() == 1 {
        vec![1.0 - p[0], p[0]]
    } else {
        p.to_vec()
    }
}

/// [`InputShape::check_images`] against a set's images.
fn check_input_fits(input: &InputShape, set: &Dataset, theirs: &str) -> Result<()> {
    input.check_images((set.height(), set.width(), set.channels()), theirs)
}

/// A Happy House file's arrays as the page's HDF5 reader gives them: 8-bit pixels and
/// labels as JS numbers, with their shapes.
pub struct HappyArrays<'a> {
    pub pixels: &'a [u8],
    pub x_shape: &'a [usize],
    pub labels: &'a [f64],
    pub y_shape: &'a [usize],
}

/// Checks a Happy House file from its description (dataset names, shapes and types) before
/// any array is read; returns the part it holds. `file_name` names it in messages.
pub fn check_happy_description(
    names: &[String],
    arrays: &std::collections::BTreeMap<String, crate::data::happy::ArrayInfo>,
    file_name: &str,
) -> Result<HappyPart> {
    let (part, _) = check_happy_file(names, arrays).map_err(|e| invalid!("{file_name}: {e}"))?;
    Ok(part)
}

/// Whole numbers from a JS array of numbers; `what` names them in the message.
fn whole_numbers(values: &[f64], what: &str) -> Result<Vec<i64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(crate::Error::BadInput(format!(
                    "{what}: label {v} at position {i} is not 0 (not smiling) or 1 (smiling)"
                )))
            }
        })
        .collect()
}
