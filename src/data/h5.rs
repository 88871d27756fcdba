//! The Happy House `.h5` files of the textbook chapter: `train_set_x` / `train_set_y` or
//! `test_set_x` / `test_set_y` (and `list_classes`), read from bytes with `hdf5-pure`
//! (pure Rust, so the same code runs in the browser on a dropped file).
//!
//! Every check happens before the pixels are read, so a damaged or hostile file gets a
//! message naming the problem, not a panic or a huge allocation.

use hdf5_pure::{DType, File};

use super::{Dataset, MAX_IMAGES};
use crate::Result;

/// Side of a Happy House image, in pixels.
pub const HAPPY_SIZE: usize = 64;

/// Class names of the Happy House labels: 0 = not smiling, 1 = smiling.
pub const HAPPY_CLASS_NAMES: [&str; 2] = ["not smiling", "smiling"];

/// Which pair of arrays a Happy House file holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HappyPart {
    Train,
    Test,
}

impl HappyPart {
    fn keys(self) -> (&'static str, &'static str) {
        match self {
            HappyPart::Train => ("train_set_x", "train_set_y"),
            HappyPart::Test => ("test_set_x", "test_set_y"),
        }
    }
}

/// Reads whichever part (train or test) the file holds; a file holding both is read
/// as its training part.
pub fn read_happy_h5(bytes: &[u8]) -> Result<(HappyPart, Dataset)> {
    let file = open(bytes)?;
    let names = dataset_names(&file)?;
    let part = if names.iter().any(|n| n == "train_set_x") {
        HappyPart::Train
    } else if names.iter().any(|n| n == "test_set_x") {
        HappyPart::Test
    } else {
        return Err(missing_keys(&names));
    };
    Ok((part, read_part(&file, &names, part)?))
}

/// Reads the given part; an error names the keys the file does have if it is missing.
pub fn read_happy_h5_part(bytes: &[u8], part: HappyPart) -> Result<Dataset> {
    let file = open(bytes)?;
    let names = dataset_names(&file)?;
    read_part(&file, &names, part)
}

/// Builds a Happy House dataset from 8-bit images `(N, 64, 64, C)` (or `(N, 64, 64)` for
/// gray) and integer labels `(N,)`, `(N, 1)` or `(1, N)` in {0, 1}. `x_name` and `y_name`
/// say where the two arrays came from, for messages.
pub fn happy_from_arrays(
    pixels: &[u8],
    x_shape: &[usize],
    labels: &[i64],
    y_shape: &[usize],
    x_name: &str,
    y_name: &str,
) -> Result<Dataset> {
    let (n, channels) = check_image_shape(x_shape, x_name)?;
    check_label_shape(y_shape, n, y_name)?;
    if pixels.len() != n * HAPPY_SIZE * HAPPY_SIZE * channels || labels.len() != n {
        return Err(bad_input!("{x_name}, {y_name}: the arrays hold fewer values than their shapes say (the file is damaged)"));
    }
    let labels = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| match l {
            0 | 1 => Ok(l as u8),
            _ => Err(bad_input!(
                "{y_name}: label {l} at position {i} is not 0 (not smiling) or 1 (smiling)"
            )),
        })
        .collect::<Result<Vec<u8>>>()?;
    let images = pixels.iter().map(|&p| p as f32 / 255.0).collect();
    let names = HAPPY_CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    Dataset::new(images, labels, HAPPY_SIZE, HAPPY_SIZE, channels, names)
}

/// `(N, 64, 64, 3)`, `(N, 64, 64, 1)` or `(N, 64, 64)`, with `1 <= N <= MAX_IMAGES`.
fn check_image_shape(shape: &[usize], source: &str) -> Result<(usize, usize)> {
    let channels = match shape {
        [_, h, w] if *h == HAPPY_SIZE && *w == HAPPY_SIZE => 1,
        [_, h, w, c] if *h == HAPPY_SIZE && *w == HAPPY_SIZE && (*c == 1 || *c == 3) => *c,
        _ => {
            return Err(bad_input!(
                "{source}: the images have shape {shape:?}; expected (N, 64, 64, 3) for colour or (N, 64, 64) for gray"
            ))
        }
    };
    match shape[0] {
        0 => Err(bad_input!("{source}: the file holds no images")),
        n if n > MAX_IMAGES => Err(bad_input!(
            "{source}: the file declares {n} images, more than the {MAX_IMAGES} this page can hold"
        )),
        n => Ok((n, channels)),
    }
}

