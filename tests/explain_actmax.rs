//! Activation maximization raises what it is asked to raise (a class score, a filter's mean,
//! a weighted pair), keeps its pictures in range, animates, is reproducible from its seed,
//! and its penalties do what they say.

mod explain_support;

use convscope::explain::{
    activation_maximization, ActmaxConfig, Objective, Start, WeightedObjective,
};
use explain_support::*;

fn target(objective: Objective, weight: f32) -> WeightedObjective {
    WeightedObjective { objective, weight }
}

fn config(objectives: Vec<WeightedObjective>) -> ActmaxConfig {
    ActmaxConfig {
        objectives,
        max_iter: 60,
        step_size: 0.02,
        frame_every: 20,
        ..ActmaxConfig::default()
    }
}

#[test]
fn ascent_raises_each_class_score_from_noise() {
    let mut model = random_model(&small_spec(1), 21);
    for class in [0, 1] {
        let r = activation_maximization(
            &mut model,
            &config(vec![target(Objective::Class { class }, 1.0)]),
        )
        .unwrap();
        // A small random net's scores move little (many ReLUs are off), but they must move up.
        let gain = r.objective_end - r.objective_start;
        assert!(
            gain > 0.2,
            "class {class}: score went from {} to {}",
            r.objective_start,
            r.objective_end
        );
        assert!(r.history[59] > r.history[0]);
        // The class score is the logit (class 1) or minus the logit (class 0).
        let sign = if class == 1 { 1.0 } else { -1.0 };
        assert!((r.objective_end - sign * r.logits_end[0]).abs() < 1e-6);
        assert!(
            (r.objective_end - sign * logits(&mut model, &r.image)[0]).abs() < 1e-5,
            "reported end matches the picture"
        );
        assert!(r.image.iter().all(|v| (0.0..=1.0).contains(v)));
        let frames: Vec<usize> = r.frames.iter().map(|f| f.iteration).collect();
        assert_eq!(frames, vec![0, 20, 40, 60]);
        assert_eq!(r.frames.last().unwrap().image, r.image);
        assert_eq!(r.history.len(), 60);
    }
}

#[test]
fn ascent_raises_a_filter_and_a_weighted_pair() {
    let mut model = random_model(&small_spec(1), 22);
    let filter = Objective::Filter {
        layer: 4,
        filter: 2,
    };
    let r = activation_maximization(&mut model, &config(vec![target(filter, 1.0)])).unwrap();
    assert!(
        r.objective_end > r.objective_start * 1.2 + 0.05,
        "filter mean {} -> {}",
        r.objective_start,
        r.objective_end
    );
    // Check the reported mean against the layer's output directly.
    model.forward(&r.image, convscope::nn::Mode::Infer);
    let maps = model.output(4);
    let mean = maps.iter().skip(2).step_by(3).sum::<f32>() / 9.0;
    assert!((mean - r.objective_end).abs() < 1e-5);

    let pair = vec![
        target(Objective::Class { class: 1 }, 1.0),
        target(filter, 0.5),
    ];
    let r = activation_maximization(&mut model, &config(pair)).unwrap();
    assert!(r.objective_end > r.objective_start);
    let weighted = r.objectives_end[0] + 0.5 * r.objectives_end[1];
    assert!((weighted - r.objective_end).abs() < 1e-5);
}

#[test]
fn ascent_from_an_image_is_reproducible_and_penalties_smooth_it() {
    let mut model = random_model(&small_spec(1), 23);
    let image = random_image(model.input_len(), 5);
    let from_image = ActmaxConfig {
        start: Start::Image(image.clone()),
        max_iter: 0,
        ..config(vec![target(Objective::Class { class: 1 }, 1.0)])
    };
    let r = activation_maximization(&mut model, &from_image).unwrap();
    assert_eq!(r.image, image, "no iterations: the start picture");
    assert!((r.objective_start - logits(&mut model, &image)[0]).abs() < 1e-6);

    let base = ActmaxConfig {
        l2: 0.0,
        tv: 0.0,
        jitter: 1,
        seed: 4,
        ..config(vec![target(Objective::Class { class: 1 }, 1.0)])
    };
    let a = activation_maximization(&mut model, &base).unwrap();
    assert_eq!(
        a,
        activation_maximization(&mut model, &base).unwrap(),
        "same seed, same run"
    );
    assert_ne!(
        a.image,
        activation_maximization(
            &mut model,
            &ActmaxConfig {
                seed: 5,
                ..base.clone()
            }
        )
        .unwrap()
        .image
    );

    let tv = |x: &[f32]| -> f32 {
        let (w, c) = (6, 2);
        (0..x.len())
            .filter(|i| (i / c) % w + 1 < w)
            .map(|i| (x[i] - x[i + c]).powi(2))
            .sum::<f32>()
            + (0..x.len() - w * c)
                .map(|i| (x[i] - x[i + w * c]).powi(2))
                .sum::<f32>()
    };
    let smooth = activation_maximization(
        &mut model,
        &ActmaxConfig {
            tv: 1.0,
            ..base.clone()
        },
    )
    .unwrap();
    assert!(
        tv(&smooth.image) < 0.5 * tv(&a.image),
        "total variation {} vs {} without the penalty",
        tv(&smooth.image),
        tv(&a.image)
    );
    let grey = |x: &[f32]| x.iter().map(|v| (v - 0.5).powi(2)).sum::<f32>();
    let pulled = activation_maximization(&mut model, &ActmaxConfig { l2: 1.0, ..base }).unwrap();
    assert!(
        grey(&pulled.image) < 0.5 * grey(&a.image),
        "distance from grey {} vs {}",
        grey(&pulled.image),
        grey(&a.image)
    );
}
