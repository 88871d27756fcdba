//! Data augmentation: each geometric change against the picture it must give (hand-checkable
//! integer cases: mirror, quarter turn, whole-pixel shifts with reflected edges, zoom on a ramp),
//! the elastic field's size and smoothness, brightness and contrast, seeding, the ranges a
//! student may ask for, and training with it (reproducible, different from without, the data
//! left as it was).

use convscope::app::session::{Session, Split, TrainSettings};
use convscope::data::augment::{adjust, warp, Augmentation, Augmenter, Variation};
use convscope::nn::{fit_transformed, FitConfig, ModelSpec, Sequential, Silent};
use convscope::rng::rng_from_seed;

/// (H, W, C) picture whose value at (y, x, c) is `f(y, x, c)`.
fn picture(h: usize, w: usize, c: usize, f: impl Fn(usize, usize, usize) -> f32) -> Vec<f32> {
    let mut out = Vec::with_capacity(h * w * c);
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                out.push(f(y, x, k));
            }
        }
    }
    out
}

/// Distinct integer-valued pixels, so that any misplaced read shows.
fn numbered(h: usize, w: usize, c: usize) -> Vec<f32> {
    picture(h, w, c, |y, x, k| ((y * w + x) * c + k) as f32)
}

fn warped(v: &Variation, src: &[f32], h: usize, w: usize, c: usize) -> Vec<f32> {
    let mut dst = vec![f32::NAN; src.len()];
    warp(v, src, &mut dst, h, w, c);
    dst
}

/// Keras's "reflect" fill: ... c b a | a b c ... | c b a ...
fn mirror(i: i64, n: usize) -> usize {
    let n = n as i64;
    let m = i.rem_euclid(2 * n);
    (if m < n { m } else { 2 * n - 1 - m }) as usize
}

#[test]
fn the_identity_changes_nothing() {
    let (h, w, c) = (6, 9, 3);
    let src = numbered(h, w, c);
    assert_eq!(warped(&Variation::identity(), &src, h, w, c), src);
    let mut image: Vec<f32> = src.iter().map(|v| v / src.len() as f32).collect();
    let before = image.clone();
    Augmenter::new(Augmentation::default(), (h, w, c), 3)
        .unwrap()
        .augment(&mut image);
    assert_eq!(image, before);
    assert!(Augmentation::default().is_off());
    assert!(!Augmentation::suggested().is_off());
}

#[test]
fn flips_mirror_exactly() {
    let (h, w, c) = (5, 8, 2);
    let src = numbered(h, w, c);
    let at = |img: &[f32], y: usize, x: usize, k: usize| img[(y * w + x) * c + k];
    let mut v = Variation::identity();
    v.flip_horizontal = true;
    let dst = warped(&v, &src, h, w, c);
    let mut v = Variation::identity();
    v.flip_vertical = true;
    let upside = warped(&v, &src, h, w, c);
    for y in 0..h {
        for x in 0..w {
            for k in 0..c {
                assert_eq!(at(&dst, y, x, k), at(&src, y, w - 1 - x, k));
                assert_eq!(at(&upside, y, x, k), at(&src, h - 1 - y, x, k));
            }
        }
    }
}

#[test]
fn a_quarter_turn_moves_every_pixel_where_it_belongs() {
    // +90° turns clockwise on screen (y points down): the top row becomes the right column.
    let n = 7;
    let src = numbered(n, n, 1);
    let mut v = Variation::identity();
    v.rotation_degrees = 90.0;
    let dst = warped(&v, &src, n, n, 1);
    for y in 0..n {
        for x in 0..n {
            let want = src[(n - 1 - x) * n + y];
            assert!(
                (dst[y * n + x] - want).abs() < 1e-4,
                "({y},{x}): {} vs {want}",
                dst[y * n + x]
            );
        }
    }
}

