//! `model.summary()`: the Keras 3 table (layer, output shape, parameter count, totals), as text
//! for a terminal and as rows for the page. The text reproduces Keras 3.x's own output on an
//! 80-column console character for character (see the whole-model fixture's `summary.txt`).

use super::plan::ModelPlan;
use serde::Serialize;

/// One row of the summary table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SummaryRow {
    /// Keras-style name, e.g. `conv2d_1`.
    pub name: String,
    /// Keras's class name, e.g. `Conv2D`.
    pub type_name: String,
    /// Output shape without the batch axis, e.g. [64, 64, 16].
    pub output_shape: Vec<usize>,
    /// Trainable plus non-trainable parameters of the layer.
    pub params: usize,
    pub trainable_params: usize,
}

/// The whole summary: rows and totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub rows: Vec<SummaryRow>,
    pub total_params: usize,
    pub trainable_params: usize,
    pub non_trainable_params: usize,
    /// The three totals as Keras words them: `("Total params", "1,063,073 (4.06 MB)")`, ...
    pub totals: Vec<(String, String)>,
}

/// Content widths of Keras's three columns on an 80-column console (line length 76).
const WIDTHS: [usize; 3] = [31, 22, 13];

impl Summary {
    pub fn from_plan(plan: &ModelPlan) -> Self {
        let rows = plan
            .layers
            .iter()
            .map(|l| SummaryRow {
                name: l.name.clone(),
                type_name: l.spec.type_name().to_string(),
                output_shape: l.output.dims(),
                params: l.trainable_params + l.non_trainable_params,
                trainable_params: l.trainable_params,
            })
            .collect();
        let (total, trainable, non_trainable) = (
            plan.total_params(),
            plan.trainable_params(),
            plan.non_trainable_params(),
        );
        let count = |n: usize| {
            format!(
                "{} ({})",
                thousands(n),
                readable_memory_size(n as f64 * 4.0)
            )
        };
        Self {
            rows,
            total_params: total,
            trainable_params: trainable,
            non_trainable_params: non_trainable,
            totals: vec![
                ("Total params".into(), count(total)),
                ("Trainable params".into(), count(trainable)),
                ("Non-trainable params".into(), count(non_trainable)),
            ],
        }
    }

    /// The Keras 3 table, as `model.summary()` prints it (model name "sequential").
    pub fn to_text(&self) -> String {
        let rule = |left: &str, fill: &str, mid: &str, right: &str| {
            let cells: Vec<String> = WIDTHS.iter().map(|w| fill.repeat(w + 2)).collect();
            format!("{left}{}{right}\n", cells.join(mid))
        };
        let mut text = String::from("Model: \"sequential\"\n");
        text += &rule("┏", "━", "┳", "┓");
        text += &row_lines("┃", ["Layer (type)", "Output Shape", "Param #"]);
        text += &rule("┡", "━", "╇", "┩");
        for (i, r) in self.rows.iter().enumerate() {
            if i > 0 {
                text += &rule("├", "─", "┼", "┤");
            }
            let shape = format!(
                "(None, {})",
                r.output_shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
            text += &row_lines(
                "│",
                [
                    &format!("{} ({})", r.name, r.type_name),
                    &shape,
                    &thousands(r.params),
                ],
            );
        }
        text += &rule("└", "─", "┴", "┘");
        for (label, count) in &self.totals {
            text += &format!(" {label}: {count}\n");
        }
        text
    }
}

/// One table row, wrapped over as many lines as its longest cell needs; the last column is
/// right-aligned as in Keras.
fn row_lines(border: &str, cells: [&str; 3]) -> String {
    let wrapped: Vec<Vec<String>> = cells.iter().zip(WIDTHS).map(|(c, w)| wrap(c, w)).collect();
    let height = wrapped.iter().map(Vec::len).max().unwrap_or(1);
    let mut text = String::new();
    for line in 0..height {
        text += border;
        for (col, lines) in wrapped.iter().enumerate() {
            let cell = lines.get(line).map(String::as_str).unwrap_or("");
            let w = WIDTHS[col];
            text += &if col == 2 {
                format!(" {cell:>w$} ")
            } else {
                format!(" {cell:<w$} ")
            };
            text += border;
        }
        text += "\n";
    }
    text
}

/// Greedy word wrap to `width` characters; a word longer than a line is cut (as `rich` folds).
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word: Vec<char> = word.chars().collect();
        let needed = if line.is_empty() {
            word.len()
        } else {
            line.chars().count() + 1 + word.len()
        };
        if needed <= width {
            if !line.is_empty() {
                line.push(' ');
            }
            line.extend(word);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        while word.len() > width {
            lines.push(word.drain(..width).collect());
        }
        line = word.into_iter().collect();
    }
    lines.push(line);
    lines
}

/// 1063073 -> "1,063,073".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Keras's `readable_memory_size`: bytes in B, KB, MB, ... (powers of 1024), two decimals.
fn readable_memory_size(mut bytes: f64) -> String {
    for unit in ["B", "KB", "MB", "GB", "TB"] {
        if bytes / 1024.0 < 1.0 {
            return format!("{bytes:.2} {unit}");
        }
        bytes /= 1024.0;
    }
    format!("{bytes:.2} PB")
}
