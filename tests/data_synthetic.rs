//! The synthetic smiles generator: sizes, determinism, variation, mouth boxes, confound.

use convscope::data::synthetic::{generate, generate_set, Confound, Difficulty, SyntheticParams, CLASS_NAMES, SIZE};
use convscope::data::Dataset;

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
        assert!(d.images().iter().all(|&v| (0.0..=1.0).contains(&v) && ((v * 255.0).round() - v * 255.0).abs() < 1e-4));
        assert_eq!(d.mouth_boxes().unwrap().len(), d.len());
    }
    // Labels are in random order, not alternating.
    let alternations = train.labels().windows(2).filter(|w| w[0] != w[1]).count();
    assert!(alternations < 400, "{alternations} label changes in 599 neighbours");
}

#[test]
fn same_seed_same_images_other_seed_other_images() {
    let a = generate_set(20, 5, Difficulty::Normal, None).unwrap();
    let b = generate_set(20, 5, Difficulty::Normal, None).unwrap();
    let c = generate_set(20, 6, Difficulty::Normal, None).unwrap();
    assert_eq!(a, b);
    assert_ne!(a.images(), c.images());
    let (train, test) = generate(&SyntheticParams { train: 10, test: 10, ..SyntheticParams::default() }).unwrap();
    assert_ne!(train.images(), test.images(), "train and test come from different streams");
}

#[test]
fn any_size_and_every_difficulty() {
    for (n, difficulty) in [(1, Difficulty::Easy), (7, Difficulty::Normal), (33, Difficulty::Hard)] {
        let d = generate_set(n, 2, difficulty, None).unwrap();
        assert_eq!(d.len(), n);
    }
    assert!(generate_set(0, 1, Difficulty::Normal, None).is_err());
    assert!(generate_set(20_001, 1, Difficulty::Normal, None).is_err());
    let bad = Some(Confound { probability: 1.5, in_test: false });
    assert!(generate_set(4, 1, Difficulty::Normal, bad).unwrap_err().to_string().contains("between 0 and 1"));
}

#[test]
fn faces_move_and_mouth_boxes_are_tight_and_inside() {
    let d = generate_set(300, 9, Difficulty::Normal, None).unwrap();
    let boxes = d.mouth_boxes().unwrap();
    let (mut cx, mut cy, mut widths) = (Vec::new(), Vec::new(), Vec::new());
    for b in boxes {
        assert!(b.x0 < b.x1 && b.y0 < b.y1 && b.x1 <= SIZE && b.y1 <= SIZE, "{b:?}");
        let (w, h) = (b.x1 - b.x0, b.y1 - b.y0);
        assert!((4..=30).contains(&w) && (2..=20).contains(&h), "mouth box {w}x{h} is not mouth-sized");
        cx.push((b.x0 + b.x1) as f32 / 2.0);
        cy.push((b.y0 + b.y1) as f32 / 2.0);
        widths.push(w as f32);
    }
    // The mouth wanders: a fixed pixel template cannot find it.
    assert!(std_dev(&cx) > 3.0 && std_dev(&cy) > 3.0, "mouth centres vary by {} x {}", std_dev(&cx), std_dev(&cy));
    assert!(std_dev(&widths) > 2.0);
    // Mouth size does not give the label away.
    let by_label = |l: u8| mean(widths.iter().zip(d.labels()).filter(|(_, &y)| y == l).map(|(w, _)| *w));
    assert!((by_label(0) - by_label(1)).abs() < 1.5, "mean mouth widths {} vs {}", by_label(0), by_label(1));
}

#[test]
fn mouth_boxes_hold_the_mouth() {
    // The mouth is drawn in a lip colour darker than the skin around it: the darkest
    // pixel of the lower face should usually lie inside the box.
    let d = generate_set(200, 4, Difficulty::Easy, None).unwrap();
    let boxes = d.mouth_boxes().unwrap();
    let mut inside = 0;
    for (i, b) in boxes.iter().enumerate() {
        let img = d.image(i);
        let luma = |x: usize, y: usize| img[(y * SIZE + x) * 3..][..3].iter().sum::<f32>();
        // Mean luma inside the box against a ring of the same size just around it.
        let (w, h) = (b.x1 - b.x0, b.y1 - b.y0);
        let ring_x = (b.x0.saturating_sub(w / 2), (b.x1 + w / 2).min(SIZE));
        let ring_y = (b.y0.saturating_sub(h), (b.y1 + h).min(SIZE));
        let (mut in_sum, mut in_n, mut min_in) = (0.0, 0, f32::MAX);
        let (mut out_sum, mut out_n) = (0.0, 0);
        for y in ring_y.0..ring_y.1 {
            for x in ring_x.0..ring_x.1 {
                if x >= b.x0 && x < b.x1 && y >= b.y0 && y < b.y1 {
                    in_sum += luma(x, y);
                    in_n += 1;
                    min_in = min_in.min(luma(x, y));
                } else {
                    out_sum += luma(x, y);
                    out_n += 1;
                }
            }
        }
        if min_in < out_sum / out_n as f32 - 0.3 && in_sum / (in_n as f32) < out_sum / out_n as f32 {
            inside += 1;
        }
    }
    assert!(inside >= 170, "only {inside} of 200 boxes hold a clearly dark mouth");
}

/// Mean brightness of the top row of pixels (nearly always background) per label.
fn top_row_brightness(d: &Dataset, label: u8) -> f32 {
    mean((0..d.len()).filter(|&i| d.labels()[i] == label).map(|i| mean(d.image(i)[..SIZE * 3].iter().copied())))
}

#[test]
fn planted_confound_brightens_smiles_and_darkens_frowns() {
    let clean = generate_set(200, 11, Difficulty::Normal, None).unwrap();
    let gap = top_row_brightness(&clean, 1) - top_row_brightness(&clean, 0);
    assert!(gap.abs() < 0.06, "without a confound the backgrounds do not follow the label (gap {gap})");
    let planted = generate_set(200, 11, Difficulty::Normal, Some(Confound { probability: 1.0, in_test: false })).unwrap();
    let gap = top_row_brightness(&planted, 1) - top_row_brightness(&planted, 0);
    assert!(gap > 0.3, "with probability 1 smiles sit on brighter backgrounds (gap {gap})");
    let half = generate_set(200, 11, Difficulty::Normal, Some(Confound { probability: 0.5, in_test: false })).unwrap();
    let half_gap = top_row_brightness(&half, 1) - top_row_brightness(&half, 0);
    assert!(half_gap > 0.08 && half_gap < gap, "probability 0.5 plants a weaker cue (gap {half_gap})");

    // By default only the training set carries the confound.
    let params = |in_test| SyntheticParams {
        train: 100,
        test: 100,
        confound: Some(Confound { probability: 1.0, in_test }),
        ..SyntheticParams::default()
    };
    let (train, test) = generate(&params(false)).unwrap();
    assert!(top_row_brightness(&train, 1) - top_row_brightness(&train, 0) > 0.3);
    assert!((top_row_brightness(&test, 1) - top_row_brightness(&test, 0)).abs() < 0.1);
    let (_, test) = generate(&params(true)).unwrap();
    assert!(top_row_brightness(&test, 1) - top_row_brightness(&test, 0) > 0.3);
}
