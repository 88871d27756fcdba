//! The declarative model description: the chapter's model, JSON round trips, shapes and
//! parameter counts, and the words of every refusal.

use convscope::nn::{
    Activation, InputShape, LayerSpec, ModelSpec, OutputKind, PaddingSpec, Sequential, Shape,
};

fn dense(units: usize, activation: Activation) -> LayerSpec {
    LayerSpec::Dense { units, activation }
}

fn tiny(layers: Vec<LayerSpec>) -> ModelSpec {
    ModelSpec {
        input: InputShape {
            height: 8,
            width: 8,
            channels: 1,
        },
        layers,
    }
}

fn error_of(spec: &ModelSpec) -> String {
    spec.plan()
        .expect_err("this spec must be refused")
        .to_string()
}

#[test]
fn chapter_model_has_keras_parameter_counts_and_shapes() {
    let plan = ModelSpec::chapter().plan().unwrap();
    assert_eq!(plan.total_params(), 1_063_073);
    assert_eq!(plan.trainable_params(), 1_062_977);
    assert_eq!(plan.non_trainable_params(), 96);
    assert_eq!(plan.output, OutputKind::Binary);
    let names: Vec<&str> = plan.layers.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "conv2d",
            "batch_normalization",
            "max_pooling2d",
            "dropout",
            "conv2d_1",
            "batch_normalization_1",
            "max_pooling2d_1",
            "dropout_1",
            "flatten",
            "dense",
            "dense_1"
        ]
    );
    let shapes: Vec<String> = plan.layers.iter().map(|l| l.output.keras()).collect();
    assert_eq!(shapes[0], "(None, 64, 64, 16)");
    assert_eq!(shapes[6], "(None, 16, 16, 32)");
    assert_eq!(shapes[8], "(None, 8192)");
    assert_eq!(shapes[10], "(None, 1)");
    let params: Vec<usize> = plan
        .layers
        .iter()
        .map(|l| l.trainable_params + l.non_trainable_params)
        .collect();
    assert_eq!(
        params,
        [1216, 64, 0, 0, 12832, 128, 0, 0, 0, 1_048_704, 129]
    );

    let gray = ModelSpec::chapter_grayscale().plan().unwrap();
    assert_eq!(
        gray.input,
        Shape::Image {
            height: 64,
            width: 64,
            channels: 1
        }
    );
    assert_eq!(gray.total_params(), 1_063_073 - 5 * 5 * 2 * 16);
}

#[test]
fn summary_rows_and_totals() {
    let summary = Sequential::new(&ModelSpec::chapter(), 0).unwrap().summary();
    assert_eq!(summary.rows.len(), 11);
    assert_eq!(summary.rows[1].type_name, "BatchNormalization");
    assert_eq!(summary.rows[1].params, 64);
    assert_eq!(summary.rows[1].trainable_params, 32);
    assert_eq!(
        (
            summary.total_params,
            summary.trainable_params,
            summary.non_trainable_params
        ),
        (1_063_073, 1_062_977, 96)
    );
    let text = summary.to_text();
    assert!(
        text.contains(" Total params: 1,063,073 (4.06 MB)\n"),
        "{text}"
    );
    assert!(
        text.contains(" Trainable params: 1,062,977 (4.05 MB)\n"),
        "{text}"
    );
    assert!(
        text.contains(" Non-trainable params: 96 (384.00 B)\n"),
        "{text}"
    );
}

#[test]
fn json_round_trip_and_keras_defaults() {
    let chapter = ModelSpec::chapter();
    assert_eq!(ModelSpec::from_json(&chapter.to_json()).unwrap(), chapter);
    // Omitted fields take Keras's defaults.
    let short = r#"{"input": {"height": 64, "width": 64, "channels": 3}, "layers": [
        {"type": "conv2d", "filters": 16, "kernel": 5, "padding": "same", "activation": "relu"},
        {"type": "batch_norm"}, {"type": "max_pool"}, {"type": "dropout", "rate": 0.1},
        {"type": "conv2d", "filters": 32, "kernel": 5, "padding": "same", "activation": "relu"},
        {"type": "batch_norm"}, {"type": "max_pool"}, {"type": "dropout", "rate": 0.1},
        {"type": "flatten"}, {"type": "dense", "units": 128, "activation": "relu"},
        {"type": "dense", "units": 1, "activation": "sigmoid"}]}"#;
    assert_eq!(ModelSpec::from_json(short).unwrap(), chapter);
    let explicit = r#"{"input": {"height": 9, "width": 9, "channels": 1}, "layers": [
        {"type": "conv2d", "filters": 2, "kernel": 3, "padding": {"explicit": 1}, "stride": 2, "dilation": 1},
        {"type": "avg_pool", "pool": 3, "stride": 1, "padding": "same"}, {"type": "flatten"},
        {"type": "dense", "units": 3, "activation": "softmax"}]}"#;
    let spec = ModelSpec::from_json(explicit).unwrap();
    assert_eq!(
        spec.layers[0],
        LayerSpec::Conv2d {
            filters: 2,
            kernel: 3,
            stride: 2,
            padding: PaddingSpec::Explicit(1),
            dilation: 1,
            activation: Activation::Linear
        }
    );
    let plan = spec.plan().unwrap();
    assert_eq!(
        plan.layers[0].output,
        Shape::Image {
            height: 5,
            width: 5,
            channels: 2
        }
    );
    assert_eq!(plan.output, OutputKind::Categorical { classes: 3 });
}

