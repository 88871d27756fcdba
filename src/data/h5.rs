//! The Happy House `.h5` files read natively with `hdf5-pure` (the page reads them with a
//! JavaScript HDF5 reader instead; see [`super::happy`] for the arrays and their checks).
//!
//! Every check happens before the pixels are read, so a damaged or hostile file gets a
//! message naming the problem, not a panic or a huge allocation.

use std::collections::BTreeMap;

use hdf5_pure::{DType, File};

use super::happy::{check_happy_file, check_happy_part, dims, ArrayInfo};
pub use super::happy::{happy_from_arrays, HappyPart, HAPPY_CLASS_NAMES, HAPPY_SIZE};
use super::Dataset;
use crate::Result;

/// Reads whichever part (train or test) the file holds; a file holding both is read
/// as its training part.
pub fn read_happy_h5(bytes: &[u8]) -> Result<(HappyPart, Dataset)> {
    let file = open(bytes)?;
    let names = dataset_names(&file)?;
    let (part, _) = check_happy_file(&names, &describe(&file, &names)?)?;
    Ok((part, read_part(&file, part)?))
}

/// Reads the given part; an error names the keys the file does have if it is missing.
pub fn read_happy_h5_part(bytes: &[u8], part: HappyPart) -> Result<Dataset> {
    let file = open(bytes)?;
    let names = dataset_names(&file)?;
    check_happy_part(&names, &describe(&file, &names)?, part)?;
    read_part(&file, part)
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

/// Shapes and element types of the arrays a Happy House check looks at.
fn describe(file: &File, names: &[String]) -> Result<BTreeMap<String, ArrayInfo>> {
    let mut arrays = BTreeMap::new();
    for key in [
        "train_set_x",
        "train_set_y",
        "test_set_x",
        "test_set_y",
        "list_classes",
    ] {
        if !names.iter().any(|n| n == key) {
            continue;
        }
        let ds = file.dataset(key).map_err(|e| damaged(&e))?;
        let shape = ds.shape().map_err(|e| damaged(&e))?;
        let dtype = numpy_dtype(&ds.dtype().map_err(|e| damaged(&e))?);
        arrays.insert(key.to_string(), ArrayInfo { shape, dtype });
    }
    Ok(arrays)
}

/// hdf5-pure's element type as a NumPy type string, the description both readers share.
fn numpy_dtype(t: &DType) -> String {
    match t {
        DType::U8 => "|u1".into(),
        DType::U16 => "<u2".into(),
        DType::U32 => "<u4".into(),
        DType::U64 => "<u8".into(),
        DType::I8 => "|i1".into(),
        DType::I16 => "<i2".into(),
        DType::I32 => "<i4".into(),
        DType::I64 => "<i8".into(),
        DType::F32 => "<f4".into(),
        DType::F64 => "<f8".into(),
        other => other.to_string(),
    }
}

/// Reads a checked part's values.
fn read_part(file: &File, part: HappyPart) -> Result<Dataset> {
    let (x_key, y_key) = part.keys();
    let x = file.dataset(x_key).map_err(|e| damaged(&e))?;
    let y = file.dataset(y_key).map_err(|e| damaged(&e))?;
    let x_shape = dims(&x.shape().map_err(|e| damaged(&e))?)?;
    let y_shape = dims(&y.shape().map_err(|e| damaged(&e))?)?;
    let pixels = x.read_u8().map_err(|e| damaged(&e))?;
    let labels = y.read_i64().map_err(|e| damaged(&e))?;
    happy_from_arrays(&pixels, &x_shape, &labels, &y_shape, x_key, y_key)
}
