//! The "Look inside" requests on a training session, natively: every layer's maps, saliency,
//! Grad-CAM and filters for a test image and for the same picture sent as RGBA bytes,
//! activation maximization in slices, the shortcut lab's data and accuracies, and requests
//! the page can get wrong answered with errors.

use convscope::app::inside::{Picture, ShortcutLab};
use convscope::app::session::{Session, Split, TrainSettings};
use convscope::explain::actmax::{ActmaxConfig, Start};
use convscope::explain::CamWeighting;

/// A session with 64 easy synthetic smiles and the chapter's model trained for one short epoch.
fn trained() -> Session {
    let mut s = Session::new();
    s.load_synthetic(48, 12, 3, "easy").unwrap();
    s.start_training(&TrainSettings {
        epochs: 1,
        batch_size: 16,
        learning_rate: 1e-3,
        patience: 0,
        seed: 1,
        bn_momentum: None,
        augmentation: Default::default(),
    })
    .unwrap();
    while s.train_for(1e9).unwrap().finished.is_none() {}
    s
}

fn rgba_of(s: &Session, index: usize) -> Vec<u8> {
    s.images_rgba(Split::Test, &[index]).unwrap()
}

#[test]
fn every_layer_and_the_prediction_for_a_test_image() {
    let mut s = trained();
    let a = s.inside_activations(Picture::Set(Split::Test, 2)).unwrap();
    let summary = s.summary().unwrap();
    assert_eq!(a.layers.len(), summary.rows.len());
    for (layer, row) in a.layers.iter().zip(&summary.rows) {
        assert_eq!(layer.name, row.name);
        assert_eq!(layer.shape, row.output_shape);
        assert_eq!(layer.values.len(), layer.shape.iter().product::<usize>());
    }
    let p = s.predict_index(Split::Test, 2).unwrap();
    assert!(
        (a.probabilities[0] - p[1]).abs() < 1e-6,
        "same prediction as the Try-it panel: {:?} vs {p:?}",
        a.probabilities
    );
}

#[test]
fn a_picture_sent_as_rgba_is_explained_like_the_test_image_it_is() {
    let mut s = trained();
    let rgba = rgba_of(&s, 5);
    for class in [0, 1] {
        let from_set = s
            .inside_saliency(Picture::Set(Split::Test, 5), class, false)
            .unwrap();
        let from_rgba = s
            .inside_saliency(Picture::Rgba(&rgba), class, false)
            .unwrap();
        assert_eq!(from_set.magnitude, from_rgba.magnitude);
        assert_eq!(
            (from_set.height, from_set.width, from_set.evidence.len()),
            (64, 64, 64 * 64)
        );
        let cam_set = s
            .inside_grad_cam(
                Picture::Set(Split::Test, 5),
                class,
                None,
                CamWeighting::default(),
            )
            .unwrap();
        let cam_rgba = s
            .inside_grad_cam(Picture::Rgba(&rgba), class, None, CamWeighting::default())
            .unwrap();
        assert_eq!(cam_set.heatmap, cam_rgba.heatmap);
        assert_eq!(cam_set.heatmap.len(), 64 * 64);
    }
    // The two classes' scores are the logit and minus the logit.
    let smile = s
        .inside_grad_cam(
            Picture::Set(Split::Test, 5),
            1,
            None,
            CamWeighting::default(),
        )
        .unwrap();
    let frown = s
        .inside_grad_cam(
            Picture::Set(Split::Test, 5),
            0,
            None,
            CamWeighting::default(),
        )
        .unwrap();
    assert!((smile.score + frown.score).abs() < 1e-5);
}

#[test]
fn smoothgrad_differs_from_the_plain_gradient_and_repeats() {
    let mut s = trained();
    let plain = s
        .inside_saliency(Picture::Set(Split::Test, 1), 1, false)
        .unwrap();
    let smooth = s
        .inside_saliency(Picture::Set(Split::Test, 1), 1, true)
        .unwrap();
    let again = s
        .inside_saliency(Picture::Set(Split::Test, 1), 1, true)
        .unwrap();
    assert_ne!(plain.magnitude, smooth.magnitude);
    assert_eq!(
        smooth.magnitude, again.magnitude,
        "a fixed seed: the same map for the same picture"
    );
}

#[test]
fn filters_and_conv_layers_of_the_chapter_model() {
    let mut s = trained();
    let layers = s.inside_conv_layers().unwrap();
    assert_eq!(
        layers
            .iter()
            .map(|l| (l.index, l.filters))
            .collect::<Vec<_>>(),
        [(0, 16), (4, 32)]
    );
    let f = s.inside_filters(false).unwrap();
    assert_eq!(
        (f.kernel_height, f.kernel_width, f.count, f.layer),
        (5, 5, 16, 0)
    );
    assert_eq!(f.patches.len(), 16 * 5 * 5 * 3);
    assert!(f.patches.iter().all(|v| (0.0..=1.0).contains(v)));
    let shared = s.inside_filters(true).unwrap();
    assert_ne!(f.patches, shared.patches);
}

