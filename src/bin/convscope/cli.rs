//! The command line itself (native only: see main.rs).

use crate::augment_args::AugmentArgs;
use crate::{cross_dataset, data_source, explain_check, imagenet, report};

use clap::{Parser, Subcommand};
use convscope::app::cross_dataset::cross_test;
use convscope::data::augment::batch_transform;
use convscope::nn::io::{load_model, save_model};
use convscope::nn::{
    evaluate, fit_transformed, EarlyStopping, Examples, FitConfig, ModelSpec, Monitor,
    OptimizerSpec, Sequential, StopReason,
};
use convscope::{invalid, Error, Result};
use serde_json::json;

#[derive(Parser)]
#[command(
    name = "convscope",
    version,
    about = "Train and evaluate the chapter's smile CNN natively"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the Keras-style summary of the chapter's model (or of a model description file).
    Summary {
        /// Input channels: 3 (RGB) or 1 (grayscale).
        #[arg(long, default_value_t = 3)]
        channels: usize,
        /// A model description (JSON) instead of the chapter's model.
        #[arg(long)]
        spec: Option<String>,
        /// Print the rows and totals as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Train a model and report test metrics.
    Train(TrainArgs),
    /// Evaluate a saved model on the test part of a data source.
    Evaluate {
        #[arg(long)]
        model: String,
        #[arg(long)]
        data: String,
        #[arg(long, default_value_t = 0.2)]
        test_split: f32,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        json: bool,
    },
    /// Train (or load) the chapter's model on the synthetic faces and measure its explanations:
    /// pointing game, model-randomization check, shortcut lab, activation maximization.
    ExplainCheck(explain_check::ExplainCheckArgs),
    /// Does the model see smiles elsewhere? Train on the synthetic faces and test on Happy
    /// House, and the other way round, with and without augmentation, for several seeds.
    CrossDataset(cross_dataset::CrossDatasetArgs),
    /// The pretrained ImageNet network (EfficientNet-Lite0, converted by
    /// tools/imagenet/fetch_and_convert.py).
    Imagenet {
        #[command(subcommand)]
        command: ImagenetCommand,
    },
    /// Write a model file in another format: `--onnx` (opset 17) for ONNX Runtime, PyTorch and
    /// the other tools that read ONNX, or `--keras`: a Keras 3 model when OUT ends in `.keras`
    /// (`keras.saving.load_model(...)` opens it), its weights otherwise (a `.weights.h5` that
    /// `model.load_weights(...)` takes in a Keras model of the same layers).
    Export {
        /// Write ONNX.
        #[arg(long, conflicts_with = "keras")]
        onnx: bool,
        /// Write Keras 3 (`.keras` or `.weights.h5`, by OUT's name; models of the kind trained here).
        #[arg(long)]
        keras: bool,
        /// A convscope model file (what `train --save` or the page writes).
        model: String,
        /// Where to write the exported model.
        out: String,
        /// For a transfer-learning head: the network it was trained on (default: where
        /// ./build.sh puts the ImageNet network).
        #[arg(long)]
        backbone: Option<String>,
    },
    /// Read a model from another format into a convscope model file: `--onnx` (the operators
    /// convscope implements; a chain it can train becomes a trainable model, any other graph a
    /// model to explain or to use as a transfer-learning backbone) or `--keras` (a Keras 3
    /// `.keras` file, or a bare `.weights.h5` of the chapter's model or of `--spec`'s).
    Import {
        /// Read ONNX.
        #[arg(long, conflicts_with = "keras")]
        onnx: bool,
        /// Read Keras 3: a `.keras` file (its config.json says the model) or a `.weights.h5`.
        #[arg(long)]
        keras: bool,
        /// For a bare `.weights.h5`: the model description (JSON, as `train --spec` and `summary
        /// --spec` take) whose weights the file holds; default: the chapter's model, with the
        /// input channels and the output head the file's shapes say.
        #[arg(long, requires = "keras")]
        spec: Option<String>,
        /// The `.onnx`, `.keras` or `.weights.h5` file.
        model: String,
        /// Where to write the convscope model file.
        out: String,
    },
}

