//! The attribution methods beyond saliency and Grad-CAM, in the style of the attribution
//! libraries' own tests: closed forms on a linear model and on a ReLU network of one input,
//! completeness of Integrated Gradients, batched results equal to one-at-a-time results, equal
//! maps for two differently built but equivalent networks, finite differences where a method is
//! a gradient, deletion and insertion curves, and bad requests in words.

mod explain_support;

use convscope::explain::{
    cam_map, deletion_insertion, grad_cam, importance_order, integrated_gradients, occlusion,
    saliency, Baseline, CamMethod, CamWeighting, Explainable, OcclusionConfig, Point,
};
use convscope::nn::{
    Activation, InputShape, LayerSpec, ModelSpec, OutputKind, Sequential, Weights,
};
use convscope::Result;
use explain_support::*;

const H: usize = 4;
const W: usize = 5;
const C: usize = 2;

/// logit = w . x + b: Flatten then one sigmoid unit, with weights of both signs.
fn linear_model() -> (Sequential, Vec<f32>, f32) {
    let spec = ModelSpec {
        input: InputShape {
            height: H,
            width: W,
            channels: C,
        },
        layers: vec![
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 1,
                activation: Activation::Sigmoid,
            },
        ],
    };
    let mut model = Sequential::new(&spec, 1).unwrap();
    let w: Vec<f32> = (0..H * W * C)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 10.0)
        .collect();
    let b = 0.25;
    let mut params = w.clone();
    params.push(b);
    model
        .restore(&Weights {
            params: vec![vec![], params],
            state: vec![vec![], vec![]],
        })
        .unwrap();
    (model, w, b)
}

#[test]
fn on_a_linear_model_the_attributions_have_closed_forms() {
    let (mut model, w, b) = linear_model();
    let image = random_image(H * W * C, 3);
    let logit = w.iter().zip(&image).map(|(w, x)| w * x).sum::<f32>() + b;

    // Integrated Gradients from black: (x - 0) * w, exactly, whatever the number of steps.
    for steps in [1, 7, 50] {
        let ig =
            integrated_gradients(&mut model, &image, 1, &Baseline::Constant(0.0), steps).unwrap();
        for (i, a) in ig.attributions.iter().enumerate() {
            assert!(
                (a - image[i] * w[i]).abs() < 1e-6,
                "steps {steps}, value {i}: {a} vs {}",
                image[i] * w[i]
            );
        }
        assert!((ig.score - logit).abs() < 1e-5 && (ig.baseline_score - b).abs() < 1e-6);
        assert!(ig.completeness_error < 1e-5, "{}", ig.completeness_error);
        // The map sums the channels.
        assert!((ig.map[0] - (ig.attributions[0] + ig.attributions[1])).abs() < 1e-7);
    }
    // Class 0's score is minus the logit: every attribution flips.
    let ig1 = integrated_gradients(&mut model, &image, 1, &Baseline::Constant(0.5), 3).unwrap();
    let ig0 = integrated_gradients(&mut model, &image, 0, &Baseline::Constant(0.5), 3).unwrap();
    assert!(ig0
        .attributions
        .iter()
        .zip(&ig1.attributions)
        .all(|(a, b)| (a + b).abs() < 1e-7));

    // Occlusion with 1x1 patches of value f: the drop at a pixel is sum_c w_c (x_c - f).
    let fill = 0.3;
    let occ = occlusion(
        &mut model,
        &image,
        1,
        OcclusionConfig {
            patch: 1,
            stride: 1,
            fill: Some(fill),
        },
    )
    .unwrap();
    assert_eq!(occ.patches, H * W);
    for p in 0..H * W {
        let want: f32 = (0..C)
            .map(|c| w[p * C + c] * (image[p * C + c] - fill))
            .sum();
        assert!(
            (occ.map[p] - want).abs() < 1e-5,
            "pixel {p}: {} vs {want}",
            occ.map[p]
        );
    }
    // Larger patches average the drops of every patch over a pixel: with the linear model a
    // 2x2 patch's drop is the sum of its pixels' 1x1 drops.
    let occ2 = occlusion(
        &mut model,
        &image,
        1,
        OcclusionConfig {
            patch: 2,
            stride: 1,
            fill: Some(fill),
        },
    )
    .unwrap();
    let corner: f32 = [0, 1, W, W + 1].iter().map(|&p| occ.map[p]).sum();
    assert!(
        (occ2.map[0] - corner).abs() < 1e-5,
        "the top-left pixel is under one patch only"
    );
}

