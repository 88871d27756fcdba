//! The synthetic smiles generator: sizes, determinism, variation, mouth boxes, confound.

mod data_support;

use convscope::data::synthetic::{
    generate, generate_set, render_image, Confound, Difficulty, SyntheticParams, CLASS_NAMES, SIZE,
};
use convscope::data::{Dataset, Landmarks, PixelBox};

fn mean(v: impl Iterator<Item = f32>) -> f32 {
    let (s, n) = v.fold((0.0, 0), |(s, n), x| (s + x, n + 1));
    s / n as f32
}

fn std_dev(v: &[f32]) -> f32 {
    let m = mean(v.iter().copied());
    mean(v.iter().map(|x| (x - m) * (x - m))).sqrt()
}

#[test]
fn default_split_has_happy_house_sizes_and_balanced_labels() {
    let (train, test) = generate(&SyntheticParams::default()).unwrap();
    assert_eq!((train.len(), test.len()), (600, 150));
    for d in [&train, &test] {
        assert_eq!((d.height(), d.width(), d.channels()), (SIZE, SIZE, 3));
        assert_eq!(d.class_names(), CLASS_NAMES.map(String::from).as_slice());
        let counts = d.class_counts();
        assert_eq!(counts[0], counts[1], "half smiling, half frowning");
        // 8-bit values, like any photo.
        assert!(d
            .images()
            .iter()
            .all(|&v| (0.0..=1.0).contains(&v) && ((v * 255.0).round() - v * 255.0).abs() < 1e-4));
        assert_eq!(d.landmarks().unwrap().len(), d.len());
    }
    // Labels are in random order, not alternating.
    let alternations = train.labels().windows(2).filter(|w| w[0] != w[1]).count();
    assert!(
        alternations < 400,
        "{alternations} label changes in 599 neighbours"
    );
}

#[test]
fn same_seed_same_images_other_seed_other_images() {
    let a = generate_set(20, 5, Difficulty::Normal, None).unwrap();
    let b = generate_set(20, 5, Difficulty::Normal, None).unwrap();
    let c = generate_set(20, 6, Difficulty::Normal, None).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.images(), c.images());
    let (train, test) = generate(&SyntheticParams {
        train: 10,
        test: 10,
        ..SyntheticParams::default()
    })
    .unwrap();
    assert_ne!(
        &train.images(),
        &test.images(),
        "train and test come from different streams"
    );
}

#[test]
fn generation_matches_the_recorded_fingerprint() {
    // tests/data_wasm.rs checks the same value in the browser: one seed, one dataset, everywhere.
    let d = generate_set(16, 7, Difficulty::Normal, None).unwrap();
    assert_eq!(
        data_support::fingerprint(&d),
        data_support::SYNTHETIC_FINGERPRINT,
        "update the constant if the generator changed on purpose"
    );
}

#[test]
fn any_size_and_every_difficulty() {
    for (n, difficulty) in [
        (1, Difficulty::Easy),
        (7, Difficulty::Normal),
        (33, Difficulty::Hard),
    ] {
        let d = generate_set(n, 2, difficulty, None).unwrap();
        assert_eq!(d.len(), n);
    }
    assert!(generate_set(0, 1, Difficulty::Normal, None).is_err());
    assert!(generate_set(20_001, 1, Difficulty::Normal, None).is_err());
    let bad = Some(Confound {
        probability: 1.5,
        in_test: false,
    });
    assert!(generate_set(4, 1, Difficulty::Normal, bad)
        .unwrap_err()
        .to_string()
        .contains("between 0 and 1"));
}

#[test]
fn faces_move_and_mouth_boxes_are_tight_and_inside() {
    let d = generate_set(300, 9, Difficulty::Normal, None).unwrap();
    let boxes = d.landmarks().unwrap().iter().map(|l| &l.mouth);
    let (mut cx, mut cy, mut widths) = (Vec::new(), Vec::new(), Vec::new());
    for b in boxes {
        assert!(
            b.x0 < b.x1 && b.y0 < b.y1 && b.x1 <= SIZE && b.y1 <= SIZE,
            "{b:?}"
        );
        let (w, h) = (b.x1 - b.x0, b.y1 - b.y0);
        assert!(
            (4..=36).contains(&w) && (2..=28).contains(&h),
            "mouth box {w}x{h} is not mouth-sized"
        );
        cx.push((b.x0 + b.x1) as f32 / 2.0);
        cy.push((b.y0 + b.y1) as f32 / 2.0);
        widths.push(w as f32);
    }
    // The mouth wanders: a fixed pixel template cannot find it. (Normal difficulty shifts the
    // face uniformly by up to 4 px, a standard deviation of 2.3 px, before size and tilt add theirs.)
    assert!(
        std_dev(&cx) > 2.5 && std_dev(&cy) > 2.5,
        "mouth centres vary by {} x {}",
        std_dev(&cx),
        std_dev(&cy)
    );
    assert!(std_dev(&widths) > 2.0);
    // Mouth size does not give the label away.
    let by_label = |l: u8| {
        mean(
            widths
                .iter()
                .zip(d.labels())
                .filter(|(_, &y)| y == l)
                .map(|(w, _)| *w),
        )
    };
    assert!(
        (by_label(0) - by_label(1)).abs() < 1.5,
        "mean mouth widths {} vs {}",
        by_label(0),
        by_label(1)
    );
}

