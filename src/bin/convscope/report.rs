//! What the command line prints: a progress bar on a terminal, Keras-like lines, or with
//! `--json` one JSON object per line (one per epoch, then the result).

use convscope::nn::{BatchProgress, Control, EpochLog, Evaluation, Observer};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde_json::json;

/// Reports training progress: a bar per epoch on a terminal; JSON lines with `--json`.
pub struct Progress {
    json: bool,
    bar: Option<ProgressBar>,
}

impl Progress {
    pub fn new(json: bool) -> Self {
        Self { json, bar: None }
    }

    fn bar(&mut self, progress: &BatchProgress) -> &ProgressBar {
        self.bar.get_or_insert_with(|| {
            let bar = ProgressBar::with_draw_target(
                Some(progress.batches as u64),
                ProgressDrawTarget::stderr(),
            );
            bar.set_style(
                ProgressStyle::with_template("epoch {prefix:>3} [{bar:30}] {pos}/{len} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_prefix(progress.epoch.to_string());
            bar
        })
    }
}

impl Observer for Progress {
    fn on_batch(&mut self, p: &BatchProgress) -> Control {
        if !self.json {
            let bar = self.bar(p);
            bar.set_position(p.batch as u64);
            bar.set_message(format!(
                "loss {:.4} acc {:.4} ({:.0} img/s)",
                p.loss, p.accuracy, p.images_per_second
            ));
        }
        Control::Continue
    }

    fn on_epoch(&mut self, log: &EpochLog) -> Control {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        if self.json {
            let mut line = serde_json::to_value(log).expect("serializable");
            line["event"] = json!("epoch");
            println!("{line}");
        } else {
            let val = match (log.val_loss, log.val_accuracy) {
                (Some(l), Some(a)) => format!(" - val_loss {l:.4} - val_accuracy {a:.4}"),
                _ => String::new(),
            };
            println!(
                "Epoch {:>3}: loss {:.4} - accuracy {:.4}{val} - {:.1}s ({:.0} img/s)",
                log.epoch, log.loss, log.accuracy, log.seconds, log.images_per_second
            );
        }
        Control::Continue
    }
}

/// The test metrics as JSON.
pub fn evaluation_json(e: &Evaluation) -> serde_json::Value {
    json!({
        "loss": e.loss, "accuracy": e.accuracy, "precision": e.precision, "recall": e.recall, "f1": e.f1,
        "confusion_matrix": e.confusion, "misclassified": e.misclassified,
    })
}

/// The test metrics for a person.
pub fn print_evaluation(e: &Evaluation, class_names: &[String]) {
    println!(
        "test loss {:.4}  accuracy {:.4}  precision {:.4}  recall {:.4}  F1 {:.4}",
        e.loss, e.accuracy, e.precision, e.recall, e.f1
    );
    println!("confusion matrix (rows: true class, columns: predicted):");
    for (name, row) in class_names.iter().zip(&e.confusion) {
        println!(
            "  {name:>14}: {}",
            row.iter().map(|c| format!("{c:>5}")).collect::<String>()
        );
    }
    println!(
        "misclassified ({}): {:?}",
        e.misclassified.len(),
        e.misclassified
    );
}
