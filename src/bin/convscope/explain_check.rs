//! `convscope explain-check`: the measurements of issue 5 that say whether the explanations can
//! be trusted, on the synthetic faces (whose generator knows where each mouth is):
//! - pointing game: for the chapter's model trained on clean data, the share of correctly
//!   classified test images whose Grad-CAM maximum (and, separately, saliency maximum) falls
//!   in the mouth box grown by 4 pixels;
//! - model randomization (Adebayo et al., 2018): the mean Spearman rank correlation between
//!   the trained model's saliency maps (|gradient|, as in the paper) and those of the same
//!   architecture freshly initialized; a method that explains the model must tell them apart;
//! - shortcut lab: a model trained with the planted confound (smiles on brighter backgrounds
//!   with probability p) tested on confounded and on clean test images, and the share of its
//!   Grad-CAM mass inside the mouth box against the clean model's;
//! - activation maximization: how far gradient ascent from noise raises each class score;
//! - the faithfulness scoreboard (`convscope::app::scoreboard`): every method's deletion and
//!   insertion areas, randomization rank correlation, pointing game, IG's completeness.
//!
//! Models are trained with the recommended settings (or loaded with `--model` and
//! `--confounded-model`); the hidden size flags make a tiny run for the end-to-end test.
//!
//! `--data SPEC` (as `convscope train` reads it, e.g. `happy:DIR`) runs the scoreboard alone on
//! that data instead: the synthetic-only checks (shortcut lab, activation maximization) need
//! the generator. On the Happy House test photos, whose face and mouth boxes were marked once,
//! it says where each method's evidence falls on real photos.

use clap::Args;
use convscope::app::scoreboard::region;
use convscope::app::scoreboard::{scoreboard, Scoreboard, ScoreboardConfig};
use convscope::data::synthetic::{generate, Confound, SyntheticParams};
use convscope::data::Dataset;
use convscope::explain::{
    activation_maximization, grad_cam, mass_inside, points_inside, saliency, spearman,
    ActmaxConfig, CamWeighting, Objective, Region, WeightedObjective,
};
use convscope::nn::io::{load_model, save_model};
use convscope::nn::{
    evaluate, fit, Control, EpochLog, FitConfig, Mode, ModelSpec, Observer, Sequential,
};
use convscope::{invalid, Error, Result};
use serde::Serialize;
use serde_json::json;

/// The targets.
const POINTING_TARGET: f32 = 0.80;
const RANK_CORR_TARGET: f32 = 0.3;
const SHORTCUT_GAP_TARGET: f32 = 0.20;
const ACTMAX_GAIN_TARGET: f32 = 5.0;
/// The pointing game's tolerance around the mouth box, in pixels.
const DILATION: usize = 4;

#[derive(Args)]
pub struct ExplainCheckArgs {
    /// Seeds the data, the weights, the training and the activation maximization.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Print one JSON object with every figure.
    #[arg(long)]
    json: bool,
    /// A chapter model trained on the clean synthetic faces, instead of training one.
    #[arg(long)]
    model: Option<String>,
    /// A chapter model trained on the confounded faces, instead of training one.
    #[arg(long)]
    confounded_model: Option<String>,
    /// Save the models trained here into this folder (clean.safetensors, confounded.safetensors).
    #[arg(long)]
    save_models: Option<String>,
    /// Probability of the planted confound in the shortcut lab's training set.
    #[arg(long, default_value_t = 0.95)]
    confound: f32,
    #[arg(long, default_value_t = 600, hide = true)]
    train_size: usize,
    #[arg(long, default_value_t = 150, hide = true)]
    test_size: usize,
    /// Epoch budget of both trainings (default: the recommended settings').
    #[arg(long, hide = true)]
    epochs: Option<usize>,
    #[arg(long, default_value_t = 200, hide = true)]
    actmax_iter: usize,
    /// Grad-CAM on this layer (an index into the model's layers) instead of the last convolution,
    /// to see how the figures depend on the layer.
    #[arg(long)]
    grad_cam_layer: Option<usize>,
    /// Grad-CAM's weighting of the feature maps: per-position (HiResCAM, the default) or
    /// channel-mean (the original); the report gives the other's figures too.
    #[arg(long, default_value = "per-position")]
    grad_cam_weighting: String,
    /// Test images the faithfulness scoreboard scores every method on (0: no scoreboard).
    #[arg(long, default_value_t = 30)]
    scoreboard_images: usize,
    /// Run the scoreboard alone on this data (as `convscope train --data` takes it, e.g.
    /// happy:DIR) with the chapter's model trained on its training part, or `--model`.
    #[arg(long)]
    data: Option<String>,
}

