//! `convscope imagenet predict PHOTO... [--json] [--model FILE]`: the five most likely ImageNet
//! classes of each photo, by the converted EfficientNet-Lite0 (tools/imagenet).

use convscope::app::imagenet::ImageNet;
use convscope::app::upload::decode_upload;
use convscope::{Error, Result};
use serde_json::json;

/// Where `./build.sh` (tools/imagenet/fetch_and_convert.py) puts the converted model.
const DEFAULT_MODEL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/build/imagenet/efficientnet-lite0.safetensors"
);

pub fn predict(photos: &[String], model: Option<&str>, json: bool) -> Result<()> {
    let path = model.unwrap_or(DEFAULT_MODEL);
    let bytes = std::fs::read(path).map_err(|e| {
        Error::BadInput(if model.is_some() {
            format!("cannot read '{path}': {e}")
        } else {
            format!("no ImageNet model at '{path}' ({e}): make it with `python3 tools/imagenet/fetch_and_convert.py`, or pass --model FILE")
        })
    })?;
    let mut net =
        ImageNet::from_bytes(&bytes).map_err(|e| Error::BadInput(format!("{path}: {e}")))?;
    for photo in photos {
        let read = std::fs::read(photo)
            .map_err(|e| Error::BadInput(format!("cannot read '{photo}': {e}")))
            .and_then(|b| decode_upload(&b))
            .and_then(|picture| net.top(&picture, 5));
        let top = read.map_err(|e| Error::BadInput(format!("{photo}: {e}")))?;
        if json {
            println!("{}", json!({ "photo": photo, "top5": top }));
        } else {
            println!("{photo}");
            for r in &top {
                println!(
                    "  {:5.1}%  {:4}  {}",
                    r.probability * 100.0,
                    r.index,
                    r.name
                );
            }
        }
    }
    Ok(())
}
