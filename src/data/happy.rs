//! The Happy House arrays of the textbook chapter: `train_set_x` / `train_set_y` or
//! `test_set_x` / `test_set_y` (and `list_classes`), whoever read them from the file.
//!
//! Natively [`super::h5`] reads `.h5` files with `hdf5-pure`; in the browser the page reads
//! them with a JavaScript HDF5 reader (keeping an HDF5 library out of the wasm download).
//! Both describe what they found as [`ArrayInfo`]s and pass the checks here before any
//! pixel is read, so a damaged or hostile file gets the same message either way.

use std::collections::BTreeMap;

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
    /// The names of the images and labels arrays.
    pub fn keys(self) -> (&'static str, &'static str) {
        match self {
            HappyPart::Train => ("train_set_x", "train_set_y"),
            HappyPart::Test => ("test_set_x", "test_set_y"),
        }
    }

    /// `"train"` or `"test"`, as the page names them.
    pub fn name(self) -> &'static str {
        match self {
            HappyPart::Train => "train",
            HappyPart::Test => "test",
        }
    }

    /// The inverse of [`HappyPart::name`].
    pub fn parse(name: &str) -> Result<HappyPart> {
        match name {
            "train" => Ok(HappyPart::Train),
            "test" => Ok(HappyPart::Test),
            other => Err(crate::invalid!(
                "'{other}' is not a part of a Happy House file (train or test)"
            )),
        }
    }
}

/// One array of the file as its reader describes it: the shape and the element type as a
/// NumPy type string (`"|u1"`, `"<i8"`, `"<f4"`, ...; anything else for other types).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct ArrayInfo {
    pub shape: Vec<u64>,
    pub dtype: String,
}

/// Decides which part a file holds from its dataset names and checks the shapes and element
/// types of that part's arrays (and of `list_classes`, when present) before anything big is
/// read. `arrays` describes (at least) those arrays. Returns the part and its image count.
/// A file holding both parts is read as its training part.
pub fn check_happy_file(
    names: &[String],
    arrays: &BTreeMap<String, ArrayInfo>,
) -> Result<(HappyPart, usize)> {
    let part = if names.iter().any(|n| n == "train_set_x") {
        HappyPart::Train
    } else if names.iter().any(|n| n == "test_set_x") {
        HappyPart::Test
    } else {
        return Err(bad_input!(
            "this .h5 file has no Happy House arrays: expected train_set_x and train_set_y, or test_set_x and test_set_y; it has {}",
            if names.is_empty() { "no datasets at all".to_string() } else { names.join(", ") }
        ));
    };
    Ok((part, check_happy_part(names, arrays, part)?))
}

/// Checks that `part`'s arrays are present and sane; returns the image count.
pub fn check_happy_part(
    names: &[String],
    arrays: &BTreeMap<String, ArrayInfo>,
    part: HappyPart,
) -> Result<usize> {
    let (x_key, y_key) = part.keys();
    let info = |key: &str| -> Result<&ArrayInfo> {
        match (names.iter().any(|n| n == key), arrays.get(key)) {
            (true, Some(info)) => Ok(info),
            _ => Err(bad_input!(
                "this .h5 file has no '{key}' array (found: {})",
                if names.is_empty() {
                    "nothing".to_string()
                } else {
                    names.join(", ")
                }
            )),
        }
    };
    let (x, y) = (info(x_key)?, info(y_key)?);
    let (n, _) = check_image_shape(&dims(&x.shape)?, x_key)?;
    check_label_shape(&dims(&y.shape)?, n, y_key)?;
    if !is_u8(&x.dtype) {
        return Err(bad_input!(
            "{x_key}: the pixels are stored as {}; expected 8-bit unsigned integers (uint8)",
            type_words(&x.dtype)
        ));
    }
    if !is_integer(&y.dtype) {
        return Err(bad_input!(
            "{y_key}: the labels are stored as {}; expected integers 0 and 1",
            type_words(&y.dtype)
        ));
    }
    if names.iter().any(|n| n == "list_classes") {
        if let Some(classes) = arrays.get("list_classes") {
            if classes.shape != [2] {
                return Err(bad_input!(
                    "list_classes has shape {:?}; a smile dataset has 2 classes",
                    classes.shape
                ));
            }
        }
    }
    Ok(n)
}

/// Builds a Happy House dataset from 8-bit images `(N, 64, 64, C)` (or `(N, 64, 64)` for
/// gray) and integer labels `(N,)`, `(N, 1)` or `(1, N)` in {0, 1}. `x_name` and `y_name`
/// say where the two arrays came from, for messages. The original test set comes with its
/// face and mouth boxes ([`super::happy_faces`]).
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
    let names = HAPPY_CLASS_NAMES.iter().map(|s| s.to_string()).collect();
    let landmarks = super::happy_faces::known_landmarks(pixels, &labels);
    let set = Dataset::from_bytes(
        pixels.to_vec(),
        labels,
        HAPPY_SIZE,
        HAPPY_SIZE,
        channels,
        names,
    )?;
    match landmarks {
        Some(boxes) => set.with_landmarks(boxes),
        None => Ok(set),
    }
}

/// A shape as sizes; a dimension beyond the address space is a damaged or hostile file.
pub fn dims(shape: &[u64]) -> Result<Vec<usize>> {
    shape
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                bad_input!("this .h5 file declares an array dimension of {d}, which is absurd")
            })
        })
        .collect()
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

/// The kind letter and byte width of a NumPy type string (`"<i8"` -> `('i', 8)`).
fn numpy_kind(dtype: &str) -> Option<(char, usize)> {
    let body = dtype.trim_start_matches(['<', '>', '|', '=']);
    let mut chars = body.chars();
    let kind = chars.next()?;
    let width = chars.as_str().parse().ok()?;
    Some((kind, width))
}

fn is_u8(dtype: &str) -> bool {
    numpy_kind(dtype) == Some(('u', 1))
}

fn is_integer(dtype: &str) -> bool {
    matches!(numpy_kind(dtype), Some(('i' | 'u', 1 | 2 | 4 | 8)))
}

/// A NumPy type string in words (`"<f4"` -> `"float32"`), for messages.
fn type_words(dtype: &str) -> String {
    match numpy_kind(dtype) {
        Some(('f', w)) => format!("float{}", w * 8),
        Some(('i', w)) => format!("int{}", w * 8),
        Some(('u', w)) => format!("uint{}", w * 8),
        Some(('S' | 'U', _)) => "text".to_string(),
        _ => format!("'{dtype}'"),
    }
}
