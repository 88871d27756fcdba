//! Grad-CAM against a reference computed another way: the gradient of the logit with respect
//! to the convolution's output by finite differences (through a copy of the layers after it,
//! as a model of its own), alpha_k its spatial mean, the maps as ReLU(sum alpha_k A_k)
//! (channel-mean weighting) and ReLU(sum_k d_k(x) A_k(x)) (per-position weighting), and the
//! bilinear up-sampling by a direct formula.

mod explain_support;

use convscope::explain::{grad_cam, CamWeighting};
use convscope::nn::Mode;
use explain_support::*;

/// alpha (K) and the map (h, w) of `weighting` for `class` (0 or 1 of a sigmoid model).
fn reference(
    model: &mut convscope::nn::Sequential,
    image: &[f32],
    layer: usize,
    class: usize,
    weighting: CamWeighting,
) -> (Vec<f32>, Vec<f32>) {
    model.forward(image, Mode::Infer);
    let maps = model.output(layer).to_vec(); // (h, w, K)
    let k = model.layers()[layer].plan.output.channels();
    let mut head = head_after(model, layer);
    let sign = if class == 1 { 1.0 } else { -1.0 };
    let d = finite_differences(&maps, 1e-3, |a| sign * logits(&mut head, a)[0] as f64);
    let positions = (maps.len() / k) as f32;
    let alpha: Vec<f32> = (0..k)
        .map(|c| d.iter().skip(c).step_by(k).sum::<f32>() / positions)
        .collect();
    let cam = maps
        .chunks_exact(k)
        .zip(d.chunks_exact(k))
        .map(|(a, d)| {
            let weights = match weighting {
                CamWeighting::ChannelMean => &alpha[..],
                CamWeighting::PerPosition => d,
            };
            a.iter()
                .zip(weights)
                .map(|(a, w)| a * w)
                .sum::<f32>()
                .max(0.0)
        })
        .collect();
    (alpha, cam)
}

fn bilinear_at(
    map: &[f32],
    h: usize,
    w: usize,
    out_h: usize,
    out_w: usize,
    y: usize,
    x: usize,
) -> f32 {
    let src = |d: usize, n: usize, out: usize| {
        (((d as f32 + 0.5) * n as f32 / out as f32) - 0.5).clamp(0.0, (n - 1) as f32)
    };
    let (sy, sx) = (src(y, h, out_h), src(x, w, out_w));
    let (y0, x0) = (sy.floor() as usize, sx.floor() as usize);
    let (y1, x1) = ((y0 + 1).min(h - 1), (x0 + 1).min(w - 1));
    let (fy, fx) = (sy - y0 as f32, sx - x0 as f32);
    let at = |yy: usize, xx: usize| map[yy * w + xx];
    (1.0 - fy) * ((1.0 - fx) * at(y0, x0) + fx * at(y0, x1))
        + fy * ((1.0 - fx) * at(y1, x0) + fx * at(y1, x1))
}

#[test]
fn grad_cam_matches_finite_differences_on_every_conv_layer_class_and_weighting() {
    let mut model = random_model(&small_spec(1), 11);
    // The first convolution feeds a max pool: where its ReLU is off, a pool window holds equal
    // zeros, a tie that finite differences split among them while the gradient (like
    // TensorFlow's) goes to one. A large bias keeps every unit on, so the values differ.
    let bias = model.layers()[0].tensors()[1].clone();
    model.layer_mut(0).tensor_mut(&bias).fill(3.0);
    let mut nonzero = 0;
    for seed in [1, 2] {
        let image = random_image(model.input_len(), seed);
        for (layer, class, weighting) in [0, 4].into_iter().flat_map(|l| {
            [0, 1].into_iter().flat_map(move |c| {
                [CamWeighting::ChannelMean, CamWeighting::PerPosition].map(|w| (l, c, w))
            })
        }) {
            {
                let cam = grad_cam(&mut model, &image, class, Some(layer), weighting).unwrap();
                let (alpha, map) = reference(&mut model, &image, layer, class, weighting);
                assert_eq!(
                    (cam.layer, cam.class, cam.weighting),
                    (layer, class, weighting)
                );
                let err = relative_error(&cam.weights, &alpha);
                assert!(
                    err < 1e-2,
                    "layer {layer} class {class}: alpha relative error {err}"
                );
                for (a, b) in cam.map.iter().zip(&map) {
                    assert!(
                        (a - b).abs() < 1e-2 * (1.0 + b.abs()),
                        "layer {layer} class {class} {weighting:?}: map {a} vs {b}"
                    );
                }
                nonzero += usize::from(map.iter().any(|&v| v > 0.0));
                let (h, w) = (cam.height, cam.width);
                assert_eq!(cam.heatmap.len(), h * w);
                for y in 0..h {
                    for x in 0..w {
                        let want = bilinear_at(&cam.map, cam.map_height, cam.map_width, h, w, y, x);
                        assert!((cam.heatmap[y * w + x] - want).abs() < 1e-5);
                    }
                }
            }
        }
    }
    assert!(
        nonzero >= 8,
        "the comparison must not be between all-zero maps ({nonzero} non-zero)"
    );
}

#[test]
fn grad_cam_defaults_to_the_last_convolution_and_classes_have_opposite_weights() {
    let mut model = random_model(&small_spec(1), 12);
    let image = random_image(model.input_len(), 3);
    let default = grad_cam(&mut model, &image, 1, None, CamWeighting::ChannelMean).unwrap();
    assert_eq!(
        (default.layer, default.layer_name.as_str()),
        (4, "conv2d_1")
    );
    assert_eq!(
        (default.map_height, default.map_width, default.weights.len()),
        (3, 3, 3)
    );
    assert_eq!(
        default,
        grad_cam(&mut model, &image, 1, Some(4), CamWeighting::ChannelMean).unwrap()
    );
    assert_eq!(
        grad_cam(&mut model, &image, 1, None, CamWeighting::default())
            .unwrap()
            .weighting,
        CamWeighting::PerPosition
    );
    let frown = grad_cam(&mut model, &image, 0, None, CamWeighting::ChannelMean).unwrap();
    assert!(frown
        .weights
        .iter()
        .zip(&default.weights)
        .all(|(a, b)| *a == -*b));
}