#[test]
fn whole_pixel_shifts_move_the_content_and_mirror_at_the_edges() {
    let (h, w, c) = (6, 7, 1);
    let src = numbered(h, w, c);
    let mut v = Variation::identity();
    v.shift = (3.0, -2.0);
    let dst = warped(&v, &src, h, w, c);
    for y in 0..h {
        for x in 0..w {
            let (sy, sx) = (mirror(y as i64 + 2, h), mirror(x as i64 - 3, w));
            assert_eq!(dst[y * w + x], src[sy * w + sx], "at ({y},{x})");
        }
    }
}

#[test]
fn zoom_scales_about_the_centre() {
    // On a ramp f = x the zoomed picture reads the ramp at cx + (x - cx) / zoom.
    let (h, w) = (9, 16);
    let src = picture(h, w, 1, |_, x, _| x as f32);
    let mut v = Variation::identity();
    v.zoom = 2.0;
    let dst = warped(&v, &src, h, w, 1);
    let cx = (w as f32 - 1.0) / 2.0;
    for y in 0..h {
        for x in 0..w {
            let want = cx + (x as f32 - cx) / 2.0;
            assert!((dst[y * w + x] - want).abs() < 1e-5);
        }
    }
}

#[test]
fn the_elastic_field_is_smooth_and_as_strong_as_asked() {
    let (h, w) = (64, 64);
    let a = Augmentation {
        elastic_pixels: 3.0,
        ..Augmentation::default()
    };
    let v = Variation::draw(&a, &mut rng_from_seed(5), h, w);
    let (dx, dy) = &v.elastic;
    assert_eq!((dx.len(), dy.len()), (h * w, h * w));
    let largest = dx
        .iter()
        .zip(dy)
        .map(|(x, y)| x.hypot(*y))
        .fold(0.0f32, f32::max);
    assert!((largest - 3.0).abs() < 1e-4, "largest move {largest}");
    // Smooth: neighbours move almost alike (white noise scaled the same way would not).
    let mut steepest = 0.0f32;
    for y in 0..h {
        for x in 1..w {
            steepest = steepest.max((dx[y * w + x] - dx[y * w + x - 1]).abs());
        }
    }
    assert!(
        steepest < 0.75,
        "neighbouring moves differ by {steepest} px"
    );
    // On a ramp f = x, every value moves by its horizontal displacement.
    let src = picture(h, w, 1, |_, x, _| x as f32);
    let dst = warped(&v, &src, h, w, 1);
    for y in 4..h - 4 {
        for x in 4..w - 4 {
            let moved = dst[y * w + x] - x as f32;
            assert!((moved - dx[y * w + x]).abs() < 1e-3);
        }
    }
}

#[test]
fn brightness_adds_and_contrast_keeps_each_channel_mean() {
    let src = picture(4, 5, 3, |y, x, k| {
        0.3 + 0.02 * (y + x) as f32 + 0.1 * k as f32
    });
    let mut v = Variation::identity();
    v.contrast = 1.5;
    let mut image = src.clone();
    adjust(&v, &mut image, 3);
    for k in 0..3 {
        let mean = |img: &[f32]| img.iter().skip(k).step_by(3).sum::<f32>() / 20.0;
        assert!((mean(&image) - mean(&src)).abs() < 1e-5);
    }
    let spread = |img: &[f32]| img[57] - img[0];
    assert!((spread(&image) - 1.5 * spread(&src)).abs() < 1e-5);
    let mut v = Variation::identity();
    v.brightness = 0.5;
    let mut image = src.clone();
    adjust(&v, &mut image, 3);
    for (after, before) in image.iter().zip(&src) {
        assert!((after - (before + 0.5).min(1.0)).abs() < 1e-6);
    }
    assert!(image.contains(&1.0), "clamped at 1");
}