#[test]
fn on_a_relu_network_of_one_input_integrated_gradients_add_up_to_the_difference() {
    // f(x) = 2 relu(1.5 x - 0.6) - 1 relu(-x + 0.2) + 0.1, a kink on the path from 0 to 1.
    let spec = ModelSpec {
        input: InputShape {
            height: 1,
            width: 1,
            channels: 1,
        },
        layers: vec![
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 2,
                activation: Activation::Relu,
            },
            LayerSpec::Dense {
                units: 1,
                activation: Activation::Sigmoid,
            },
        ],
    };
    let mut model = Sequential::new(&spec, 1).unwrap();
    let weights = Weights {
        params: vec![vec![], vec![1.5, -1.0, -0.6, 0.2], vec![2.0, -1.0, 0.1]],
        state: vec![vec![], vec![], vec![]],
    };
    model.restore(&weights).unwrap();
    let f = |x: f32| 2.0 * (1.5 * x - 0.6f32).max(0.0) - (-x + 0.2f32).max(0.0) + 0.1;
    for x in [1.0f32, 0.7, 0.3] {
        let ig = integrated_gradients(&mut model, &[x], 1, &Baseline::Constant(0.0), 1000).unwrap();
        assert!((ig.score - f(x)).abs() < 1e-5 && (ig.baseline_score - f(0.0)).abs() < 1e-6);
        // One input: its attribution is the whole difference (up to the kinks' O(1/steps)).
        assert!(
            (ig.attributions[0] - (f(x) - f(0.0))).abs() < 2e-3,
            "x {x}: {} vs {}",
            ig.attributions[0],
            f(x) - f(0.0)
        );
        assert!(ig.completeness_error < 1e-2);
    }
}

#[test]
fn integrated_gradients_are_complete_on_a_real_network_and_one_step_is_the_midpoint_gradient() {
    let mut model = random_model(&small_spec(1), 3);
    let image = random_image(model.input_len(), 4);
    let ig = integrated_gradients(&mut model, &image, 1, &Baseline::Blurred(2), 256).unwrap();
    assert!(
        ig.completeness_error < 1e-2,
        "completeness error {} (goal 1%)",
        ig.completeness_error
    );
    let grey = integrated_gradients(&mut model, &image, 1, &Baseline::Constant(0.5), 256).unwrap();
    assert!(
        grey.completeness_error < 1e-2,
        "{}",
        grey.completeness_error
    );

    // With one step the path's gradient is the one at the midpoint: check it by finite differences.
    let mid: Vec<f32> = image.iter().map(|x| 0.5 * x + 0.25).collect();
    let fd = finite_differences(&mid, 1e-3, |x| logits(&mut model, x)[0] as f64);
    let one = integrated_gradients(&mut model, &image, 1, &Baseline::Constant(0.5), 1).unwrap();
    let mean_gradient: Vec<f32> = one
        .attributions
        .iter()
        .zip(&image)
        .map(|(a, x)| a / (x - 0.5))
        .collect();
    assert!(relative_error(&mean_gradient, &fd) < 1e-2);
}

/// A model that runs one image at a time: batched explanations must not depend on the batch.
struct OneAtATime<'a>(&'a mut Sequential);

