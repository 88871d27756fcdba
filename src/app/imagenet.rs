//! The pretrained ImageNet network (EfficientNet-Lite0, converted by tools/imagenet) as the
//! page's "Look inside" switch and the command line use it: loading the graph model file,
//! fitting a photo to its input, the most likely classes, and the chapter's explanations of
//! it (saliency, Grad-CAM on any block, activation maximization of one or two classes).

use super::inside::PAGE_SMOOTHGRAD;
use super::transfer::{features_node, Stacked, TransferResult, TransferRun};
use super::upload::fit_for_model;
use crate::data::picture::Picture;
use crate::data::Dataset;
use crate::explain::{
    activation_maximization, grad_cam, saliency, ActmaxConfig, ActmaxResult, CamWeighting,
    Explainable, GradCam, Saliency,
};
use crate::nn::graph::{softmax, top_k, ValueShape};
use crate::nn::io::{load_graph_model, LoadedGraph};
use crate::nn::onnx::{graph_to_onnx, transfer_to_onnx};
use crate::{invalid, Result};
use serde::Serialize;

/// Below this, a photo has too little in it to be stretched to 224x224 and called anything.
pub const MIN_PHOTO_SIDE: u32 = 32;

/// One class and how likely the network finds it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranked {
    pub index: usize,
    pub name: String,
    pub probability: f32,
}

/// A layer the page offers for Grad-CAM and activation maps: the output of the stem, of each
/// block and of the head.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Block {
    pub index: usize,
    pub name: String,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
}

#[derive(Debug)]
pub struct ImageNet {
    loaded: LoadedGraph,
    /// The photo being explained, fitted to the input: (H, W, 3) in [0, 1].
    photo: Option<Vec<f32>>,
    /// Transfer learning on the student's data, once begun.
    transfer: Option<TransferRun>,
}