#[derive(Subcommand)]
enum ImagenetCommand {
    /// Print the five most likely ImageNet classes of each photo (PNG or JPEG).
    Predict {
        #[arg(required = true)]
        photos: Vec<String>,
        /// The converted model file (default: where ./build.sh puts it).
        #[arg(long)]
        model: Option<String>,
        /// One JSON object per photo.
        #[arg(long)]
        json: bool,
    },
    /// Write the saliency map, the Grad-CAM overlay and an activation-maximization image of a
    /// class for a photo, as PNG files.
    Explain(imagenet::ExplainArgs),
    /// Transfer learning: train a new head on the frozen network's features for a data source
    /// (as `train --data`) and report its test metrics.
    Transfer(imagenet::TransferArgs),
}

#[derive(clap::Args)]
struct TrainArgs {
    /// synthetic[:SEED[,TRAIN,TEST]] | h5:TRAIN.h5,TEST.h5 | happy:DIR | npy:X.npy,Y.npy[,TEST_X.npy,TEST_Y.npy] | folder:DIR
    #[arg(long, default_value = "synthetic")]
    data: String,
    /// A model description (JSON); default: the chapter's model for the data's channels.
    #[arg(long)]
    spec: Option<String>,
    #[arg(long, default_value_t = FitConfig::recommended().epochs)]
    epochs: usize,
    #[arg(long, default_value_t = FitConfig::recommended().batch_size)]
    batch_size: usize,
    /// Adam's learning rate.
    #[arg(long, default_value_t = 1e-3)]
    lr: f32,
    /// Seeds the weights, the shuffling and dropout (and a folder's or npy pair's split).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Share of a source without a test set held out for testing.
    #[arg(long, default_value_t = 0.2)]
    test_split: f32,
    /// Share of the training images held out for validation (the last ones, as Keras).
    #[arg(long, default_value_t = FitConfig::recommended().validation_split)]
    validation_split: f32,
    /// Early stopping's patience in epochs.
    #[arg(long, default_value_t = recommended_early_stopping().patience)]
    patience: usize,
    /// Epochs (from 0) before early stopping starts watching.
    #[arg(long, default_value_t = recommended_early_stopping().start_from_epoch)]
    start_from_epoch: usize,
    /// What early stopping watches: val_loss, val_accuracy, loss or accuracy.
    #[arg(long, default_value = "val_loss")]
    monitor: String,
    /// Train all epochs without early stopping.
    #[arg(long)]
    no_early_stopping: bool,
    /// Folder images: 3 (RGB) or 1 (grayscale); 1 also turns any colour source gray.
    #[arg(long, default_value_t = 3)]
    channels: usize,
    /// Random changes to every training batch.
    #[command(flatten)]
    augmentation: AugmentArgs,
    /// After training, also test on this data source's test images (same forms as --data):
    /// the model's accuracy on data it never saw, beside its own test accuracy.
    #[arg(long)]
    cross_test: Option<String>,
    /// Save the trained model here (safetensors with the description and history).
    #[arg(long)]
    save: Option<String>,
    /// One JSON object per epoch on stdout, then one with the test metrics.
    #[arg(long)]
    json: bool,
}

fn recommended_early_stopping() -> EarlyStopping {
    FitConfig::recommended()
        .early_stopping
        .expect("the recommended settings use early stopping")
}

fn read_spec(path: &str) -> Result<ModelSpec> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::BadInput(format!("cannot read '{path}': {e}")))?;
    ModelSpec::from_json(&text)
}

fn examples(d: &convscope::data::Dataset) -> Result<Examples<'_>> {
    Ok(d.examples())
}

