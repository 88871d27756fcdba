//! `convscope imagenet predict PHOTO... [--json] [--model FILE]`: the five most likely ImageNet
//! classes of each photo, by the converted EfficientNet-Lite0 (tools/imagenet);
//! `convscope imagenet explain PHOTO --class N --out DIR`: its saliency map, Grad-CAM overlay
//! and an activation-maximization image as PNG files.

use crate::data_source;
use convscope::app::imagenet::ImageNet;
use convscope::app::transfer::{feature_examples, head_spec};
use convscope::app::upload::decode_upload;
use convscope::data::pixel::rgba_from_values;
use convscope::explain::{
    high_frequency_share, ActmaxConfig, CamWeighting, Objective, Start, WeightedObjective,
};
use convscope::nn::io::save_model;
use convscope::nn::{evaluate, fit, FitConfig, Sequential, Silent};
use convscope::{Error, Result};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Where `./build.sh` (tools/imagenet/fetch_and_convert.py) puts the converted model.
pub const DEFAULT_MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/build/imagenet/efficientnet-lite0.safetensors"
);

/// The converted model from `--model FILE` or where `./build.sh` puts it.
fn open(model: Option<&str>) -> Result<ImageNet> {
    let path = model.unwrap_or(DEFAULT_MODEL);
    let bytes = std::fs::read(path).map_err(|e| {
        Error::BadInput(if model.is_some() {
            format!("cannot read '{path}': {e}")
        } else {
            format!("no ImageNet model at '{path}' ({e}): make it with `python3 tools/imagenet/fetch_and_convert.py`, or pass --model FILE")
        })
    })?;
    ImageNet::from_bytes(&bytes).map_err(|e| Error::BadInput(format!("{path}: {e}")))
}

