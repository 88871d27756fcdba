//! Image folders (Keras's image_dataset_from_directory convention), zip archives and
//! directories on disk: layouts, resizing, gray conversion, and every refusal.
// Native only (it reads files or uses native-only loaders); `wasm-pack test` compiles every
// test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod data_support;

use std::io::Cursor;

use convscope::data::folder::{
    load_image_folder, plan_image_folder, read_dir_entries, read_zip_entries, FileEntry,
    FolderOptions,
};
use convscope::data::gray_from_rgb_u8;
use convscope::data::MAX_IMAGES;
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
    let err = error_of(&only_junk);
    assert!(
        err.contains("no PNG or JPEG pictures, only 1 other file (.DS_Store)"),
        "{err}"
    );
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
fn broken_pictures_are_named() {
    let mut broken = png(16, 16, RED);
    broken.truncate(40);
    let mut entries = two_classes("");
    entries.push(entry("smiling/broken.png", broken));
    let err = error_of(&entries);
    assert!(
        err.contains("'smiling/broken.png' could not be read"),
        "{err}"
    );
    // A picture name on something else is refused too (it is meant to be data).
    let mut entries = two_classes("");
    entries.push(entry("smiling/fake.jpg", b"remember to smile".to_vec()));
    let err = error_of(&entries);
    assert!(
        err.contains("'smiling/fake.jpg' is not a PNG or JPEG"),
        "{err}"
    );
}

/// What real folders carry besides pictures is skipped, counted and named, as Keras's
/// `image_dataset_from_directory` skips files without a picture extension.
#[test]
fn stray_files_are_skipped_with_a_note() {
    let mut entries = two_classes("faces/");
    entries.push(entry("faces/readme.txt", b"my smiles".to_vec()));
    entries.push(entry("faces/.DS_Store", vec![0; 8]));
    entries.push(entry("faces/smiling/Thumbs.db", vec![0; 8]));
    entries.push(entry("faces/smiling/notes.txt", b"remember".to_vec()));
    entries.push(entry("faces/smiling/anim.gif", b"GIF89a\x01\x00".to_vec()));
    entries.push(entry("__MACOSX/faces/smiling/._a.png", vec![0; 8]));
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    let plan = plan_image_folder(&paths, &FolderOptions::default()).unwrap();
    assert_eq!(plan.class_counts(), vec![2, 3]);
    assert_eq!(
        plan.notes(),
        vec!["6 files that are not PNG or JPEG pictures were skipped (readme.txt, .DS_Store, Thumbs.db, ...)".to_string()]
    );
    let d = load_image_folder(&entries, &FolderOptions::default()).unwrap();
    assert_eq!(d.len(), 5);
    let one = [two_classes(""), vec![entry("notes.txt", vec![1])]].concat();
    let paths: Vec<&str> = one.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        plan_image_folder(&paths, &FolderOptions::default())
            .unwrap()
            .notes(),
        vec!["1 file that is not a PNG or JPEG picture was skipped (notes.txt)".to_string()]
    );
}

#[test]
fn a_folder_beyond_the_limit_is_subsampled_in_proportion() {
    // Paths only: the plan decides before anything is read.
    let big = MAX_IMAGES + MAX_IMAGES / 2; // 30,000: 2/3 in one class, 1/3 in the other
    let paths: Vec<String> = (0..big)
        .map(|i| {
            if i % 3 == 0 {
                format!("faces/smile/{i:05}.jpg")
            } else {
                format!("faces/no_smile/{i:05}.jpg")
            }
        })
        .collect();
    let plan = plan_image_folder(&paths, &FolderOptions::default()).unwrap();
    assert!(
        plan.len() <= MAX_IMAGES && plan.len() >= MAX_IMAGES - 2,
        "{}",
        plan.len()
    );
    let counts = plan.class_counts();
    assert!(
        (counts[0] as i64 - 2 * counts[1] as i64).abs() <= 2,
        "{counts:?}"
    );
    let note = plan.notes().join(" ");
    assert!(
        note.contains(&format!("holds {big} pictures"))
            && note.contains("the same share of every class"),
        "{note}"
    );
    // The same folder, the same pictures; in path order within a class.
    let again = plan_image_folder(&paths, &FolderOptions::default()).unwrap();
    assert_eq!(
        plan.files().collect::<Vec<_>>(),
        again.files().collect::<Vec<_>>()
    );
    let files: Vec<usize> = plan.files().take(counts[0]).collect();
    assert!(files.windows(2).all(|w| paths[w[0]] < paths[w[1]]));
}

/// A native folder reached through symbolic links is read (a class folder is often a link to
/// where the photos are); a link back up the tree does not loop.
#[cfg(unix)]
#[test]
fn symlinked_class_folders_are_followed_once() {
    let root = std::env::temp_dir().join(format!("convscope-links-{}", std::process::id()));
    let photos = root.join("photos_elsewhere");
    let faces = root.join("faces");
    std::fs::create_dir_all(photos.join("smiles")).unwrap();
    std::fs::create_dir_all(faces.join("no_smile")).unwrap();
    for i in 0..3 {
        std::fs::write(
            photos.join("smiles").join(format!("{i}.png")),
            png(8, 8, RED),
        )
        .unwrap();
        std::fs::write(
            faces.join("no_smile").join(format!("{i}.png")),
            png(8, 8, BLUE),
        )
        .unwrap();
    }
    std::os::unix::fs::symlink(photos.join("smiles"), faces.join("smile")).unwrap();
    std::os::unix::fs::symlink(&faces, faces.join("no_smile").join("loop")).unwrap();
    let entries = read_dir_entries(&faces);
    std::fs::remove_dir_all(&root).unwrap();
    let d = load_image_folder(&entries.unwrap(), &FolderOptions::default()).unwrap();
    assert_eq!(
        d.class_names(),
        &["no_smile".to_string(), "smile".to_string()]
    );
    assert_eq!(d.class_counts(), vec![3, 3]);
}

#[test]
fn loose_pictures_at_the_top_are_refused() {
    let mut entries = two_classes("");
    entries.push(entry("loose.png", png(4, 4, RED)));
    let err = error_of(&entries);
    assert!(
        err.contains("'loose.png' is not inside a class folder")
            && err.contains("(for example smiling/loose.png and"),
        "{err}"
    );
    // Also inside a dropped top folder; a text file beside the classes is skipped.
    let mut entries = two_classes("faces/");
    entries.push(entry("faces/README.md", b"my smiles".to_vec()));
    assert_eq!(
        load_image_folder(&entries, &FolderOptions::default())
            .unwrap()
            .len(),
        5
    );
    entries.push(entry("faces/me.jpg", jpeg(8, 8, RED)));
    let err = error_of(&entries);
    assert!(
        err.contains("'faces/me.jpg' is not inside a class folder"),
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