impl Explainable for OneAtATime<'_> {
    fn input_shape(&self) -> InputShape {
        self.0.input_shape()
    }
    fn output_kind(&self) -> OutputKind {
        Explainable::output_kind(self.0)
    }
    fn infer(&mut self, batch: &[f32]) -> Result<&[f32]> {
        self.0.infer(batch)
    }
    fn map_layers(&self) -> Vec<usize> {
        self.0.map_layers()
    }
    fn layer_count(&self) -> usize {
        self.0.layer_count()
    }
    fn layer_name(&self, layer: usize) -> &str {
        Explainable::layer_name(self.0, layer)
    }
    fn map_layer(&self, layer: usize) -> Result<(usize, usize, usize)> {
        self.0.map_layer(layer)
    }
    fn layer_output(&self, layer: usize) -> &[f32] {
        self.0.layer_output(layer)
    }
    fn backprop(&mut self, from: Point, d: &[f32], to: Point) -> Result<&[f32]> {
        Explainable::backprop(self.0, from, d, to)
    }
    fn batch_limit(&self) -> usize {
        1
    }
}

#[test]
fn batched_results_equal_one_at_a_time_results() {
    let mut model = random_model(&small_spec(1), 5);
    let image = random_image(model.input_len(), 6);
    let ig = integrated_gradients(&mut model, &image, 1, &Baseline::Constant(0.0), 40).unwrap();
    let occ = occlusion(
        &mut model,
        &image,
        1,
        OcclusionConfig {
            patch: 3,
            stride: 2,
            fill: None,
        },
    )
    .unwrap();
    let score = cam_map(&mut model, &image, 1, None, CamMethod::ScoreCam).unwrap();
    let map = saliency(&mut model, &image, 1, None).unwrap().magnitude;
    let curves = deletion_insertion(&mut model, &image, 1, &map, 20).unwrap();

    let mut single = OneAtATime(&mut model);
    let ig1 = integrated_gradients(&mut single, &image, 1, &Baseline::Constant(0.0), 40).unwrap();
    close(
        &ig.attributions,
        &ig1.attributions,
        1e-5,
        "Integrated Gradients",
    );
    let occ1 = occlusion(
        &mut single,
        &image,
        1,
        OcclusionConfig {
            patch: 3,
            stride: 2,
            fill: None,
        },
    )
    .unwrap();
    close(&occ.map, &occ1.map, 1e-5, "occlusion");
    let score1 = cam_map(&mut single, &image, 1, None, CamMethod::ScoreCam).unwrap();
    close(&score.weights, &score1.weights, 1e-5, "Score-CAM weights");
    let curves1 = deletion_insertion(&mut single, &image, 1, &map, 20).unwrap();
    close(
        &curves.deletion.probabilities,
        &curves1.deletion.probabilities,
        1e-5,
        "deletion",
    );
    close(
        &curves.insertion.probabilities,
        &curves1.insertion.probabilities,
        1e-5,
        "insertion",
    );
}

fn close(a: &[f32], b: &[f32], tol: f32, what: &str) {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * scale, "{what}[{i}]: {x} vs {y}");
    }
}

