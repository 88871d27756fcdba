//! Shared by the native and the wasm whole-model fixture tests: the fixture's weights and input
//! (the integer-hash formula of tests/fixtures/model/make_fixtures.py), the reference tensors,
//! and the comparison with the tolerance described in tests/model_fixture.rs.

use convscope::nn::{Mode, ModelSpec, Optimizer, OptimizerSpec, Sequential, Storage};
use safetensors::SafeTensors;

const RTOL: f32 = 1e-4;
const STORED_IMAGES: [usize; 2] = [0, 3];
const SAMPLE_STRIDE: usize = 97;

/// Mirror of `hash_uniform` in make_fixtures.py: `n` floats in [-1, 1), exact on every machine.
fn hash_uniform(n: usize, salt: u32) -> Vec<f32> {
    (0..n as u32)
        .map(|i| {
            let mut x = i
                .wrapping_mul(0x9E37_79B1)
                .wrapping_add(salt.wrapping_mul(0x85EB_CA77))
                .wrapping_add(0x1656_67B1);
            x ^= x >> 15;
            x = x.wrapping_mul(0x2C1B_3C6D);
            x ^= x >> 12;
            x = x.wrapping_mul(0x297A_2D39);
            x ^= x >> 15;
            let u = (x >> 8) as f32 * (2.0f32).powi(-24);
            2.0 * u - 1.0
        })
        .collect()
}

fn scaled(n: usize, salt: u32, scale: f32, offset: f32) -> Vec<f32> {
    hash_uniform(n, salt)
        .into_iter()
        .map(|v| offset + scale * v)
        .collect()
}

fn glorot_limit(fan_in: usize, fan_out: usize) -> f32 {
    (6.0 / (fan_in + fan_out) as f64).sqrt() as f32
}

/// The fixture's weights: salt = 10 * layer index + tensor index, as in the script.
fn set_fixture_weights(model: &mut Sequential) {
    for i in 0..model.layers().len() {
        let layer = model.layer_mut(i);
        let tensors = layer.tensors().to_vec();
        let salt = 10 * i as u32;
        for (k, t) in tensors.iter().enumerate() {
            let values = match (t.name, t.dims.as_slice()) {
                ("kernel", [kh, kw, ci, co]) => {
                    scaled(t.len, salt, glorot_limit(kh * kw * ci, kh * kw * co), 0.0)
                }
                ("kernel", [n_in, n_out]) => scaled(t.len, salt, glorot_limit(*n_in, *n_out), 0.0),
                ("bias", _) => scaled(t.len, salt + 1, 0.05, 0.0),
                ("gamma", _) => scaled(t.len, salt, 0.2, 1.0),
                ("beta", _) => scaled(t.len, salt + 1, 0.1, 0.0),
                ("moving_mean", _) => scaled(t.len, salt + 2, 0.1, 0.0),
                ("moving_variance", _) => scaled(t.len, salt + 3, 0.25, 1.0),
                other => panic!("unexpected tensor {other:?} (#{k})"),
            };
            layer.tensor_mut(t).copy_from_slice(&values);
        }
    }
}

fn fixture_input() -> Vec<f32> {
    hash_uniform(4 * 64 * 64 * 3, 1000)
        .into_iter()
        .map(|v| v * 0.5 + 0.5)
        .collect()
}

/// The reference tensors, compiled in (so that the wasm test has them too).
pub const FIXTURE: &[u8] = include_bytes!("../fixtures/model/model.safetensors");
/// Keras's `model.summary()` of the chapter's model.
pub const KERAS_SUMMARY: &str = include_str!("../fixtures/model/summary.txt");

struct Fixture {
    bytes: &'static [u8],
}

impl Fixture {
    fn load() -> Self {
        Self { bytes: FIXTURE }
    }

    fn get(&self, name: &str) -> (Vec<usize>, Vec<f32>) {
        let st = SafeTensors::deserialize(self.bytes).expect("valid fixture file");
        let t = st
            .tensor(name)
            .unwrap_or_else(|_| panic!("fixture tensor {name}"));
        let data = t
            .data()
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        (t.shape().to_vec(), data)
    }
}

