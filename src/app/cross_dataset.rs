//! "Does it see smiles elsewhere?": a model trained on one dataset, tested on its own test set
//! and on another dataset it never saw; the gap between the two accuracies is what the chapter
//! warns about, and augmentation is its remedy. Shared by the page and the command line's
//! `convscope cross-dataset`, which runs the whole experiment (both directions between the
//! synthetic faces and Happy House, with and without augmentation, several seeds).
//!
//! Never changes either dataset: the other set is adapted (gray or colour) in a copy.

use crate::data::augment::{batch_transform, Augmentation};
use crate::data::Dataset;
use crate::nn::{
    evaluate, fit_transformed, Evaluation, FitConfig, InputShape, ModelSpec, Sequential, Silent,
};
use crate::{invalid, Result};
use serde::Serialize;

/// Largest batch the sets are scored in ([`Sequential::scoring_batch`]).
const SCORE_BATCH: usize = 32;

/// `other` in the shape the model reads: the same picture size and class count are required;
/// colour becomes gray, or gray is repeated in R, G and B, with a note saying so.
pub fn adapt_to(
    other: &Dataset,
    input: &InputShape,
    classes: usize,
) -> Result<(Dataset, Option<String>)> {
    if (other.height(), other.width()) != (input.height, input.width) {
        return Err(invalid!(
            "the other dataset's pictures are {}x{}, but the model reads {}x{}: test it on pictures of its own size",
            other.height(),
            other.width(),
            input.height,
            input.width
        ));
    }
    let other_classes = other.class_names().len();
    if other_classes != classes {
        return Err(invalid!(
            "the other dataset has {other_classes} classes and the model {classes}: a cross-dataset test needs the same classes in the same order"
        ));
    }
    Ok(match (other.channels(), input.channels) {
        (3, 1) => (
            other.to_grayscale(),
            Some("the other dataset's colour pictures were turned gray, as the model reads gray".into()),
        ),
        (1, 3) => (
            other.to_rgb(),
            Some("the other dataset's gray pictures were repeated in R, G and B, as the model reads colour".into()),
        ),
        _ => (other.clone(), None),
    })
}

/// One model's score on its own test set and on the other dataset.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossTest {
    pub own: Evaluation,
    pub other: Evaluation,
    /// Own test accuracy minus the other dataset's: how much is lost elsewhere.
    pub gap: f32,
    pub notes: Vec<String>,
}

/// Scores `model` on `own_test` and on `other` (adapted with [`adapt_to`]).
pub fn cross_test(
    model: &mut Sequential,
    own_test: &Dataset,
    other: &Dataset,
) -> Result<CrossTest> {
    let input = model.spec().input;
    let classes = own_test.class_names().len();
    let (other, note) = adapt_to(other, &input, classes)?;
    let batch = model.scoring_batch(SCORE_BATCH);
    let own = evaluate(model, &own_test.examples(), batch)?;
    let other = evaluate(model, &other.examples(), batch)?;
    Ok(CrossTest {
        gap: own.accuracy - other.accuracy,
        own,
        other,
        notes: note.into_iter().collect(),
    })
}

/// One run of the experiment: which data, with or without augmentation, which seed.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RunSetup {
    pub seed: u64,
    /// At most this many epochs (early stopping as recommended may end sooner).
    pub epochs: usize,
    pub augmentation: Augmentation,
}

/// Trains the chapter's model on `train` with the recommended settings (and `setup`'s
/// epochs, augmentation and seed), then scores it with [`cross_test`].
pub fn train_and_cross_test(
    train: &Dataset,
    own_test: &Dataset,
    other: &Dataset,
    setup: &RunSetup,
) -> Result<CrossTest> {
    let spec = ModelSpec::chapter_for(train.channels(), train.class_names().len());
    let mut model = Sequential::new(&spec, setup.seed)?;
    let config = FitConfig {
        seed: setup.seed,
        epochs: setup.epochs,
        ..FitConfig::recommended()
    };
    let transform = batch_transform(setup.augmentation, train, setup.seed)?;
    fit_transformed(
        &mut model,
        &train.examples(),
        None,
        config,
        &mut Silent,
        transform,
    )?;
    cross_test(&mut model, own_test, other)
}
