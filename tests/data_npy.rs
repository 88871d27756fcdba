//! The .npy reader: the real grayscale Happy House training set, and damaged files.

mod data_support;

use convscope::data::npy::{read_happy_npy, read_npy, NpyData};
use data_support::{i64_bytes, npy_bytes, npy_with_header};

#[test]
fn reads_the_real_grayscale_training_set() {
    let Some(dir) = data_support::happy_house_dir() else {
        return;
    };
    let x = std::fs::read(dir.join("train_gray_x.npy")).unwrap();
    let y = std::fs::read(dir.join("train_y.npy")).unwrap();
    let raw = read_npy(&x).unwrap();
    assert_eq!(raw.shape, vec![600, 64, 64]);
    let NpyData::U8(pixels) = &raw.data else {
        panic!("uint8 expected")
    };
    assert_eq!(pixels.len(), 600 * 64 * 64);
    assert_eq!(
        (*pixels.iter().min().unwrap(), *pixels.iter().max().unwrap()),
        (2, 255)
    );
    let mean = pixels.iter().map(|&p| p as f64).sum::<f64>() / pixels.len() as f64;
    assert!((mean - 145.87).abs() < 0.01, "mean {mean}");
    // The README: the header dict and preamble take 128 bytes, then raw C-order data.
    assert_eq!(&x[128..], pixels.as_slice());

    let d = read_happy_npy(&x, &y).unwrap();
    assert_eq!(
        (d.len(), d.height(), d.width(), d.channels()),
        (600, 64, 64, 1)
    );
    assert_eq!(d.class_counts(), vec![300, 300]);
    assert_eq!(
        &d.labels()[..20],
        &[0, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0]
    );
}

#[test]
fn reads_small_arrays_of_both_types() {
    let a = read_npy(&npy_bytes("|u1", &[2, 3], &[1, 2, 3, 4, 5, 6])).unwrap();
    assert_eq!(a.shape, vec![2, 3]);
    assert_eq!(a.data, NpyData::U8(vec![1, 2, 3, 4, 5, 6]));
    let b = read_npy(&npy_bytes("<i8", &[3], &i64_bytes(&[-1, 0, 1 << 40]))).unwrap();
    assert_eq!(b.data, NpyData::I64(vec![-1, 0, 1 << 40]));
    let scalar = read_npy(&npy_bytes("|u1", &[], &[9])).unwrap();
    assert_eq!((scalar.shape, scalar.data), (vec![], NpyData::U8(vec![9])));
}

fn error_of(bytes: &[u8]) -> String {
    read_npy(bytes).unwrap_err().to_string()
}

#[test]
fn damaged_or_unsupported_files_are_refused() {
    assert!(error_of(b"").contains("not a NumPy"));
    assert!(error_of(b"PK\x03\x04 this is a zip").contains("not a NumPy"));
    let good = npy_bytes("|u1", &[4], &[1, 2, 3, 4]);
    let err = error_of(&good[..good.len() - 1]);
    assert!(
        err.contains("should hold 4 bytes") && err.contains("holds 3"),
        "{err}"
    );
    assert!(error_of(&good[..20]).contains("truncated"));
    let err = error_of(&npy_bytes("<f4", &[1], &[0, 0, 0, 0]));
    assert!(err.contains("<f4") && err.contains("uint8"), "{err}");
    let fortran = npy_with_header(
        "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }",
        &[1, 2, 3, 4],
    );
    assert!(error_of(&fortran).contains("Fortran"));
    let no_shape = npy_with_header("{'descr': '|u1', 'fortran_order': False, }", &[1]);
    assert!(error_of(&no_shape).contains("'shape'"));
    let bad_shape = npy_with_header(
        "{'descr': '|u1', 'fortran_order': False, 'shape': (2, x), }",
        &[1, 2],
    );
    assert!(error_of(&bad_shape).contains("not a size"));
    let mut version9 = good.clone();
    version9[6] = 9;
    assert!(error_of(&version9).contains("version 9"));
}

#[test]
fn absurd_shapes_are_refused_before_allocating() {
    for shape in [
        "(1000000000, 64, 64)",
        "(18446744073709551615, 2)",
        "(4294967296, 4294967296)",
    ] {
        let bytes = npy_with_header(
            &format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}"),
            &[0; 16],
        );
        assert!(error_of(&bytes).contains("more than"), "{shape}");
    }
}

#[test]
fn happy_arrays_are_checked() {
    let x = npy_bytes("|u1", &[2, 64, 64], &[128; 2 * 64 * 64]);
    let d = read_happy_npy(&x, &npy_bytes("<i8", &[2, 1], &i64_bytes(&[1, 0]))).unwrap();
    assert_eq!(d.labels(), &[1, 0]);
    assert!(d.images().iter().all(|&v| v == 128.0 / 255.0));
    let err = read_happy_npy(&x, &npy_bytes("<i8", &[2], &i64_bytes(&[1, 5])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("label 5"), "{err}");
    let err = read_happy_npy(&x, &npy_bytes("<i8", &[3], &i64_bytes(&[1, 0, 1])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("2 images but 3 labels"), "{err}");
    let small = npy_bytes("|u1", &[2, 32, 32], &[0; 2 * 32 * 32]);
    let err = read_happy_npy(&small, &npy_bytes("<i8", &[2], &i64_bytes(&[1, 0])))
        .unwrap_err()
        .to_string();
    assert!(err.contains("[2, 32, 32]"), "{err}");
    let err = read_happy_npy(&npy_bytes("<i8", &[1], &i64_bytes(&[1])), &x)
        .unwrap_err()
        .to_string();
    assert!(err.contains("int64") && err.contains("uint8"), "{err}");
}