impl ImageNet {
    /// Reads a converted model file; a smile model or a damaged file gets its message.
    /// An ONNX file of a graph network is converted first.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        use crate::nn::onnx::ImportedModel;
        let loaded = match super::export::open_onnx(bytes)? {
            None => load_graph_model(bytes)?,
            Some(ImportedModel::Graph(model, classes, source)) => LoadedGraph {
                model,
                classes,
                source,
            },
            Some(ImportedModel::Sequential(..)) => return Err(invalid!(
                "this ONNX model is a chain of layers convscope can train: open it with the training panel's model loader, where it trains and explains like your own model"
            )),
        };
        let input = loaded.model.spec().input;
        if input.height != input.width || input.channels != 3 {
            return Err(invalid!(
                "this network takes {}x{}x{} pictures; Look inside explains networks that take square colour photos (height = width, 3 channels)",
                input.height, input.width, input.channels
            ));
        }
        Ok(Self {
            loaded,
            photo: None,
            transfer: None,
        })
    }

    pub fn class_names(&self) -> &[String] {
        &self.loaded.classes
    }

    /// The network's input side (224).
    pub fn input_side(&self) -> usize {
        self.loaded.model.spec().input.height
    }

    /// A class by its exact name or its number; a name that does not exist is said so.
    pub fn class_index(&self, name_or_index: &str) -> Result<usize> {
        let wanted = name_or_index.trim();
        if let Ok(i) = wanted.parse::<usize>() {
            return if i < self.loaded.classes.len() {
                Ok(i)
            } else {
                Err(invalid!(
                    "class {i} does not exist: ImageNet's classes are numbered 0 to {}",
                    self.loaded.classes.len() - 1
                ))
            };
        }
        self.loaded
            .classes
            .iter()
            .position(|c| c.eq_ignore_ascii_case(wanted))
            .ok_or_else(|| invalid!("no ImageNet class is called {wanted:?}; pick a name from the list (for example \"tabby, tabby cat\") or a number from 0 to {}", self.loaded.classes.len() - 1))
    }

    /// Fits a decoded photo to the input (its largest centred square, resized), keeps it as the
    /// picture to explain, and returns the `k` most likely classes.
    pub fn look(&mut self, photo: &Picture, k: usize) -> Result<Vec<Ranked>> {
        let pixels = self.fit(photo)?;
        let ranked = self.rank(&pixels, k)?;
        self.photo = Some(pixels);
        Ok(ranked)
    }

    /// [`ImageNet::look`] without keeping the photo (the command line's predict).
    pub fn top(&mut self, photo: &Picture, k: usize) -> Result<Vec<Ranked>> {
        let pixels = self.fit(photo)?;
        self.rank(&pixels, k)
    }

    /// The photo's largest centred square resized to the input, (H, W, 3) in [0, 1].
    fn fit(&self, photo: &Picture) -> Result<Vec<f32>> {
        let (w, h) = photo.dimensions();
        if w.min(h) < MIN_PHOTO_SIDE {
            return Err(invalid!(
                "this photo is only {w}x{h} pixels; the ImageNet network needs at least {MIN_PHOTO_SIDE} pixels a side (it looks at 224x224)"
            ));
        }
        let side = self.input_side();
        fit_for_model(photo, side, side)
    }

    fn rank(&mut self, pixels: &[f32], k: usize) -> Result<Vec<Ranked>> {
        let logits = self.loaded.model.forward(pixels, 1)?;
        let probabilities = softmax(logits);
        Ok(top_k(logits, k)
            .into_iter()
            .map(|index| Ranked {
                index,
                name: self.loaded.classes[index].clone(),
                probability: probabilities[index],
            })
            .collect())
    }

    /// The network's logits for the photo, computed again (what the bench times).
    pub fn logits(&mut self) -> Result<Vec<f32>> {
        let photo = self.photo()?.to_vec();
        Ok(self.loaded.model.forward(&photo, 1)?.to_vec())
    }

    /// The photo being explained, (H, W, 3) in [0, 1].
    pub fn photo(&self) -> Result<&[f32]> {
        self.photo
            .as_deref()
            .ok_or_else(|| invalid!("choose a photo first"))
    }

    /// The stem's, every block's and the head's output, in order: where a block ends is where
    /// the next node belongs to another part of the network (the names' first word).
    pub fn blocks(&self) -> Vec<Block> {
        let model = &self.loaded.model;
        let part = |name: &str| name.split('_').next().unwrap_or(name).to_string();
        let maps = model.map_layers();
        maps.iter()
            .enumerate()
            .filter(|&(k, &i)| match maps.get(k + 1) {
                Some(&next) => part(model.node_name(next)) != part(model.node_name(i)),
                None => true,
            })
            .map(|(_, &i)| {
                let ValueShape::Map(height, width, channels) = model.shape(i) else {
                    unreachable!("map layers have maps")
                };
                Block {
                    index: i,
                    name: model.node_name(i).to_string(),
                    height,
                    width,
                    channels,
                }
            })
            .collect()
    }

    /// The saliency of `class` for the photo, with the page's SmoothGrad if `smooth`.
    pub fn saliency(&mut self, class: usize, smooth: bool) -> Result<Saliency> {
        let photo = self.photo()?.to_vec();
        saliency(
            &mut self.loaded.model,
            &photo,
            class,
            smooth.then_some(PAGE_SMOOTHGRAD),
        )
    }

    /// Grad-CAM of `class` for the photo on layer `layer` (the head's output when `None`).
    pub fn grad_cam(
        &mut self,
        class: usize,
        layer: Option<usize>,
        weighting: CamWeighting,
    ) -> Result<GradCam> {
        let photo = self.photo()?.to_vec();
        grad_cam(&mut self.loaded.model, &photo, class, layer, weighting)
    }

    /// Layer `layer`'s maps for the photo, (h, w, K), with the shape.
    pub fn maps(&mut self, layer: usize) -> Result<(Vec<f32>, (usize, usize, usize))> {
        let photo = self.photo()?.to_vec();
        let shape = self.loaded.model.map_layer(layer)?;
        self.loaded.model.infer(&photo)?;
        Ok((self.loaded.model.layer_output(layer).to_vec(), shape))
    }

    /// Every picture's features (N, 1280), what transfer learning starts from;
    /// `progress(done, total)` after each batch.
    pub fn features(
        &mut self,
        set: &Dataset,
        progress: impl FnMut(usize, usize),
    ) -> Result<Vec<f32>> {
        super::transfer::features(&mut self.loaded.model, set, progress)
    }

    /// Activation maximization on the network (the page runs it in slices, each starting from
    /// the last one's picture).
    /// The page's settings are made for 224x224: on a network with smaller inputs (one opened
    /// from ONNX) the jitter shrinks in proportion and the multi-scale step keeps the scales
    /// that fit.
    pub fn actmax(&mut self, config: &ActmaxConfig) -> Result<ActmaxResult> {
        let side = self.input_side();
        let mut fitted = config.clone();
        if side < 224 {
            fitted.jitter = config.jitter * side / 224;
            fitted.scales = config.scales.min(side.ilog2() as usize + 1);
        }
        activation_maximization(&mut self.loaded.model, &fitted)
    }

    /// Starts transfer learning on a copy of these sets (a run begun before is dropped).
    pub fn transfer_begin(&mut self, train: &Dataset, test: &Dataset) -> Result<(usize, usize)> {
        let run = TransferRun::new(train, test)?;
        let progress = run.progress();
        self.transfer = Some(run);
        Ok(progress)
    }

    fn run(&self) -> Result<&TransferRun> {
        self.transfer
            .as_ref()
            .ok_or_else(|| invalid!("start transfer learning first"))
    }

    /// Starts transfer learning on a copy of these sets with a saved head (a model file from
    /// "Save the head"): its features are computed for the test pictures only.
    pub fn transfer_load(
        &mut self,
        bytes: &[u8],
        train: &Dataset,
        test: &Dataset,
    ) -> Result<(usize, usize)> {
        let head = crate::nn::io::load_model(bytes)?.model;
        let cut = features_node(&self.loaded.model)?;
        let features = self.loaded.model.shape(cut).len();
        let run = TransferRun::new(train, test)?.with_head(head, features)?;
        let progress = run.progress();
        self.transfer = Some(run);
        Ok(progress)
    }

    /// The head's test metrics on the loaded data (after [`ImageNet::transfer_load`] and the
    /// test pictures' features), with the class names.
    pub fn transfer_evaluate(&mut self) -> Result<(crate::nn::Evaluation, Vec<String>)> {
        let run = self
            .transfer
            .as_mut()
            .ok_or_else(|| invalid!("start transfer learning first"))?;
        Ok((run.evaluate()?, run.class_names().to_vec()))
    }

    /// Features of up to `count` more pictures: (done, total).
    pub fn transfer_step(&mut self, count: usize) -> Result<(usize, usize)> {
        self.transfer
            .as_mut()
            .ok_or_else(|| invalid!("start transfer learning first"))?
            .step(&mut self.loaded.model, count)
    }

    /// Trains the new head on the computed features and scores it on the test pictures.
    pub fn transfer_train(&mut self, seed: u64) -> Result<TransferResult> {
        self.transfer
            .as_mut()
            .ok_or_else(|| invalid!("start transfer learning first"))?
            .train(seed)
    }

    /// The trained head (a model of the kind trained here, on the network's features).
    pub fn transfer_head(&self) -> Result<&crate::nn::Sequential> {
        self.run()?.head()
    }

    /// The network as an ONNX file, what [`super::export::onnx_from_model_file`] makes of its
    /// model file (the page has the network loaded, not its file).
    pub fn onnx(&self) -> Result<Vec<u8>> {
        graph_to_onnx(&self.loaded.model, &self.loaded.classes)
    }

    /// The network up to its features and the trained head as one ONNX file, with the head's
    /// class names: what the export of the head's model file with this network as its backbone
    /// makes.
    pub fn transfer_onnx(&self) -> Result<Vec<u8>> {
        let run = self.run()?;
        let cut = features_node(&self.loaded.model)?;
        transfer_to_onnx(
            &self.loaded.model,
            self.loaded.model.node_name(cut),
            run.head()?,
            run.class_names(),
        )
    }

    /// Test picture `index` through the network and the new head, explained for `class`:
    /// (the picture (224, 224, 3), its saliency, its Grad-CAM on `layer`, the head's logits).
    pub fn transfer_explain(
        &mut self,
        index: usize,
        class: usize,
        layer: Option<usize>,
        weighting: CamWeighting,
    ) -> Result<(Vec<f32>, Saliency, GradCam)> {
        let side = self.input_side();
        let cut = features_node(&self.loaded.model)?;
        let run = self
            .transfer
            .as_mut()
            .ok_or_else(|| invalid!("start transfer learning first"))?;
        let picture = run.test_picture(index, side)?;
        let mut stacked = Stacked::new(&mut self.loaded.model, run.head_mut()?, cut);
        let s = saliency(&mut stacked, &picture, class, None)?;
        let g = grad_cam(&mut stacked, &picture, class, layer, weighting)?;
        Ok((picture, s, g))
    }
}
