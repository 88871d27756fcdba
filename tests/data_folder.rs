//! Image folders (Keras's image_dataset_from_directory convention), zip archives and
//! directories on disk: layouts, resizing, gray conversion, and every refusal.

mod data_support;

use std::io::Cursor;

use convscope::data::folder::{
    load_image_folder, read_dir_entries, read_zip_entries, FileEntry, FolderOptions,
};
use convscope::data::gray_from_rgb_u8;
use data_support::{crc32, zip_of};

/// A solid-colour PNG of the given size (RGB).
fn png(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn gray_png(w: u32, h: u32, v: u8) -> Vec<u8> {
    let img = image::GrayImage::from_pixel(w, h, image::Luma([v]));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

fn jpeg(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(w, h, image::Rgb(rgb));
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg)
        .unwrap();
    out
}

fn entry(path: &str, bytes: Vec<u8>) -> FileEntry {
    FileEntry {
        path: path.into(),
        bytes,
    }
}

const RED: [u8; 3] = [200, 30, 40];
const BLUE: [u8; 3] = [20, 60, 220];

/// Two classes, mixed formats and sizes, listed out of order.
fn two_classes(prefix: &str) -> Vec<FileEntry> {
    vec![
        entry(&format!("{prefix}smiling/b.png"), png(80, 60, RED)),
        entry(&format!("{prefix}not_smiling/x.jpg"), jpeg(64, 64, BLUE)),
        entry(&format!("{prefix}smiling/a.png"), gray_png(32, 32, 90)),
        entry(&format!("{prefix}not_smiling/y.png"), png(100, 100, BLUE)),
        entry(&format!("{prefix}smiling/sub/c.png"), png(64, 64, RED)),
    ]
}

fn error_of(entries: &[FileEntry]) -> String {
    load_image_folder(entries, &FolderOptions::default())
        .unwrap_err()
        .to_string()
}

#[test]
fn classes_are_sorted_subfolders_and_images_are_resized() {
    let d = load_image_folder(&two_classes(""), &FolderOptions::default()).unwrap();
    assert_eq!(
        d.class_names(),
        &["not_smiling".to_string(), "smiling".to_string()]
    );
    assert_eq!(
        (d.len(), d.height(), d.width(), d.channels()),
        (5, 64, 64, 3)
    );
    // Class by class, paths sorted within: x.jpg, y.png, a.png, b.png, sub/c.png.
    assert_eq!(d.labels(), &[0, 0, 1, 1, 1]);
    let pixel =
        |i: usize| [0, 1, 2].map(|k| (d.image(i)[(10 * 64 + 20) * 3 + k] * 255.0).round() as i32);
    assert_eq!(
        pixel(1),
        BLUE.map(i32::from),
        "a solid PNG stays solid after resizing"
    );
    assert_eq!(pixel(2), [90, 90, 90], "a gray PNG becomes gray RGB");
    assert_eq!(pixel(3), RED.map(i32::from));
    let jpeg_px = pixel(0);
    assert!(
        jpeg_px
            .iter()
            .zip(BLUE)
            .all(|(&a, b)| (a - b as i32).abs() <= 6),
        "JPEG close to its colour: {jpeg_px:?}"
    );
}

#[test]
fn other_sizes_and_grayscale() {
    let options = FolderOptions {
        height: 20,
        width: 30,
        channels: 1,
    };
    let d = load_image_folder(&two_classes(""), &options).unwrap();
    assert_eq!((d.height(), d.width(), d.channels()), (20, 30, 1));
    let red_gray = gray_from_rgb_u8(RED[0], RED[1], RED[2]) as f32 / 255.0;
    assert!(
        d.image(3).iter().all(|&v| v == red_gray),
        "gray made with the Happy House formula"
    );
    assert!(d.image(2).iter().all(|&v| v == 90.0 / 255.0));
    let err = load_image_folder(
        &two_classes(""),
        &FolderOptions {
            channels: 2,
            ..FolderOptions::default()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("1 or 3 channels"));
}

#[test]
fn a_dropped_top_folder_and_hidden_files_are_ignored() {
    let plain = load_image_folder(&two_classes(""), &FolderOptions::default()).unwrap();
    let mut nested = two_classes("faces/");
    nested.push(entry("faces/", Vec::new()));
    nested.push(entry("faces/.DS_Store", b"junk".to_vec()));
    nested.push(entry("faces/smiling/.hidden.png", b"junk".to_vec()));
    nested.push(entry("__MACOSX/faces/smiling/._b.png", b"junk".to_vec()));
    nested.push(entry("faces\\smiling\\Thumbs.db", b"junk".to_vec()));
    let d = load_image_folder(&nested, &FolderOptions::default()).unwrap();
    assert_eq!(d, plain);
}

#[test]
fn split_of_a_folder_is_stratified() {
    let mut entries = Vec::new();
    for i in 0..10 {
        entries.push(entry(&format!("a/{i}.png"), png(8, 8, [i * 20, 0, 0])));
        entries.push(entry(&format!("b/{i}.png"), png(8, 8, [0, i * 20, 0])));
    }
    let d = load_image_folder(&entries, &FolderOptions::default()).unwrap();
    let (train, test) = d.stratified_split(0.3, 5).unwrap();
    assert_eq!(test.class_counts(), vec![3, 3]);
    assert_eq!(train.class_counts(), vec![7, 7]);
}

#[test]
fn empty_folders_are_refused() {
    assert!(error_of(&[]).contains("empty"));
    let only_junk = [
        entry("faces/", vec![]),
        entry("faces/.DS_Store", vec![1]),
        entry("faces/smiling/", vec![]),
    ];
    assert!(error_of(&only_junk).contains("empty"));
}

#[test]
fn one_class_is_refused() {
    let entries = [
        entry("faces/smiling/a.png", png(4, 4, RED)),
        entry("faces/smiling/b.png", png(4, 4, RED)),
    ];
    let err = error_of(&entries);
    assert!(err.contains("only one class (smiling)"), "{err}");
}

#[test]
fn a_class_folder_without_images_is_named() {
    let mut entries = two_classes("");
    entries.push(entry("surprised/", vec![]));
    entries.push(entry("surprised/.DS_Store", vec![1, 2]));
    let err = error_of(&entries);
    assert!(err.contains("'surprised' has no images"), "{err}");
}

#[test]
fn non_images_are_named() {
    let mut entries = two_classes("");
    entries.push(entry("smiling/notes.txt", b"remember to smile".to_vec()));
    let err = error_of(&entries);
    assert!(
        err.contains("'smiling/notes.txt' is not a PNG or JPEG"),
        "{err}"
    );

    let mut broken = png(16, 16, RED);
    broken.truncate(40);
    let mut entries = two_classes("");
    entries.push(entry("smiling/broken.png", broken));
    let err = error_of(&entries);
    assert!(
        err.contains("'smiling/broken.png' could not be read"),
        "{err}"
    );

    let mut entries = two_classes("");
    entries.push(entry(
        "smiling/anim.gif",
        b"GIF89a\x01\x00\x01\x00".to_vec(),
    ));
    assert!(error_of(&entries).contains("'smiling/anim.gif' is not a PNG or JPEG"));
}

#[test]
fn loose_files_at_the_top_are_refused() {
    let mut entries = two_classes("");
    entries.push(entry("loose.png", png(4, 4, RED)));
    let err = error_of(&entries);
    assert!(
        err.contains("'loose.png' is not inside a class folder"),
        "{err}"
    );
    // Also inside a dropped top folder.
    let mut entries = two_classes("faces/");
    entries.push(entry("faces/README.md", b"my smiles".to_vec()));
    let err = error_of(&entries);
    assert!(
        err.contains("'faces/README.md' is not inside a class folder"),
        "{err}"
    );
}

#[test]
fn a_huge_png_is_refused_from_its_header() {
    // A real 1x1 PNG whose header is rewritten to claim 30000x30000 (2.7 GB of pixels).
    let mut bytes = png(1, 1, RED);
    bytes[16..20].copy_from_slice(&30_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&30_000u32.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    let mut entries = two_classes("");
    entries.push(entry("smiling/huge.png", bytes));
    let err = error_of(&entries);
    assert!(
        err.contains("'smiling/huge.png' is 30000x30000") && err.contains("8192x8192"),
        "{err}"
    );
}

#[test]
fn a_zipped_folder_reads_like_the_folder() {
    let mut entries = two_classes("faces/");
    entries.insert(0, entry("faces/", vec![]));
    let unzipped = read_zip_entries(&zip_of(&entries)).unwrap();
    assert_eq!(unzipped.len(), entries.len());
    let from_zip = load_image_folder(&unzipped, &FolderOptions::default()).unwrap();
    assert_eq!(
        from_zip,
        load_image_folder(&two_classes(""), &FolderOptions::default()).unwrap()
    );
    // An empty class folder inside a zip is still reported.
    let mut entries = two_classes("");
    entries.push(entry("surprised/", vec![]));
    let err = error_of(&read_zip_entries(&zip_of(&entries)).unwrap());
    assert!(err.contains("'surprised' has no images"), "{err}");
}

#[test]
fn damaged_zips_are_refused() {
    assert!(read_zip_entries(b"not a zip at all")
        .unwrap_err()
        .to_string()
        .contains("not a zip"));
    let bytes = zip_of(&two_classes(""));
    assert!(read_zip_entries(&bytes[..bytes.len() / 2]).is_err());
    // Damage inside a compressed entry: the checksum catches it.
    let mut damaged = bytes.clone();
    damaged[60] ^= 0x55;
    assert!(read_zip_entries(&damaged).is_err());
}

/// Offsets of every central-directory record (signature PK\x01\x02).
fn central_records(bytes: &[u8]) -> Vec<usize> {
    bytes
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .map(|(i, _)| i)
        .collect()
}

#[test]
fn zip_bombs_are_refused_before_unpacking() {
    // An entry whose directory record claims 4 GB unpacked.
    let mut bytes = zip_of(&two_classes(""));
    let first = central_records(&bytes)[0];
    bytes[first + 24..first + 28].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
    let err = read_zip_entries(&bytes).unwrap_err().to_string();
    assert!(
        err.contains("would unpack to 4095 MB") && err.contains("64 MB"),
        "{err}"
    );

    // Many entries of 60 MB each: each allowed alone, too much together.
    let mut bytes = zip_of(
        &(0..20)
            .map(|i| entry(&format!("a/{i}.png"), vec![0; 10]))
            .collect::<Vec<_>>(),
    );
    for at in central_records(&bytes) {
        bytes[at + 24..at + 28].copy_from_slice(&(60u32 << 20).to_le_bytes());
    }
    let err = read_zip_entries(&bytes).unwrap_err().to_string();
    assert!(
        err.contains("would unpack to 1200 MB") && err.contains("512 MB"),
        "{err}"
    );

    // More entries than accepted.
    let many: Vec<FileEntry> = (0..50_001)
        .map(|i| entry(&format!("a/{i}"), vec![]))
        .collect();
    let err = read_zip_entries(&zip_of(&many)).unwrap_err().to_string();
    assert!(err.contains("50001 entries"), "{err}");
}

#[test]
fn a_directory_on_disk_reads_like_the_same_entries() {
    let dir = std::env::temp_dir().join(format!("convscope_folder_test_{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    for e in two_classes("") {
        let path = dir.join(&e.path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, &e.bytes).unwrap();
    }
    std::fs::create_dir_all(dir.join("surprised")).unwrap();
    let entries = read_dir_entries(&dir).unwrap();
    assert!(entries.iter().any(|e| e.path == "surprised/"));
    assert!(error_of(&entries).contains("'surprised' has no images"));
    std::fs::remove_dir(dir.join("surprised")).unwrap();
    let from_disk =
        load_image_folder(&read_dir_entries(&dir).unwrap(), &FolderOptions::default()).unwrap();
    assert_eq!(
        from_disk,
        load_image_folder(&two_classes(""), &FolderOptions::default()).unwrap()
    );
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(read_dir_entries(&dir)
        .unwrap_err()
        .to_string()
        .contains("cannot read"));
}