#[test]
fn face_boxes_hold_their_mouths_and_are_face_sized() {
    let d = generate_set(300, 9, Difficulty::Normal, None).unwrap();
    for (i, l) in d.landmarks().unwrap().iter().enumerate() {
        let (f, m) = (&l.face, &l.mouth);
        // The mouth lies in the face's lower half (its box may stick out by the stroke's width).
        assert!(
            m.x0 + 2 >= f.x0 && m.x1 <= f.x1 + 2 && m.y1 <= f.y1 + 2,
            "image {i}: mouth {m:?} outside face {f:?}"
        );
        assert!(
            2 * m.y0 >= f.y0 + f.y1 - 2,
            "image {i}: mouth {m:?} above the middle of {f:?}"
        );
        let (w, h) = (f.x1 - f.x0, f.y1 - f.y0);
        assert!(
            (14..=50).contains(&w) && h > w,
            "image {i}: face box {w}x{h}"
        );
    }
}

#[test]
fn a_face_with_the_other_label_differs_only_inside_the_mouth_boxes() {
    let mut differing = 0;
    for seed in 0..200u64 {
        let (
            smile,
            Landmarks {
                mouth: smile_box, ..
            },
        ) = render_image(seed, true, Difficulty::Normal, None);
        let (
            frown,
            Landmarks {
                mouth: frown_box, ..
            },
        ) = render_image(seed, false, Difficulty::Normal, None);
        assert_eq!(smile.len(), SIZE * SIZE * 3);
        let inside =
            |b: &PixelBox, x: usize, y: usize| x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1;
        let mut changed = 0;
        for y in 0..SIZE {
            for x in 0..SIZE {
                let p = (y * SIZE + x) * 3;
                if (0..3).any(|k| smile[p + k] != frown[p + k]) {
                    assert!(
                        inside(&smile_box, x, y) || inside(&frown_box, x, y),
                        "seed {seed}: pixel ({x}, {y}) changed outside the mouth boxes"
                    );
                    changed += 1;
                }
            }
        }
        assert!(
            changed >= 4,
            "seed {seed}: the mouth must change with the label ({changed} pixels did)"
        );
        differing += changed;
    }
    println!(
        "a label flip changes {} pixels per face on average",
        differing / 200
    );
}

/// Mean brightness of the top row of pixels (nearly always background) per label.
fn top_row_brightness(d: &Dataset, label: u8) -> f32 {
    mean(
        (0..d.len())
            .filter(|&i| d.labels()[i] == label)
            .map(|i| mean(d.image(i)[..SIZE * 3].iter().copied())),
    )
}

#[test]
fn planted_confound_brightens_smiles_and_darkens_frowns() {
    let clean = generate_set(200, 11, Difficulty::Normal, None).unwrap();
    let gap = top_row_brightness(&clean, 1) - top_row_brightness(&clean, 0);
    assert!(
        gap.abs() < 0.06,
        "without a confound the backgrounds do not follow the label (gap {gap})"
    );
    let planted = generate_set(
        200,
        11,
        Difficulty::Normal,
        Some(Confound {
            probability: 1.0,
            in_test: false,
        }),
    )
    .unwrap();
    let gap = top_row_brightness(&planted, 1) - top_row_brightness(&planted, 0);
    assert!(
        gap > 0.3,
        "with probability 1 smiles sit on brighter backgrounds (gap {gap})"
    );
    let half = generate_set(
        200,
        11,
        Difficulty::Normal,
        Some(Confound {
            probability: 0.5,
            in_test: false,
        }),
    )
    .unwrap();
    let half_gap = top_row_brightness(&half, 1) - top_row_brightness(&half, 0);
    assert!(
        half_gap > 0.08 && half_gap < gap,
        "probability 0.5 plants a weaker cue (gap {half_gap})"
    );

    // By default only the training set carries the confound.
    let params = |in_test| SyntheticParams {
        train: 100,
        test: 100,
        confound: Some(Confound {
            probability: 1.0,
            in_test,
        }),
        ..SyntheticParams::default()
    };
    let (train, test) = generate(&params(false)).unwrap();
    assert!(top_row_brightness(&train, 1) - top_row_brightness(&train, 0) > 0.3);
    assert!((top_row_brightness(&test, 1) - top_row_brightness(&test, 0)).abs() < 0.1);
    let (_, test) = generate(&params(true)).unwrap();
    assert!(top_row_brightness(&test, 1) - top_row_brightness(&test, 0) > 0.3);
}
