//! The Happy House .h5 reader: the real test file, files written here with wrong keys,
//! shapes, types and labels, and damaged bytes (truncated, flipped, random mutations).
// Native only (it reads files or uses native-only loaders); `wasm-pack test` compiles every
// test target for wasm32.
#![cfg(not(target_arch = "wasm32"))]

mod data_support;

use convscope::data::h5::{read_happy_h5, read_happy_h5_part, HappyPart};
use convscope::rng::rng_from_seed;
use hdf5_pure::FileBuilder;
use rand::RngExt;

fn real_test_file() -> Option<Vec<u8>> {
    data_support::happy_house_dir().map(|d| std::fs::read(d.join("test_happy.h5")).unwrap())
}

fn error_of(bytes: &[u8]) -> String {
    match read_happy_h5(bytes) {
        Ok((part, d)) => panic!("expected an error, got {part:?} with {} images", d.len()),
        Err(e) => e.to_string(),
    }
}

/// A small Happy-House-like file: `x` uint8 with `x_shape`, `y` int64.
fn small_file(x_key: &str, x: &[u8], x_shape: &[u64], y_key: &str, y: &[i64]) -> Vec<u8> {
    let mut b = FileBuilder::new();
    b.create_dataset(x_key).with_u8_data(x).with_shape(x_shape);
    b.create_dataset(y_key).with_i64_data(y);
    b.finish().unwrap()
}

fn pixels(n: usize) -> Vec<u8> {
    (0..n * 64 * 64 * 3).map(|i| (i * 7 % 256) as u8).collect()
}

#[test]
fn reads_the_real_test_file() {
    let Some(bytes) = real_test_file() else {
        return;
    };
    let (part, d) = read_happy_h5(&bytes).unwrap();
    assert_eq!(part, HappyPart::Test);
    assert_eq!(
        (d.len(), d.height(), d.width(), d.channels()),
        (150, 64, 64, 3)
    );
    // Checksums from the data's README.
    let sum: u64 = d.images().iter().map(|&v| (v * 255.0).round() as u64).sum();
    assert_eq!(sum, 256_770_711);
    assert_eq!(d.labels().iter().filter(|&&l| l == 1).count(), 84);
    assert_eq!(
        &d.labels()[..20],
        &[1, 1, 1, 1, 1, 1, 1, 0, 1, 0, 1, 0, 0, 0, 0, 1, 0, 1, 0, 1]
    );
    assert_eq!(
        d.class_names(),
        &["not smiling".to_string(), "smiling".to_string()]
    );
    // The raw pixels sit contiguously at byte 2144 (README): compare a few directly.
    for k in [0, 1, 12_287, 1_000_000, 1_843_199] {
        assert_eq!((d.images()[k] * 255.0).round() as u8, bytes[2144 + k]);
    }
    assert_eq!(read_happy_h5_part(&bytes, HappyPart::Test).unwrap(), d);
}

#[test]
fn the_real_test_photos_come_with_their_face_boxes_and_no_other_file_does() {
    let Some(mut bytes) = real_test_file() else {
        return;
    };
    let (_, d) = read_happy_h5(&bytes).unwrap();
    let boxes = d
        .landmarks()
        .expect("the original test photos have marked faces")
        .to_vec();
    assert_eq!(boxes, convscope::data::happy_faces::test_set_landmarks());
    // Photo 0 (a frontal face): the face oval from forehead to chin, the lips below its middle.
    let (f, m) = (boxes[0].face, boxes[0].mouth);
    assert!(f.x0 > 10 && f.x1 < 54 && f.y0 > 10 && f.y1 < 54, "{f:?}");
    assert!(
        m.y0 > (f.y0 + f.y1) / 2 && m.x0 > f.x0 && m.x1 < f.x1,
        "{m:?} in {f:?}"
    );
    // Gray and reordered copies keep each photo's boxes.
    let gray = d.to_grayscale();
    assert_eq!(gray.landmarks().unwrap(), &boxes[..]);
    assert_eq!(
        d.subset(&[5, 2]).landmarks().unwrap(),
        &[boxes[5], boxes[2]]
    );
    // One pixel changed (the pixels sit at byte 2144): the boxes no longer belong to it.
    bytes[2144 + 4_000] ^= 1;
    let (_, edited) = read_happy_h5(&bytes).unwrap();
    assert!(edited.landmarks().is_none());
}

#[test]
fn asking_for_the_train_part_of_a_test_file_names_the_keys_found() {
    let Some(bytes) = real_test_file() else {
        return;
    };
    let err = read_happy_h5_part(&bytes, HappyPart::Train)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("train_set_x") && err.contains("list_classes, test_set_x, test_set_y"),
        "{err}"
    );
}