/// `--data`'s report: the scoreboard on other data than the synthetic faces.
#[derive(Serialize)]
struct DataReport {
    seed: u64,
    data: String,
    model_test_acc: f32,
    scoreboard: Scoreboard,
}

/// The Grad-CAM figures of one weighting.
#[derive(Serialize)]
struct CamFigures {
    pointing_game: Option<f32>,
    mouth_mass_clean_model: Option<f32>,
    mouth_mass_confounded_model: Option<f32>,
}

#[derive(Serialize)]
struct Shortcut {
    confound_probability: f32,
    confounded_test_acc: f32,
    clean_test_acc: f32,
    mouth_mass_clean_model: Option<f32>,
    mouth_mass_confounded_model: Option<f32>,
}

#[derive(Serialize)]
struct Report {
    seed: u64,
    clean_model_test_acc: f32,
    grad_cam_layer: String,
    grad_cam_weighting: CamWeighting,
    /// Correctly classified clean test images the pointing game ran on.
    pointing_game_images: usize,
    pointing_game_gradcam: Option<f32>,
    pointing_game_saliency: Option<f32>,
    /// |gradient| maps, as Adebayo et al.
    randomization_rank_corr: Option<f32>,
    /// The same with the class-evidence maps (positive part of the class score's gradient).
    randomization_rank_corr_evidence: Option<f32>,
    shortcut: Shortcut,
    /// The Grad-CAM figures under both weightings, side by side.
    grad_cam_by_weighting: serde_json::Value,
    /// The smaller of the two class gains.
    actmax_logit_gain: f32,
    actmax_logit_gain_smile: f32,
    actmax_logit_gain_no_smile: f32,
    targets_met: serde_json::Value,
    scoreboard: Option<Scoreboard>,
}

