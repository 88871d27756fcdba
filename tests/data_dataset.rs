//! The Dataset type: construction checks, subset, stratified split, grayscale, batches.

use convscope::data::{gray_from_rgb_u8, Batches, Dataset, Landmarks, PixelBox};
use convscope::rng::rng_from_seed;

mod split_support;
use split_support::assert_proportional;

/// `n` 2x2 RGB images; image i is filled with the value i / 255, labels given.
fn numbered(labels: &[u8]) -> Dataset {
    let images = labels
        .iter()
        .enumerate()
        .flat_map(|(i, _)| std::iter::repeat_n(i as f32 / 255.0, 12))
        .collect();
    Dataset::new(
        images,
        labels.to_vec(),
        2,
        2,
        3,
        vec!["a".into(), "b".into()],
    )
    .unwrap()
}

/// Which original images a derived dataset holds (by their fill value).
fn ids(d: &Dataset) -> Vec<usize> {
    (0..d.len())
        .map(|i| (d.image(i)[0] * 255.0).round() as usize)
        .collect()
}

#[test]
fn new_rejects_inconsistent_buffers() {
    let names = || vec!["a".to_string(), "b".to_string()];
    let err = Dataset::new(vec![0.0; 11], vec![0], 2, 2, 3, names()).unwrap_err();
    assert!(err.to_string().contains("12 pixel values"), "{err}");
    let err = Dataset::new(vec![0.0; 12], vec![2], 2, 2, 3, names()).unwrap_err();
    assert!(err.to_string().contains("label 2"), "{err}");
    let err = Dataset::new(vec![0.0; 8], vec![0], 2, 2, 2, names()).unwrap_err();
    assert!(err.to_string().contains("channels"), "{err}");
    let err = Dataset::new(vec![0.0; 12], vec![0], 2, 2, 3, vec!["only".into()]).unwrap_err();
    assert!(err.to_string().contains("2 to 256 classes"), "{err}");
}

#[test]
fn face_and_mouth_boxes_must_fit_the_images() {
    let d = numbered(&[0, 1]);
    let inside = PixelBox {
        x0: 0,
        y0: 0,
        x1: 2,
        y1: 1,
    };
    let outside = PixelBox {
        x0: 1,
        y0: 0,
        x1: 3,
        y1: 1,
    };
    let both = |face, mouth| Landmarks { face, mouth };
    let good = both(inside, inside);
    assert!(d.clone().with_landmarks(vec![good, good]).is_ok());
    assert!(d.clone().with_landmarks(vec![good]).is_err());
    assert!(d
        .clone()
        .with_landmarks(vec![good, both(inside, outside)])
        .is_err());
    assert!(d.with_landmarks(vec![both(outside, inside), good]).is_err());
}

#[test]
fn subset_keeps_images_labels_and_boxes_together() {
    let d = numbered(&[0, 1, 1, 0, 1]);
    let boxes: Vec<Landmarks> = (0..5)
        .map(|i| {
            let b = PixelBox {
                x0: 0,
                y0: 0,
                x1: 1 + i % 2,
                y1: 1,
            };
            Landmarks { face: b, mouth: b }
        })
        .collect();
    let d = d.with_landmarks(boxes.clone()).unwrap();
    let s = d.subset(&[4, 1, 1]);
    assert_eq!(ids(&s), vec![4, 1, 1]);
    assert_eq!(s.labels(), &[1, 1, 1]);
    assert_eq!(s.landmarks().unwrap(), &[boxes[4], boxes[1], boxes[1]]);
    assert_eq!(s.class_counts(), vec![0, 3]);
}

#[test]
fn stratified_split_keeps_class_shares_and_is_seeded() {
    let labels: Vec<u8> = (0..40).map(|i| (i % 4 == 0) as u8).collect(); // 30 of class 0, 10 of class 1
    let d = numbered(&labels);
    let (train, test) = d.clone().stratified_split(0.2, 7).unwrap();
    assert_eq!(test.class_counts(), vec![6, 2]);
    assert_eq!(train.class_counts(), vec![24, 8]);
    let mut all = ids(&train);
    all.extend(ids(&test));
    all.sort();
    assert_eq!(
        all,
        (0..40).collect::<Vec<_>>(),
        "the parts must be disjoint and cover everything"
    );
    // Labels travel with their images.
    for part in [&train, &test] {
        for (id, &l) in ids(part).iter().zip(part.labels()) {
            assert_eq!(labels[*id], l);
        }
    }
    let (_, again) = d.clone().stratified_split(0.2, 7).unwrap();
    assert_eq!(ids(&again), ids(&test));
    let (_, other) = d.stratified_split(0.2, 8).unwrap();
    assert_ne!(ids(&other), ids(&test));
}

#[test]
fn stratified_split_rejects_useless_fractions() {
    let d = numbered(&[0, 1, 0, 1]);
    for bad in [0.0, 1.0, -0.5, f32::NAN] {
        assert!(
            d.clone().stratified_split(bad, 1).is_err(),
            "fraction {bad}"
        );
    }
    let err = d.stratified_split(0.1, 1).unwrap_err();
    assert!(err.to_string().contains("0 for testing"), "{err}");
}