#[test]
fn two_equivalent_networks_get_the_same_maps() {
    // The same weights with a dropout layer added before Flatten: at inference it is the identity.
    let spec = small_spec(1);
    let mut a = random_model(&spec, 7);
    let mut layers = spec.layers.clone();
    let flatten = layers
        .iter()
        .position(|l| matches!(l, LayerSpec::Flatten))
        .unwrap();
    layers.insert(flatten, LayerSpec::Dropout { rate: 0.5 });
    let mut b = Sequential::new(
        &ModelSpec {
            input: spec.input,
            layers,
        },
        1,
    )
    .unwrap();
    let mut w = a.snapshot();
    w.params.insert(flatten, vec![]);
    w.state.insert(flatten, vec![]);
    b.restore(&w).unwrap();
    let image = random_image(a.input_len(), 8);
    let ig_a = integrated_gradients(&mut a, &image, 1, &Baseline::Blurred(1), 16).unwrap();
    let ig_b = integrated_gradients(&mut b, &image, 1, &Baseline::Blurred(1), 16).unwrap();
    close(&ig_a.attributions, &ig_b.attributions, 1e-6, "IG");
    let conv_a = *a.map_layers().last().unwrap();
    let conv_b = *b.map_layers().last().unwrap();
    for method in [
        CamMethod::GradCamPlusPlus,
        CamMethod::LayerCam,
        CamMethod::ScoreCam,
    ] {
        let ma = cam_map(&mut a, &image, 1, Some(conv_a), method).unwrap();
        let mb = cam_map(&mut b, &image, 1, Some(conv_b), method).unwrap();
        close(&ma.heatmap, &mb.heatmap, 1e-5, &format!("{method:?}"));
    }
    let oa = occlusion(
        &mut a,
        &image,
        0,
        OcclusionConfig {
            patch: 2,
            stride: 1,
            fill: Some(0.0),
        },
    )
    .unwrap();
    let ob = occlusion(
        &mut b,
        &image,
        0,
        OcclusionConfig {
            patch: 2,
            stride: 1,
            fill: Some(0.0),
        },
    )
    .unwrap();
    close(&oa.map, &ob.map, 1e-6, "occlusion");
}

#[test]
fn the_cam_variants_follow_their_formulas() {
    let mut model = random_model(&small_spec(1), 9);
    let image = random_image(model.input_len(), 10);
    let layer = *model.map_layers().last().unwrap();
    let (mh, mw, k) = model.map_layer(layer).unwrap();
    // The layer's maps and their gradient, as Grad-CAM takes them.
    let cam = grad_cam(
        &mut model,
        &image,
        1,
        Some(layer),
        CamWeighting::PerPosition,
    )
    .unwrap();
    model.infer(&image).unwrap();
    let maps = model.layer_output(layer).to_vec();
    let g = Explainable::backprop(&mut model, Point::Logits, &[1.0], Point::Layer(layer))
        .unwrap()
        .to_vec();
    // LayerCAM: ReLU(sum_k ReLU(g) A) per place.
    let layer_cam = cam_map(&mut model, &image, 1, Some(layer), CamMethod::LayerCam).unwrap();
    for p in 0..mh * mw {
        let want = (0..k)
            .map(|c| maps[p * k + c] * g[p * k + c].max(0.0))
            .sum::<f32>()
            .max(0.0);
        assert!((layer_cam.map[p] - want).abs() < 1e-5);
    }
    // Grad-CAM++: alpha = g^2 / (2 g^2 + sum A g^3), weight = sum alpha ReLU(g).
    let pp = cam_map(
        &mut model,
        &image,
        1,
        Some(layer),
        CamMethod::GradCamPlusPlus,
    )
    .unwrap();
    for c in 0..k {
        let s: f32 = (0..mh * mw).map(|p| maps[p * k + c]).sum();
        let want: f32 = (0..mh * mw)
            .map(|p| {
                let gv = g[p * k + c];
                let d = 2.0 * gv * gv + s * gv * gv * gv;
                if d == 0.0 {
                    0.0
                } else {
                    gv * gv / d * gv.max(0.0)
                }
            })
            .sum();
        assert!(
            (pp.weights[c] - want).abs() <= 1e-4 * want.abs().max(1e-3),
            "map {c}: {} vs {want}",
            pp.weights[c]
        );
    }
    // Score-CAM: a softmax over the maps, so weights >= 0 summing to 1; every map is >= 0.
    let sc = cam_map(&mut model, &image, 1, Some(layer), CamMethod::ScoreCam).unwrap();
    assert!(
        (sc.weights.iter().sum::<f32>() - 1.0).abs() < 1e-5 && sc.weights.iter().all(|&w| w >= 0.0)
    );
    for m in [&layer_cam, &pp, &sc] {
        assert!(m.map.iter().chain(&m.heatmap).all(|&v| v >= 0.0));
        assert_eq!(m.heatmap.len(), cam.heatmap.len());
    }
}

