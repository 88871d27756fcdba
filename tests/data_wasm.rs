//! The data loaders in the browser (wasm32): the synthetic generator gives bit-identical
//! images to native, and the .h5, .npy, image and zip readers work on bytes.
//! Run with `wasm-pack test --headless --chrome -- --test data_wasm`.
#![cfg(target_arch = "wasm32")]

mod data_support;

use std::io::{Cursor, Write};

use convscope::data::folder::{load_image_folder, read_zip_entries, FileEntry, FolderOptions};
use convscope::data::h5::{read_happy_h5, HappyPart};
use convscope::data::npy::read_happy_npy;
use convscope::data::synthetic::{generate_set, Difficulty};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn synthetic_faces_are_the_same_as_native() {
    let d = generate_set(16, 7, Difficulty::Normal, None).unwrap();
    assert_eq!(
        data_support::fingerprint(&d),
        data_support::SYNTHETIC_FINGERPRINT
    );
}

#[wasm_bindgen_test]
fn happy_house_h5_and_npy_read_in_the_browser() {
    let pixels: Vec<u8> = (0..2 * 64 * 64 * 3).map(|i| (i % 251) as u8).collect();
    let mut b = hdf5_pure::FileBuilder::new();
    b.create_dataset("train_set_x")
        .with_u8_data(&pixels)
        .with_shape(&[2, 64, 64, 3]);
    b.create_dataset("train_set_y").with_i64_data(&[1, 0]);
    let (part, d) = read_happy_h5(&b.finish().unwrap()).unwrap();
    assert_eq!(
        (part, d.len(), d.labels()),
        (HappyPart::Train, 2, &[1u8, 0][..])
    );
    assert!(read_happy_h5(&[0u8; 100])
        .unwrap_err()
        .to_string()
        .contains("not an HDF5"));

    let x = data_support::npy_bytes("|u1", &[1, 64, 64], &[7; 64 * 64]);
    let y = data_support::npy_bytes("<i8", &[1], &data_support::i64_bytes(&[1]));
    assert_eq!(read_happy_npy(&x, &y).unwrap().channels(), 1);
}

#[wasm_bindgen_test]
fn image_folders_and_zips_read_in_the_browser() {
    let png = |v: u8| {
        let mut out = Vec::new();
        image::RgbImage::from_pixel(10, 8, image::Rgb([v, v, v]))
            .write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    };
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, v) in [("faces/happy/a.png", 200), ("faces/sad/b.png", 50)] {
        writer.start_file(path, options).unwrap();
        writer.write_all(&png(v)).unwrap();
    }
    let entries: Vec<FileEntry> = read_zip_entries(&writer.finish().unwrap().into_inner()).unwrap();
    let d = load_image_folder(&entries, &FolderOptions::default()).unwrap();
    assert_eq!(d.class_names(), &["happy".to_string(), "sad".to_string()]);
    assert_eq!(d.image(1)[0], 50.0 / 255.0);
}
