//! Logistic regression on raw pixels as a difficulty baseline:
//! `cargo run --release --example lr_baseline -- [easy|normal|hard] [SEEDS...]`
//! (default: normal, seeds 1 2 3).
//! Prints train and test accuracy on the default synthetic set (600 / 150) for a small
//! grid of L2 strengths, and on the real Happy House data in grayscale when
//! `../shared/data/happy_house` (or `$CONVSCOPE_SHARED/data/happy_house`) is there.

use convscope::data::synthetic::{generate, Difficulty, SyntheticParams};
use convscope::data::{h5, npy, Dataset};
use convscope::nn::logistic::{LogisticConfig, LogisticRegression};

const L2_GRID: [f32; 4] = [1e-4, 1e-3, 1e-2, 1e-1];

fn report(name: &str, train: &Dataset, test: &Dataset) -> Result<(), Box<dyn std::error::Error>> {
    for l2 in L2_GRID {
        let config = LogisticConfig {
            l2,
            ..LogisticConfig::default()
        };
        let model =
            LogisticRegression::fit(&train.images(), train.labels(), train.image_len(), &config)?;
        println!(
            "{name:<24} l2 {l2:<6} train {:.3}  test {:.3}",
            model.accuracy(&train.images(), train.labels())?,
            model.accuracy(&test.images(), test.labels())?
        );
    }
    Ok(())
}

fn shared_dir() -> Option<std::path::PathBuf> {
    let root = env!("CARGO_MANIFEST_DIR");
    let candidates = [
        std::env::var("CONVSCOPE_SHARED")
            .ok()
            .map(std::path::PathBuf::from),
        Some(std::path::Path::new(root).join("../shared")),
        Some("/work/shared".into()),
    ];
    candidates
        .into_iter()
        .flatten()
        .map(|d| d.join("data/happy_house"))
        .find(|d| d.join("test_happy.h5").exists())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let difficulty = match args.first().map(String::as_str) {
        Some("easy") => Difficulty::Easy,
        Some("hard") => Difficulty::Hard,
        _ => Difficulty::Normal,
    };
    if args.first().is_some_and(|a| a.parse::<u64>().is_err()) {
        args.remove(0);
    }
    let seeds: Vec<u64> = args.iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
    for seed in if seeds.is_empty() {
        vec![1, 2, 3]
    } else {
        seeds
    } {
        let (train, test) = generate(&SyntheticParams {
            seed,
            difficulty,
            ..SyntheticParams::default()
        })?;
        report(
            &format!("synthetic {difficulty:?} seed {seed}"),
            &train,
            &test,
        )?;
    }
    match shared_dir() {
        Some(dir) => {
            let train = npy::read_happy_npy(
                &std::fs::read(dir.join("train_gray_x.npy"))?,
                &std::fs::read(dir.join("train_y.npy"))?,
            )?;
            let (_, test) = h5::read_happy_h5(&std::fs::read(dir.join("test_happy.h5"))?)?;
            report("happy house (gray)", &train, &test.to_grayscale())?;
        }
        None => println!("happy house: shared data not found, skipped"),
    }
    Ok(())
}