#[test]
fn deletion_and_insertion_curves_reward_the_right_order() {
    let (mut model, w, _) = linear_model();
    let image: Vec<f32> = random_image(H * W * C, 11)
        .iter()
        .map(|v| v * 0.5 + 0.5)
        .collect();
    let ig = integrated_gradients(&mut model, &image, 1, &Baseline::Constant(0.0), 1).unwrap();
    let reversed: Vec<f32> = ig.map.iter().map(|v| -v).collect();
    let good = deletion_insertion(&mut model, &image, 1, &ig.map, 20).unwrap();
    let bad = deletion_insertion(&mut model, &image, 1, &reversed, 20).unwrap();
    // Both start at the picture's probability (deletion) and end at the picture's (insertion).
    let p = 1.0 / (1.0 + (-(w.iter().zip(&image).map(|(a, b)| a * b).sum::<f32>() + 0.25)).exp());
    assert!(
        (good.deletion.probabilities[0] - p).abs() < 1e-5
            && (good.insertion.probabilities[20] - p).abs() < 1e-5
    );
    assert_eq!(good.deletion.fractions.len(), 21);
    assert!(
        good.deletion.area < bad.deletion.area,
        "{} vs {}",
        good.deletion.area,
        bad.deletion.area
    );
    assert!(
        good.insertion.area > bad.insertion.area,
        "{} vs {}",
        good.insertion.area,
        bad.insertion.area
    );
    assert_eq!(importance_order(&[0.1, 0.5, 0.5, -1.0]), vec![1, 2, 0, 3]);
}

#[test]
fn bad_requests_are_explained() {
    let (mut model, _, _) = linear_model();
    let image = random_image(H * W * C, 1);
    let msg = |r: Result<()>| r.unwrap_err().to_string();
    let ig = |m: &mut Sequential, b: Baseline, steps| {
        integrated_gradients(m, &image, 1, &b, steps).map(|_| ())
    };
    assert!(msg(ig(&mut model, Baseline::Constant(0.0), 0)).contains("between 1 and 1024 steps"));
    assert!(msg(ig(&mut model, Baseline::Image(vec![0.0; 3]), 8))
        .contains("the baseline image has 3 values but the picture has 40"));
    assert!(Baseline::parse("noise")
        .unwrap_err()
        .to_string()
        .contains("use black, grey or blur"));
    let occ = |m: &mut Sequential, patch, stride| {
        occlusion(
            m,
            &image,
            1,
            OcclusionConfig {
                patch,
                stride,
                fill: None,
            },
        )
        .map(|_| ())
    };
    assert!(
        msg(occ(&mut model, 9, 1)).contains("the occlusion patch must be between 1 and 4 pixels")
    );
    assert!(msg(occ(&mut model, 2, 0))
        .contains("the occlusion stride must be between 1 and the patch size 2"));
    assert!(msg(occ(&mut model, 2, 3)).contains("stride"));
    assert!(
        msg(deletion_insertion(&mut model, &image, 1, &[0.0; 5], 10).map(|_| ()))
            .contains("the map has 5 values but the picture has 4x5 pixels")
    );
    assert!(
        msg(deletion_insertion(&mut model, &image, 1, &[0.0; 20], 0).map(|_| ()))
            .contains("1 to 256 steps")
    );
    // No convolution: the CAMs say so.
    assert!(
        msg(cam_map(&mut model, &image, 1, None, CamMethod::LayerCam).map(|_| ()))
            .contains("needs a convolution layer")
    );
    assert!(CamMethod::parse("cam").is_err());
}

fn page_settings() -> convscope::app::compare::MethodSettings {
    serde_json::from_value(serde_json::json!({
        "igSteps": 8, "igBaseline": "blur", "occlusionPatch": 8, "occlusionStride": 4, "images": 3
    }))
    .unwrap()
}

