//! Saliency against finite differences of the logit on a small network with every layer kind
//! (in inference mode: the batch-norm moving statistics are random, dropout is 0.3), for a
//! sigmoid and a softmax output; the evidence and magnitude maps; SmoothGrad's averaging.

mod explain_support;

use convscope::explain::{saliency, SmoothGrad};
use explain_support::*;

#[test]
fn saliency_is_the_gradient_of_the_logit() {
    let mut model = random_model(&small_spec(1), 3);
    for seed in [1, 2, 3] {
        let image = random_image(model.input_len(), seed);
        let fd = finite_differences(&image, 1e-3, |x| logits(&mut model, x)[0] as f64);
        let smile = saliency(&mut model, &image, 1, None).unwrap();
        let err = relative_error(&smile.gradient, &fd);
        assert!(
            err < 1e-2,
            "seed {seed}: relative error {err} against finite differences"
        );
        assert!((smile.score - logits(&mut model, &image)[0]).abs() < 1e-6);

        // "No smile" is minus the logit: the same gradient, negated.
        let frown = saliency(&mut model, &image, 0, None).unwrap();
        assert!(frown
            .gradient
            .iter()
            .zip(&smile.gradient)
            .all(|(a, b)| *a == -*b));
        assert_eq!(frown.score, -smile.score);

        // Per pixel: smile evidence = max over channels of the positive part, frown evidence of
        // the negative part, magnitude of |g|.
        let c = smile.channels;
        for (p, px) in fd.chunks_exact(c).enumerate() {
            let pos = px.iter().fold(0.0f32, |m, &g| m.max(g));
            let neg = px.iter().fold(0.0f32, |m, &g| m.max(-g));
            let mag = px.iter().fold(0.0f32, |m, &g| m.max(g.abs()));
            let tol = 2e-2 * mag.max(1e-2);
            assert!(
                (smile.evidence[p] - pos).abs() < tol,
                "pixel {p}: smile evidence {} vs {pos}",
                smile.evidence[p]
            );
            assert!(
                (frown.evidence[p] - neg).abs() < tol,
                "pixel {p}: frown evidence {} vs {neg}",
                frown.evidence[p]
            );
            assert!((smile.magnitude[p] - mag).abs() < tol);
        }
        assert!(
            smile.evidence.iter().any(|&v| v > 0.0) && frown.evidence.iter().any(|&v| v > 0.0),
            "both classes have some evidence"
        );
    }
}

#[test]
fn saliency_of_each_softmax_class_is_the_gradient_of_its_logit() {
    let mut model = random_model(&small_spec(3), 5);
    let image = random_image(model.input_len(), 9);
    for class in 0..3 {
        let fd = finite_differences(&image, 1e-3, |x| logits(&mut model, x)[class] as f64);
        let s = saliency(&mut model, &image, class, None).unwrap();
        let err = relative_error(&s.gradient, &fd);
        assert!(err < 1e-2, "class {class}: relative error {err}");
    }
}

#[test]
fn smoothgrad_averages_gradients_of_noisy_copies() {
    let mut model = random_model(&small_spec(1), 3);
    let image = random_image(model.input_len(), 4);
    let plain = saliency(&mut model, &image, 1, None).unwrap();

    // Without noise every copy has the plain gradient; 37 copies span three batches of 16.
    let no_noise = saliency(
        &mut model,
        &image,
        1,
        Some(SmoothGrad {
            samples: 37,
            sigma: 0.0,
            seed: 1,
        }),
    )
    .unwrap();
    assert!(relative_error(&no_noise.gradient, &plain.gradient) < 1e-5);

    // With noise: reproducible from the seed, different from the plain gradient.
    let smooth = |model: &mut _, seed| {
        saliency(
            model,
            &image,
            1,
            Some(SmoothGrad {
                samples: 20,
                sigma: 0.2,
                seed,
            }),
        )
        .unwrap()
    };
    let a = smooth(&mut model, 7);
    assert_eq!(a, smooth(&mut model, 7));
    assert_ne!(a.gradient, smooth(&mut model, 8).gradient);
    let err = relative_error(&a.gradient, &plain.gradient);
    assert!(err > 1e-3, "noise changed nothing: {err}");

    // The average itself, on a linear model (flatten -> dense 1) whose gradient is its kernel
    // wherever the noise lands: a sum not divided by the copies, or a lost copy, would show.
    let spec = convscope::nn::ModelSpec {
        input: small_spec(1).input,
        layers: vec![
            convscope::nn::LayerSpec::Flatten,
            convscope::nn::LayerSpec::Dense {
                units: 1,
                activation: convscope::nn::Activation::Sigmoid,
            },
        ],
    };
    let mut linear = random_model(&spec, 2);
    let kernel = linear.layers()[1].params()[..image.len()].to_vec();
    let s = saliency(
        &mut linear,
        &image,
        1,
        Some(SmoothGrad {
            samples: 9,
            sigma: 0.5,
            seed: 3,
        }),
    )
    .unwrap();
    assert!(relative_error(&s.gradient, &kernel) < 1e-5);
}
