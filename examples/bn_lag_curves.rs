//! Per-epoch curves that show batch norm's lag: the chapter's model trained without early
//! stopping, printing after each epoch the training accuracy in training mode (batch
//! statistics, what the progress bar shows), the accuracy on the same training images in
//! inference mode (moving statistics), and validation and test accuracy.
//!
//! `cargo run --release --example bn_lag_curves -- DATA SEED EPOCHS BATCH LR`
//! with DATA `synthetic` or `happy:DIR` (the grayscale Happy House, as `convscope train`), e.g.
//! `... -- happy:../shared/data/happy_house 1 40 32 1e-3`: for 20-30 epochs the inference-mode
//! accuracy stays far below the training-mode one, then catches up; with batches of 8 it
//! catches up in about 6 epochs (bench/RESULTS.md).

use convscope::data::synthetic::{generate, SyntheticParams};
use convscope::data::{h5, npy, Dataset};
use convscope::nn::{evaluate, Examples, FitConfig, ModelSpec, OptimizerSpec, Sequential, Trainer};
use std::error::Error;

fn examples(d: &Dataset) -> convscope::Result<Examples<'_>> {
    Ok(d.examples())
}

fn load(source: &str) -> Result<(Dataset, Dataset), Box<dyn Error>> {
    if let Some(dir) = source.strip_prefix("happy:") {
        let dir = std::path::Path::new(dir);
        let train = npy::read_happy_npy(
            &std::fs::read(dir.join("train_gray_x.npy"))?,
            &std::fs::read(dir.join("train_y.npy"))?,
        )?;
        let (_, test) = h5::read_happy_h5(&std::fs::read(dir.join("test_happy.h5"))?)?;
        Ok((train, test.to_grayscale()))
    } else if source == "synthetic" {
        Ok(generate(&SyntheticParams::default())?)
    } else {
        Err(format!("DATA must be synthetic or happy:DIR, got {source}").into())
    }
}

fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [source, seed, epochs, batch, lr] = args.as_slice() else {
        return Err("usage: bn_lag_curves DATA SEED EPOCHS BATCH LR".into());
    };
    let (seed, epochs, batch_size, lr): (u64, usize, usize, f32) =
        (seed.parse()?, epochs.parse()?, batch.parse()?, lr.parse()?);
    let (train, test) = load(source)?;
    let all = examples(&train)?;
    let (fit_part, validation) = all.split_validation(0.2)?;
    let mut model = Sequential::new(&ModelSpec::chapter_with_channels(train.channels()), seed)?;
    let config = FitConfig {
        epochs,
        batch_size,
        seed,
        validation_split: 0.0,
        optimizer: OptimizerSpec::adam(lr),
        early_stopping: None,
        ..FitConfig::recommended()
    };
    let mut trainer = Trainer::new(&mut model, &fit_part, Some(&validation), config)?;
    println!("epoch  train(train mode)  train(inference)  validation  test   seconds");
    loop {
        let step = trainer.step(&mut model, &fit_part, Some(&validation))?;
        if let Some(log) = step.epoch {
            let seen = evaluate(&mut model, &fit_part, 32)?;
            let tested = evaluate(&mut model, &examples(&test)?, 32)?;
            println!(
                "{:5}  {:17.3}  {:16.3}  {:10.3}  {:5.3}  {:7.1}",
                log.epoch,
                log.accuracy,
                seen.accuracy,
                log.val_accuracy.unwrap_or(f32::NAN),
                tested.accuracy,
                log.seconds
            );
        }
        if step.finished.is_some() {
            return Ok(());
        }
    }
}