#[test]
fn reads_a_train_file_with_the_happy_house_layout() {
    let x = pixels(5);
    let bytes = small_file(
        "train_set_x",
        &x,
        &[5, 64, 64, 3],
        "train_set_y",
        &[0, 1, 1, 0, 1],
    );
    let (part, d) = read_happy_h5(&bytes).unwrap();
    assert_eq!(part, HappyPart::Train);
    assert_eq!(d.labels(), &[0, 1, 1, 0, 1]);
    assert_eq!(d.images().len(), x.len());
    assert!(d
        .images()
        .iter()
        .zip(&x)
        .all(|(&v, &p)| v == p as f32 / 255.0));
}

#[test]
fn reads_chunked_compressed_files() {
    // h5py with compression="gzip" writes chunked, deflated datasets.
    let x = pixels(4);
    let mut b = FileBuilder::new();
    b.create_dataset("test_set_x")
        .with_u8_data(&x)
        .with_shape(&[4, 64, 64, 3])
        .with_chunks(&[1, 64, 64, 3])
        .with_deflate(6);
    b.create_dataset("test_set_y").with_i64_data(&[1, 1, 0, 1]);
    let bytes = b.finish().unwrap();
    assert!(bytes.len() < x.len(), "the file really is compressed");
    let (_, d) = read_happy_h5(&bytes).unwrap();
    assert!(d
        .images()
        .iter()
        .zip(&x)
        .all(|(&v, &p)| v == p as f32 / 255.0));
}

#[test]
fn missing_keys_are_named() {
    let mut b = FileBuilder::new();
    b.create_dataset("images")
        .with_u8_data(&pixels(1))
        .with_shape(&[1, 64, 64, 3]);
    b.create_dataset("labels").with_i64_data(&[1]);
    let err = error_of(&b.finish().unwrap());
    assert!(
        err.contains("train_set_x") && err.contains("images, labels"),
        "{err}"
    );

    let mut b = FileBuilder::new();
    b.create_dataset("test_set_x")
        .with_u8_data(&pixels(1))
        .with_shape(&[1, 64, 64, 3]);
    let err = error_of(&b.finish().unwrap());
    assert!(
        err.contains("'test_set_y'") && err.contains("found: test_set_x"),
        "{err}"
    );
}

#[test]
fn wrong_shapes_are_refused() {
    let bytes = small_file(
        "test_set_x",
        &vec![0; 2 * 32 * 32 * 3],
        &[2, 32, 32, 3],
        "test_set_y",
        &[0, 1],
    );
    let err = error_of(&bytes);
    assert!(
        err.contains("[2, 32, 32, 3]") && err.contains("(N, 64, 64, 3)"),
        "{err}"
    );
    let bytes = small_file(
        "test_set_x",
        &pixels(2),
        &[2, 64, 64 * 3],
        "test_set_y",
        &[0, 1],
    );
    assert!(error_of(&bytes).contains("(N, 64, 64, 3)"));
    let bytes = small_file(
        "test_set_x",
        &vec![0; 2 * 64 * 64 * 2],
        &[2, 64, 64, 2],
        "test_set_y",
        &[0, 1],
    );
    assert!(error_of(&bytes).contains("[2, 64, 64, 2]"));
}

#[test]
fn wrong_types_are_refused() {
    let mut b = FileBuilder::new();
    b.create_dataset("test_set_x")
        .with_f32_data(&vec![0.5; 64 * 64 * 3])
        .with_shape(&[1, 64, 64, 3]);
    b.create_dataset("test_set_y").with_i64_data(&[1]);
    let err = error_of(&b.finish().unwrap());
    assert!(err.contains("uint8") && err.contains("float32"), "{err}");

    let mut b = FileBuilder::new();
    b.create_dataset("test_set_x")
        .with_u8_data(&pixels(1))
        .with_shape(&[1, 64, 64, 3]);
    b.create_dataset("test_set_y").with_f32_data(&[1.0]);
    let err = error_of(&b.finish().unwrap());
    assert!(
        err.contains("test_set_y") && err.contains("integers"),
        "{err}"
    );
}

#[test]
fn labels_outside_zero_one_are_refused() {
    let bytes = small_file(
        "test_set_x",
        &pixels(3),
        &[3, 64, 64, 3],
        "test_set_y",
        &[0, 2, 1],
    );
    let err = error_of(&bytes);
    assert!(err.contains("test_set_y: label 2 at position 1"), "{err}");
    let bytes = small_file(
        "test_set_x",
        &pixels(3),
        &[3, 64, 64, 3],
        "test_set_y",
        &[0, 1, -1],
    );
    assert!(error_of(&bytes).contains("label -1"));
}

