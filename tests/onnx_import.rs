//! ONNX import, checked against the other side: `tools/onnx/make_import_fixtures.py` builds
//! small CNNs with onnx.helper (a chain with a sigmoid, a chain with a softmax, a residual
//! block, a depthwise block with input normalization, asymmetric padding with an NCHW flatten)
//! and stores ONNX Runtime's outputs; convscope's import must reproduce them within 1e-5. Also:
//! round trips through convscope's own export (the chapter model, graph models, the ImageNet
//! network and tools/imagenet/make_onnx.py's independent ONNX of it, when built), fine-tuning
//! of an imported chain, gradients of the new graph operators against finite differences, the
//! command line, and every kind of bad file the issue names.
//!
//! `./build.sh test` sets CONVSCOPE_REQUIRE_ONNX=1 (the fixtures need the ONNX virtualenv):
//! there a missing virtualenv fails; a plain `cargo test` offline skips the fixture tests.
#![cfg(not(target_arch = "wasm32"))]

use convscope::nn::graph::{softmax, GraphModel, GraphPoint, GraphSpec};
use convscope::nn::io::{file_kind, load_graph_model, load_model, FileKind};
use convscope::nn::onnx::{graph_to_onnx, model_file_from_onnx, sequential_to_onnx};
use convscope::nn::{fit, predict, FitConfig, ModelSpec, Sequential, Silent};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

const TOLERANCE: f32 = 1e-5;

/// The fixture folder, made once per test run; `None` when skipped (no virtualenv offline).
fn fixtures() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx_import");
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/onnx/make_import_fixtures.py");
        let out = Command::new("python3")
            .arg(&script)
            .arg(&dir)
            .output()
            .expect("python3 runs");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        match out.status.code() {
            Some(0) => Some(dir),
            Some(3) if std::env::var_os("CONVSCOPE_REQUIRE_ONNX").is_none() => {
                eprintln!("skipped: {}", text.trim());
                None
            }
            _ => panic!("making the ONNX fixtures failed:\n{text}"),
        }
    })
    .as_deref()
}