#[test]
fn unreadable_json_is_explained() {
    let e = ModelSpec::from_json(
        r#"{"input": {"height": 8, "width": 8, "channels": 1}, "layers": [{"type": "conv3d"}]}"#,
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("model description is not valid") && e.contains("conv3d"),
        "{e}"
    );
    let e = ModelSpec::from_json(r#"{"input": {"height": 8, "width": 8, "channels": 1}, "layers": [{"type": "dense", "units": 1, "activaton": "sigmoid"}]}"#)
        .unwrap_err()
        .to_string();
    assert!(e.contains("activaton"), "{e}");
}

#[test]
fn invalid_specs_are_refused_in_words() {
    let head = || dense(1, Activation::Sigmoid);
    let cases: Vec<(ModelSpec, &[&str])> = vec![
        (
            tiny(vec![
                LayerSpec::conv2d(4, 9, PaddingSpec::Valid, Activation::Relu),
                LayerSpec::Flatten,
                head(),
            ]),
            &["layer 1 (Conv2D)", "larger than the padded input"],
        ),
        (
            tiny(vec![
                LayerSpec::conv2d(0, 3, PaddingSpec::Same, Activation::Relu),
                LayerSpec::Flatten,
                head(),
            ]),
            &["layer 1", "at least one filter"],
        ),
        (
            tiny(vec![
                LayerSpec::Dropout { rate: 1.0 },
                LayerSpec::Flatten,
                head(),
            ]),
            &["layer 1 (Dropout)", "below 1"],
        ),
        (
            tiny(vec![
                LayerSpec::Dropout { rate: -0.1 },
                LayerSpec::Flatten,
                head(),
            ]),
            &["Dropout", "at least 0"],
        ),
        (
            tiny(vec![
                LayerSpec::conv2d(4, 3, PaddingSpec::Same, Activation::Relu),
                head(),
            ]),
            &["layer 2 (Dense)", "8x8x4 feature maps", "Flatten"],
        ),
        (
            tiny(vec![LayerSpec::Flatten, LayerSpec::max_pool(2), head()]),
            &[
                "layer 2 (MaxPooling2D)",
                "flat vector",
                "before the Flatten",
            ],
        ),
        (
            tiny(vec![
                LayerSpec::Flatten,
                LayerSpec::conv2d(4, 3, PaddingSpec::Same, Activation::Relu),
                head(),
            ]),
            &["layer 2 (Conv2D)", "flat vector"],
        ),
        (
            tiny(vec![LayerSpec::max_pool(9), LayerSpec::Flatten, head()]),
            &["layer 1 (MaxPooling2D)", "larger than the input"],
        ),
        (
            tiny(vec![LayerSpec::Flatten, dense(0, Activation::Relu), head()]),
            &["layer 2", "at least one unit"],
        ),
        (
            tiny(vec![
                LayerSpec::Flatten,
                dense(4, Activation::Sigmoid),
                head(),
            ]),
            &["layer 2", "only supported on the last layer"],
        ),
        (
            tiny(vec![LayerSpec::Flatten, dense(3, Activation::Sigmoid)]),
            &["exactly 1 unit", "softmax"],
        ),
        (
            tiny(vec![LayerSpec::Flatten, dense(1, Activation::Softmax)]),
            &["at least 2"],
        ),
        (
            tiny(vec![LayerSpec::Flatten, dense(1, Activation::Relu)]),
            &["last layer must make the prediction", "relu"],
        ),
        (
            tiny(vec![LayerSpec::Flatten]),
            &["last layer must make the prediction", "Flatten"],
        ),
        (tiny(vec![]), &["no layers"]),
        (
            tiny(vec![
                LayerSpec::BatchNorm {
                    momentum: 1.5,
                    epsilon: 1e-3,
                },
                LayerSpec::Flatten,
                head(),
            ]),
            &["layer 1 (BatchNormalization)", "momentum"],
        ),
        (
            tiny(vec![
                LayerSpec::BatchNorm {
                    momentum: 0.99,
                    epsilon: 0.0,
                },
                LayerSpec::Flatten,
                head(),
            ]),
            &["epsilon"],
        ),
        (
            tiny(vec![
                LayerSpec::Conv2d {
                    filters: 2,
                    kernel: 3,
                    stride: 0,
                    padding: PaddingSpec::Same,
                    dilation: 1,
                    activation: Activation::Relu,
                },
                LayerSpec::Flatten,
                head(),
            ]),
            &["stride"],
        ),
        (
            tiny(vec![
                LayerSpec::Conv2d {
                    filters: 2,
                    kernel: 3,
                    stride: 1,
                    padding: PaddingSpec::Valid,
                    dilation: 4,
                    activation: Activation::Relu,
                },
                LayerSpec::Flatten,
                head(),
            ]),
            &["spans 9x9"],
        ),
        (
            tiny(vec![
                LayerSpec::conv2d(2, 3, PaddingSpec::Same, Activation::Softmax),
                LayerSpec::Flatten,
                head(),
            ]),
            &["linear or relu"],
        ),
        (
            ModelSpec {
                input: InputShape {
                    height: 0,
                    width: 8,
                    channels: 1,
                },
                layers: vec![LayerSpec::Flatten, head()],
            },
            &["at least 1x1"],
        ),
        (
            ModelSpec {
                input: InputShape {
                    height: 512,
                    width: 512,
                    channels: 3,
                },
                layers: vec![LayerSpec::Flatten, dense(4096, Activation::Relu), head()],
            },
            &["parameters", "browser"],
        ),
    ];
    for (spec, needles) in cases {
        let e = error_of(&spec);
        for needle in needles {
            assert!(
                e.contains(needle),
                "message '{e}' should mention '{needle}'"
            );
        }
        assert!(Sequential::new(&spec, 0).is_err());
    }
}

/// The model editor's layout is one rule in the core: the chapter's layout is the chapter's
/// model, its head follows the classes, and a spec reads back into its layout (or into none
/// when the editor cannot show it).
#[test]
fn layouts_map_to_specs_and_back() {
    use convscope::nn::{output_head, Activation, BlockPool, ConvBlock, Layout};
    let input = InputShape {
        height: 64,
        width: 64,
        channels: 3,
    };
    let chapter = Layout::chapter();
    assert_eq!(chapter.spec(input, 2), ModelSpec::chapter());
    assert_eq!(
        output_head(2),
        LayerSpec::Dense {
            units: 1,
            activation: Activation::Sigmoid
        }
    );
    let three = chapter.spec(input, 3);
    assert_eq!(
        three.layers.last(),
        Some(&LayerSpec::Dense {
            units: 3,
            activation: Activation::Softmax
        })
    );
    assert_eq!(
        ModelSpec::chapter_for(3, 5).layers.last(),
        Some(&output_head(5))
    );
    for classes in [2, 3] {
        assert_eq!(
            Layout::of_spec(&chapter.spec(input, classes)),
            Some(chapter.clone())
        );
    }
    let varied = Layout {
        blocks: vec![
            ConvBlock {
                filters: 8,
                kernel: 3,
                batch_norm: false,
                pool: BlockPool::Average,
                dropout: 0.0,
            },
            ConvBlock {
                filters: 4,
                kernel: 1,
                batch_norm: true,
                pool: BlockPool::None,
                dropout: 0.25,
            },
        ],
        dense: 0,
    };
    let spec = varied.spec(input, 4);
    assert_eq!(spec.layers.len(), 7, "{spec:?}");
    assert_eq!(Layout::of_spec(&spec), Some(varied));
    // A stride the editor has no control for: not an editor layout.
    let mut strided = ModelSpec::chapter();
    if let LayerSpec::Conv2d { stride, .. } = &mut strided.layers[0] {
        *stride = 2;
    }
    assert_eq!(Layout::of_spec(&strided), None);
    // JSON as the page sends it.
    let parsed: Layout = serde_json::from_str(
        r#"{"blocks":[{"filters":16,"kernel":5,"batchNorm":true,"pool":"max","dropout":0.1}],"dense":128}"#,
    )
    .unwrap();
    assert_eq!(parsed.blocks[0], chapter.blocks[0]);
}
