//! The data loaders in the browser (wasm32): the synthetic generator gives bit-identical
//! images to native; the Happy House checks, .npy, zip, folder plans and picture headers
//! work on bytes. (The page decodes pictures and reads .h5 files in JavaScript: the
//! Playwright tests in tests/e2e/ load real files through it.)
//! Run with `wasm-pack test --headless --chrome -- --test data_wasm`.
#![cfg(target_arch = "wasm32")]

mod data_support;
mod split_support;

use std::io::{Cursor, Write};

use std::collections::BTreeMap;

use convscope::data::folder::{
    check_picture, plan_image_folder, read_zip_entries, shrink, FileEntry, FolderOptions,
};
use convscope::data::happy::{check_happy_file, happy_from_arrays, ArrayInfo, HappyPart};
use convscope::data::npy::read_happy_npy;
use convscope::data::picture::from_rgba;
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
fn happy_house_arrays_and_npy_read_in_the_browser() {
    let info = |shape: &[u64], dtype: &str| ArrayInfo {
        shape: shape.to_vec(),
        dtype: dtype.into(),
    };
    let names: Vec<String> = ["train_set_x", "train_set_y"].map(String::from).to_vec();
    let mut arrays = BTreeMap::new();
    arrays.insert("train_set_x".to_string(), info(&[2, 64, 64, 3], "|u1"));
    arrays.insert("train_set_y".to_string(), info(&[2], "<i8"));
    assert_eq!(
        check_happy_file(&names, &arrays).unwrap(),
        (HappyPart::Train, 2)
    );
    arrays.insert("train_set_x".to_string(), info(&[2, 64, 64, 3], "<f4"));
    let err = check_happy_file(&names, &arrays).unwrap_err().to_string();
    assert!(err.contains("float32") && err.contains("uint8"), "{err}");

    let pixels: Vec<u8> = (0..2 * 64 * 64 * 3).map(|i| (i % 251) as u8).collect();
    let d = happy_from_arrays(&pixels, &[2, 64, 64, 3], &[1, 0], &[2], "x", "y").unwrap();
    assert_eq!((d.len(), d.labels()), (2, &[1u8, 0][..]));

    let x = data_support::npy_bytes("|u1", &[1, 64, 64], &[7; 64 * 64]);
    let y = data_support::npy_bytes("<i8", &[1], &data_support::i64_bytes(&[1]));
    assert_eq!(read_happy_npy(&x, &y).unwrap().channels(), 1);
}

/// The first bytes of a PNG of `width` x `height` (signature and IHDR chunk): all a header
/// check reads.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
    out.extend_from_slice(&width.to_be_bytes());
    out.extend_from_slice(&height.to_be_bytes());
    out.extend_from_slice(&[8, 2, 0, 0, 0, 0, 0, 0, 0]);
    out
}

#[wasm_bindgen_test]
fn zipped_image_folders_are_planned_checked_and_built_in_the_browser() {
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (path, bytes) in [
        ("faces/sad/b.png", png_header(10, 8)),
        ("faces/happy/a.png", png_header(10, 8)),
        ("faces/happy/huge.png", png_header(9000, 8)),
    ] {
        writer.start_file(path, options).unwrap();
        writer.write_all(&bytes).unwrap();
    }
    let entries: Vec<FileEntry> = read_zip_entries(&writer.finish().unwrap().into_inner()).unwrap();
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let options = FolderOptions::default();
    let plan = plan_image_folder(&paths, &options).unwrap();
    // Classes alphabetically, files in path order within a class.
    let order: Vec<&str> = plan.files().map(|i| paths[i]).collect();
    assert_eq!(
        order,
        [
            "faces/happy/a.png",
            "faces/happy/huge.png",
            "faces/sad/b.png"
        ]
    );
    assert!(check_picture(paths[0], &entries[0].bytes).is_ok());
    let err = check_picture(paths[2], &entries[2].bytes)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'faces/happy/huge.png' is 9000x8 pixels"),
        "{err}"
    );
    let err = check_picture("x.txt", b"hello").unwrap_err().to_string();
    assert!(err.contains("not a PNG or JPEG"), "{err}");

    // What the browser's decoder would hand over: a flat grey picture per file.
    let d = plan
        .build(|i| {
            let v = if paths[i].contains("sad") { 50 } else { 200 };
            Ok(shrink(&from_rgba(vec![v; 10 * 8 * 4], 10, 8)?, &options))
        })
        .unwrap();
    assert_eq!(d.class_names(), &["happy".to_string(), "sad".to_string()]);
    assert_eq!((d.len(), d.image(2)[0]), (3, 50.0 / 255.0));
}

// ---- Class-ordered data give stratified, shuffled test and validation sets (the check body
// of tests/class_ordered.rs, here on the page's own paths). ----

const ORDERED: [usize; 2] = [57, 38];

#[wasm_bindgen_test]
fn a_class_ordered_folder_loaded_as_the_page_does() {
    use convscope::app::session::Session;
    let names = ["no_smile", "smile"];
    let mut paths = Vec::new();
    for (c, &n) in ORDERED.iter().enumerate() {
        for k in 0..n {
            paths.push(format!("faces/{}/{k:04}.jpg", names[c]));
        }
    }
    paths.push("faces/.DS_Store".to_string());
    let mut s = Session::new();
    let start = s.begin_folder(&paths, "faces", 3).unwrap();
    for &i in &start.files {
        let rgb = split_support::id_colour(i);
        let rgba: Vec<u8> = (0..16)
            .flat_map(|_| [rgb[0], rgb[1], rgb[2], 255])
            .collect();
        s.add_folder_picture(&from_rgba(rgba, 4, 4).unwrap())
            .unwrap();
    }
    s.finish_folder().unwrap();
    split_support::check_session_split(&s, &ORDERED, "folder in wasm");
}

#[wasm_bindgen_test]
fn class_ordered_webcam_frames_h5_and_npy() {
    use convscope::app::session::Session;
    use convscope::data::Dataset;
    let labels = split_support::class_ordered_labels(&ORDERED);
    let n = labels.len();
    let frames: Vec<u8> = (0..n)
        .flat_map(|i| {
            let rgb = split_support::id_colour(i);
            (0..64).flat_map(move |_| [rgb[0], rgb[1], rgb[2], 255])
        })
        .collect();
    let mut s = Session::new();
    s.load_captured(&frames, &labels, 8, &["no smile".into(), "smile".into()], 5)
        .unwrap();
    split_support::check_session_split(&s, &ORDERED, "webcam in wasm");

    let pixels = split_support::id_images(n);
    let set = Dataset::from_bytes(
        pixels.clone(),
        labels.clone(),
        64,
        64,
        3,
        vec!["not smiling".into(), "smiling".into()],
    )
    .unwrap();
    let mut s = Session::new();
    s.load_happy_part(HappyPart::Train, set, "train_happy.h5", 2)
        .unwrap();
    split_support::check_session_split(&s, &ORDERED, "h5 training file in wasm");

    let x = data_support::npy_bytes("|u1", &[n, 64, 64, 3], &pixels);
    let y = data_support::npy_bytes("|u1", &[n], &labels);
    let (train, test) = read_happy_npy(&x, &y)
        .unwrap()
        .stratified_split(0.2, 4)
        .unwrap();
    split_support::check_dataset_split(&train, &test, &ORDERED, "npy in wasm");
}