fn train(args: TrainArgs) -> Result<()> {
    let data = data_source::load(&args.data, args.test_split, args.seed, args.channels)?;
    let spec = match &args.spec {
        Some(path) => read_spec(path)?,
        None => ModelSpec::chapter_for(data.train.channels(), data.train.class_names().len()),
    };
    let mut model = Sequential::new(&spec, args.seed)?;
    let monitor: Monitor = serde_json::from_value(json!(args.monitor))
        .map_err(|_| invalid!("--monitor must be val_loss, val_accuracy, loss or accuracy"))?;
    let config = FitConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        validation_split: args.validation_split,
        optimizer: OptimizerSpec::adam(args.lr),
        early_stopping: (!args.no_early_stopping).then_some(EarlyStopping {
            monitor,
            patience: args.patience,
            start_from_epoch: args.start_from_epoch,
            ..recommended_early_stopping()
        }),
        ..FitConfig::recommended()
    };
    if !args.json {
        println!(
            "data: {} ({} train, {} test)",
            data.description,
            data.train.len(),
            data.test.len()
        );
        for note in &data.notes {
            println!("note: {note}");
        }
        print!("{}", model.summary().to_text());
    }
    let augmentation = args.augmentation.settings()?;
    let cross = match &args.cross_test {
        Some(source) => Some(data_source::load(
            source,
            args.test_split,
            args.seed,
            args.channels,
        )?),
        None => None,
    };
    let mut progress = report::Progress::new(args.json);
    let transform = batch_transform(augmentation, &data.train, args.seed)?;
    let train_set = examples(&data.train)?;
    let history = fit_transformed(
        &mut model,
        &train_set,
        None,
        config,
        &mut progress,
        transform,
    )?;
    let test = evaluate(&mut model, &examples(&data.test)?, config.batch_size)?;
    let cross = match &cross {
        Some(other) => Some((
            other.description.clone(),
            cross_test(&mut model, &data.test, &other.test)?,
        )),
        None => None,
    };
    let cross_json = cross.as_ref().map(|(d, c)| json!({ "data": d, "accuracy": c.other.accuracy, "gap": c.gap, "notes": c.notes, "test": report::evaluation_json(&c.other) }));
    let stop = history.stop.clone().unwrap_or(StopReason::Completed);
    if let Some(path) = &args.save {
        let notes = json!({ "data": data.description, "config": config, "history": history, "test": report::evaluation_json(&test) });
        std::fs::write(path, save_model(&model, &notes)?)
            .map_err(|e| Error::BadInput(format!("cannot write '{path}': {e}")))?;
    }
    if args.json {
        println!(
            "{}",
            json!({ "event": "result", "data": data.description, "notes": data.notes, "seed": args.seed, "stop": stop, "restored_epoch": history.restored_epoch,
                    "epochs_run": history.epochs.len(), "augmentation": augmentation, "test": report::evaluation_json(&test), "cross_test": cross_json })
        );
    } else {
        println!("{}", stop.describe());
        if let Some(e) = history.restored_epoch {
            println!("restored the weights of epoch {e}");
        }
        report::print_evaluation(&test, data.test.class_names());
        if let Some((description, c)) = &cross {
            for note in &c.notes {
                println!("note: {note}");
            }
            println!(
                "on {description} (never seen): accuracy {:.1}%, {:.1} points below its own test set",
                100.0 * c.other.accuracy,
                100.0 * c.gap
            );
        }
        if let Some(path) = &args.save {
            println!("saved {path}");
        }
    }
    match stop {
        StopReason::Diverged { message, .. } => Err(invalid!("{message}")),
        _ => Ok(()),
    }
}

fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Summary {
            channels,
            spec,
            json,
        } => {
            let spec = match spec {
                Some(path) => read_spec(&path)?,
                None => ModelSpec::chapter_with_channels(channels),
            };
            let summary = convscope::nn::Summary::from_plan(&spec.plan()?);
            if json {
                println!("{}", serde_json::to_string(&summary).expect("serializable"));
            } else {
                print!("{}", summary.to_text());
            }
            Ok(())
        }
        Command::Train(args) => train(args),
        Command::ExplainCheck(args) => explain_check::run(args),
        Command::CrossDataset(args) => cross_dataset::run(args),
        Command::Export {
            onnx,
            keras,
            model,
            out,
            backbone,
        } => {
            if keras {
                export_keras(&model, &out)
            } else {
                export(onnx, &model, &out, backbone.as_deref())
            }
        }
        Command::Import {
            onnx,
            keras,
            spec,
            model,
            out,
        } => {
            if keras {
                import_keras(&model, &out, spec.as_deref())
            } else {
                import(onnx, &model, &out)
            }
        }
        Command::Imagenet {
            command:
                ImagenetCommand::Predict {
                    photos,
                    model,
                    json,
                },
        } => imagenet::predict(&photos, model.as_deref(), json),
        Command::Imagenet {
            command: ImagenetCommand::Explain(args),
        } => imagenet::explain(&args),
        Command::Imagenet {
            command: ImagenetCommand::Transfer(args),
        } => imagenet::transfer(&args),
        Command::Evaluate {
            model,
            data,
            test_split,
            seed,
            json,
        } => {
            let bytes = std::fs::read(&model)
                .map_err(|e| Error::BadInput(format!("cannot read '{model}': {e}")))?;
            let mut loaded = load_model(&bytes)?.model;
            let data = data_source::load(&data, test_split, seed, loaded.spec().input.channels)?;
            let test = evaluate(&mut loaded, &examples(&data.test)?, 32)?;
            if json {
                println!(
                    "{}",
                    json!({ "event": "result", "data": data.description, "test": report::evaluation_json(&test) })
                );
            } else {
                report::print_evaluation(&test, data.test.class_names());
            }
            Ok(())
        }
    }
}

