//! Writes small valid files for each fuzz target into `fuzz/seeds/<target>/`, so that libFuzzer
//! starts from files that get past the first checks (README "Fuzzing"):
//!
//!     cargo run --example write_fuzz_seeds
//!
//! The files are the ones the property tests in tests/fuzz_loaders.rs mutate. (The onnx target
//! also starts from three graphs of tools/onnx/make_import_fixtures.py, copied there by hand.)

// fuzz_support builds on data_support (crc32, npy and zip writers).
#[path = "../tests/data_support/mod.rs"]
mod data_support;
#[path = "../tests/fuzz_support/mod.rs"]
mod fuzz_support;

use convscope::nn::ModelSpec;
use fuzz_support::*;

fn main() -> std::io::Result<()> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds");
    let (npy_x, npy_y) = small_npy_pair(2);
    let seeds: [(&str, &str, Vec<u8>); 9] = [
        ("h5", "train2.h5", small_h5(1)),
        ("npy", "x.npy", npy_x),
        ("npy", "y.npy", npy_y),
        ("image", "small.png", png(5, 4)),
        ("image", "small.jpg", jpeg(4, 5)),
        ("zip_folder", "faces.zip", small_zip()),
        ("model_file", "tiny.safetensors", small_model_file()),
        ("onnx", "tiny.onnx", small_onnx()),
        (
            "model_file",
            "chapter.json",
            ModelSpec::chapter().to_json().into_bytes(),
        ),
    ];
    for (target, name, bytes) in seeds {
        let dir = root.join(target);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join(name), bytes)?;
        println!("wrote fuzz/seeds/{target}/{name}");
    }
    Ok(())
}