#[test]
fn gray_formula_is_opencvs_fixed_point() {
    assert_eq!(gray_from_rgb_u8(0, 0, 0), 0);
    assert_eq!(gray_from_rgb_u8(255, 255, 255), 255);
    // (4899 * 255 + 8192) >> 14 = 1257437 >> 14 = 76, and likewise for G and B.
    assert_eq!(gray_from_rgb_u8(255, 0, 0), 76);
    assert_eq!(gray_from_rgb_u8(0, 255, 0), 150);
    assert_eq!(gray_from_rgb_u8(0, 0, 255), 29);
    // A gray pixel stays itself: the weights sum to 2^14.
    for v in 0..=255u8 {
        assert_eq!(gray_from_rgb_u8(v, v, v), v);
    }
}

#[test]
fn to_grayscale_applies_the_formula_per_pixel() {
    let rgb: [[u8; 3]; 4] = [[10, 200, 30], [255, 0, 128], [7, 7, 7], [90, 60, 250]];
    let images = rgb.iter().flatten().map(|&v| v as f32 / 255.0).collect();
    let d = Dataset::new(images, vec![1], 2, 2, 3, vec!["a".into(), "b".into()]).unwrap();
    let g = d.to_grayscale();
    assert_eq!(g.channels(), 1);
    assert_eq!(g.labels(), d.labels());
    for (k, p) in rgb.iter().enumerate() {
        assert_eq!(
            g.images()[k],
            gray_from_rgb_u8(p[0], p[1], p[2]) as f32 / 255.0
        );
    }
    assert_eq!(g.to_grayscale(), g);
}

#[test]
fn batches_cover_every_image_once_per_epoch() {
    let d = numbered(&[0, 1, 0, 1, 1, 0, 0, 1, 1, 0]);
    let mut batches = Batches::new(d.len(), 4);
    assert_eq!(batches.len(), 3);
    let mut rng = rng_from_seed(3);
    let mut x = vec![0.0f32; 4 * d.image_len()]; // (B, H, W, C)
    let mut y = vec![0u8; 4]; // (B,)
    let mut orders = Vec::new();
    for _epoch in 0..2 {
        batches.shuffle(&mut rng);
        let mut seen = Vec::new();
        let mut sizes = Vec::new();
        for b in 0..batches.len() {
            let count = batches.fill(b, &d, &mut x, &mut y);
            sizes.push(count);
            for k in 0..count {
                let id = (x[k * d.image_len()] * 255.0).round() as usize;
                assert_eq!(
                    &x[k * d.image_len()..(k + 1) * d.image_len()],
                    &*d.image(id)
                );
                assert_eq!(y[k], d.labels()[id]);
                assert_eq!(batches.indices(b)[k], id);
                seen.push(id);
            }
        }
        assert_eq!(sizes, vec![4, 4, 2]);
        orders.push(seen.clone());
        seen.sort();
        assert_eq!(seen, (0..10).collect::<Vec<_>>());
    }
    assert_ne!(orders[0], orders[1], "each epoch gets a new order");
    // The same seed gives the same orders.
    let mut again = Batches::new(d.len(), 4);
    let mut rng = rng_from_seed(3);
    again.shuffle(&mut rng);
    let first: Vec<usize> = (0..again.len())
        .flat_map(|b| again.indices(b).to_vec())
        .collect();
    assert_eq!(first, orders[0]);
}

/// A class-ordered set as a folder gives it: `counts[c]` images of class c, class after class,
/// 8-bit 2x2 RGB; image i holds `i % 256` and `i / 256` in its first two values.
fn class_ordered(counts: &[usize]) -> Dataset {
    let labels: Vec<u8> = counts
        .iter()
        .enumerate()
        .flat_map(|(c, &n)| std::iter::repeat_n(c as u8, n))
        .collect();
    let images = (0..labels.len())
        .flat_map(|i| {
            let mut px = [0u8; 12];
            px[0] = (i % 256) as u8;
            px[1] = (i / 256) as u8;
            px
        })
        .collect();
    let names = (0..counts.len()).map(|c| format!("class{c}")).collect();
    Dataset::from_bytes(images, labels, 2, 2, 3, names).unwrap()
}

fn byte_ids(d: &Dataset) -> Vec<usize> {
    (0..d.len())
        .map(|i| {
            let px = d.image(i);
            (px[0] * 255.0).round() as usize + 256 * (px[1] * 255.0).round() as usize
        })
        .collect()
}

/// Class counts of `d`'s images `start..`.
fn tail_counts(d: &Dataset, start: usize) -> Vec<usize> {
    let mut counts = vec![0; d.class_names().len()];
    for &l in &d.labels()[start..] {
        counts[l as usize] += 1;
    }
    counts
}

