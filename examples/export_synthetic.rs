//! Writes a synthetic split as NumPy files, to train reference models on it elsewhere:
//! `cargo run --release --example export_synthetic -- [SEED] [easy|normal|hard] [DIR]`
//! (default: seed 1, normal, `build/synthetic`). Files: `train_x.npy` (600, 64, 64, 3)
//! uint8, `train_y.npy` (600,) int64, `test_x.npy`, `test_y.npy`, `test_mouth_boxes.npy`
//! (150, 4) int64 as x0, y0, x1, y1.

use convscope::data::synthetic::{generate, Difficulty, SyntheticParams};
use convscope::data::Dataset;

/// A NumPy format 1.0 file: magic, version, header dict padded to 64 bytes, raw data.
fn npy(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_text = if dims.len() == 1 {
        format!("({},)", dims[0])
    } else {
        format!("({})", dims.join(", "))
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn write_split(dir: &std::path::Path, name: &str, data: &Dataset) -> std::io::Result<()> {
    let pixels: Vec<u8> = data
        .images()
        .iter()
        .map(|&v| (v * 255.0).round() as u8)
        .collect();
    let labels: Vec<u8> = data
        .labels()
        .iter()
        .flat_map(|&l| (l as i64).to_le_bytes())
        .collect();
    std::fs::write(
        dir.join(format!("{name}_x.npy")),
        npy("|u1", &[data.len(), 64, 64, 3], &pixels),
    )?;
    std::fs::write(
        dir.join(format!("{name}_y.npy")),
        npy("<i8", &[data.len()], &labels),
    )?;
    if let Some(boxes) = data.landmarks() {
        let flat: Vec<u8> = boxes
            .iter()
            .flat_map(|l| [l.mouth.x0, l.mouth.y0, l.mouth.x1, l.mouth.y1])
            .flat_map(|v| (v as i64).to_le_bytes())
            .collect();
        std::fs::write(
            dir.join(format!("{name}_mouth_boxes.npy")),
            npy("<i8", &[data.len(), 4], &flat),
        )?;
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let difficulty = match args.get(2).map(String::as_str).unwrap_or("normal") {
        "easy" => Difficulty::Easy,
        "hard" => Difficulty::Hard,
        _ => Difficulty::Normal,
    };
    let dir = std::path::PathBuf::from(
        args.get(3)
            .cloned()
            .unwrap_or_else(|| "build/synthetic".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let (train, test) = generate(&SyntheticParams {
        seed,
        difficulty,
        ..SyntheticParams::default()
    })?;
    write_split(&dir, "train", &train)?;
    write_split(&dir, "test", &test)?;
    println!(
        "wrote {}: {} train, {} test, seed {seed}, {difficulty:?}",
        dir.display(),
        train.len(),
        test.len()
    );
    Ok(())
}
