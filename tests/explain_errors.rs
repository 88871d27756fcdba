//! Bad requests give an error in words, never a panic: wrong image size, a value that is not
//! a number, a missing class, layer or filter, Grad-CAM on a layer that is not a convolution,
//! settings out of range, a model with no convolution.

mod explain_support;

use convscope::explain::*;
use convscope::nn::{Activation, LayerSpec, ModelSpec};
use explain_support::*;

fn message<T: std::fmt::Debug>(r: convscope::Result<T>) -> String {
    r.expect_err("this request must be refused").to_string()
}

#[test]
fn bad_requests_are_explained() {
    let mut model = random_model(&small_spec(1), 41);
    let good = random_image(model.input_len(), 1);
    let short = vec![0.5; 10];
    let mut nan = good.clone();
    nan[7] = f32::NAN;

    assert!(message(saliency(&mut model, &short, 1, None))
        .contains("has 10 values, but this model takes 7x6x2 images (84 values)"));
    assert!(message(activations(&mut model, &short)).contains("84 values"));
    assert!(
        message(grad_cam(&mut model, &nan, 1, None, CamWeighting::default()))
            .contains("position 7 is not a number")
    );
    assert!(message(saliency(&mut model, &good, 2, None)).contains("class 2 does not exist"));
    assert!(message(CamWeighting::parse("average"))
        .contains("'average' is not a Grad-CAM weighting: use per-position or channel-mean"));
    assert_eq!(
        CamWeighting::parse("channel-mean").unwrap(),
        CamWeighting::ChannelMean
    );
    assert!(message(grad_cam(
        &mut model,
        &good,
        1,
        Some(99),
        CamWeighting::default()
    ))
    .contains("layer 99 does not exist: the model has 8 layers"));
    assert!(message(grad_cam(
        &mut model,
        &good,
        1,
        Some(1),
        CamWeighting::default()
    ))
    .contains("BatchNormalization layer, not a convolution"));
    assert!(message(saliency(
        &mut model,
        &good,
        1,
        Some(SmoothGrad {
            samples: 0,
            sigma: 0.1,
            seed: 0
        })
    ))
    .contains("noisy copies"));
    assert!(message(saliency(
        &mut model,
        &good,
        1,
        Some(SmoothGrad {
            samples: 4,
            sigma: -1.0,
            seed: 0
        })
    ))
    .contains("noise level"));

    let class1 = vec![WeightedObjective {
        objective: Objective::Class { class: 1 },
        weight: 1.0,
    }];
    let run = |model: &mut _, c: ActmaxConfig| message(activation_maximization(model, &c));
    let base = ActmaxConfig {
        objectives: class1.clone(),
        ..ActmaxConfig::default()
    };
    assert!(run(
        &mut model,
        ActmaxConfig {
            objectives: vec![],
            ..base.clone()
        }
    )
    .contains("between 1 and 8 targets"));
    let filter = |layer, filter| {
        vec![WeightedObjective {
            objective: Objective::Filter { layer, filter },
            weight: 1.0,
        }]
    };
    assert!(run(
        &mut model,
        ActmaxConfig {
            objectives: filter(4, 3),
            ..base.clone()
        }
    )
    .contains("filter 3 does not exist: layer 4 has 3 filters"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            objectives: filter(6, 0),
            ..base.clone()
        }
    )
    .contains("Dense layer, not a convolution"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            step_size: 0.0,
            ..base.clone()
        }
    )
    .contains("step size"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            tv: f32::INFINITY,
            ..base.clone()
        }
    )
    .contains("total-variation"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            jitter: 3,
            ..base.clone()
        }
    )
    .contains("jitter of 3 pixels is too large for 7x6"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            frame_every: 0,
            ..base.clone()
        }
    )
    .contains("frame_every is 0"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            max_iter: 5000,
            frame_every: 1,
            ..base.clone()
        }
    )
    .contains("keep one every 25 iterations"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            max_iter: 20_000,
            ..base.clone()
        }
    )
    .contains("at most 10000 iterations"));
    assert!(run(
        &mut model,
        ActmaxConfig {
            start: Start::Image(short),
            ..base.clone()
        }
    )
    .contains("84 values"));

    // No convolution at all: nothing for Grad-CAM or the filter view.
    let dense_only = ModelSpec {
        input: small_spec(1).input,
        layers: vec![
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 1,
                activation: Activation::Sigmoid,
            },
        ],
    };
    let mut plain = random_model(&dense_only, 1);
    assert!(message(grad_cam(
        &mut plain,
        &good,
        1,
        None,
        CamWeighting::default()
    ))
    .contains("has none"));
    assert!(message(first_layer_filters(&plain, FilterScale::PerFilter)).contains("no convolution"));
    // Two input channels are not a picture.
    assert!(message(first_layer_filters(&model, FilterScale::Shared)).contains("not 2"));
}