/// The page's comparison: every method on one session picture, in words when refused; the
/// scoreboard advanced a pair at a time equals the blocking one.
#[test]
fn the_page_compares_every_method_and_runs_the_scoreboard_in_steps() {
    use convscope::app::compare::MethodSettings;
    use convscope::app::inside::Picture;
    use convscope::app::scoreboard::{scoreboard, Method, METHODS};
    use convscope::app::session::{Session, Split, TrainSettings};

    for m in METHODS {
        assert_eq!(Method::parse(m.id()).unwrap(), m);
    }
    assert!(Method::parse("grad-cam-3000")
        .unwrap_err()
        .to_string()
        .contains("not an explanation method"));

    let mut s = Session::new();
    s.load_synthetic(48, 12, 2, "easy").unwrap();
    let train = TrainSettings {
        epochs: 1,
        batch_size: 8,
        learning_rate: 1e-3,
        patience: 0,
        seed: 1,
        bn_momentum: None,
        augmentation: Default::default(),
    };
    s.start_training(&train).unwrap();
    while s.train_for(1e9).unwrap().finished.is_none() {}

    let settings = page_settings();
    for m in METHODS {
        let r = s
            .inside_method_map(Picture::Set(Split::Test, 1), 1, m, &settings)
            .unwrap();
        assert_eq!(
            (r.method, r.height, r.width, r.map.len()),
            (m.id(), 64, 64, 64 * 64)
        );
        assert!(r.map.iter().all(|v| v.is_finite()), "{}", r.name);
        let cam = matches!(
            m,
            Method::GradCam
                | Method::HiResCam
                | Method::GradCamPlusPlus
                | Method::LayerCam
                | Method::ScoreCam
        );
        assert_eq!(r.signed, !cam, "{}", r.name);
        // A CAM may find no evidence for the class at all (every weighted map negative).
        assert!(cam || r.map.iter().any(|&v| v != 0.0), "{}", r.name);
        if cam {
            assert!(
                r.map.iter().all(|&v| v >= 0.0),
                "{} keeps only evidence for",
                r.name
            );
        }
    }
    let refused = |patch: serde_json::Value, words: &str| {
        let mut v = serde_json::json!({ "igSteps": 8, "igBaseline": "blur", "occlusionPatch": 8, "occlusionStride": 4 });
        v.as_object_mut()
            .unwrap()
            .extend(patch.as_object().unwrap().clone());
        let bad: MethodSettings = serde_json::from_value(v).unwrap();
        let mut s2 = Session::new();
        s2.load_synthetic(16, 4, 2, "easy").unwrap();
        s2.build_model(None, 0).unwrap();
        let e = s2
            .inside_method_map(Picture::Set(Split::Test, 0), 1, Method::Saliency, &bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains(words), "{e}");
        let e = s2.start_scoreboard(&bad).unwrap_err().to_string();
        assert!(e.contains(words), "{e}");
    };
    refused(
        serde_json::json!({ "igSteps": 0 }),
        "between 1 and 1024 steps",
    );
    refused(
        serde_json::json!({ "occlusionPatch": 80 }),
        "patch must be between 1 and 64 pixels",
    );
    refused(
        serde_json::json!({ "occlusionStride": 9 }),
        "stride must be between 1 and the patch size 8",
    );
    refused(
        serde_json::json!({ "igBaseline": "purple" }),
        "not a baseline",
    );

    // Stepwise on the session equals the blocking scoreboard on the same model and faces.
    let mut job = s.start_scoreboard(&settings).unwrap();
    let mut steps = 0;
    while !job.advance(&mut s, 1).unwrap() {
        steps += 1;
    }
    assert_eq!(job.progress(), (27, 27));
    assert_eq!(steps, 26);
    let stepped = job.report().unwrap();
    assert!(
        stepped.landmarks,
        "the synthetic faces know their faces and mouths"
    );
    let (_, test) = s.sets().unwrap();
    let test = test.clone();
    // The face box's share of the picture, counted here over the scored faces.
    let faces = &test.landmarks().unwrap()[..stepped.images];
    let area: f32 = faces
        .iter()
        .map(|l| ((l.face.x1 - l.face.x0) * (l.face.y1 - l.face.y0)) as f32 / (64.0 * 64.0))
        .sum::<f32>()
        / faces.len() as f32;
    assert!((stepped.face_area_share.unwrap() - area).abs() < 1e-6);
    for m in &stepped.methods {
        let share = m.face_evidence.expect("every method's evidence is placed");
        assert!((0.0..=1.0).contains(&share), "{}: {share}", m.method);
    }
    // The same weights, read back from the session's model file.
    let saved = s.save(&serde_json::json!({})).unwrap();
    let model = &mut convscope::nn::io::load_model(&saved).unwrap().model;
    let mut random = Sequential::new(model.spec(), 0x5c0_4eb0a4d).unwrap();
    let whole = scoreboard(
        model,
        &mut random,
        &test,
        &settings.config().unwrap(),
        |_, _| {},
    )
    .unwrap();
    assert_eq!(stepped, whole);
}

