//! Looking inside a model: every layer's activations, saliency (plain and SmoothGrad),
//! Integrated Gradients, occlusion, Grad-CAM and its variants (Grad-CAM++, LayerCAM,
//! Score-CAM), activation maximization, the first layer's filters, and the measures that check
//! explanations against where the evidence really is (pointing game, mass in a box, rank
//! correlation, deletion and insertion curves).
//!
//! Shared rules: one image at a time, (H, W, C) values as the model was trained on; the model
//! runs in inference mode (batch-norm moving statistics, dropout off), exactly as it predicts;
//! every gradient is taken on the class *score* before the sigmoid/softmax (a saturated
//! probability has no gradient left to show). For a model with one sigmoid unit, class 1's
//! score is the logit and class 0's is minus the logit (see [`target`]).
//!
//! Calls [`crate::nn`] (forward, backprop, layer outputs); knows nothing of the data sets or JS:
//! plain slices in, plain `Vec<f32>`s in serializable structs out.

pub mod activations;
pub mod actmax;
pub mod cam_variants;
pub mod faithfulness;
pub mod filters;
pub mod gradcam;
pub mod integrated;
pub mod measures;
pub mod model;
pub mod occlusion;
pub mod resize;
pub mod saliency;
pub mod target;

pub use activations::{activations, Activations, LayerActivation};
pub use actmax::{
    activation_maximization, ActmaxConfig, ActmaxResult, Frame, Objective, Start, WeightedObjective,
};
pub use cam_variants::{cam_map, CamMap, CamMethod};
pub use faithfulness::{deletion_insertion, importance_order, Curve, DeletionInsertion};
pub use filters::{first_layer_filters, FilterPatches, FilterScale};
pub use gradcam::{grad_cam, CamWeighting, GradCam};
pub use integrated::{check_steps, integrated_gradients, Baseline, IntegratedGradients};
pub use measures::{
    evidence_inside, high_frequency_share, mass_inside, points_inside, spearman, Region,
};
pub use model::{Explainable, Point};
pub use occlusion::{occlusion, Occlusion, OcclusionConfig};
pub use saliency::{saliency, Saliency, SmoothGrad};