fn f32s(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

/// (N, C, H, W) -> (N, H, W, C).
fn nchw_to_nhwc(x: &[f32], (c, h, w): (usize, usize, usize)) -> Vec<f32> {
    let per = c * h * w;
    let mut out = vec![0.0; x.len()];
    for n in 0..x.len() / per {
        for ch in 0..c {
            for y in 0..h {
                for xx in 0..w {
                    out[n * per + (y * w + xx) * c + ch] = x[n * per + (ch * h + y) * w + xx];
                }
            }
        }
    }
    out
}

fn largest_difference(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// What the imported model file computes for NHWC `images`, in the form the ONNX model ends in.
fn run_model_file(file: &[u8], images: &[f32], n: usize, ends_in: &str) -> Vec<f32> {
    match file_kind(file).unwrap() {
        FileKind::Sequential => {
            let mut model = load_model(file).unwrap().model;
            predict(&mut model, images, 4).unwrap()
        }
        FileKind::Graph => {
            let mut model = load_graph_model(file).unwrap().model;
            let logits = model.forward(images, n).unwrap().to_vec();
            match ends_in {
                "softmax" => logits.chunks(model.classes()).flat_map(softmax).collect(),
                "logits" => logits,
                other => panic!("a graph model cannot end in {other}"),
            }
        }
    }
}

#[test]
fn models_made_by_onnx_helper_give_onnx_runtimes_outputs() {
    let Some(dir) = fixtures() else { return };
    for case in [
        "chain_sigmoid",
        "chain_softmax",
        "residual",
        "depthwise",
        "asymmetric",
    ] {
        let folder = dir.join(case);
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(folder.join("case.json")).unwrap())
                .unwrap();
        let get = |k: &str| meta[k].as_u64().unwrap() as usize;
        let (n, c, h, w) = (get("n"), get("channels"), get("height"), get("width"));
        let ends_in = meta["ends_in"].as_str().unwrap();
        let imported = model_file_from_onnx(&std::fs::read(folder.join("model.onnx")).unwrap())
            .unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(
            imported.sequential,
            meta["trainable"].as_bool().unwrap(),
            "{case}: kept as a trainable model?"
        );
        // One sigmoid unit names two classes.
        let classes = if ends_in == "sigmoid" {
            2
        } else {
            get("outputs")
        };
        assert_eq!(imported.classes.len(), classes, "{case}");
        let images = nchw_to_nhwc(&f32s(&folder.join("input.f32")), (c, h, w));
        let expected = f32s(&folder.join("output.f32"));
        let got = run_model_file(&imported.file, &images, n, ends_in);
        let worst = largest_difference(&got, &expected);
        println!("{case}: largest |convscope - ONNX Runtime| = {worst:.3e} over {n} pictures");
        assert!(
            worst <= TOLERANCE,
            "{case}: {got:?}\nvs ONNX Runtime {expected:?}"
        );
        // The outputs must differ between pictures, or a wrong layout could hide.
        let k = expected.len() / n;
        let spread = largest_difference(&expected[..k], &expected[k..2 * k]);
        assert!(spread > 1e-3, "{case}: the fixture's outputs barely vary");
    }
}

#[test]
fn an_imported_chain_fine_tunes() {
    let Some(dir) = fixtures() else { return };
    let folder = dir.join("chain_sigmoid");
    let imported =
        model_file_from_onnx(&std::fs::read(folder.join("model.onnx")).unwrap()).unwrap();
    let mut model = load_model(&imported.file).unwrap().model;
    let images = nchw_to_nhwc(&f32s(&folder.join("input.f32")), (3, 20, 18));
    // Labels opposite to what it says now: training must move it towards them.
    let before = predict(&mut model, &images, 7).unwrap();
    let labels: Vec<u8> = before.iter().map(|&p| u8::from(p < 0.5)).collect();
    let loss = |model: &mut Sequential| {
        model.forward(&images, convscope::nn::Mode::Infer);
        model.loss(&labels, false)
    };
    let start = loss(&mut model);
    let data = convscope::nn::Examples::new(&images, &labels, 20 * 18 * 3).unwrap();
    let config = FitConfig {
        epochs: 20,
        batch_size: 7,
        seed: 1,
        validation_split: 0.0,
        early_stopping: None,
        ..FitConfig::recommended()
    };
    fit(&mut model, &data, None, config, &mut Silent).unwrap();
    let end = loss(&mut model);
    println!("fine-tuning the imported chain: loss {start:.4} -> {end:.4}");
    assert!(end < start * 0.8, "loss {start} -> {end}");
}

/// A graph with every operator the import added to graph models: ReLU, max and average pooling
/// with uneven pads, flatten, and a dense layer on the flattened map.
fn pooling_graph() -> GraphModel {
    // The same graph as the export test's (tests/fixtures/onnx/pooling_graph.json).
    let spec = GraphSpec::from_json(include_str!("fixtures/onnx/pooling_graph.json")).unwrap();
    let mut model = GraphModel::new(spec).unwrap();
    let mut state = 11u64;
    for t in model.tensors_mut() {
        for v in t.values.iter_mut() {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            *v = ((state >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
        }
    }
    model
}

#[test]
fn the_new_graph_operators_have_gradients_that_match_finite_differences() {
    let mut model = pooling_graph();
    let per = 9 * 8 * 2;
    let image: Vec<f32> = (0..per).map(|i| ((i * 37) % 101) as f32 / 101.0).collect();
    let class = 2;
    let score = |model: &mut GraphModel, x: &[f32]| model.forward(x, 1).unwrap()[class] as f64;
    score(&mut model, &image);
    let out = model.output_index();
    let mut seed = vec![0.0; model.classes()];
    seed[class] = 1.0;
    let grad = model
        .backprop(out, &seed, GraphPoint::Image)
        .unwrap()
        .to_vec();
    assert!(
        grad.iter().any(|g| g.abs() > 1e-3),
        "the gradient is all zero"
    );
    let mut worst = 0f64;
    for i in 0..per {
        let h = 1e-3f32;
        let (mut up, mut down) = (image.clone(), image.clone());
        up[i] += h;
        down[i] -= h;
        let numeric = (score(&mut model, &up) - score(&mut model, &down)) / (2.0 * h as f64);
        worst = worst.max((numeric - grad[i] as f64).abs());
    }
    println!("largest |finite difference - backprop| = {worst:.2e}");
    // Pixels sit away from ReLU kinks and pooling ties for this image, so f32 noise is the
    // only error.
    assert!(worst < 2e-3, "{worst}");
}

fn graph_logits(model: &mut GraphModel, images: &[f32], n: usize) -> Vec<f32> {
    model.forward(images, n).unwrap().to_vec()
}

#[test]
fn convscopes_own_exports_come_back_the_same() {
    // The chapter's model, with its weights moved away from the initial ones by one step of
    // training-like noise: a chain, so it comes back trainable, layer for layer.
    let spec = ModelSpec::chapter();
    let mut model = Sequential::new(&spec, 3).unwrap();
    let images: Vec<f32> = (0..3 * 64 * 64 * 3)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0)
        .collect();
    let expected = predict(&mut model, &images, 3).unwrap();
    let classes = vec!["not smiling".to_string(), "smiling".to_string()];
    let onnx = sequential_to_onnx(&model, &classes).unwrap();
    let imported = model_file_from_onnx(&onnx).unwrap();
    assert!(imported.sequential);
    assert_eq!(imported.classes, classes);
    let loaded = load_model(&imported.file).unwrap();
    assert_eq!(
        loaded.model.spec().layers.len(),
        spec.layers.len() - 2,
        "all layers but the two dropouts come back"
    );
    let mut back = loaded.model;
    let got = predict(&mut back, &images, 3).unwrap();
    let worst = largest_difference(&got, &expected);
    println!("chapter model through ONNX and back: {worst:.2e}");
    assert!(worst <= 1e-6, "{got:?} vs {expected:?}");

    // A graph model with the new operators: a graph again, the same logits.
    let mut graph = pooling_graph();
    let images: Vec<f32> = (0..2 * 9 * 8 * 2)
        .map(|i| ((i * 31) % 97) as f32 / 97.0)
        .collect();
    let expected = graph_logits(&mut graph, &images, 2);
    let names: Vec<String> = (0..4).map(|i| format!("c{i}")).collect();
    let imported = model_file_from_onnx(&graph_to_onnx(&graph, &names).unwrap()).unwrap();
    assert!(!imported.sequential);
    assert_eq!(imported.classes, names);
    // The export ends in a softmax: compare probabilities.
    let mut back = load_graph_model(&imported.file).unwrap().model;
    let got = graph_logits(&mut back, &images, 2);
    let p = |l: &[f32]| l.chunks(4).flat_map(softmax).collect::<Vec<_>>();
    let worst = largest_difference(&p(&got), &p(&expected));
    assert!(worst <= 1e-6, "{worst}");
}

#[test]
fn the_imagenet_network_comes_back_from_onnx_with_its_logits() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let Ok(bytes) = std::fs::read(root.join("build/imagenet/efficientnet-lite0.safetensors"))
    else {
        assert!(std::env::var_os("CONVSCOPE_REQUIRE_IMAGENET").is_none());
        eprintln!(
            "skipped: no ImageNet model (python3 tools/imagenet/fetch_and_convert.py makes it)"
        );
        return;
    };
    let mut native = load_graph_model(&bytes).unwrap().model;
    let img = image::open(root.join("tests/fixtures/imagenet/chelsea.png"))
        .unwrap()
        .to_rgb8();
    let pixels: Vec<f32> = img.as_raw().iter().map(|&b| b as f32 / 255.0).collect();
    let expected = graph_logits(&mut native, &pixels, 1);
    // Through convscope's own export, and through make_onnx.py's (an independent writer, in
    // Python), when the bench's ONNX file has been made.
    let mut sources = vec![(
        "convscope's export",
        convscope::app::export::onnx_from_model_file(&bytes, None).unwrap(),
    )];
    match std::fs::read(root.join("build/imagenet/efficientnet-lite0.onnx")) {
        Ok(made) => sources.push(("tools/imagenet/make_onnx.py", made)),
        Err(_) if std::env::var_os("CONVSCOPE_REQUIRE_IMAGENET_ONNX").is_some() => {
            panic!("build.sh made no build/imagenet/efficientnet-lite0.onnx")
        }
        Err(_) => {
            eprintln!("make_onnx.py's ONNX file is not made: only convscope's export is imported")
        }
    }
    for (source, onnx) in sources {
        let imported = model_file_from_onnx(&onnx).unwrap_or_else(|e| panic!("{source}: {e}"));
        assert!(!imported.sequential);
        assert_eq!(imported.classes.len(), 1000);
        let mut back = load_graph_model(&imported.file).unwrap().model;
        let got = graph_logits(&mut back, &pixels, 1);
        let worst = got
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1.0))
            .fold(0.0, f32::max);
        println!("ImageNet network from {source}: largest logit difference {worst:.2e}");
        assert!(worst <= TOLERANCE, "{source}: {worst}");
    }
}