/// The accuracy with the face hidden and with only the face shown, on a hand-weighted model
/// that reads only the face: a logistic unit on a 4x4 gray picture whose weights are 1 on the
/// 2x2 face box (top left) and 0 elsewhere, bias -1.5. A bright face (four 1s) gives logit 2.5
/// (smile); painted over with the picture's mean 0.25 it gives -0.5 (no smile); a dark picture
/// gives -1.5 however it is painted.
#[test]
fn hiding_the_face_counts_what_a_model_that_reads_the_face_loses() {
    use convscope::app::scoreboard::face_hiding;
    use convscope::data::{Dataset, Landmarks, PixelBox};
    use convscope::nn::{Activation, InputShape, LayerSpec, ModelSpec, Weights};
    let spec = ModelSpec {
        input: InputShape {
            height: 4,
            width: 4,
            channels: 1,
        },
        layers: vec![
            LayerSpec::Flatten,
            LayerSpec::Dense {
                units: 1,
                activation: Activation::Sigmoid,
            },
        ],
    };
    let mut model = Sequential::new(&spec, 1).unwrap();
    let face = PixelBox {
        x0: 0,
        y0: 0,
        x1: 2,
        y1: 2,
    };
    let mut kernel = vec![0.0f32; 16];
    for p in [0, 1, 4, 5] {
        kernel[p] = 1.0;
    }
    kernel.push(-1.5);
    model
        .restore(&Weights {
            params: vec![vec![], kernel],
            state: vec![vec![], vec![]],
        })
        .unwrap();
    let mut bright = vec![0.0f32; 16];
    for p in [0, 1, 4, 5] {
        bright[p] = 1.0;
    }
    let images = [bright, vec![0.0; 16]].concat();
    let names = vec!["no smile".to_string(), "smile".to_string()];
    let marks = Landmarks {
        face,
        mouth: PixelBox {
            x0: 0,
            y0: 1,
            x1: 2,
            y1: 2,
        },
    };
    let test = Dataset::new(images, vec![1, 0], 4, 4, 1, names)
        .unwrap()
        .with_landmarks(vec![marks, marks])
        .unwrap();
    let h = face_hiding(&mut model, &test).unwrap();
    assert_eq!(
        (h.images, h.accuracy, h.face_hidden, h.face_only),
        (2, 1.0, 0.5, 1.0)
    );
    // Without face boxes there is nothing to hide.
    let plain = Dataset::new(
        vec![0.0; 32],
        vec![1, 0],
        4,
        4,
        1,
        vec!["a".into(), "b".into()],
    )
    .unwrap();
    assert!(face_hiding(&mut model, &plain).is_none());
}