pub fn predict(photos: &[String], model: Option<&str>, json: bool) -> Result<()> {
    let mut net = open(model)?;
    for photo in photos {
        let read = std::fs::read(photo)
            .map_err(|e| Error::BadInput(format!("cannot read '{photo}': {e}")))
            .and_then(|b| decode_upload(&b))
            .and_then(|picture| net.top(&picture, 5));
        let top = read.map_err(|e| Error::BadInput(format!("{photo}: {e}")))?;
        if json {
            println!("{}", json!({ "photo": photo, "top5": top }));
        } else {
            println!("{photo}");
            for r in &top {
                println!(
                    "  {:5.1}%  {:4}  {}",
                    r.probability * 100.0,
                    r.index,
                    r.name
                );
            }
        }
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ExplainArgs {
    /// The photo (PNG or JPEG).
    photo: String,
    /// The class to explain: its number (0-999) or its exact name; default the top-1.
    #[arg(long)]
    class: Option<String>,
    /// A second class for activation maximization ("hallucination": both at once).
    #[arg(long)]
    also: Option<String>,
    /// The folder the PNG files go to (made if missing).
    #[arg(long)]
    out: PathBuf,
    /// Activation-maximization iterations (the chapter's max_iter).
    #[arg(long, default_value_t = 100)]
    max_iter: usize,
    /// Scales of activation maximization's multi-scale step (1: plain pixel gradients).
    #[arg(long, default_value_t = 6)]
    scales: usize,
    /// Activation maximization's largest random shift per iteration, in pixels.
    #[arg(long, default_value_t = 8)]
    jitter: usize,
    /// The converted model file (default: where ./build.sh puts it).
    #[arg(long)]
    model: Option<String>,
}

pub fn explain(args: &ExplainArgs) -> Result<()> {
    let mut net = open(args.model.as_deref())?;
    let photo = &args.photo;
    let picture = std::fs::read(photo)
        .map_err(|e| Error::BadInput(format!("cannot read '{photo}': {e}")))
        .and_then(|b| decode_upload(&b))
        .map_err(|e| Error::BadInput(format!("{photo}: {e}")))?;
    let top = net
        .look(&picture, 5)
        .map_err(|e| Error::BadInput(format!("{photo}: {e}")))?;
    let class = match &args.class {
        Some(c) => net.class_index(c)?,
        None => top[0].index,
    };
    let mut objectives = vec![WeightedObjective {
        objective: Objective::Class { class },
        weight: 1.0,
    }];
    if let Some(c) = &args.also {
        objectives.push(WeightedObjective {
            objective: Objective::Class {
                class: net.class_index(c)?,
            },
            weight: 1.0,
        });
    }
    std::fs::create_dir_all(&args.out)
        .map_err(|e| Error::BadInput(format!("cannot make '{}': {e}", args.out.display())))?;
    let side = net.input_side();
    let crop = net.photo()?.to_vec();

    let saliency = net.saliency(class, false)?;
    let peak = saliency.magnitude.iter().fold(0f32, |m, &v| m.max(v));
    let heat: Vec<[u8; 3]> = saliency
        .magnitude
        .iter()
        .map(|&v| heat_colour(v / peak.max(f32::MIN_POSITIVE)))
        .collect();
    write_png(&args.out.join("saliency.png"), side, &heat)?;

    let cam = net.grad_cam(class, None, CamWeighting::default())?;
    let top_cam = cam.heatmap.iter().fold(0f32, |m, &v| m.max(v));
    let overlay: Vec<[u8; 3]> = crop
        .chunks_exact(3)
        .zip(&cam.heatmap)
        .map(|(px, &h)| {
            let c = heat_colour(h / top_cam.max(f32::MIN_POSITIVE));
            std::array::from_fn(|k| (0.5 * px[k] * 255.0 + 0.5 * c[k] as f32).round() as u8)
        })
        .collect();
    write_png(&args.out.join("gradcam.png"), side, &overlay)?;

    let config = ActmaxConfig {
        objectives,
        start: Start::Noise,
        max_iter: args.max_iter,
        frame_every: args.max_iter.div_ceil(10).max(1),
        scales: args.scales,
        jitter: args.jitter,
        ..ActmaxConfig::default()
    };
    let ascent = net.actmax(&config)?;
    let rgba = rgba_from_values(&ascent.image, 3);
    let rgb: Vec<[u8; 3]> = rgba.chunks_exact(4).map(|p| [p[0], p[1], p[2]]).collect();
    write_png(&args.out.join("actmax.png"), side, &rgb)?;

    let name = |i: usize| net.class_names()[i].clone();
    println!(
        "{}",
        json!({
            "photo": photo,
            "class": class,
            "name": name(class),
            "top5": top,
            "saliency": args.out.join("saliency.png"),
            "gradcam": { "file": args.out.join("gradcam.png"), "layer": cam.layer_name },
            "actmax": {
                "file": args.out.join("actmax.png"),
                "iterations": args.max_iter,
                "objective_start": ascent.objective_start,
                "objective_end": ascent.objective_end,
                // Pixel noise against the photo's own (see high_frequency_share).
                "high_frequency_share": high_frequency_share(&ascent.image, (side, side, 3)),
                "photo_high_frequency_share": high_frequency_share(&crop, (side, side, 3)),
            },
        })
    );
    Ok(())
}

/// A value in [0, 1] as a colour from black through red and yellow to white (a heat ramp).
fn heat_colour(v: f32) -> [u8; 3] {
    let v = v.clamp(0.0, 1.0) * 3.0;
    let part = |x: f32| (x.clamp(0.0, 1.0) * 255.0).round() as u8;
    [part(v), part(v - 1.0), part(v - 2.0)]
}

fn write_png(path: &Path, side: usize, pixels: &[[u8; 3]]) -> Result<()> {
    let raw: Vec<u8> = pixels.iter().flatten().copied().collect();
    image::RgbImage::from_raw(side as u32, side as u32, raw)
        .ok_or_else(|| Error::BadInput("internal error: a picture of the wrong size".into()))?
        .save(path)
        .map_err(|e| Error::BadInput(format!("cannot write '{}': {e}", path.display())))
}

#[derive(clap::Args)]
pub struct TransferArgs {
    /// Where the pictures come from, as for `convscope train --data`.
    #[arg(long)]
    data: String,
    /// Test fraction for a source without its own test set.
    #[arg(long, default_value_t = 0.2)]
    test_split: f32,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Colours for a folder source: 3 (RGB) or 1 (gray); the network always sees RGB.
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Save the trained head (a model file of the kind trained here, on 1x1x1280 features).
    #[arg(long)]
    save: Option<String>,
    /// The converted model file (default: where ./build.sh puts it).
    #[arg(long)]
    model: Option<String>,
    /// One JSON object with the result.
    #[arg(long)]
    json: bool,
}

pub fn transfer(args: &TransferArgs) -> Result<()> {
    let mut net = open(args.model.as_deref())?;
    let data = data_source::load(&args.data, args.test_split, args.seed, args.channels)?;
    let started = std::time::Instant::now();
    let say = |what: &str, done: usize, total: usize| {
        if !args.json && (done == total || done.is_multiple_of(100)) {
            eprintln!("features of the {what} pictures: {done} of {total}");
        }
    };
    let train_features = net.features(&data.train, |d, t| say("training", d, t))?;
    let test_features = net.features(&data.test, |d, t| say("test", d, t))?;
    let train = feature_examples(&train_features, &data.train)?;
    let test = feature_examples(&test_features, &data.test)?;
    let feature_seconds = started.elapsed().as_secs_f64();
    let classes = data.train.class_names().len();
    let mut head = Sequential::new(&head_spec(train.image_len(), classes), args.seed)?;
    let config = FitConfig {
        seed: args.seed,
        ..FitConfig::recommended()
    };
    let history = fit(&mut head, &train, None, config, &mut Silent)?;
    let result = evaluate(&mut head, &test, config.batch_size)?;
    if let Some(path) = &args.save {
        let notes = json!({ "transfer": { "backbone": "EfficientNet-Lite0 (ImageNet), frozen", "features": "pool" }, "data": data.description, "classes": data.train.class_names() });
        std::fs::write(path, save_model(&head, &notes)?)
            .map_err(|e| Error::BadInput(format!("cannot write '{path}': {e}")))?;
    }
    let summary = json!({
        "data": data.description,
        "train": data.train.len(),
        "test": data.test.len(),
        "feature_seconds": feature_seconds,
        "epochs_run": history.epochs.len(),
        "restored_epoch": history.restored_epoch,
        "test_accuracy": result.accuracy,
        "test_loss": result.loss,
    });
    if args.json {
        println!("{summary}");
    } else {
        println!(
            "{}: {} training and {} test pictures; features in {feature_seconds:.1} s; {} epochs; test accuracy {:.1}%",
            data.description,
            data.train.len(),
            data.test.len(),
            history.epochs.len(),
            result.accuracy * 100.0
        );
    }
    Ok(())
}
