//! NumPy `.npy` arrays (format 1.0 and 2.0), little-endian `uint8` or `int64`, C order:
//! the grayscale Happy House training set is stored this way. The header is a small
//! Python dict literal, parsed here by hand.

use crate::limits::{MAX_NPY_AXES, MAX_NPY_ELEMENTS};
use crate::Result;

/// The values of an array, by element type.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    U8(Vec<u8>),
    I64(Vec<i64>),
}

/// An array read from a `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub struct NpyArray {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

const MAGIC: &[u8] = b"\x93NUMPY";

/// Parses a whole `.npy` file.
pub fn read_npy(bytes: &[u8]) -> Result<NpyArray> {
    if bytes.len() < 10 || &bytes[..6] != MAGIC {
        return Err(bad_input!(
            "this is not a NumPy .npy file (it does not start with \\x93NUMPY)"
        ));
    }
    let (header_start, header_len): (usize, usize) = match bytes[6] {
        1 => (10, u16::from_le_bytes([bytes[8], bytes[9]]) as usize),
        2 | 3 if bytes.len() >= 12 => (
            12,
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
        ),
        v => {
            return Err(bad_input!(
                "this .npy file has format version {v}, which is not supported (1 or 2 are)"
            ))
        }
    };
    // A declared length near 4 GB must not overflow a 32-bit usize (wasm).
    let header_end = header_start.saturating_add(header_len);
    let header = bytes.get(header_start..header_end).ok_or_else(|| {
        bad_input!(
            "this .npy file is truncated: its header needs {header_end} bytes, the file has {}",
            bytes.len()
        )
    })?;
    let header =
        std::str::from_utf8(header).map_err(|_| bad_input!("the .npy header is not text"))?;
    let descr = dict_value(header, "descr")?;
    let fortran = dict_value(header, "fortran_order")?;
    let shape = parse_shape(dict_value(header, "shape")?)?;
    if fortran.starts_with("True") {
        return Err(bad_input!(
            "this .npy array is stored in Fortran order; save it in C order (numpy's default)"
        ));
    }
    let count = shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&c| c <= MAX_NPY_ELEMENTS).ok_or_else(|| {
        bad_input!("this .npy array has shape {shape:?}, more than the {MAX_NPY_ELEMENTS} values allowed")
    })?;
    let element = match descr.trim_matches(|c| c == '\'' || c == '"') {
        "|u1" | "<u1" | "u1" => 1,
        "<i8" => 8,
        other => {
            return Err(bad_input!(
                "this .npy array has element type {other}; expected uint8 (|u1) or int64 (<i8)"
            ))
        }
    };
    let payload = &bytes[header_end..];
    if payload.len() != count * element {
        return Err(bad_input!(
            "this .npy file should hold {} bytes of data for shape {shape:?}, it holds {} (truncated or damaged)",
            count * element,
            payload.len()
        ));
    }
    let data = if element == 1 {
        NpyData::U8(payload.to_vec())
    } else {
        NpyData::I64(
            payload
                .chunks_exact(8)
                .map(|c| i64::from_le_bytes(c.try_into().expect("8-byte chunk")))
                .collect(),
        )
    };
    Ok(NpyArray { shape, data })
}

/// The text after `'key':` in the header dict, up to the end of its value.
fn dict_value<'a>(header: &'a str, key: &str) -> Result<&'a str> {
    let quoted = format!("'{key}'");
    let start = header
        .find(&quoted)
        .ok_or_else(|| bad_input!("the .npy header has no '{key}' entry: {}", header.trim()))?
        + quoted.len();
    let rest = header[start..].trim_start();
    let rest = rest
        .strip_prefix(':')
        .ok_or_else(|| bad_input!("the .npy header is malformed near '{key}'"))?
        .trim_start();
    // A tuple runs to its closing parenthesis, anything else to the next comma or brace.
    let end = if rest.starts_with('(') {
        rest.find(')').map(|i| i + 1)
    } else {
        rest.find([',', '}'])
    };
    end.map(|e| rest[..e].trim())
        .ok_or_else(|| bad_input!("the .npy header is malformed near '{key}'"))
}

/// `(600, 64, 64)` or `(600,)` or `()` to a list of sizes.
fn parse_shape(text: &str) -> Result<Vec<usize>> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| bad_input!("the .npy shape {text} is not a tuple"))?;
    let shape: Vec<usize> = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| bad_input!("the .npy shape {text} holds {s}, which is not a size"))
        })
        .collect::<Result<_>>()?;
    if shape.len() > MAX_NPY_AXES {
        return Err(bad_input!(
            "the .npy shape {text} has {} axes; at most {MAX_NPY_AXES} are accepted",
            shape.len()
        ));
    }
    Ok(shape)
}

/// A Happy House dataset from two `.npy` files: images `(N, 64, 64)` or `(N, 64, 64, C)`
/// `uint8`, labels `(N,)` or `(N, 1)` `int64` (or `uint8`) in {0, 1}.
pub fn read_happy_npy(x_bytes: &[u8], y_bytes: &[u8]) -> Result<super::Dataset> {
    let x = read_npy(x_bytes)?;
    let y = read_npy(y_bytes)?;
    let NpyData::U8(pixels) = &x.data else {
        return Err(bad_input!(
            "the image .npy file holds int64 values; expected uint8 pixels"
        ));
    };
    let labels: Vec<i64> = match &y.data {
        NpyData::I64(v) => v.clone(),
        NpyData::U8(v) => v.iter().map(|&l| l as i64).collect(),
    };
    super::happy::happy_from_arrays(
        pixels,
        &x.shape,
        &labels,
        &y.shape,
        "the image .npy file",
        "the label .npy file",
    )
}
