//! How loaded images become a training and a test set, the same for the page and the command
//! line: a source that brings its own test set keeps it, and its training images are put in
//! the seed's spread order (so a validation split from their end holds every class in
//! proportion); a source without one is split, stratified, by the seed.

#[cfg(not(target_arch = "wasm32"))]
use crate::data::folder::{load_image_folder, plan_image_folder, FileEntry, FolderOptions};
use crate::data::Dataset;
use crate::Result;

/// A training and a test set, where they came from and what the student should know.
#[derive(Debug, Clone)]
pub struct LoadedData {
    pub train: Dataset,
    pub test: Dataset,
    pub description: String,
    /// What the user should know about the load (files skipped, pictures left out).
    pub notes: Vec<String>,
    /// Made by the generator (a quick run suits it), not the student's own pictures.
    pub synthetic: bool,
}

impl LoadedData {
    /// A source with its own test set (synthetic faces, a pair of files).
    pub fn with_test_set(train: Dataset, test: Dataset, seed: u64, description: String) -> Self {
        Self {
            train: train.spread_order(seed),
            test,
            description,
            notes: Vec::new(),
            synthetic: false,
        }
    }

    /// A source without a test set: `test_fraction` of each class is kept for testing.
    pub fn split(
        all: Dataset,
        test_fraction: f32,
        seed: u64,
        description: String,
        notes: Vec<String>,
    ) -> Result<Self> {
        let (train, test) = all.stratified_split(test_fraction, seed)?;
        Ok(Self {
            train,
            test,
            description,
            notes,
            synthetic: false,
        })
    }

    /// Marks the data as made by the generator.
    pub fn synthetic(self) -> Self {
        Self {
            synthetic: true,
            ..self
        }
    }
}

/// Reads a folder of images, one subfolder per class, with the notes of its plan (files
/// skipped, pictures left out); native builds (the page decodes picture by picture).
#[cfg(not(target_arch = "wasm32"))]
pub fn read_folder(
    entries: &[FileEntry],
    options: &FolderOptions,
) -> Result<(Dataset, Vec<String>)> {
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let notes = plan_image_folder(&paths, options)?.notes();
    Ok((load_image_folder(entries, options)?, notes))
}
