//! Transfer learning, as Teachable Machine does it: the pretrained ImageNet network stays
//! frozen, each picture goes through it once to its pooled features (the 1,280 numbers before
//! the 1,000-way classifier), and a small new head learns the student's own classes from those
//! features. The head is a [`Sequential`] like the smile model, trained by the same `fit`, so
//! curves, metrics, early stopping and model files work as for the smile model.
//!
//! Pictures of any size and colour are brought to the network's input the way the page's own
//! data are drawn: gray repeated into three channels, resized bilinearly to 224x224.

use crate::data::Dataset;
use crate::explain::resize::resize_bilinear;
use crate::explain::{Explainable, Point};
use crate::nn::graph::GraphModel;
use crate::nn::spec::output_head;
use crate::nn::{
    evaluate, fit, EpochLog, Evaluation, Examples, FitConfig, InputShape, LayerSpec, ModelSpec,
    OutputKind, Sequential, Silent,
};
use crate::{invalid, Result};
use serde::Serialize;

/// The node whose output is the features (global average pooling before the classifier).
pub const FEATURES_NODE: &str = "pool";

/// The node whose output a new head reads: [`FEATURES_NODE`] where the network has one (the
/// ImageNet network), else what its last dense layer reads (a network opened from ONNX).
pub fn features_node(net: &GraphModel) -> Result<usize> {
    if let Some(i) = net.node_index(FEATURES_NODE) {
        return Ok(i);
    }
    let last = &net.spec().nodes[net.output_index()];
    match (&last.op, last.inputs.first()) {
        (crate::nn::graph::OpSpec::Dense { .. }, Some(input)) => net.node_index(input),
        _ => None,
    }
    .ok_or_else(|| invalid!("this network has no layer of features before its classifier (a node {FEATURES_NODE:?}, or a dense layer last) for a new head to read"))
}

/// Pictures run through the backbone together: two keep the kept activations near 100 MB.
const BATCH: usize = 2;

/// The head: the features as a 1x1 map of 1,280 channels, flattened, dropout 0.2 (features
/// of a few hundred pictures are easy to memorize), then the output rule (one sigmoid unit for
/// two classes, a softmax for more).
pub fn head_spec(features: usize, classes: usize) -> ModelSpec {
    ModelSpec {
        input: InputShape {
            height: 1,
            width: 1,
            channels: features,
        },
        layers: vec![
            LayerSpec::Flatten,
            LayerSpec::Dropout { rate: 0.2 },
            output_head(classes),
        ],
    }
}

/// One picture (H, W, C in [0, 1], C = 1 or 3) as the network's input (224, 224, 3).
fn to_input(image: &[f32], (h, w, c): (usize, usize, usize), side: usize) -> Result<Vec<f32>> {
    if c != 1 && c != 3 {
        return Err(invalid!(
            "pictures with {c} channels cannot go through the ImageNet network (1 or 3)"
        ));
    }
    let mut out = vec![0f32; side * side * 3]; // (side, side, 3)
    for ch in 0..3 {
        let plane: Vec<f32> = image.iter().skip(ch % c).step_by(c).copied().collect();
        let resized = if (h, w) == (side, side) {
            plane
        } else {
            resize_bilinear(&plane, h, w, side, side)
        };
        for (i, v) in resized.into_iter().enumerate() {
            out[i * 3 + ch] = v.clamp(0.0, 1.0);
        }
    }
    Ok(out)
}

/// Every picture's features from the backbone `net` (its [`features_node`]), (N, F);
/// `progress(done, total)` after each batch.
pub fn features(
    net: &mut GraphModel,
    set: &Dataset,
    mut progress: impl FnMut(usize, usize),
) -> Result<Vec<f32>> {
    let side = net.spec().input.height;
    let cut = features_node(net)?;
    let shape = (set.height(), set.width(), set.channels());
    let mut out = Vec::new();
    let mut batch = Vec::with_capacity(BATCH * side * side * 3);
    for start in (0..set.len()).step_by(BATCH) {
        let end = (start + BATCH).min(set.len());
        batch.clear();
        for i in start..end {
            batch.extend(to_input(&set.image(i), shape, side)?);
        }
        net.forward(&batch, end - start)?;
        out.extend_from_slice(net.output(cut));
        progress(end, set.len());
    }
    Ok(out)
}

