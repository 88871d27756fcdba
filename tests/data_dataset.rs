//! The Dataset type: construction checks, subset, stratified split, grayscale, batches.

use convscope::data::{gray_from_rgb_u8, Batches, Dataset, MouthBox};
use convscope::rng::rng_from_seed;

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
fn mouth_boxes_must_fit_the_images() {
    let d = numbered(&[0, 1]);
    let inside = MouthBox {
        x0: 0,
        y0: 0,
        x1: 2,
        y1: 1,
    };
    let outside = MouthBox {
        x0: 1,
        y0: 0,
        x1: 3,
        y1: 1,
    };
    assert!(d.clone().with_mouth_boxes(vec![inside, inside]).is_ok());
    assert!(d.clone().with_mouth_boxes(vec![inside]).is_err());
    assert!(d.with_mouth_boxes(vec![inside, outside]).is_err());
}

#[test]
fn subset_keeps_images_labels_and_boxes_together() {
    let d = numbered(&[0, 1, 1, 0, 1]);
    let boxes: Vec<MouthBox> = (0..5)
        .map(|i| MouthBox {
            x0: 0,
            y0: 0,
            x1: 1 + i % 2,
            y1: 1,
        })
        .collect();
    let d = d.with_mouth_boxes(boxes.clone()).unwrap();
    let s = d.subset(&[4, 1, 1]);
    assert_eq!(ids(&s), vec![4, 1, 1]);
    assert_eq!(s.labels(), &[1, 1, 1]);
    assert_eq!(s.mouth_boxes().unwrap(), &[boxes[4], boxes[1], boxes[1]]);
    assert_eq!(s.class_counts(), vec![0, 3]);
}

#[test]
fn stratified_split_keeps_class_shares_and_is_seeded() {
    let labels: Vec<u8> = (0..40).map(|i| (i % 4 == 0) as u8).collect(); // 30 of class 0, 10 of class 1
    let d = numbered(&labels);
    let (train, test) = d.stratified_split(0.2, 7).unwrap();
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
    let (_, again) = d.stratified_split(0.2, 7).unwrap();
    assert_eq!(ids(&again), ids(&test));
    let (_, other) = d.stratified_split(0.2, 8).unwrap();
    assert_ne!(ids(&other), ids(&test));
}

#[test]
fn stratified_split_rejects_useless_fractions() {
    let d = numbered(&[0, 1, 0, 1]);
    for bad in [0.0, 1.0, -0.5, f32::NAN] {
        assert!(d.stratified_split(bad, 1).is_err(), "fraction {bad}");
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
                assert_eq!(&x[k * d.image_len()..(k + 1) * d.image_len()], d.image(id));
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
