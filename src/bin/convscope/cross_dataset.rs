//! `convscope cross-dataset`: does the chapter's model see smiles elsewhere? For each seed it
//! trains on the synthetic faces and tests on Happy House, and the other way round, each with
//! and without augmentation, and prints each model's own test accuracy, its accuracy on the
//! other dataset and the gap (`convscope::app::cross_dataset`). Both datasets are used in gray
//! (the Happy House training images exist only in gray).

use crate::augment_args::AugmentArgs;
use crate::data_source;
use clap::Args;
use convscope::app::cross_dataset::{train_and_cross_test, RunSetup};
use convscope::data::augment::Augmentation;
use convscope::data::synthetic::{generate, SyntheticParams};
use convscope::data::Dataset;
use convscope::{invalid, Result};
use serde_json::json;

#[derive(Args)]
pub struct CrossDatasetArgs {
    /// The Happy House folder (train_gray_x.npy, train_y.npy, test_happy.h5).
    #[arg(long)]
    happy: String,
    /// Training seeds, comma-separated.
    #[arg(long, default_value = "1,2,3")]
    seeds: String,
    /// Most epochs per run (the recommended settings with early stopping otherwise; 30 lets
    /// batch norm's statistics settle and an augmented run learn, and keeps the 12 runs within
    /// about half an hour natively).
    #[arg(long, default_value_t = 30)]
    epochs: usize,
    /// Synthetic faces: training and test images (data seed 1).
    #[arg(long, default_value_t = 600)]
    synthetic_train: usize,
    #[arg(long, default_value_t = 150)]
    synthetic_test: usize,
    /// The augmentation of the "with" runs (default: the suggested one, as `--augment`).
    #[command(flatten)]
    augmentation: AugmentArgs,
    /// One JSON object per run, then the medians.
    #[arg(long)]
    json: bool,
}

struct Source {
    name: &'static str,
    train: Dataset,
    test: Dataset,
}

pub fn run(args: CrossDatasetArgs) -> Result<()> {
    let seeds: Vec<u64> = args
        .seeds
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<std::result::Result<_, _>>()
        .map_err(|_| {
            invalid!(
                "--seeds takes whole numbers separated by commas, got '{}'",
                args.seeds
            )
        })?;
    let with = match args.augmentation.settings()? {
        a if a.is_off() => Augmentation::suggested(),
        a => a,
    };
    let happy = data_source::load(&format!("happy:{}", args.happy), 0.2, 1, 1)?;
    let (train, test) = generate(&SyntheticParams {
        train: args.synthetic_train,
        test: args.synthetic_test,
        ..SyntheticParams::default()
    })?;
    let sources = [
        Source {
            name: "synthetic faces",
            train: train.to_grayscale(),
            test: test.to_grayscale(),
        },
        Source {
            name: "Happy House",
            train: happy.train,
            test: happy.test,
        },
    ];
    if !args.json {
        println!(
            "{:<34} {:<12} {:>4} {:>9} {:>11} {:>7}",
            "trained on -> tested on", "augmentation", "seed", "own test", "other data", "gap"
        );
    }
    let mut rows = Vec::new();
    for (from, to) in [(0, 1), (1, 0)] {
        let (src, other) = (&sources[from], &sources[to]);
        for augmentation in [Augmentation::default(), with] {
            let label = if augmentation.is_off() { "none" } else { "on" };
            let mut gaps = Vec::new();
            let mut others = Vec::new();
            for &seed in &seeds {
                let setup = RunSetup {
                    seed,
                    epochs: args.epochs,
                    augmentation,
                };
                let r = train_and_cross_test(&src.train, &src.test, &other.test, &setup)?;
                let direction = format!("{} -> {}", src.name, other.name);
                if args.json {
                    println!(
                        "{}",
                        json!({ "event": "run", "trained_on": src.name, "tested_on": other.name, "augmentation": augmentation, "seed": seed,
                        "own_accuracy": r.own.accuracy, "other_accuracy": r.other.accuracy, "gap": r.gap, "notes": r.notes })
                    );
                } else {
                    println!(
                        "{direction:<34} {label:<12} {seed:>4} {:>8.1}% {:>10.1}% {:>6.1}",
                        100.0 * r.own.accuracy,
                        100.0 * r.other.accuracy,
                        100.0 * r.gap
                    );
                }
                gaps.push(r.gap);
                others.push(r.other.accuracy);
            }
            rows.push((
                src.name,
                other.name,
                label,
                median(&mut others),
                median(&mut gaps),
            ));
        }
    }
    for (from, to, label, other, gap) in rows {
        if args.json {
            println!(
                "{}",
                json!({ "event": "median", "trained_on": from, "tested_on": to, "augmentation": label, "other_accuracy": other, "gap": gap })
            );
        } else {
            println!(
                "median: {from} -> {to}, augmentation {label}: other data {:.1}%, gap {:.1} points",
                100.0 * other,
                100.0 * gap
            );
        }
    }
    Ok(())
}

fn median(values: &mut [f32]) -> f32 {
    values.sort_by(f32::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}
