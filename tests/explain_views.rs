//! Every layer's activations (inference mode, checked by hand on the batch-norm and dropout
//! layers) and the first layer's filters as RGB patches (checked on hand-set weights).

mod explain_support;

use convscope::explain::{activations, first_layer_filters, FilterScale};
use convscope::nn::{Activation, InputShape, LayerSpec, ModelSpec};
use explain_support::*;

#[test]
fn activations_list_every_layer_in_inference_mode() {
    let mut model = random_model(&small_spec(1), 31);
    let image = random_image(model.input_len(), 2);
    let a = activations(&mut model, &image).unwrap();
    let names: Vec<&str> = a.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv2d",
            "batch_normalization",
            "max_pooling2d",
            "dropout",
            "conv2d_1",
            "flatten",
            "dense",
            "dense_1"
        ]
    );
    assert_eq!(a.layers[1].kind, "BatchNormalization");
    assert_eq!(a.layers[0].shape, vec![7, 6, 4]);
    assert_eq!(a.layers[2].shape, vec![3, 3, 4]);
    assert_eq!(a.layers[7].shape, vec![1]);
    for l in &a.layers {
        assert_eq!(l.values.len(), l.shape.iter().product::<usize>());
    }

    // Batch norm with the moving statistics: gamma (x - mean) / sqrt(var + eps) + beta.
    let bn = &model.layers()[1];
    let (p, s) = (bn.params(), bn.state());
    for (i, (&x, &y)) in a.layers[0]
        .values
        .iter()
        .zip(&a.layers[1].values)
        .enumerate()
    {
        let c = i % 4;
        let want = p[c] * (x - s[c]) / (s[4 + c] + 1e-3).sqrt() + p[4 + c];
        assert!((y - want).abs() < 1e-5, "bn value {i}: {y} vs {want}");
    }
    assert_eq!(
        a.layers[3].values, a.layers[2].values,
        "dropout is off at inference"
    );
    let p1 = 1.0 / (1.0 + (-a.logits[0]).exp());
    assert!((a.probabilities[0] - p1).abs() < 1e-6 && a.layers[7].values == a.probabilities);
    assert_eq!(a.logits, logits(&mut model, &image));
}

#[test]
fn first_layer_filters_become_patches_around_grey() {
    // Two 2x2 filters on RGB input: kernel (2, 2, 3, 2).
    let spec = ModelSpec {
        input: InputShape {
            height: 4,
            width: 4,
            channels: 3,
        },
        layers: vec![
            conv(2, 2),
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 1,
                activation: Activation::Sigmoid,
            },
        ],
    };
    let mut model = random_model(&spec, 1);
    let kernel_info = model.layers()[0].tensors()[0].clone();
    assert_eq!(kernel_info.dims, vec![2, 2, 3, 2]);
    // Filter 0 weights w(tap, ch) = tap + ch - 2 (largest |w| = 3), filter 1 all 0.5.
    let mut kernel = vec![0.0f32; 24];
    for tap in 0..4 {
        for ch in 0..3 {
            kernel[(tap * 3 + ch) * 2] = tap as f32 + ch as f32 - 2.0;
            kernel[(tap * 3 + ch) * 2 + 1] = 0.5;
        }
    }
    model
        .layer_mut(0)
        .tensor_mut(&kernel_info)
        .copy_from_slice(&kernel);

    let per = first_layer_filters(&model, FilterScale::PerFilter).unwrap();
    assert_eq!(
        (
            per.count,
            per.kernel_height,
            per.kernel_width,
            per.patches.len()
        ),
        (2, 2, 2, 24)
    );
    assert_eq!(
        &per.patches[..3],
        &[0.5 + 0.5 * -2.0 / 3.0, 0.5 + 0.5 * -1.0 / 3.0, 0.5]
    );
    assert_eq!(per.patches[11], 1.0, "tap 3, blue: weight 3, the largest");
    assert!(
        per.patches[12..].iter().all(|&v| v == 1.0),
        "a constant filter uses its full contrast"
    );
    let shared = first_layer_filters(&model, FilterScale::Shared).unwrap();
    assert_eq!(&shared.patches[..12], &per.patches[..12]);
    assert!(shared.patches[12..]
        .iter()
        .all(|&v| (v - (0.5 + 0.5 * 0.5 / 3.0)).abs() < 1e-7));
}
