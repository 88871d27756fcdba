//! `--data` for the command line: where the training and test images come from.
//!
//! - `synthetic`, `synthetic:SEED` or `synthetic:SEED,TRAIN,TEST`: the built-in faces (600 train /
//!   150 test and seed 1 by default);
//! - `h5:TRAIN.h5,TEST.h5`: the Happy House files;
//! - `happy:DIR`: the real Happy House as given in the shared test data: the 600 grayscale
//!   training images (`train_gray_x.npy`, `train_y.npy`) and `test_happy.h5` converted to
//!   grayscale with the same formula;
//! - `npy:X.npy,Y.npy` (split by `--test-split`) or `npy:X.npy,Y.npy,TEST_X.npy,TEST_Y.npy`;
//! - `folder:DIR`: one subfolder per class (Keras's convention), split by `--test-split`.

use convscope::app::datasets::{read_folder, LoadedData};
use convscope::data::folder::{read_dir_entries, FolderOptions};
use convscope::data::h5::{read_happy_h5, read_happy_h5_part, HappyPart};
use convscope::data::npy::read_happy_npy;
use convscope::data::synthetic::{generate, SyntheticParams};
use convscope::data::Dataset;
use convscope::{invalid, Error, Result};
use std::path::Path;

/// Training and test sets as the page makes them too ([`LoadedData`]).
pub type Data = LoadedData;

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::BadInput(format!("cannot read '{path}': {e}")))
}

fn files(spec: &str, kind: &str, counts: &[usize]) -> Result<Vec<String>> {
    let list: Vec<String> = spec.split(',').map(str::to_string).collect();
    if !counts.contains(&list.len()) || list.iter().any(String::is_empty) {
        return Err(invalid!(
            "--data {kind}: expects {} comma-separated file names, got '{spec}'",
            counts
                .iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join(" or ")
        ));
    }
    Ok(list)
}

/// Reads `--data`; `test_split` and `seed` split a source that has no test set of its own,
/// and order the training images of one that has, as the page does ([`LoadedData`]);
/// `channels` is the folder loader's colour choice (1 or 3); 1 also turns any colour source gray.
pub fn load(spec: &str, test_split: f32, seed: u64, channels: usize) -> Result<Data> {
    let mut data = load_as_stored(spec, test_split, seed, channels)?;
    if channels == 1 && data.train.channels() == 3 {
        data.train = data.train.to_grayscale();
        data.test = data.test.to_grayscale();
        data.description += ", in gray";
    }
    Ok(data)
}

fn load_as_stored(spec: &str, test_split: f32, seed: u64, channels: usize) -> Result<Data> {
    let (kind, rest) = spec.split_once(':').unwrap_or((spec, ""));
    let split = |all: Dataset, what: String, notes: Vec<String>| -> Result<Data> {
        let description = format!(
            "{what}, split {:.0}% test (seed {seed})",
            test_split * 100.0
        );
        LoadedData::split(all, test_split, seed, description, notes)
    };
    let given = |train: Dataset, test: Dataset, description: String| {
        Ok(LoadedData::with_test_set(train, test, seed, description))
    };
    match kind {
        "synthetic" => {
            let mut params = SyntheticParams::default();
            if !rest.is_empty() {
                let numbers: Vec<u64> = rest
                    .split(',')
                    .map(|n| n.parse())
                    .collect::<std::result::Result<_, _>>()
                    .map_err(|_| invalid!("--data synthetic:SEED[,TRAIN,TEST] needs whole numbers, got '{rest}'"))?;
                match numbers[..] {
                    [seed] => params.seed = seed,
                    [seed, train, test] => (params.seed, params.train, params.test) = (seed, train as usize, test as usize),
                    _ => return Err(invalid!("--data synthetic:SEED[,TRAIN,TEST] takes one or three numbers, got '{rest}'")),
                }
            }
            let (train, test) = generate(&params)?;
            Ok(given(train, test, format!("synthetic faces, data seed {}", params.seed))?.synthetic())
        }
        "h5" => {
            let f = files(rest, "h5", &[2])?;
            let train = read_happy_h5_part(&read(&f[0])?, HappyPart::Train)?;
            let test = read_happy_h5_part(&read(&f[1])?, HappyPart::Test)?;
            given(train, test, format!("Happy House h5 {} / {}", f[0], f[1]))
        }
        "happy" => {
            if rest.is_empty() {
                return Err(invalid!("--data happy:DIR needs the folder with train_gray_x.npy, train_y.npy and test_happy.h5"));
            }
            let dir = Path::new(rest);
            let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
            let train = read_happy_npy(&read(&path("train_gray_x.npy"))?, &read(&path("train_y.npy"))?)?;
            let (_, test) = read_happy_h5(&read(&path("test_happy.h5"))?)?;
            given(train, test.to_grayscale(), format!("Happy House in grayscale from {rest}"))
        }
        "npy" => {
            let f = files(rest, "npy", &[2, 4])?;
            let train = read_happy_npy(&read(&f[0])?, &read(&f[1])?)?;
            if f.len() == 4 {
                let test = read_happy_npy(&read(&f[2])?, &read(&f[3])?)?;
                given(train, test, format!("npy arrays {rest}"))
            } else {
                split(train, format!("npy arrays {rest}"), Vec::new())
            }
        }
        "folder" => {
            if rest.is_empty() {
                return Err(invalid!("--data folder:DIR needs a folder with one subfolder per class"));
            }
            let entries = read_dir_entries(Path::new(rest))?;
            let options = FolderOptions { channels, ..FolderOptions::default() };
            let (all, notes) = read_folder(&entries, &options)?;
            split(all, format!("image folder {rest}"), notes)
        }
        other => Err(invalid!("--data '{other}' is not a data source; use synthetic, h5:TRAIN,TEST, happy:DIR, npy:X,Y or folder:DIR")),
    }
}
