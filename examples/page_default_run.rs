//! The page's default training run, natively, printing every epoch (a measurement, not a test):
//! `cargo run --release --example page_default_run`. Environment: `EPOCHS` (8), `DIFFICULTY`
//! (normal), `BN` (batch-norm momentum, 0.9), `BATCH` (16).

use convscope::app::session::{Session, TrainSettings};

fn main() {
    let env = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    let mut s = Session::new();
    s.load_synthetic(600, 150, 1, &env("DIFFICULTY", "normal"))
        .expect("the synthetic faces load");
    let settings = TrainSettings {
        epochs: env("EPOCHS", "8").parse().expect("EPOCHS is a number"),
        batch_size: env("BATCH", "16").parse().expect("BATCH is a number"),
        learning_rate: 1e-3,
        patience: 0,
        seed: 0,
        bn_momentum: Some(env("BN", "0.9").parse().expect("BN is a number")),
        augmentation: Default::default(),
    };
    s.start_training(&settings).expect("the settings are valid");
    loop {
        let report = s.train_for(1e9).expect("training runs");
        for e in &report.epochs {
            println!(
                "epoch {}: loss {:.3} acc {:.3} val_loss {:.3} val_acc {:.3} ({:.1} s, {:.0} img/s)",
                e.epoch,
                e.loss,
                e.accuracy,
                e.val_loss.unwrap_or(f32::NAN),
                e.val_accuracy.unwrap_or(f32::NAN),
                e.seconds,
                e.images_per_second
            );
        }
        if report.finished.is_some() {
            break;
        }
    }
    let r = s.evaluate_test().expect("the test set scores");
    println!("test accuracy {:.3}", r.evaluation.accuracy);
}