/// The features (N, F) with the pictures' labels, as the head's training or test examples.
pub fn feature_examples<'a>(features: &'a [f32], set: &'a Dataset) -> Result<Examples<'a>> {
    let f = features.len() / set.len().max(1);
    Examples::new(features, set.labels(), f)
}

/// A frozen backbone with a trained head on one of its nodes, as one model the explanations
/// can differentiate: saliency and Grad-CAM of the student's own classes on the backbone's
/// pixels and blocks.
pub struct Stacked<'a> {
    pub backbone: &'a mut GraphModel,
    pub head: &'a mut Sequential,
    /// The backbone node the head reads (its output, flattened, is the head's input).
    pub cut: usize,
    /// d(score)/d(features) of the last backprop, kept so that the borrow ends.
    d_features: Vec<f32>,
}

impl<'a> Stacked<'a> {
    pub fn new(backbone: &'a mut GraphModel, head: &'a mut Sequential, cut: usize) -> Self {
        Self {
            backbone,
            head,
            cut,
            d_features: Vec::new(),
        }
    }
}

impl Explainable for Stacked<'_> {
    fn input_shape(&self) -> InputShape {
        self.backbone.input_shape()
    }

    fn output_kind(&self) -> OutputKind {
        Explainable::output_kind(&*self.head)
    }

    fn infer(&mut self, batch: &[f32]) -> Result<&[f32]> {
        self.backbone.infer(batch)?;
        let features = self.backbone.layer_output(self.cut).to_vec();
        self.head.infer(&features)
    }

    fn map_layers(&self) -> Vec<usize> {
        self.backbone.map_layers()
    }

    fn layer_count(&self) -> usize {
        self.backbone.layer_count()
    }

    fn layer_name(&self, layer: usize) -> &str {
        self.backbone.layer_name(layer)
    }

    fn map_layer(&self, layer: usize) -> Result<(usize, usize, usize)> {
        self.backbone.map_layer(layer)
    }

    fn layer_output(&self, layer: usize) -> &[f32] {
        self.backbone.layer_output(layer)
    }

    fn backprop(&mut self, from: Point, d: &[f32], to: Point) -> Result<&[f32]> {
        if from != Point::Logits {
            return Err(invalid!(
                "a gradient through the new head starts at its logits"
            ));
        }
        self.d_features =
            Explainable::backprop(self.head, Point::Logits, d, Point::Image)?.to_vec();
        Explainable::backprop(self.backbone, Point::Layer(self.cut), &self.d_features, to)
    }

    fn batch_limit(&self) -> usize {
        self.backbone.batch_limit()
    }
}

/// One transfer-learning run on a snapshot of the loaded data: features computed a slice at a
/// time (the page shows progress), then the head trained on them in one go (1,280 inputs and
/// one dense layer: a few hundred milliseconds).
#[derive(Debug)]
pub struct TransferRun {
    train: Dataset,
    test: Dataset,
    train_features: Vec<f32>,
    test_features: Vec<f32>,
    /// Pictures whose features are done, the training ones first.
    done: usize,
    head: Option<Sequential>,
}

/// What the head learnt: Keras's per-epoch logs and the test metrics.
#[derive(Debug, Clone, Serialize)]
pub struct TransferResult {
    pub epochs: Vec<EpochLog>,
    pub restored_epoch: Option<usize>,
    pub test: Evaluation,
    pub class_names: Vec<String>,
}

impl TransferRun {
    /// Takes a copy of the sets, so that loading other data meanwhile changes nothing here.
    pub fn new(train: &Dataset, test: &Dataset) -> Result<Self> {
        if train.is_empty() || test.is_empty() {
            return Err(invalid!(
                "transfer learning needs training and test pictures: load some data first"
            ));
        }
        if train.class_names().len() < 2 {
            return Err(invalid!(
                "transfer learning needs at least two classes in the data"
            ));
        }
        Ok(Self {
            train: train.clone(),
            test: test.clone(),
            train_features: Vec::new(),
            test_features: Vec::new(),
            done: 0,
            head: None,
        })
    }

    /// (pictures done, pictures in all).
    pub fn progress(&self) -> (usize, usize) {
        (self.done, self.train.len() + self.test.len())
    }

