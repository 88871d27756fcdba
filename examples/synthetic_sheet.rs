//! Writes a contact sheet of synthetic faces to look at:
//! `cargo run --release --example synthetic_sheet -- [SEED] [easy|normal|hard] [OUT.png]`
//! (default: seed 1, normal, `build/synthetic_sheet.png`). Each face is shown 3x with a
//! bar under it: green = smiling (1), red = frowning (0). A yellow frame marks the
//! mouth box the generator returned.

use convscope::data::synthetic::{generate_set, Difficulty};

const COLUMNS: usize = 8;
const ZOOM: usize = 3;
const BAR: usize = 6;
const GAP: usize = 4;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let seed: u64 = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(1);
    let difficulty = match args.get(2).map(String::as_str).unwrap_or("normal") {
        "easy" => Difficulty::Easy,
        "hard" => Difficulty::Hard,
        _ => Difficulty::Normal,
    };
    let out = args
        .get(3)
        .cloned()
        .unwrap_or_else(|| "build/synthetic_sheet.png".into());
    let data = generate_set(32, seed, difficulty, None)?;
    let boxes: Vec<_> = (data
        .landmarks()
        .expect("synthetic data has mouth boxes")
        .iter())
    .map(|l| l.mouth)
    .collect();
    let side = 64 * ZOOM;
    let rows = data.len().div_ceil(COLUMNS);
    let (width, height) = (COLUMNS * (side + GAP), rows * (side + BAR + GAP));
    let mut sheet =
        image::RgbImage::from_pixel(width as u32, height as u32, image::Rgb([255, 255, 255]));
    for i in 0..data.len() {
        let (ox, oy) = (
            (i % COLUMNS) * (side + GAP),
            (i / COLUMNS) * (side + BAR + GAP),
        );
        let img = data.image(i);
        let b = boxes[i];
        for y in 0..side {
            for x in 0..side {
                let (px, py) = (x / ZOOM, y / ZOOM);
                let on_box_edge = (px >= b.x0 && px < b.x1 && py >= b.y0 && py < b.y1)
                    && ((x == b.x0 * ZOOM || x == b.x1 * ZOOM - 1)
                        || (y == b.y0 * ZOOM || y == b.y1 * ZOOM - 1));
                let p = &img[(py * 64 + px) * 3..][..3];
                let rgb = if on_box_edge {
                    [255, 220, 0]
                } else {
                    [0, 1, 2].map(|k| (p[k] * 255.0).round() as u8)
                };
                sheet.put_pixel((ox + x) as u32, (oy + y) as u32, image::Rgb(rgb));
            }
        }
        let bar = if data.labels()[i] == 1 {
            [30, 170, 60]
        } else {
            [210, 40, 40]
        };
        for y in side..side + BAR {
            for x in 0..side {
                sheet.put_pixel((ox + x) as u32, (oy + y) as u32, image::Rgb(bar));
            }
        }
    }
    if let Some(dir) = std::path::Path::new(&out).parent() {
        std::fs::create_dir_all(dir)?;
    }
    sheet.save(&out)?;
    println!("wrote {out}: 32 faces, seed {seed}, {difficulty:?}");
    Ok(())
}
