//! The student's own picture: its header checked against the size limits (so a huge file gets
//! a message instead of exhausting memory), then, once decoded (by the page in the browser,
//! by [`decode_upload`] natively), shrunk to explorer size or cut to a model's input.

use super::presets::Image;
use crate::data::picture::{
    read_header, to_rgb, to_rgba_f32, HeaderProblem, Picture, PictureHeader,
};
use crate::data::pixel::from_byte;
use crate::error::Error;
use crate::limits::MAX_UPLOAD_SIDE;
use crate::Result;
use image::imageops::FilterType;

/// Checks an uploaded file's header: a PNG or JPEG of at most `MAX_UPLOAD_SIDE` pixels a
/// side. The page calls this before it lets the browser decode the file.
pub fn check_upload(bytes: &[u8]) -> Result<PictureHeader> {
    read_header(bytes, MAX_UPLOAD_SIDE).map_err(|problem| {
        Error::BadInput(match problem {
            HeaderProblem::NotAPicture => "this file is not a PNG or JPEG picture".into(),
            HeaderProblem::OtherFormat(name) => {
                format!("this is a {name} picture; only PNG or JPEG pictures can be read")
            }
            HeaderProblem::Unreadable(e) => format!("this picture could not be read: {e}"),
            HeaderProblem::TooLarge { width, height } => format!(
                "this picture is too large ({width}x{height} pixels); please use one of at most {MAX_UPLOAD_SIDE}x{MAX_UPLOAD_SIDE}"
            ),
        })
    })
}

/// Fits a decoded picture within `max_side` x `max_side` (keeping its proportions, never
/// enlarging). Transparent parts become white. With `colour` the result has 3 channels (R, G,
/// B), otherwise 1 (brightness); values are in [0, 1]. Returns (H, W, C).
pub fn fit_image(picture: &Picture, max_side: usize, colour: bool) -> Result<Image> {
    if !(1..=crate::limits::explorer::MAX_SIDE).contains(&max_side) {
        return Err(Error::BadInput(format!(
            "the picture size must be between 1 and {} pixels",
            crate::limits::explorer::MAX_SIDE
        )));
    }
    let (w, h) = picture.dimensions();
    let scale = (max_side as f32 / w.max(h) as f32).min(1.0);
    let (out_w, out_h) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    // Resized in floating point, so that shrinking does not round twice.
    let small = image::imageops::resize(&to_rgba_f32(picture), out_w, out_h, FilterType::Triangle);
    let channels = if colour { 3 } else { 1 };
    let mut data = Vec::with_capacity((out_w * out_h) as usize * channels);
    for p in small.pixels() {
        let [r, g, b, a] = p.0;
        // Composite over white paper.
        let rgb = [r, g, b].map(|v| (v * a + (1.0 - a)).clamp(0.0, 1.0));
        if colour {
            data.extend_from_slice(&rgb);
        } else {
            data.push(crate::data::pixel::gray(rgb));
        }
    }
    Image::new(out_h as usize, out_w as usize, channels, data)
}

/// A decoded photo for a model: the largest centred square is cut out (a face photo keeps its
/// proportions) and resized to `height` x `width`; RGB in [0, 1], (H, W, 3).
pub fn fit_for_model(picture: &Picture, height: usize, width: usize) -> Result<Vec<f32>> {
    if !(1..=1024).contains(&height) || !(1..=1024).contains(&width) {
        return Err(Error::BadInput(format!(
            "a model input of {height}x{width} pixels is not supported"
        )));
    }
    let rgb = to_rgb(picture);
    let (w, h) = rgb.dimensions();
    let side = w.min(h);
    let square =
        image::imageops::crop_imm(&rgb, (w - side) / 2, (h - side) / 2, side, side).to_image();
    let small = image::imageops::resize(&square, width as u32, height as u32, FilterType::Triangle);
    Ok(small.as_raw().iter().map(|&v| from_byte(v)).collect())
}

/// Decodes an uploaded PNG or JPEG within the limits (native builds; the page decodes in the
/// browser after [`check_upload`]).
#[cfg(not(target_arch = "wasm32"))]
pub fn decode_upload(bytes: &[u8]) -> Result<Picture> {
    use crate::data::picture::{decode, DecodeProblem};
    use crate::limits::MAX_UPLOAD_DECODE_BYTES;
    let header = check_upload(bytes)?;
    decode(bytes, &header, MAX_UPLOAD_DECODE_BYTES).map_err(|problem| match problem {
        DecodeProblem::TooMuchMemory => Error::BadInput(format!("this picture needs more than {} MB to decode (at most {MAX_UPLOAD_SIDE}x{MAX_UPLOAD_SIDE} pixels at 8 bits)", MAX_UPLOAD_DECODE_BYTES / (1024 * 1024))),
        DecodeProblem::Damaged(e) => Error::BadInput(format!("this picture could not be decoded: {e}")),
    })
}

/// [`decode_upload`] then [`fit_image`] (native builds).
#[cfg(not(target_arch = "wasm32"))]
pub fn decode_image(bytes: &[u8], max_side: usize, colour: bool) -> Result<Image> {
    fit_image(&decode_upload(bytes)?, max_side, colour)
}