#[test]
fn bad_onnx_files_get_a_message_that_says_what_is_wrong() {
    let message = |bytes: &[u8]| model_file_from_onnx(bytes).unwrap_err().to_string();
    assert!(message(b"").contains("no ONNX graph"), "{}", message(b""));
    let noise: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let m = message(&noise);
    assert!(
        m.contains("not an ONNX model") || m.contains("no ONNX graph"),
        "{m}"
    );
    let Some(dir) = fixtures() else { return };
    let cases: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("bad/cases.json")).unwrap())
            .unwrap();
    assert_eq!(cases.len(), 5);
    for (name, phrase) in cases {
        let bytes = std::fs::read(dir.join(format!("bad/{name}.onnx"))).unwrap();
        let m = message(&bytes);
        println!("{name}: {m}");
        assert!(m.contains(phrase.as_str().unwrap()), "{name}: {m}");
    }
    // The unsupported operator's message names the node and what is supported.
    let m = message(&std::fs::read(dir.join("bad/unsupported_operator.onnx")).unwrap());
    assert!(
        m.contains("the_leaky_one") && m.contains("GlobalAveragePool"),
        "{m}"
    );
}

#[test]
fn the_command_line_imports_an_onnx_model() {
    let Some(dir) = fixtures() else { return };
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("onnx_import/cli.safetensors");
    let _ = std::fs::remove_file(&out);
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_convscope"))
            .args(args)
            .output()
            .unwrap()
    };
    let model = dir.join("residual/model.onnx");
    let r = run(&[
        "import",
        "--onnx",
        model.to_str().unwrap(),
        out.to_str().unwrap(),
    ]);
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let said = String::from_utf8_lossy(&r.stdout);
    assert!(
        said.contains("graph model") && said.contains("5 classes"),
        "{said}"
    );
    load_graph_model(&std::fs::read(&out).unwrap()).unwrap();

    let bad = dir.join("bad/cycle.onnx");
    let other = out.with_extension("never");
    let r = run(&[
        "import",
        "--onnx",
        bad.to_str().unwrap(),
        other.to_str().unwrap(),
    ]);
    assert!(!r.status.success());
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("cycle.onnx") && err.contains("cycle"), "{err}");
    assert!(!other.exists(), "nothing is written for a bad file");
}