    /// Computes the features of up to `count` more pictures.
    pub fn step(&mut self, net: &mut GraphModel, count: usize) -> Result<(usize, usize)> {
        let (_, total) = self.progress();
        let end = (self.done + count.max(1)).min(total);
        while self.done < end {
            let n_train = self.train.len();
            let (set, out, start) = if self.done < n_train {
                (&self.train, &mut self.train_features, self.done)
            } else {
                (&self.test, &mut self.test_features, self.done - n_train)
            };
            let stop = (start + BATCH).min(set.len()).min(start + end - self.done);
            let part = set.subset(&(start..stop).collect::<Vec<_>>());
            out.extend(features(net, &part, |_, _| {})?);
            self.done += stop - start;
        }
        Ok(self.progress())
    }

    /// Trains a new head on the features (all must be done) and evaluates it on the test set.
    pub fn train(&mut self, seed: u64) -> Result<TransferResult> {
        let (done, total) = self.progress();
        if done < total {
            return Err(invalid!(
                "the features are not all computed yet ({done} of {total} pictures)"
            ));
        }
        let train = feature_examples(&self.train_features, &self.train)?;
        let test = feature_examples(&self.test_features, &self.test)?;
        let classes = self.train.class_names().len();
        let mut head = Sequential::new(&head_spec(train.image_len(), classes), seed)?;
        let config = FitConfig {
            seed,
            ..FitConfig::recommended()
        };
        let history = fit(&mut head, &train, None, config, &mut Silent)?;
        let evaluation = evaluate(&mut head, &test, config.batch_size)?;
        self.head = Some(head);
        Ok(TransferResult {
            epochs: history.epochs,
            restored_epoch: history.restored_epoch,
            test: evaluation,
            class_names: self.train.class_names().to_vec(),
        })
    }

    /// Takes a saved head instead of training one: it must read this network's features and
    /// tell the data's classes apart. Only the test pictures' features are then needed (for
    /// its metrics on this data).
    /// `features`: how many numbers the network gives per picture.
    pub fn with_head(mut self, head: Sequential, features: usize) -> Result<Self> {
        let input = head.spec().input;
        if (input.height, input.width, input.channels) != (1, 1, features) {
            return Err(invalid!("this model file is not a transfer head (it takes {}x{}x{} pictures, not the network's features); load it in Model & training instead", input.height, input.width, input.channels));
        }
        let classes = Explainable::output_kind(&head).classes();
        let want = self.train.class_names().len().max(2);
        if classes != want {
            return Err(invalid!(
                "this head tells {classes} classes apart, but the loaded data have {want}"
            ));
        }
        self.done = self.train.len();
        self.head = Some(head);
        Ok(self)
    }

    /// Scores the head (trained or loaded) on the test pictures, whose features must be done.
    pub fn evaluate(&mut self) -> Result<Evaluation> {
        let (done, total) = self.progress();
        if done < total {
            return Err(invalid!(
                "the features are not all computed yet ({done} of {total} pictures)"
            ));
        }
        let test = feature_examples(&self.test_features, &self.test)?;
        let head = self
            .head
            .as_mut()
            .ok_or_else(|| invalid!("train the new head first"))?;
        evaluate(head, &test, 8)
    }

    pub fn class_names(&self) -> &[String] {
        self.train.class_names()
    }

    /// The trained head, for saving.
    pub fn head(&self) -> Result<&Sequential> {
        self.head
            .as_ref()
            .ok_or_else(|| invalid!("train the new head first"))
    }

    /// Test picture `index` as the network's input, (224, 224, 3).
    pub fn test_picture(&self, index: usize, side: usize) -> Result<Vec<f32>> {
        if index >= self.test.len() {
            return Err(invalid!(
                "there is no test picture {index}: the test set has {} (0 to {})",
                self.test.len(),
                self.test.len() - 1
            ));
        }
        let shape = (self.test.height(), self.test.width(), self.test.channels());
        to_input(&self.test.image(index), shape, side)
    }

    /// The head, mutable (for the explanations through it).
    pub fn head_mut(&mut self) -> Result<&mut Sequential> {
        self.head
            .as_mut()
            .ok_or_else(|| invalid!("train the new head first"))
    }

    pub fn test_label(&self, index: usize) -> Option<u8> {
        self.test.labels().get(index).copied()
    }
}