/// How strictly a tensor is compared (see the module header).
#[derive(Clone, Copy, PartialEq)]
enum Tolerance {
    /// Norm-relative error <= 1e-4 and every element within 1e-4 * |keras| + 1e-5 * max|keras|.
    Elementwise,
    /// Norm-relative error <= 1e-4 only.
    Norm,
}

const ELEMENT_FLOOR: f32 = 1e-5;

fn check(what: &str, ours: &[f32], keras: &[f32], tolerance: Tolerance, report: &mut Vec<String>) {
    assert_eq!(ours.len(), keras.len(), "{what}: length");
    let max = keras.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let norm = |v: &mut dyn Iterator<Item = f32>| v.map(|x| (x as f64).powi(2)).sum::<f64>().sqrt();
    let diff = norm(&mut ours.iter().zip(keras).map(|(a, b)| a - b));
    let reference = norm(&mut keras.iter().copied());
    let norm_rel = if reference == 0.0 {
        diff
    } else {
        diff / reference
    };
    // Element-wise: the error in units of its allowance (<= 1 passes), and where it is worst.
    let (mut worst, mut at) = (0.0f32, 0);
    for (i, (&a, &b)) in ours.iter().zip(keras).enumerate() {
        let e = (a - b).abs() / (RTOL * b.abs() + ELEMENT_FLOOR * max);
        // A NaN error must win, so that it is reported.
        if e.is_nan() || e > worst {
            (worst, at) = (e, i);
        }
    }
    println!("{what:<44} norm-relative {norm_rel:.2e}, worst element {worst:.3} of its allowance (ours {:e}, keras {:e})", ours[at], keras[at]);
    if norm_rel.is_nan() || norm_rel > RTOL as f64 {
        report.push(format!(
            "{what}: norm-relative error {norm_rel:.3e} > {RTOL}"
        ));
    }
    if tolerance == Tolerance::Elementwise && (worst.is_nan() || worst > 1.0) {
        report.push(format!(
            "{what}: element {at} off by {worst:.2} x its allowance: ours {} vs keras {}",
            ours[at], keras[at]
        ));
    }
}

/// The stored images' rows of a batch tensor (N, ...) .
fn stored_rows(all: &[f32], batch: usize) -> Vec<f32> {
    let per = all.len() / batch;
    STORED_IMAGES
        .iter()
        .flat_map(|&i| all[i * per..(i + 1) * per].iter().copied())
        .collect()
}

/// Row sums, column sums and every 97th entry of an (rows, cols) matrix, as the script stores.
fn digest(m: &[f32], cols: usize) -> [Vec<f32>; 3] {
    let rows: Vec<f32> = m
        .chunks_exact(cols)
        .map(|r| r.iter().map(|&v| v as f64).sum::<f64>() as f32)
        .collect();
    let col_sums: Vec<f32> = (0..cols)
        .map(|c| {
            m.iter()
                .skip(c)
                .step_by(cols)
                .map(|&v| v as f64)
                .sum::<f64>() as f32
        })
        .collect();
    let sampled: Vec<f32> = m.iter().step_by(SAMPLE_STRIDE).copied().collect();
    [rows, col_sums, sampled]
}

/// Compares a trainable tensor stored in full or, for the dense kernel, as a digest.
fn check_tensor(
    fx: &Fixture,
    prefix: &str,
    layer: &str,
    t: &convscope::nn::TensorInfo,
    ours: &[f32],
    tolerance: Tolerance,
    report: &mut Vec<String>,
) {
    let name = format!("{prefix}.{layer}.{}", t.name);
    if t.len > 100_000 {
        let [rows, cols, sampled] = digest(ours, t.dims[1]);
        check(
            &format!("{name}.row_sums"),
            &rows,
            &fx.get(&format!("{name}.row_sums")).1,
            tolerance,
            report,
        );
        check(
            &format!("{name}.col_sums"),
            &cols,
            &fx.get(&format!("{name}.col_sums")).1,
            tolerance,
            report,
        );
        check(
            &format!("{name}.sampled"),
            &sampled,
            &fx.get(&format!("{name}.sampled")).1,
            tolerance,
            report,
        );
    } else {
        let (shape, keras) = fx.get(&name);
        assert_eq!(shape, t.dims, "{name} shape");
        check(&name, ours, &keras, tolerance, report);
    }
}