#[test]
fn activation_maximization_in_slices_climbs() {
    let mut s = trained();
    let mut config = ActmaxConfig {
        max_iter: 10,
        frame_every: 5,
        step_size: 0.02,
        ..ActmaxConfig::default()
    };
    let first = s.inside_actmax(&config).unwrap();
    assert_eq!(
        first.frames.iter().map(|f| f.iteration).collect::<Vec<_>>(),
        [0, 5, 10]
    );
    config.start = Start::Image(first.image.clone());
    config.seed = 1;
    let second = s.inside_actmax(&config).unwrap();
    assert_eq!(
        second.frames[0].image, first.image,
        "the second slice starts where the first ended"
    );
    assert!(
        second.objective_end > first.objective_start,
        "the smile score climbs: {} -> {}",
        first.objective_start,
        second.objective_end
    );
}

#[test]
fn the_shortcut_lab_trains_on_the_confound_and_tests_on_clean_faces() {
    let mut s = Session::new();
    let lab = ShortcutLab {
        train: 40,
        test: 20,
        seed: 7,
        confound: 0.95,
    };
    let info = s.load_shortcut_lab(&lab).unwrap();
    assert_eq!((info.train, info.test), (40, 20));
    assert!(info.description.contains("0.95"));
    assert!(s.shortcut_accuracies(&lab).is_err(), "no model yet");
    s.build_model(None, 0).unwrap();
    let acc = s.shortcut_accuracies(&lab).unwrap();
    // The session's own test set is the clean one.
    let clean = s.evaluate_test().unwrap().evaluation.accuracy;
    assert_eq!(acc.clean_test_accuracy, clean);
    assert!((0.0..=1.0).contains(&acc.confounded_test_accuracy));
    assert!(s
        .load_shortcut_lab(&ShortcutLab {
            confound: 1.5,
            ..lab
        })
        .is_err());
}

#[test]
fn requests_the_page_can_get_wrong_are_errors() {
    let mut s = Session::new();
    assert!(
        s.inside_activations(Picture::Set(Split::Test, 0)).is_err(),
        "no model"
    );
    assert!(s.inside_filters(false).is_err());
    let mut s = trained();
    let e = s
        .inside_activations(Picture::Set(Split::Test, 99))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no image 99"), "{e}");
    let e = s
        .inside_saliency(Picture::Rgba(&[0u8; 12]), 1, false)
        .unwrap_err()
        .to_string();
    assert!(e.contains("64x64"), "{e}");
    assert!(
        s.inside_grad_cam(
            Picture::Set(Split::Test, 0),
            2,
            None,
            CamWeighting::default()
        )
        .is_err(),
        "class 2 does not exist"
    );
    assert!(
        s.inside_grad_cam(
            Picture::Set(Split::Test, 0),
            1,
            Some(1),
            CamWeighting::default()
        )
        .is_err(),
        "layer 1 is not a convolution"
    );
}

/// The lab as the page runs it by default (600 faces, 4 epochs, the lab's settings in
/// www/js/inside/lab.js): the clean control must learn the smile, or the side-by-side says
/// nothing; the confounded model must lean on the background.
#[test]
fn the_shortcut_lab_with_the_page_defaults_separates_clean_from_confounded() {
    let train_lab = |confound: f32| {
        let lab = ShortcutLab {
            train: 600,
            test: 200,
            seed: 11,
            confound,
        };
        let mut s = Session::new();
        s.load_shortcut_lab(&lab).unwrap();
        s.build_model(None, 0).unwrap();
        s.start_training(&TrainSettings {
            epochs: 4,
            batch_size: 32,
            learning_rate: 1e-3,
            patience: 0,
            seed: 0,
            bn_momentum: Some(0.9),
            augmentation: Default::default(),
        })
        .unwrap();
        while s.train_for(1e9).unwrap().finished.is_none() {}
        s.shortcut_accuracies(&lab).unwrap()
    };
    let clean = train_lab(0.0);
    assert!(
        clean.clean_test_accuracy >= 0.9,
        "the clean control learns the smile: {clean:?}"
    );
    let confounded = train_lab(0.95);
    assert!(
        confounded.confounded_test_accuracy - confounded.clean_test_accuracy >= 0.2,
        "the confounded model leans on the background: {confounded:?}"
    );
}