pub fn main() -> std::process::ExitCode {
    match run(Cli::parse()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn read(path: &str) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::BadInput(format!("cannot read '{path}': {e}")))
}

fn import(onnx: bool, model: &str, out: &str) -> Result<()> {
    if !onnx {
        return Err(invalid!("say which format to read: --onnx or --keras"));
    }
    let bytes = read(model)?;
    let imported = convscope::app::export::model_file_from_onnx_bytes(&bytes)
        .map_err(|e| Error::BadInput(format!("{model}: {e}")))?;
    std::fs::write(out, &imported.file)
        .map_err(|e| Error::BadInput(format!("cannot write '{out}': {e}")))?;
    let kind = if imported.sequential {
        "a model convscope can train"
    } else {
        "a graph model (explanations, transfer learning)"
    };
    println!(
        "wrote {out}: {kind}, {} classes, {} bytes",
        imported.classes.len(),
        imported.file.len()
    );
    Ok(())
}

fn import_keras(model: &str, out: &str, spec: Option<&str>) -> Result<()> {
    let bytes = read(model)?;
    let spec = spec.map(read_spec).transpose()?;
    let imported = convscope::app::export::model_file_from_keras_bytes(&bytes, spec.as_ref())
        .map_err(|e| Error::BadInput(format!("{model}: {e}")))?;
    std::fs::write(out, &imported.file)
        .map_err(|e| Error::BadInput(format!("cannot write '{out}': {e}")))?;
    let from = match (&imported.keras_name, &imported.keras_version) {
        (Some(name), Some(v)) => format!(" (Keras {v} model '{name}')"),
        (Some(name), None) => format!(" (Keras model '{name}')"),
        _ => String::new(),
    };
    println!(
        "wrote {out}: a model convscope can train, {} classes, {} bytes{from}",
        imported.classes.len(),
        imported.file.len()
    );
    Ok(())
}

fn export_keras(model: &str, out: &str) -> Result<()> {
    let bytes = read(model)?;
    let whole = out.ends_with(".keras");
    let written = convscope::app::export::keras_from_model_file(&bytes, whole)
        .map_err(|e| Error::BadInput(format!("{model}: {e}")))?;
    std::fs::write(out, &written)
        .map_err(|e| Error::BadInput(format!("cannot write '{out}': {e}")))?;
    if whole {
        println!(
            "wrote {out} (a Keras 3 model, {} bytes): in Keras, model = keras.saving.load_model(\"{out}\")",
            written.len()
        );
    } else {
        println!(
            "wrote {out} (Keras 3 weights, {} bytes): in Keras, build the model of these layers and call model.load_weights(\"{out}\")",
            written.len()
        );
    }
    Ok(())
}

fn export(onnx: bool, model: &str, out: &str, backbone: Option<&str>) -> Result<()> {
    if !onnx {
        return Err(invalid!("say which format to write: --onnx or --keras"));
    }
    let bytes = read(model)?;
    // The backbone is read only for a transfer head, and then from where ./build.sh puts it
    // unless named.
    let is_head = convscope::nn::io::load_model(&bytes)
        .map(|m| m.training.pointer("/transfer/features").is_some())
        .unwrap_or(false);
    let backbone = match (is_head, backbone) {
        (false, _) => None,
        (true, Some(path)) => Some(read(path)?),
        (true, None) => Some(read(imagenet::DEFAULT_MODEL)?),
    };
    let onnx = convscope::app::export::onnx_from_model_file(&bytes, backbone.as_deref())
        .map_err(|e| Error::BadInput(format!("{model}: {e}")))?;
    std::fs::write(out, &onnx)
        .map_err(|e| Error::BadInput(format!("cannot write '{out}': {e}")))?;
    println!(
        "wrote {out} (ONNX, opset {}, {} bytes)",
        convscope::nn::onnx::OPSET,
        onnx.len()
    );
    Ok(())
}