#[test]
fn image_and_label_counts_must_agree() {
    let bytes = small_file(
        "train_set_x",
        &pixels(3),
        &[3, 64, 64, 3],
        "train_set_y",
        &[0, 1],
    );
    let err = error_of(&bytes);
    assert!(err.contains("3 images but 2 labels"), "{err}");
    let bytes = small_file("train_set_x", &[], &[0, 64, 64, 3], "train_set_y", &[]);
    assert!(error_of(&bytes).contains("no images"));
}

#[test]
fn not_an_hdf5_file() {
    for bytes in [
        &b""[..],
        b"abc",
        b"\x89PNG\r\n\x1a\n0000000000000000",
        &[0u8; 4096],
    ] {
        assert!(error_of(bytes).contains("not an HDF5"), "{bytes:?}");
    }
}

#[test]
fn truncated_files_are_refused() {
    let Some(bytes) = real_test_file() else {
        return;
    };
    for len in [
        8,
        100,
        700,
        1500,
        2144,
        2144 + 1000,
        1_845_344,
        bytes.len() - 1,
    ] {
        let err = error_of(&bytes[..len]);
        let expected = if len < 9 {
            "truncated or damaged".to_string()
        } else {
            format!("should be 1846560 bytes long but has only {len}")
        };
        assert!(err.contains(&expected), "{len}: {err}");
    }
}

/// Byte offset of the u64 little-endian sequence `dims` in `bytes` (the dataspace).
fn find_dims(bytes: &[u8], dims: &[u64]) -> usize {
    let pattern: Vec<u8> = dims.iter().flat_map(|d| d.to_le_bytes()).collect();
    bytes
        .windows(pattern.len())
        .position(|w| w == pattern)
        .expect("dataspace found")
}

#[test]
fn absurd_declared_sizes_are_refused_before_reading() {
    let Some(bytes) = real_test_file() else {
        return;
    };
    // Rewrite the image count in test_set_x's dataspace (object header at 800).
    let at = 800 + find_dims(&bytes[800..1400], &[150, 64, 64, 3]);
    for n in [1_000_000_000u64, u64::MAX / 2, 20_001] {
        let mut damaged = bytes.clone();
        damaged[at..at + 8].copy_from_slice(&n.to_le_bytes());
        let err = error_of(&damaged);
        assert!(
            err.contains(&format!("declares {n} images, more than the 20000")),
            "{n}: {err}"
        );
    }
    // One image more than there are labels.
    let mut damaged = bytes.clone();
    damaged[at..at + 8].copy_from_slice(&151u64.to_le_bytes());
    let err = error_of(&damaged);
    assert!(err.contains("151 images but 150 labels"), "{err}");
}

#[test]
fn flipped_bytes_in_the_metadata_never_panic() {
    let Some(bytes) = real_test_file() else {
        return;
    };
    // Every metadata byte of the superblock, root group and heaps, and every third one
    // of the object headers, flipped.
    for at in (0..800).chain((800..2144).step_by(3)) {
        let mut damaged = bytes.clone();
        damaged[at] ^= 0xFF;
        let _ = read_happy_h5(&damaged);
    }
}

#[test]
fn random_truncations_and_mutations_never_panic() {
    let Some(bytes) = real_test_file() else {
        return;
    };
    let mut rng = rng_from_seed(2024);
    for round in 0..200 {
        let mut damaged = bytes.clone();
        let flips = 1 + rng.random_range(0..8u32);
        for _ in 0..flips {
            // Mostly metadata, where damage is interesting, sometimes anywhere.
            let limit = if round % 4 == 0 { damaged.len() } else { 2144 };
            let at = rng.random_range(0..limit as u32) as usize;
            damaged[at] = rng.random();
        }
        if round % 3 == 0 {
            damaged.truncate(rng.random_range(0..bytes.len() as u32) as usize);
        }
        if let Ok((_, d)) = read_happy_h5(&damaged) {
            // Whatever survives must still be a valid dataset.
            assert!(d.len() <= 20_000 && d.labels().iter().all(|&l| l <= 1));
        }
    }
}

#[test]
fn a_gzip_chunked_file_written_by_h5py_is_read() {
    // tests/fixtures/h5/make_fixtures.py; the page's JavaScript reader is given the same file
    // in tests/e2e/train-data.test.mjs, and the sums below were checked with h5py.
    let bytes = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/h5/train_small.h5"
    ))
    .unwrap();
    let (part, d) = read_happy_h5(&bytes).unwrap();
    assert_eq!((part, d.len(), d.channels()), (HappyPart::Train, 40, 3));
    let sum: f64 = (0..d.len())
        .flat_map(|i| d.image(i).into_owned())
        .map(|v| (v as f64 * 255.0).round())
        .sum();
    assert_eq!(sum, 54_892_380.0);
    assert!(d
        .labels()
        .iter()
        .enumerate()
        .all(|(i, &l)| l as usize == i % 2));
}