/// Runs the whole comparison; returns the differences beyond tolerance (empty when all match).
pub fn compare_with_keras() -> Vec<String> {
    let fx = Fixture::load();
    let mut model = Sequential::new(&ModelSpec::chapter().with_dropout(0.0), 1).unwrap();
    set_fixture_weights(&mut model);
    let x = fixture_input();
    let labels = [1u8, 0, 1, 0];
    let mut report = Vec::new();

    // Inference mode first (the training forward moves the moving statistics).
    model.forward(&x, Mode::Infer);
    let last = model.layers().len() - 1;
    for (i, layer) in model.layers().iter().enumerate() {
        let name = format!("infer.out.{}", layer.name());
        let ours = if i == last {
            model.logits()
        } else {
            model.output(i)
        };
        let per = ours.len() / 4;
        check(
            &name,
            &ours[3 * per..],
            &fx.get(&name).1,
            Tolerance::Elementwise,
            &mut report,
        );
    }
    check(
        "infer.logit",
        model.logits(),
        &fx.get("infer.logit").1,
        Tolerance::Elementwise,
        &mut report,
    );

    check(
        "input (images 0 and 3)",
        &stored_rows(&x, 4),
        &fx.get("input").1,
        Tolerance::Elementwise,
        &mut report,
    );
    model.forward(&x, Mode::Train);
    for (i, layer) in model.layers().iter().enumerate() {
        let name = format!("out.{}", layer.name());
        let (shape, keras) = fx.get(&name);
        assert_eq!(
            &shape[1..],
            layer.plan.output.dims().as_slice(),
            "{name} shape"
        );
        // Keras's fixture model ends without the sigmoid: its last output is the logit.
        let ours = if i == last {
            model.logits()
        } else {
            model.output(i)
        };
        check(
            &name,
            &stored_rows(ours, 4),
            &keras,
            Tolerance::Elementwise,
            &mut report,
        );
    }
    check(
        "logit",
        model.logits(),
        &fx.get("logit").1,
        Tolerance::Elementwise,
        &mut report,
    );
    check(
        "probability",
        model.probabilities(),
        &fx.get("probability").1,
        Tolerance::Elementwise,
        &mut report,
    );

    let loss = model.loss(&labels, true);
    check(
        "loss",
        &[loss],
        &fx.get("loss").1,
        Tolerance::Elementwise,
        &mut report,
    );
    model.zero_grads();
    model.backward_loss();
    for layer in model.layers() {
        for t in layer.tensors() {
            match t.storage {
                Storage::Trainable => check_tensor(
                    &fx,
                    "grad",
                    layer.name(),
                    t,
                    layer.tensor_grad(t),
                    Tolerance::Elementwise,
                    &mut report,
                ),
                Storage::NonTrainable => {
                    let name = format!("moving.{}.{}", layer.name(), t.name);
                    check(
                        &name,
                        layer.tensor(t),
                        &fx.get(&name).1,
                        Tolerance::Elementwise,
                        &mut report,
                    );
                }
            }
        }
    }

    let mut adam = Optimizer::new(OptimizerSpec::default(), &model).unwrap();
    adam.step(&mut model);
    for layer in model.layers() {
        for t in layer
            .tensors()
            .iter()
            .filter(|t| t.storage == Storage::Trainable)
        {
            check_tensor(
                &fx,
                "adam",
                layer.name(),
                t,
                layer.tensor(t),
                Tolerance::Norm,
                &mut report,
            );
        }
    }
    report
}