pub fn run(args: ExplainCheckArgs) -> Result<()> {
    if let Some(spec) = &args.data {
        return run_on_data(&args, spec);
    }
    let weighting = CamWeighting::parse(&args.grad_cam_weighting)?;
    let params = SyntheticParams {
        train: args.train_size,
        test: args.test_size,
        seed: args.seed,
        ..SyntheticParams::default()
    };
    let (train, test) = generate(&params)?;
    let confound = |in_test| {
        Some(Confound {
            probability: args.confound,
            in_test,
        })
    };
    let (confounded_train, _) = generate(&SyntheticParams {
        confound: confound(false),
        ..params.clone()
    })?;
    let (_, confounded_test) = generate(&SyntheticParams {
        confound: confound(true),
        ..params.clone()
    })?;
    let boxes = regions(&test)?;

    let mut clean = obtain(&args, args.model.as_deref(), &train, "clean")?;
    let mut shortcut = obtain(
        &args,
        args.confounded_model.as_deref(),
        &confounded_train,
        "confounded",
    )?;
    let clean_acc = accuracy(&mut clean, &test)?;

    let predictions = predictions(&mut clean, &test);
    let correct: Vec<usize> = (0..test.len())
        .filter(|&i| predictions[i] == test.labels()[i] as usize)
        .collect();
    let mut saliency_hits = 0;
    for &i in &correct {
        let class = test.labels()[i] as usize;
        saliency_hits += usize::from(points_inside(
            &saliency(&mut clean, &test.image(i), class, None)?.evidence,
            test.width(),
            boxes[i].dilated(DILATION),
        ));
    }
    let share = |hits: usize| (!correct.is_empty()).then(|| hits as f32 / correct.len() as f32);
    let layer = args.grad_cam_layer;
    let grad_cam_layer = grad_cam(&mut clean, &test.image(0), 1, layer, weighting)?.layer_name;
    let mut cam_figures = |w: CamWeighting| -> Result<CamFigures> {
        let mut hits = 0;
        for &i in &correct {
            let class = test.labels()[i] as usize;
            let cam = grad_cam(&mut clean, &test.image(i), class, layer, w)?;
            hits += usize::from(points_inside(
                &cam.heatmap,
                test.width(),
                boxes[i].dilated(DILATION),
            ));
        }
        Ok(CamFigures {
            pointing_game: share(hits),
            mouth_mass_clean_model: mouth_mass(&mut clean, &test, &boxes, layer, w)?,
            mouth_mass_confounded_model: mouth_mass(&mut shortcut, &test, &boxes, layer, w)?,
        })
    };
    let per_position = cam_figures(CamWeighting::PerPosition)?;
    let channel_mean = cam_figures(CamWeighting::ChannelMean)?;
    let chosen = match weighting {
        CamWeighting::PerPosition => &per_position,
        CamWeighting::ChannelMean => &channel_mean,
    };
    let (pointing_game_gradcam, mouth_mass_clean, mouth_mass_confounded) = (
        chosen.pointing_game,
        chosen.mouth_mass_clean_model,
        chosen.mouth_mass_confounded_model,
    );
    let grad_cam_by_weighting =
        json!({ "per-position": per_position, "channel-mean": channel_mean });

    let mut randomized = Sequential::new(clean.spec(), args.seed.wrapping_add(1_000_003))?;
    let (mut magnitude_corr, mut evidence_corr) = (Vec::new(), Vec::new());
    for i in 0..test.len() {
        let class = test.labels()[i] as usize;
        let trained = saliency(&mut clean, &test.image(i), class, None)?;
        let random = saliency(&mut randomized, &test.image(i), class, None)?;
        magnitude_corr.extend(spearman(&trained.magnitude, &random.magnitude));
        evidence_corr.extend(spearman(&trained.evidence, &random.evidence));
    }

    let shortcut_report = Shortcut {
        confound_probability: args.confound,
        confounded_test_acc: accuracy(&mut shortcut, &confounded_test)?,
        clean_test_acc: accuracy(&mut shortcut, &test)?,
        mouth_mass_clean_model: mouth_mass_clean,
        mouth_mass_confounded_model: mouth_mass_confounded,
    };

    let gain = |model: &mut Sequential, class| -> Result<f32> {
        let config = ActmaxConfig {
            objectives: vec![WeightedObjective {
                objective: Objective::Class { class },
                weight: 1.0,
            }],
            max_iter: args.actmax_iter,
            frame_every: args.actmax_iter.max(1),
            seed: args.seed,
            ..ActmaxConfig::default()
        };
        let r = activation_maximization(model, &config)?;
        Ok(r.objective_end - r.objective_start)
    };
    let (gain_smile, gain_no_smile) = (gain(&mut clean, 1)?, gain(&mut clean, 0)?);

    let mut report = Report {
        seed: args.seed,
        clean_model_test_acc: clean_acc,
        grad_cam_layer,
        grad_cam_weighting: weighting,
        pointing_game_images: correct.len(),
        pointing_game_gradcam,
        pointing_game_saliency: share(saliency_hits),
        randomization_rank_corr: mean(&magnitude_corr),
        randomization_rank_corr_evidence: mean(&evidence_corr),
        shortcut: shortcut_report,
        grad_cam_by_weighting,
        actmax_logit_gain: gain_smile.min(gain_no_smile),
        actmax_logit_gain_smile: gain_smile,
        actmax_logit_gain_no_smile: gain_no_smile,
        targets_met: serde_json::Value::Null,
        scoreboard: None,
    };
    if args.scoreboard_images > 0 {
        let cfg = ScoreboardConfig {
            images: args.scoreboard_images,
            seed: args.seed,
            ..ScoreboardConfig::default()
        };
        report.scoreboard = Some(scoreboard(
            &mut clean,
            &mut randomized,
            &test,
            &cfg,
            |_, _| {},
        )?);
    }
    report.targets_met = targets(&report);
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("serializable"));
    } else {
        print_report(&report);
    }
    Ok(())
}

fn run_on_data(args: &ExplainCheckArgs, spec: &str) -> Result<()> {
    if args.scoreboard_images == 0 {
        return Err(invalid!(
            "--data runs the scoreboard alone: give it at least one image"
        ));
    }
    let data = crate::data_source::load(spec, 0.2, args.seed, 3)?;
    let mut model = obtain(args, args.model.as_deref(), &data.train, "data")?;
    let mut randomized = Sequential::new(model.spec(), args.seed.wrapping_add(1_000_003))?;
    let cfg = ScoreboardConfig {
        images: args.scoreboard_images,
        seed: args.seed,
        ..ScoreboardConfig::default()
    };
    let report = DataReport {
        seed: args.seed,
        data: data.description.clone(),
        model_test_acc: accuracy(&mut model, &data.test)?,
        scoreboard: scoreboard(&mut model, &mut randomized, &data.test, &cfg, |_, _| {})?,
    };
    if args.json {
        println!("{}", serde_json::to_string(&report).expect("serializable"));
    } else {
        println!(
            "seed {}: {}; the model's test accuracy {:.3}",
            report.seed, report.data, report.model_test_acc
        );
        print_scoreboard(&report.scoreboard);
    }
    Ok(())
}