#[test]
fn draws_stay_in_range_and_cover_it() {
    let a = Augmentation {
        rotation_degrees: 20.0,
        shift: 0.25,
        zoom: 1.5,
        brightness: 0.2,
        contrast: 0.4,
        flip_horizontal: true,
        ..Augmentation::default()
    };
    let mut rng = rng_from_seed(11);
    let draws: Vec<Variation> = (0..2000)
        .map(|_| Variation::draw(&a, &mut rng, 40, 64))
        .collect();
    let max = |f: &dyn Fn(&Variation) -> f32| draws.iter().map(f).fold(f32::MIN, f32::max);
    let min = |f: &dyn Fn(&Variation) -> f32| draws.iter().map(f).fold(f32::MAX, f32::min);
    assert!(max(&|v| v.rotation_degrees.abs()) <= 20.0);
    assert!(max(&|v| v.rotation_degrees) > 19.0 && min(&|v| v.rotation_degrees) < -19.0);
    assert!(max(&|v| v.shift.0.abs()) <= 16.0 && max(&|v| v.shift.1.abs()) <= 10.0);
    assert!(max(&|v| v.shift.0) > 15.0 && max(&|v| v.shift.1) > 9.0);
    assert!(max(&|v| v.zoom) <= 1.5 + 1e-5 && min(&|v| v.zoom) >= 1.0 / 1.5 - 1e-5);
    assert!(max(&|v| v.zoom) > 1.45 && min(&|v| v.zoom) < 0.7);
    assert!(max(&|v| v.contrast) <= 1.4 && min(&|v| v.contrast) >= 0.6);
    let flipped = draws.iter().filter(|v| v.flip_horizontal).count();
    assert!((800..1200).contains(&flipped), "{flipped} of 2000 flipped");
    assert!(draws
        .iter()
        .all(|v| !v.flip_vertical && v.elastic.0.is_empty()));
}

#[test]
fn the_same_seed_gives_the_same_variants() {
    let shape = (12, 10, 3);
    let image = picture(12, 10, 3, |y, x, k| {
        ((y * 7 + x * 3 + k) % 11) as f32 / 10.0
    });
    let variants = |seed| {
        Augmenter::new(Augmentation::suggested(), shape, seed)
            .unwrap()
            .variants(&image, 6)
    };
    let a = variants(4);
    assert_eq!(a, variants(4));
    assert_ne!(a, variants(5));
    assert_eq!(a.len(), 6 * image.len());
    assert!(a.iter().all(|v| (0.0..=1.0).contains(v)));
    // Every variant differs from the picture and from the others.
    let parts: Vec<&[f32]> = a.chunks(image.len()).collect();
    for (i, p) in parts.iter().enumerate() {
        assert_ne!(*p, &image[..]);
        for q in &parts[i + 1..] {
            assert_ne!(p, q);
        }
    }
}

#[test]
fn settings_outside_what_makes_sense_are_refused_in_words() {
    let cases = [
        (
            Augmentation {
                rotation_degrees: 720.0,
                ..Default::default()
            },
            "rotation must be from 0° to 180° (got 720°)",
        ),
        (
            Augmentation {
                zoom: 0.0,
                ..Default::default()
            },
            "zoom factor must be from 1x to 2x (got 0x)",
        ),
        (
            Augmentation {
                zoom: f32::NAN,
                ..Default::default()
            },
            "zoom factor",
        ),
        (
            Augmentation {
                shift: -0.1,
                ..Default::default()
            },
            "shift must be from 0 of the side to 0.5 of the side",
        ),
        (
            Augmentation {
                contrast: 1.0,
                ..Default::default()
            },
            "contrast change must be from 0 to 0.9",
        ),
        (
            Augmentation {
                brightness: 2.0,
                ..Default::default()
            },
            "brightness change",
        ),
        (
            Augmentation {
                elastic_pixels: 50.0,
                ..Default::default()
            },
            "elastic warp must be from 0 pixels to 8 pixels",
        ),
    ];
    for (settings, words) in cases {
        let message = settings.validate().unwrap_err().to_string();
        assert!(message.contains(words), "{message}");
        assert!(Augmenter::new(settings, (8, 8, 1), 0).is_err());
    }
    Augmentation::suggested().validate().unwrap();
}

