//! Small valid files of every format the loaders read, for the property tests to mutate and
//! to seed the `cargo fuzz` corpora (see examples/write_fuzz_seeds.rs).
#![allow(dead_code)] // each test file uses a different part

use std::io::Cursor;

use convscope::data::folder::FileEntry;
use convscope::nn::io::save_model;
use convscope::nn::{ModelSpec, Sequential};
use hdf5_pure::FileBuilder;

pub use crate::data_support::{crc32, npy_bytes, zip_of};

/// A Happy House `.h5` training file of `n` 64x64 RGB images with labels 0, 1, 0, ...
pub fn small_h5(n: usize) -> Vec<u8> {
    let x: Vec<u8> = (0..n * 64 * 64 * 3).map(|i| (i * 7 % 256) as u8).collect();
    let y: Vec<i64> = (0..n as i64).map(|i| i % 2).collect();
    let mut b = FileBuilder::new();
    b.create_dataset("train_set_x")
        .with_u8_data(&x)
        .with_shape(&[n as u64, 64, 64, 3]);
    b.create_dataset("train_set_y").with_i64_data(&y);
    b.create_dataset("list_classes").with_i64_data(&[0, 1]);
    b.finish().expect("hdf5-pure writes a small file")
}

/// Happy House as two `.npy` files: `n` gray 64x64 images (uint8) and their int64 labels.
pub fn small_npy_pair(n: usize) -> (Vec<u8>, Vec<u8>) {
    let x: Vec<u8> = (0..n * 64 * 64).map(|i| (i * 13 % 256) as u8).collect();
    let y: Vec<u8> = (0..n as i64).flat_map(|i| (i % 2).to_le_bytes()).collect();
    (
        npy_bytes("|u1", &[n, 64, 64], &x),
        npy_bytes("<i8", &[n], &y),
    )
}

/// A small RGB picture with a gradient (so that compression has something to do).
fn picture(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        image::Rgb([(x * 20) as u8, (y * 20) as u8, ((x + y) * 9) as u8])
    })
}

pub fn png(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    picture(w, h)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png encodes");
    out
}

pub fn jpeg(w: u32, h: u32) -> Vec<u8> {
    let mut out = Vec::new();
    picture(w, h)
        .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .expect("jpeg encodes");
    out
}

pub fn entry(path: &str, bytes: Vec<u8>) -> FileEntry {
    FileEntry {
        path: path.to_string(),
        bytes,
    }
}

/// A zipped two-class image folder: two PNGs and a JPEG.
pub fn small_zip() -> Vec<u8> {
    zip_of(&[
        entry("faces/", vec![]),
        entry("faces/frown/a.png", png(6, 5)),
        entry("faces/smile/b.png", png(4, 4)),
        entry("faces/smile/c.jpg", jpeg(5, 6)),
    ])
}

/// The model description of [`small_model_file`].
pub fn small_spec() -> ModelSpec {
    ModelSpec::from_json(
        r#"{"input": {"height": 6, "width": 6, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 2, "kernel": 3, "padding": "same", "activation": "relu"},
        {"type": "batch_norm"}, {"type": "max_pool"}, {"type": "flatten"},
        {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#,
    )
    .expect("a valid spec")
}

/// A saved model file of a tiny network, with training notes.
pub fn small_model_file() -> Vec<u8> {
    let model = Sequential::new(&small_spec(), 1).expect("a valid model");
    save_model(&model, &serde_json::json!({"epochs": 1})).expect("saves")
}

/// The ONNX export of the tiny network of [`small_model_file`].
pub fn small_onnx() -> Vec<u8> {
    let model = Sequential::new(&small_spec(), 1).expect("a valid model");
    convscope::nn::onnx::sequential_to_onnx(&model, &["no".into(), "yes".into()]).expect("exports")
}

/// Files Keras 3 made (tests/fixtures/keras/make_fixtures.py): the edited Functional model's
/// `.keras` and `.weights.h5`, 81 and 73 KB.
pub fn keras_variant() -> (Vec<u8>, Vec<u8>) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/keras");
    let read = |name: &str| std::fs::read(dir.join(name)).expect("the Keras fixture");
    (read("variant.keras"), read("variant.weights.h5"))
}

/// The entries of a `.keras` zip, to damage one and zip them again.
pub fn unzip_entries(bytes: &[u8]) -> Vec<FileEntry> {
    use std::io::Read;
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).expect("a zip");
    (0..archive.len())
        .map(|i| {
            let mut f = archive.by_index(i).expect("an entry");
            let mut data = Vec::new();
            f.read_to_end(&mut data).expect("unpacks");
            entry(&f.name().expect("a name"), data)
        })
        .collect()
}

/// A real PNG whose header claims `w` x `h` pixels (with a valid header checksum).
pub fn png_claiming(w: u32, h: u32) -> Vec<u8> {
    let mut bytes = png(2, 2);
    bytes[16..20].copy_from_slice(&w.to_be_bytes());
    bytes[20..24].copy_from_slice(&h.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

/// Where the little-endian `u64` dims first occur in `bytes` (an h5 dataspace).
pub fn find_dims(bytes: &[u8], dims: &[u64]) -> usize {
    let pattern: Vec<u8> = dims.iter().flat_map(|d| d.to_le_bytes()).collect();
    bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("the dataspace is in the file")
}