/// Loads the model at `path`, or trains the chapter's model on `train` with the recommended
/// settings (and saves it with `--save-models`).
fn obtain(
    args: &ExplainCheckArgs,
    path: Option<&str>,
    train: &Dataset,
    label: &str,
) -> Result<Sequential> {
    if let Some(path) = path {
        let bytes = std::fs::read(path)
            .map_err(|e| Error::BadInput(format!("cannot read '{path}': {e}")))?;
        let model = load_model(&bytes)?.model;
        model
            .spec()
            .input
            .check_images(
                (train.height(), train.width(), train.channels()),
                "the training pictures are",
            )
            .map_err(|e| invalid!("'{path}': {e}"))?;
        return Ok(model);
    }
    let spec = ModelSpec::chapter_for(train.channels(), train.class_names().len());
    let mut model = Sequential::new(&spec, args.seed)?;
    let recommended = FitConfig::recommended();
    let config = FitConfig {
        seed: args.seed,
        epochs: args.epochs.unwrap_or(recommended.epochs),
        ..recommended
    };
    let examples = train.examples();
    let history = fit(
        &mut model,
        &examples,
        None,
        config,
        &mut EpochLines {
            label: label.to_string(),
        },
    )?;
    if let Some(dir) = &args.save_models {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::BadInput(format!("cannot create '{dir}': {e}")))?;
        let path = std::path::Path::new(dir).join(format!("{label}.safetensors"));
        let what = args.data.as_deref().unwrap_or("synthetic faces");
        let notes = json!({ "data": format!("{what}, seed {}, {label}", args.seed), "config": config, "history": history });
        std::fs::write(&path, save_model(&model, &notes)?)
            .map_err(|e| Error::BadInput(format!("cannot write '{}': {e}", path.display())))?;
    }
    Ok(model)
}

/// One line per epoch on stderr, so that a long run shows it is alive (stdout keeps the report).
struct EpochLines {
    label: String,
}

impl Observer for EpochLines {
    fn on_epoch(&mut self, log: &EpochLog) -> Control {
        eprintln!(
            "{} model, epoch {:>2}: loss {:.4}, val_loss {:.4}, val_accuracy {:.4}",
            self.label,
            log.epoch,
            log.loss,
            log.val_loss.unwrap_or(f32::NAN),
            log.val_accuracy.unwrap_or(f32::NAN)
        );
        Control::Continue
    }
}

fn regions(data: &Dataset) -> Result<Vec<Region>> {
    let boxes = data
        .landmarks()
        .ok_or_else(|| invalid!("the synthetic test set has no mouth boxes"))?;
    Ok(boxes.iter().map(|l| region(l.mouth)).collect())
}

fn accuracy(model: &mut Sequential, data: &Dataset) -> Result<f32> {
    Ok(evaluate(model, &data.examples(), 32)?.accuracy)
}

fn predictions(model: &mut Sequential, data: &Dataset) -> Vec<usize> {
    (0..data.len())
        .map(|i| {
            model.forward(&data.image(i), Mode::Infer);
            model.predicted_class(0)
        })
        .collect()
}

/// Mean share of the Grad-CAM mass (for the predicted class) inside the mouth box, over the
/// test images whose map is not zero everywhere.
fn mouth_mass(
    model: &mut Sequential,
    data: &Dataset,
    boxes: &[Region],
    layer: Option<usize>,
    weighting: CamWeighting,
) -> Result<Option<f32>> {
    let predicted = predictions(model, data);
    let mut shares = Vec::new();
    for i in 0..data.len() {
        let cam = grad_cam(model, &data.image(i), predicted[i], layer, weighting)?;
        shares.extend(mass_inside(&cam.heatmap, cam.width, boxes[i]));
    }
    Ok(mean(&shares))
}

fn mean(values: &[f32]) -> Option<f32> {
    (!values.is_empty()).then(|| values.iter().sum::<f32>() / values.len() as f32)
}