fn small_training(augmentation: Option<Augmentation>, seed: u64) -> (Vec<f32>, Vec<f32>) {
    let (train, _) =
        convscope::data::synthetic::generate(&convscope::data::synthetic::SyntheticParams {
            train: 48,
            test: 8,
            seed: 2,
            ..Default::default()
        })
        .unwrap();
    let before = train.images().to_vec();
    let spec = ModelSpec::chapter_for(train.channels(), 2);
    let mut model = Sequential::new(&spec, seed).unwrap();
    let config = FitConfig {
        epochs: 2,
        batch_size: 8,
        seed,
        early_stopping: None,
        ..FitConfig::recommended()
    };
    let history = match augmentation {
        Some(a) => {
            let shape = (train.height(), train.width(), train.channels());
            let augmenter = Augmenter::new(a, shape, seed).unwrap();
            fit_transformed(
                &mut model,
                &train.examples(),
                None,
                config,
                &mut Silent,
                Some(Box::new(augmenter)),
            )
        }
        None => convscope::nn::fit(&mut model, &train.examples(), None, config, &mut Silent),
    }
    .unwrap();
    assert_eq!(
        train.images().to_vec(),
        before,
        "the dataset itself is never changed"
    );
    let losses = history.epochs.iter().map(|e| e.loss).collect();
    let val = history.epochs.iter().map(|e| e.val_loss.unwrap()).collect();
    (losses, val)
}

#[test]
fn training_with_augmentation_is_reproducible_and_differs_from_without() {
    let with = small_training(Some(Augmentation::suggested()), 3);
    assert_eq!(with, small_training(Some(Augmentation::suggested()), 3));
    let without = small_training(None, 3);
    assert_ne!(
        with.0, without.0,
        "training losses see the augmented batches"
    );
    assert!(with.0.iter().chain(&with.1).all(|l| l.is_finite()));
}

#[test]
fn the_session_previews_and_refuses_bad_settings_keeping_its_model() {
    let mut s = Session::new();
    s.load_synthetic(32, 8, 1, "easy").unwrap();
    let settings = TrainSettings {
        epochs: 1,
        batch_size: 8,
        learning_rate: 1e-3,
        patience: 0,
        seed: 1,
        bn_momentum: None,
        augmentation: Augmentation::suggested(),
    };
    s.start_training(&settings).unwrap();
    while s.train_for(1e9).unwrap().finished.is_none() {}
    let trained = s.predict_index(Split::Test, 0).unwrap();

    let bad = TrainSettings {
        augmentation: Augmentation {
            rotation_degrees: 720.0,
            ..Augmentation::suggested()
        },
        ..settings
    };
    let message = s.start_training(&bad).unwrap_err().to_string();
    assert!(
        message.contains("rotation must be from 0° to 180°"),
        "{message}"
    );
    assert_eq!(
        s.predict_index(Split::Test, 0).unwrap(),
        trained,
        "the trained model is kept"
    );

    let preview = s
        .augmentation_preview(Split::Train, 3, &Augmentation::suggested(), 8, 7)
        .unwrap();
    assert_eq!(preview.len(), 8 * 64 * 64 * 3);
    assert_eq!(
        preview,
        s.augmentation_preview(Split::Train, 3, &Augmentation::suggested(), 8, 7)
            .unwrap()
    );
    let plain = s
        .augmentation_preview(Split::Train, 3, &Augmentation::default(), 1, 7)
        .unwrap();
    assert_ne!(&preview[..plain.len()], &plain[..]);
    for (count, index, words) in [
        (0, 0, "from 1 to 64 variants"),
        (65, 0, "from 1 to 64 variants"),
        (4, 32, "there is no image 32"),
    ] {
        let message = s
            .augmentation_preview(Split::Train, index, &Augmentation::suggested(), count, 0)
            .unwrap_err()
            .to_string();
        assert!(message.contains(words), "{message}");
    }
    let zoom0 = Augmentation {
        zoom: 0.0,
        ..Augmentation::default()
    };
    assert!(s
        .augmentation_preview(Split::Train, 0, &zoom0, 4, 0)
        .is_err());
}
