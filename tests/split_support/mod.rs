//! One check body, run natively (tests/class_ordered.rs) and in a browser (tests/data_wasm.rs):
//! data that arrive sorted by class, as a folder, a zip, webcam captures or a `.npy` file do,
//! must give a test set and a validation set (the tail Keras's `validation_split` takes) that
//! hold every class in proportion, in an order shuffled by the seed, the same for the same seed.
#![allow(dead_code)] // each test file uses a different part

use convscope::app::session::{Session, Split};
use convscope::data::Dataset;
use convscope::nn::FitConfig;

/// Class-ordered labels: `counts[c]` of class c, class after class.
pub fn class_ordered_labels(counts: &[usize]) -> Vec<u8> {
    counts
        .iter()
        .enumerate()
        .flat_map(|(c, &n)| std::iter::repeat_n(c as u8, n))
        .collect()
}

/// The colour that identifies picture `i` (solid pictures keep it through any resize).
pub fn id_colour(i: usize) -> [u8; 3] {
    [(i % 256) as u8, (i / 256) as u8, 7]
}

/// `n` 64x64x3 8-bit images, image i filled with [`id_colour`]`(i)`.
pub fn id_images(n: usize) -> Vec<u8> {
    (0..n)
        .flat_map(|i| {
            let rgb = id_colour(i);
            (0..64 * 64).flat_map(move |_| rgb)
        })
        .collect()
}

fn id_of(rgba: &[u8]) -> usize {
    rgba[0] as usize + 256 * rgba[1] as usize
}

/// Every class within one of its share of `len` members drawn from `of`.
pub fn assert_proportional(counts: &[usize], of: &[usize], what: &str) {
    let len: usize = counts.iter().sum();
    let total: usize = of.iter().sum();
    for (c, (&got, &all)) in counts.iter().zip(of).enumerate() {
        let share = len as f64 * all as f64 / total as f64;
        assert!(
            (got as f64 - share).abs() <= 1.0,
            "{what}: class {c} has {got} of {len}, its share is {share:.2} ({counts:?} of {of:?})"
        );
    }
}

fn counts_of(labels: &[u8], classes: usize) -> Vec<usize> {
    let mut counts = vec![0; classes];
    for &l in labels {
        counts[l as usize] += 1;
    }
    counts
}

/// Labels in `ids` order are shuffled within each class (not in their arrival order).
fn assert_shuffled(ids: &[usize], labels: &[u8], what: &str) {
    let class0: Vec<usize> = ids
        .iter()
        .zip(labels)
        .filter(|(_, &l)| l == 0)
        .map(|(&i, _)| i)
        .collect();
    assert!(
        class0.windows(2).any(|w| w[0] > w[1]),
        "{what}: class 0 kept its arrival order"
    );
}

/// Checks the test and validation sets of class-ordered data with `counts` images per
/// class, loaded into `session`; picture i has the colour [`id_colour`]`(i)`.
pub fn check_session_split(session: &Session, counts: &[usize], what: &str) {
    let classes = counts.len();
    let train = session.labels(Split::Train).unwrap();
    let test = session.labels(Split::Test).unwrap();
    assert_proportional(
        &counts_of(&test, classes),
        counts,
        &format!("{what}: test set"),
    );
    let train_counts = counts_of(&train, classes);
    // Keras's validation_split: the last fraction of the training images, after
    // floor(N * (1 - f)) for training.
    let f = FitConfig::recommended().validation_split as f64;
    let at = (train.len() as f64 * (1.0 - f)).floor() as usize;
    assert_proportional(
        &counts_of(&train[at..], classes),
        &train_counts,
        &format!("{what}: validation set"),
    );
    for (split, labels) in [(Split::Train, &train), (Split::Test, &test)] {
        let indices: Vec<usize> = (0..labels.len()).collect();
        let rgba = session.images_rgba(split, &indices).unwrap();
        let side = rgba.len() / labels.len();
        let ids: Vec<usize> = rgba.chunks_exact(side).map(id_of).collect();
        assert_shuffled(&ids, labels, &format!("{what}: {split:?}"));
    }
}

/// The same check for a split made by the data layer (the command line's `npy:X,Y`).
pub fn check_dataset_split(train: &Dataset, test: &Dataset, counts: &[usize], what: &str) {
    let classes = counts.len();
    assert_proportional(&test.class_counts(), counts, &format!("{what}: test set"));
    let f = FitConfig::recommended().validation_split as f64;
    let at = (train.len() as f64 * (1.0 - f)).floor() as usize;
    assert_proportional(
        &counts_of(&train.labels()[at..], classes),
        &train.class_counts(),
        &format!("{what}: validation set"),
    );
}
