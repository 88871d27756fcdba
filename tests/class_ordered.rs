//! Data that arrive sorted by class (a folder, its zip, webcam captures taken one class after
//! the other, a `.npy` file, a Happy House training file alone) give stratified, shuffled test
//! and validation sets, the same for the same seed (issue 15: the validation set was the last
//! class alone). The check body is shared with the browser suite (tests/data_wasm.rs).
// Native only (it reads files or uses native-only loaders); `wasm-pack test` compiles every
// test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod data_support;
mod split_support;

use std::io::Cursor;

use convscope::app::session::{Session, Split};
use convscope::data::folder::FileEntry;
use convscope::data::happy::HappyPart;
use convscope::data::npy::read_happy_npy;
use convscope::data::picture::from_rgba;
use convscope::data::Dataset;
use split_support::{
    check_dataset_split, check_session_split, class_ordered_labels, id_colour, id_images,
};

const COUNTS: [usize; 2] = [57, 38];

fn png(rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(6, 6, image::Rgb(rgb));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A folder as a file manager lists it: class folders in order, pictures in order.
fn folder_entries(counts: &[usize]) -> Vec<FileEntry> {
    let names = ["no_smile", "smile", "surprised"];
    let mut entries = Vec::new();
    let mut id = 0;
    for (c, &n) in counts.iter().enumerate() {
        for k in 0..n {
            entries.push(FileEntry {
                path: format!("faces/{}/{k:04}.png", names[c]),
                bytes: png(id_colour(id)),
            });
            id += 1;
        }
    }
    entries
}

#[test]
fn a_class_ordered_folder() {
    for counts in [&COUNTS[..], &[40, 25, 9]] {
        let mut s = Session::new();
        s.load_image_folder(&folder_entries(counts), "faces", 3)
            .unwrap();
        check_session_split(&s, counts, "folder");
    }
}

#[test]
fn a_class_ordered_zip() {
    let mut s = Session::new();
    let zip = data_support::zip_of(&folder_entries(&COUNTS));
    s.load_zip(&zip, "faces.zip", 3).unwrap();
    check_session_split(&s, &COUNTS, "zip");
}

#[test]
fn a_folder_loaded_picture_by_picture_as_the_page_does() {
    let entries = folder_entries(&COUNTS);
    let mut paths: Vec<String> = entries.iter().map(|e| e.path.clone()).collect();
    paths.push("faces/readme.txt".into());
    let mut s = Session::new();
    let start = s.begin_folder(&paths, "faces", 3).unwrap();
    assert_eq!(start.class_counts, COUNTS.to_vec());
    assert_eq!(start.notes.len(), 1, "{:?}", start.notes);
    for &i in &start.files {
        let rgb = id_colour(i);
        let rgba: Vec<u8> = (0..16)
            .flat_map(|_| [rgb[0], rgb[1], rgb[2], 255])
            .collect();
        s.add_folder_picture(&from_rgba(rgba, 4, 4).unwrap())
            .unwrap();
    }
    let info = s.finish_folder().unwrap();
    assert_eq!(info.notes, start.notes);
    assert!(
        info.suggested.is_some(),
        "own pictures get the recommended settings"
    );
    check_session_split(&s, &COUNTS, "folder, picture by picture");
}

#[test]
fn webcam_frames_captured_one_class_after_the_other() {
    let labels = class_ordered_labels(&COUNTS);
    let side = 8;
    let rgba: Vec<u8> = (0..labels.len())
        .flat_map(|i| {
            let rgb = id_colour(i);
            (0..side * side).flat_map(move |_| [rgb[0], rgb[1], rgb[2], 255])
        })
        .collect();
    let mut s = Session::new();
    s.load_captured(
        &rgba,
        &labels,
        side,
        &["no smile".into(), "smile".into()],
        5,
    )
    .unwrap();
    check_session_split(&s, &COUNTS, "webcam");
}

#[test]
fn a_class_ordered_happy_house_training_file_alone() {
    let labels = class_ordered_labels(&COUNTS);
    let set = Dataset::from_bytes(
        id_images(labels.len()),
        labels,
        64,
        64,
        3,
        vec!["not smiling".into(), "smiling".into()],
    )
    .unwrap();
    let mut s = Session::new();
    s.load_happy_part(HappyPart::Train, set, "train_happy.h5", 2)
        .unwrap();
    check_session_split(&s, &COUNTS, "h5 training file alone");
}

#[test]
fn class_ordered_npy_arrays() {
    let labels = class_ordered_labels(&COUNTS);
    let n = labels.len();
    let x = data_support::npy_bytes("|u1", &[n, 64, 64, 3], &id_images(n));
    let y = data_support::npy_bytes("|u1", &[n], &labels);
    let set = read_happy_npy(&x, &y).unwrap();
    let (train, test) = set.stratified_split(0.2, 4).unwrap();
    check_dataset_split(&train, &test, &COUNTS, "npy");
}

#[test]
fn same_seed_same_split() {
    let load = |seed| {
        let mut s = Session::new();
        s.load_image_folder(&folder_entries(&COUNTS), "faces", seed)
            .unwrap();
        let all = |split| {
            let n = s.labels(split).unwrap().len();
            s.images_rgba(split, &(0..n).collect::<Vec<_>>()).unwrap()
        };
        (all(Split::Train), all(Split::Test))
    };
    assert_eq!(load(3), load(3));
    assert_ne!(load(3), load(4));
}