fn check_label_shape(shape: &[usize], n: usize, source: &str) -> Result<()> {
    let count = match shape {
        [m] | [m, 1] | [1, m] => *m,
        _ => {
            return Err(bad_input!(
                "{source}: the labels have shape {shape:?}; expected ({n},)"
            ))
        }
    };
    if count != n {
        return Err(bad_input!(
            "{source}: there are {n} images but {count} labels; each image needs exactly one label"
        ));
    }
    Ok(())
}

fn open(bytes: &[u8]) -> Result<File> {
    if !hdf5_pure::is_hdf5_bytes(bytes) {
        return Err(bad_input!(
            "this is not an HDF5 (.h5) file: it does not start with the HDF5 signature{}",
            if bytes.len() < 8 {
                " (the file is nearly empty)"
            } else {
                ""
            }
        ));
    }
    let file = File::from_bytes(bytes.to_vec()).map_err(|e| damaged(&e))?;
    // The superblock records the file's length: a shorter file lost its end on the way.
    let expected = file.superblock().eof_address;
    if expected > bytes.len() as u64 {
        return Err(bad_input!(
            "this .h5 file is truncated: it should be {expected} bytes long but has only {} (download or copy it again)",
            bytes.len()
        ));
    }
    Ok(file)
}

fn damaged(e: &hdf5_pure::Error) -> crate::Error {
    bad_input!("this .h5 file is truncated or damaged and cannot be read ({e})")
}

fn dataset_names(file: &File) -> Result<Vec<String>> {
    let mut names = file.root().datasets().map_err(|e| damaged(&e))?;
    names.sort();
    Ok(names)
}

fn missing_keys(found: &[String]) -> crate::Error {
    bad_input!(
        "this .h5 file has no Happy House arrays: expected train_set_x and train_set_y, or test_set_x and test_set_y; it has {}",
        if found.is_empty() { "no datasets at all".to_string() } else { found.join(", ") }
    )
}

fn read_part(file: &File, names: &[String], part: HappyPart) -> Result<Dataset> {
    let (x_key, y_key) = part.keys();
    for key in [x_key, y_key] {
        if !names.iter().any(|n| n == key) {
            return Err(bad_input!(
                "this .h5 file has no '{key}' array (found: {})",
                if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", ")
                }
            ));
        }
    }
    let x = file.dataset(x_key).map_err(|e| damaged(&e))?;
    let y = file.dataset(y_key).map_err(|e| damaged(&e))?;
    let x_shape = shape_of(&x)?;
    let y_shape = shape_of(&y)?;
    // Shapes and types first: nothing big is read until they are known to be sane.
    let (n, _) = check_image_shape(&x_shape, x_key)?;
    check_label_shape(&y_shape, n, y_key)?;
    match x.dtype().map_err(|e| damaged(&e))? {
        DType::U8 => {}
        other => {
            return Err(bad_input!(
            "{x_key}: the pixels are stored as {other}; expected 8-bit unsigned integers (uint8)"
        ))
        }
    }
    match y.dtype().map_err(|e| damaged(&e))? {
        DType::I8
        | DType::I16
        | DType::I32
        | DType::I64
        | DType::U8
        | DType::U16
        | DType::U32
        | DType::U64 => {}
        other => {
            return Err(bad_input!(
                "{y_key}: the labels are stored as {other}; expected integers 0 and 1"
            ))
        }
    }
    let pixels = x.read_u8().map_err(|e| damaged(&e))?;
    let labels = y.read_i64().map_err(|e| damaged(&e))?;
    let dataset = happy_from_arrays(&pixels, &x_shape, &labels, &y_shape, x_key, y_key)?;
    check_classes(file, names)?;
    Ok(dataset)
}

fn shape_of(ds: &hdf5_pure::Dataset) -> Result<Vec<usize>> {
    let shape = ds.shape().map_err(|e| damaged(&e))?;
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                bad_input!("this .h5 file declares an array dimension of {d}, which is absurd")
            })
        })
        .collect()
}

/// `list_classes`, when present, must name two classes (the chapter's file stores `[0, 1]`).
fn check_classes(file: &File, names: &[String]) -> Result<()> {
    if !names.iter().any(|n| n == "list_classes") {
        return Ok(());
    }
    let classes = file.dataset("list_classes").map_err(|e| damaged(&e))?;
    let shape = shape_of(&classes)?;
    if shape != [2] {
        return Err(bad_input!(
            "list_classes has shape {shape:?}; a smile dataset has 2 classes"
        ));
    }
    Ok(())
}
