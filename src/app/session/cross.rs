//! The training page's "does it see smiles elsewhere?": the session's model tested on pictures
//! from another source (synthetic faces of another seed or difficulty, a Happy House file,
//! the student's webcam frames) beside its own test set ([`crate::app::cross_dataset`]).
//! Nothing loaded or trained changes: the other pictures are used once and dropped.

use super::{frames_dataset, happy_set, parse_difficulty, HappyArrays, Session};
use crate::app::cross_dataset::cross_test;
use crate::data::synthetic::generate_set;
use crate::data::Dataset;
use crate::nn::Evaluation;
use crate::{invalid, Result};
use serde::Serialize;

/// Most synthetic faces one cross-dataset test generates.
pub const MAX_CROSS_SYNTHETIC: usize = 2000;

/// One cross-dataset test, as the page lists it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CrossReport {
    /// Where the other pictures came from.
    pub description: String,
    pub count: usize,
    pub own_accuracy: f32,
    pub other_accuracy: f32,
    /// Own minus other accuracy.
    pub gap: f32,
    pub other: Evaluation,
    pub notes: Vec<String>,
}

impl Session {
    /// `count` synthetic faces from `seed` at `difficulty` (another look than the training set's
    /// when the seed or the difficulty differ).
    pub fn cross_test_synthetic(
        &mut self,
        count: usize,
        seed: u64,
        difficulty: &str,
    ) -> Result<CrossReport> {
        if count == 0 || count > MAX_CROSS_SYNTHETIC {
            return Err(invalid!(
                "test on 1 to {MAX_CROSS_SYNTHETIC} synthetic faces (got {count})"
            ));
        }
        let level = parse_difficulty(difficulty)?;
        let set = generate_set(count, seed, level, None)?;
        self.cross_test_on(
            set,
            format!("{count} synthetic faces ({difficulty}, seed {seed})"),
        )
    }

    /// Every picture of a Happy House file (either part), read by the page.
    pub fn cross_test_happy(
        &mut self,
        part: &str,
        arrays: &HappyArrays,
        file_name: &str,
    ) -> Result<CrossReport> {
        let (_, set) = happy_set(part, arrays, file_name)?;
        let n = set.len();
        self.cross_test_on(set, format!("{file_name} ({n} Happy House pictures)"))
    }

    /// The student's webcam frames (RGBA, `side` x `side`, labels by `class_names`).
    pub fn cross_test_captured(
        &mut self,
        rgba: &[u8],
        labels: &[u8],
        side: usize,
        class_names: &[String],
    ) -> Result<CrossReport> {
        let set = frames_dataset(rgba, labels, side, class_names)?;
        let n = set.len();
        self.cross_test_on(set, format!("{n} webcam frames"))
    }

    fn cross_test_on(&mut self, other: Dataset, description: String) -> Result<CrossReport> {
        let Session { data, model, .. } = self;
        let d = data
            .as_ref()
            .ok_or_else(|| invalid!("load some data first"))?;
        let model = model
            .as_mut()
            .ok_or_else(|| invalid!("train a model first"))?;
        let r = cross_test(model, &d.test, &other)?;
        Ok(CrossReport {
            description,
            count: other.len(),
            own_accuracy: r.own.accuracy,
            other_accuracy: r.other.accuracy,
            gap: r.gap,
            other: r.other,
            notes: r.notes,
        })
    }
}
