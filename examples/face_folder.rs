//! Writes synthetic faces as a folder of JPEG files, shaped like the data users bring: Keras's
//! `image_dataset_from_directory` layout (one subfolder per class), class-ordered (every frown
//! first, then every smile, as a file listing gives them), unbalanced if asked, and with the
//! stray files real folders carry (`--stray`). For tests of the folder loaders in the page and
//! the command line, and of their memory and speed on thousands of files:
//!
//! `cargo run --release --example face_folder -- OUT_DIR --per-class 600,600 --difficulty hard
//!  --seed 7 [--side 64] [--quality 90] [--names no_smile,smile] [--stray]`
//! (defaults: 600,600, normal, seed 1, side 64, quality 90, no_smile,smile, no stray files).
//!
//! Files: `OUT_DIR/<name>/0000.jpg`, `0001.jpg`, … (label 0 = not smiling is the first name,
//! 1 = smiling the second). `--side` resizes (the default 64 keeps the generated pixels);
//! `--stray` adds `readme.txt` and `.DS_Store` at the top, `.DS_Store` in the first class
//! folder and `Thumbs.db` in the second. Each face is rendered from its own seed (drawn from
//! `--seed`), so the same arguments give the same files and memory holds one chunk at a time.

use convscope::data::synthetic::{render_image, Difficulty, SIZE};
use convscope::rng::rng_from_seed;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::RgbImage;
use rand::RngExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Faces rendered, then encoded and written, per round: memory stays a few MB at any count.
const CHUNK: usize = 500;

struct Args {
    out: PathBuf,
    per_class: [usize; 2],
    difficulty: Difficulty,
    seed: u64,
    side: u32,
    quality: u8,
    names: [String; 2],
    stray: bool,
}

const USAGE: &str = "usage: face_folder OUT_DIR [--per-class A,B] [--difficulty easy|normal|hard] [--seed N] [--side PX] [--quality 1-100] [--names NO_SMILE,SMILE] [--stray]";

fn pair(text: &str, what: &str) -> Result<[String; 2], String> {
    match text.split(',').collect::<Vec<_>>()[..] {
        [a, b] if !a.is_empty() && !b.is_empty() => Ok([a.to_string(), b.to_string()]),
        _ => Err(format!(
            "{what} takes two comma-separated values, got '{text}'"
        )),
    }
}

fn number<T: std::str::FromStr>(text: &str, what: &str) -> Result<T, String> {
    text.parse()
        .map_err(|_| format!("{what} needs a whole number, got '{text}'"))
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        out: PathBuf::new(),
        per_class: [600, 600],
        difficulty: Difficulty::Normal,
        seed: 1,
        side: SIZE as u32,
        quality: 90,
        names: ["no_smile".into(), "smile".into()],
        stray: false,
    };
    let mut out = None;
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().ok_or(format!("{arg} needs a value\n{USAGE}"));
        match arg.as_str() {
            "--per-class" => {
                let [a, b] = pair(&value()?, "--per-class")?;
                args.per_class = [number(&a, "--per-class")?, number(&b, "--per-class")?];
            }
            "--difficulty" => {
                args.difficulty = match value()?.as_str() {
                    "easy" => Difficulty::Easy,
                    "normal" => Difficulty::Normal,
                    "hard" => Difficulty::Hard,
                    other => {
                        return Err(format!(
                            "--difficulty is easy, normal or hard, got '{other}'"
                        ))
                    }
                }
            }
            "--seed" => args.seed = number(&value()?, "--seed")?,
            "--side" => args.side = number(&value()?, "--side")?,
            "--quality" => args.quality = number(&value()?, "--quality")?,
            "--names" => args.names = pair(&value()?, "--names")?,
            "--stray" => args.stray = true,
            "-h" | "--help" => return Err(USAGE.into()),
            flag if flag.starts_with("--") => {
                return Err(format!("unknown option {flag}\n{USAGE}"))
            }
            dir if out.is_none() => out = Some(PathBuf::from(dir)),
            extra => return Err(format!("unexpected argument '{extra}'\n{USAGE}")),
        }
    }
    args.out = out.ok_or(USAGE)?;
    if args.side == 0 || args.side > 4096 {
        return Err(format!(
            "--side must be between 1 and 4096, got {}",
            args.side
        ));
    }
    if !(1..=100).contains(&args.quality) {
        return Err(format!(
            "--quality must be between 1 and 100, got {}",
            args.quality
        ));
    }
    Ok(args)
}

/// The generator's (H, W, 3) values in [0, 1] as an 8-bit picture of `side` pixels.
fn picture(pixels: &[f32], side: u32) -> RgbImage {
    let bytes = pixels
        .iter()
        .map(|&v| (v * 255.0).round().clamp(0.0, 255.0) as u8)
        .collect();
    let img = RgbImage::from_raw(SIZE as u32, SIZE as u32, bytes).expect("64x64x3 values");
    if side == SIZE as u32 {
        img
    } else {
        image::imageops::resize(&img, side, side, FilterType::Triangle)
    }
}

fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .expect("encoding to memory does not fail");
    out
}

/// What operating systems and people leave in folders: none of them is a picture.
fn write_strays(out: &Path, names: &[String; 2]) -> std::io::Result<usize> {
    // A real .DS_Store starts with this magic ("\0\0\0\x01Bud1"); Thumbs.db is an OLE file.
    let ds_store = b"\x00\x00\x00\x01Bud1\x00\x00\x10\x00\x00\x00\x08\x00";
    let thumbs = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00\x00\x00";
    std::fs::write(
        out.join("readme.txt"),
        "Synthetic faces written by convscope's face_folder example: one folder per class.\n",
    )?;
    std::fs::write(out.join(".DS_Store"), ds_store)?;
    std::fs::write(out.join(&names[0]).join(".DS_Store"), ds_store)?;
    std::fs::write(out.join(&names[1]).join("Thumbs.db"), thumbs)?;
    Ok(4)
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let start = Instant::now();
    // One stream of per-face seeds for both classes, so no frown shares its person, light and
    // noise with a smile (the same seed with the other label is a counterfactual pair).
    let mut seeds = rng_from_seed(args.seed);
    let mut bytes = 0u64;
    for (label, name) in args.names.iter().enumerate() {
        let dir = args.out.join(name);
        std::fs::create_dir_all(&dir)?;
        let count = args.per_class[label];
        let mut done = 0;
        while done < count {
            let n = CHUNK.min(count - done);
            let files: Vec<Vec<u8>> = (0..n)
                .map(|_| {
                    let (pixels, _mouth) =
                        render_image(seeds.random(), label == 1, args.difficulty, None);
                    jpeg(&picture(&pixels, args.side), args.quality)
                })
                .collect();
            for (i, file) in files.iter().enumerate() {
                std::fs::write(dir.join(format!("{:04}.jpg", done + i)), file)?;
                bytes += file.len() as u64;
            }
            done += n;
        }
    }
    let strays = if args.stray {
        write_strays(&args.out, &args.names)?
    } else {
        0
    };
    let total: usize = args.per_class.iter().sum();
    println!(
        "wrote {}: {} {} + {} {} = {total} JPEG faces ({:?}, seed {}, {}x{} px, quality {}), {:.1} MB, {} stray files, in {:.2} s",
        args.out.display(),
        args.per_class[0],
        args.names[0],
        args.per_class[1],
        args.names[1],
        args.difficulty,
        args.seed,
        args.side,
        args.side,
        args.quality,
        bytes as f64 / 1e6,
        strays,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(&args) {
        eprintln!("face_folder: {e}");
        std::process::exit(1);
    }
}