#[test]
fn class_ordered_input_gives_stratified_shuffled_test_and_validation_sets() {
    // The shapes of the issue: 9,475 / 3,690 (scaled down), 600 / 600, and three classes.
    for counts in [vec![948, 369], vec![600, 600], vec![50, 31, 7]] {
        for seed in 0..4 {
            let (train, test) = class_ordered(&counts).stratified_split(0.2, seed).unwrap();
            assert_proportional(&test.class_counts(), &counts, "test set");
            // Keras's validation_split keeps the first floor(N * (1 - f)) for training.
            for f in [0.1f64, 0.2, 0.25, 0.5] {
                let at = (train.len() as f64 * (1.0 - f)).floor() as usize;
                assert_proportional(
                    &tail_counts(&train, at),
                    &train.class_counts(),
                    &format!("validation split {f} of {counts:?}, seed {seed}"),
                );
            }
            // Shuffled: within each class the images are not in their folder order.
            for part in [&train, &test] {
                let ids = byte_ids(part);
                let class0: Vec<usize> = ids
                    .iter()
                    .zip(part.labels())
                    .filter(|(_, &l)| l == 0)
                    .map(|(&i, _)| i)
                    .collect();
                assert!(
                    class0.windows(2).any(|w| w[0] > w[1]),
                    "{counts:?} seed {seed}: class 0 kept its order"
                );
            }
            // Labels travel with their images, and the parts cover the set once.
            let mut all: Vec<usize> = byte_ids(&train);
            all.extend(byte_ids(&test));
            let labels_of = |d: &Dataset| d.labels().to_vec();
            let original = class_ordered(&counts);
            for (part, ids) in [(&train, byte_ids(&train)), (&test, byte_ids(&test))] {
                for (k, &id) in ids.iter().enumerate() {
                    assert_eq!(labels_of(part)[k], original.labels()[id]);
                }
            }
            all.sort();
            assert_eq!(all, (0..original.len()).collect::<Vec<_>>());
        }
    }
}

#[test]
fn same_seed_same_split_and_order() {
    let counts = [120, 45];
    let a = class_ordered(&counts).stratified_split(0.2, 3).unwrap();
    let b = class_ordered(&counts).stratified_split(0.2, 3).unwrap();
    assert_eq!(
        (byte_ids(&a.0), byte_ids(&a.1)),
        (byte_ids(&b.0), byte_ids(&b.1))
    );
    let c = class_ordered(&counts).stratified_split(0.2, 4).unwrap();
    assert_ne!(byte_ids(&a.0), byte_ids(&c.0));
    let s1 = class_ordered(&counts).spread_order(9);
    let s2 = class_ordered(&counts).spread_order(9);
    assert_eq!(byte_ids(&s1), byte_ids(&s2));
}

#[test]
fn spread_order_makes_every_tail_of_a_sorted_set_proportional() {
    let counts = [300, 120, 33];
    let d = class_ordered(&counts).spread_order(5);
    let mut ids = byte_ids(&d);
    for start in 0..d.len() {
        assert_proportional(
            &tail_counts(&d, start),
            &counts,
            &format!("tail from {start}"),
        );
    }
    ids.sort();
    assert_eq!(ids, (0..d.len()).collect::<Vec<_>>());
}

#[test]
fn bytes_and_floats_give_the_same_examples() {
    let bytes: Vec<u8> = (0..24).map(|v| (v * 11) as u8).collect();
    let floats: Vec<f32> = bytes.iter().map(|&b| b as f32 / 255.0).collect();
    let names = || vec!["a".to_string(), "b".to_string()];
    let b = Dataset::from_bytes(bytes, vec![0, 1], 2, 2, 3, names()).unwrap();
    let f = Dataset::new(floats, vec![0, 1], 2, 2, 3, names()).unwrap();
    assert!(b.is_bytes() && !f.is_bytes());
    assert_eq!(b.examples().images(), f.examples().images());
    assert_eq!(b.image(1), f.image(1));
    assert_eq!(b.to_grayscale().images(), f.to_grayscale().images());
    let mut batches = Batches::new(2, 2);
    batches.shuffle(&mut rng_from_seed(1));
    let (mut xb, mut xf) = (vec![0.0; 24], vec![0.0; 24]);
    let (mut lb, mut lf) = (vec![0; 2], vec![0; 2]);
    batches.fill(0, &b, &mut xb, &mut lb);
    batches.fill(0, &f, &mut xf, &mut lf);
    assert_eq!((xb, lb), (xf, lf));
}

#[test]
fn spread_order_holds_for_many_class_mixes() {
    let mut rng = rng_from_seed(11);
    use rand::RngExt;
    for _ in 0..200 {
        let k = rng.random_range(2..6usize);
        let counts: Vec<usize> = (0..k).map(|_| rng.random_range(1..80usize)).collect();
        let d = class_ordered(&counts).spread_order(rng.random());
        for start in 0..d.len() {
            assert_proportional(
                &tail_counts(&d, start),
                &counts,
                &format!("{counts:?} from {start}"),
            );
        }
    }
}