#[test]
fn the_page_opens_an_onnx_file_where_it_belongs() {
    use convscope::app::imagenet::ImageNet;
    use convscope::app::session::Session;
    let Some(dir) = fixtures() else { return };
    let read = |case: &str| std::fs::read(dir.join(case).join("model.onnx")).unwrap();
    // A graph network opens in Look inside and is explained like the ImageNet network.
    let mut net = ImageNet::from_bytes(&read("residual")).unwrap();
    assert_eq!(net.class_names().len(), 5);
    let rgba: Vec<u8> = (0..48 * 40 * 4).map(|i| ((i * 13) % 251) as u8).collect();
    let photo = convscope::data::picture::from_rgba(rgba, 48, 40).unwrap();
    let top = net.look(&photo, 3).unwrap();
    assert_eq!(top.len(), 3);
    let saliency = net.saliency(top[0].index, false).unwrap();
    assert!(
        saliency.gradient.iter().any(|&v| v != 0.0),
        "an all-zero saliency gradient"
    );
    // A chain opens in the training panel, not in Look inside; each place says where to go.
    let e = ImageNet::from_bytes(&read("chain_sigmoid"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("training panel"), "{e}");
    let mut session = Session::new();
    let (summary, _) = session.load(&read("chain_sigmoid")).unwrap();
    assert!(!summary.rows.is_empty());
    let e = session.load(&read("residual")).unwrap_err().to_string();
    assert!(e.contains("Look inside"), "{e}");
    // A graph on pictures that are not square colour photos is refused with its sizes.
    let e = ImageNet::from_bytes(&read("asymmetric"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("11x9x2"), "{e}");
}

#[test]
fn the_committed_page_fixture_is_the_scripts_residual_network() {
    // tests/e2e/onnx-import.test.mjs opens tests/fixtures/onnx/residual.onnx in the page: it
    // must be what make_import_fixtures.py writes (seeded), which the tests above check.
    let Some(dir) = fixtures() else { return };
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/onnx/residual.onnx");
    assert!(
        std::fs::read(committed).unwrap()
            == std::fs::read(dir.join("residual/model.onnx")).unwrap(),
        "tests/fixtures/onnx/residual.onnx differs from the script's: copy the new one there"
    );
}
