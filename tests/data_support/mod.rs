//! Helpers shared by the data tests: where the reference Happy House files are, and
//! writers of small `.npy` and zip files.
#![allow(dead_code)] // each test file uses a different part

use convscope::data::folder::FileEntry;
use std::io::{Cursor, Write};
use std::path::PathBuf;

/// `../shared/data/happy_house` resolved as the project's tests do: `$CONVSCOPE_SHARED`,
/// else `<repo>/../shared`, else `/work/shared`. `None` (with a printed note) if absent.
pub fn happy_house_dir() -> Option<PathBuf> {
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let candidates = [
        std::env::var("CONVSCOPE_SHARED").ok().map(PathBuf::from),
        Some(repo.join("../shared")),
        Some("/work/shared".into()),
    ];
    let found = candidates
        .into_iter()
        .flatten()
        .map(|d| d.join("data/happy_house"))
        .find(|d| d.join("test_happy.h5").is_file());
    if found.is_none() {
        println!("skipped: the shared Happy House data (../shared/data/happy_house) is not here");
    }
    found
}

/// A NumPy format 1.0 file with the given dtype string, shape and raw little-endian data.
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    npy_with_header(
        &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"),
        data,
    )
}

/// A `.npy` file with a given header dict text (padded as NumPy pads it).
pub fn npy_with_header(dict: &str, data: &[u8]) -> Vec<u8> {
    let mut header = dict.to_string();
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

/// int64 little-endian bytes of `values`.
pub fn i64_bytes(values: &[i64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// FNV-1a over a dataset's 8-bit pixels, labels and mouth boxes: equal fingerprints
/// mean bit-identical data (used to check that wasm generates what native does).
pub fn fingerprint(d: &convscope::data::Dataset) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |b: u8| {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    };
    d.images()
        .iter()
        .for_each(|&v| eat((v * 255.0).round() as u8));
    d.labels().iter().for_each(|&l| eat(l));
    for b in d.landmarks().unwrap_or(&[]).iter().map(|l| l.mouth) {
        [b.x0, b.y0, b.x1, b.y1].iter().for_each(|&v| eat(v as u8));
    }
    h
}

/// Fingerprint of `generate_set(16, 7, Difficulty::Normal, None)`, as generated natively.
/// A deliberate change to the generator changes it; the wasm test must then agree again.
pub const SYNTHETIC_FINGERPRINT: u64 = 8_624_134_258_434_826_593;

/// A zip of the entries (deflated; a path ending in `/` becomes a folder).
pub fn zip_of(entries: &[FileEntry]) -> Vec<u8> {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for e in entries {
        if e.path.ends_with('/') {
            writer
                .add_directory(e.path.trim_end_matches('/'), options)
                .expect("zip folder");
        } else {
            writer
                .start_file(e.path.as_str(), options)
                .expect("zip file");
            writer.write_all(&e.bytes).expect("zip write");
        }
    }
    writer.finish().expect("zip finishes").into_inner()
}

/// CRC-32 (IEEE), to patch a PNG header after changing its size.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