fn targets(r: &Report) -> serde_json::Value {
    let s = &r.shortcut;
    json!({
        "pointing_game_gradcam": r.pointing_game_gradcam.is_some_and(|v| v >= POINTING_TARGET),
        "randomization_rank_corr": r.randomization_rank_corr.is_some_and(|v| v < RANK_CORR_TARGET),
        "shortcut_accuracy_gap": s.confounded_test_acc - s.clean_test_acc >= SHORTCUT_GAP_TARGET,
        "shortcut_mouth_mass_halved": matches!((s.mouth_mass_clean_model, s.mouth_mass_confounded_model), (Some(c), Some(k)) if k <= 0.5 * c),
        "actmax_logit_gain": r.actmax_logit_gain >= ACTMAX_GAIN_TARGET,
    })
}

fn print_report(r: &Report) {
    let f = |v: Option<f32>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    let met = |key: &str| {
        if r.targets_met[key].as_bool() == Some(true) {
            "met"
        } else {
            "MISSED"
        }
    };
    let s = &r.shortcut;
    println!(
        "seed {}: clean model test accuracy {:.3}",
        r.seed, r.clean_model_test_acc
    );
    println!(
        "pointing game on {} correctly classified test images (mouth box + {DILATION} px): Grad-CAM ({}, {:?} weighting) {} [target >= {POINTING_TARGET}: {}], saliency {}",
        r.pointing_game_images,
        r.grad_cam_layer,
        r.grad_cam_weighting,
        f(r.pointing_game_gradcam),
        met("pointing_game_gradcam"),
        f(r.pointing_game_saliency)
    );
    println!(
        "model randomization: mean Spearman rank correlation trained vs re-initialized saliency |gradient| {} [target < {RANK_CORR_TARGET}: {}] (class-evidence maps {})",
        f(r.randomization_rank_corr),
        met("randomization_rank_corr"),
        f(r.randomization_rank_corr_evidence)
    );
    println!(
        "shortcut lab (confound p = {}): confounded model accuracy on confounded test {:.3}, on clean test {:.3} [gap >= {SHORTCUT_GAP_TARGET}: {}]",
        s.confound_probability,
        s.confounded_test_acc,
        s.clean_test_acc,
        met("shortcut_accuracy_gap")
    );
    println!(
        "  Grad-CAM mass inside the mouth box: clean model {}, confounded model {} [halved: {}]",
        f(s.mouth_mass_clean_model),
        f(s.mouth_mass_confounded_model),
        met("shortcut_mouth_mass_halved")
    );
    println!(
        "  Grad-CAM under both weightings (pointing game, mouth mass clean / confounded): {}",
        r.grad_cam_by_weighting
    );
    println!(
        "activation maximization from noise: smile score gain {:.2}, no-smile score gain {:.2} [target >= {ACTMAX_GAIN_TARGET}: {}]",
        r.actmax_logit_gain_smile,
        r.actmax_logit_gain_no_smile,
        met("actmax_logit_gain")
    );
    if let Some(b) = &r.scoreboard {
        print_scoreboard(b);
    }
}

fn print_scoreboard(b: &Scoreboard) {
    let f = |v: Option<f32>| v.map_or("n/a".to_string(), |v| format!("{v:.3}"));
    println!(
        "faithfulness scoreboard on {} test images ({} for the pointing game): deletion area (lower is better), insertion area (higher), randomization rank correlation (nearer 0), pointing game (higher), share of the evidence on the face (the face box covers {} of the picture)",
        b.images,
        b.pointing_images,
        f(b.face_area_share)
    );
    for m in &b.methods {
        println!(
            "  {:<22} deletion {:.3}  insertion {:.3}  randomization {}  pointing {}  on the face {}{}",
            m.method,
            m.deletion_area,
            m.insertion_area,
            f(m.randomization_rank_corr),
            f(m.pointing_game),
            f(m.face_evidence),
            m.completeness_error
                .map_or(String::new(), |e| format!("  completeness error {e:.4}"))
        );
    }
    println!(
        "  best: deletion {}, insertion {}, randomization {}, pointing game {}, evidence on the face {}",
        b.best_deletion, b.best_insertion, b.best_randomization, b.best_pointing, b.best_face_evidence
    );
    if let Some(h) = &b.hiding {
        println!(
            "  on all {} test pictures: accuracy {:.3} as they are, {:.3} with the face hidden (filled with the picture's mean), {:.3} with only the face shown",
            h.images, h.accuracy, h.face_hidden, h.face_only
        );
    }
}
