//! The student's own picture: decode a PNG or JPEG (with size limits, so a huge file gets a
//! message instead of exhausting memory) and shrink it to explorer size.

use super::presets::Image;
use crate::error::Error;
use crate::limits::{MAX_UPLOAD_DECODE_BYTES, MAX_UPLOAD_SIDE};
use crate::Result;
use image::imageops::FilterType;
use image::{ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Decodes PNG/JPEG bytes and fits the picture within `max_side` x `max_side` (keeping its
/// proportions, never enlarging). Transparent parts become white. With `colour` the result
/// has 3 channels (R, G, B), otherwise 1 (brightness); values are in [0, 1]. Returns (H, W, C).
pub fn decode_image(bytes: &[u8], max_side: usize, colour: bool) -> Result<Image> {
    if !(1..=super::explorer::MAX_SIDE).contains(&max_side) {
        return Err(Error::BadInput(format!(
            "the picture size must be between 1 and {} pixels",
            super::explorer::MAX_SIDE
        )));
    }
    let decoded = decode_checked(bytes)?;
    let (w, h) = (decoded.width(), decoded.height());
    let scale = (max_side as f32 / w.max(h) as f32).min(1.0);
    let (out_w, out_h) = (
        ((w as f32 * scale).round() as u32).max(1),
        ((h as f32 * scale).round() as u32).max(1),
    );
    let small = image::imageops::resize(&decoded.to_rgba32f(), out_w, out_h, FilterType::Triangle);
    let channels = if colour { 3 } else { 1 };
    let mut data = Vec::with_capacity((out_w * out_h) as usize * channels);
    for p in small.pixels() {
        let [r, g, b, a] = p.0;
        // Composite over white paper.
        let rgb = [r, g, b].map(|v| (v * a + (1.0 - a)).clamp(0.0, 1.0));
        if colour {
            data.extend_from_slice(&rgb);
        } else {
            data.push(0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2]);
        }
    }
    Image::new(out_h as usize, out_w as usize, channels, data)
}

/// Decodes PNG/JPEG bytes within the size limits; the error says what is wrong in words.
fn decode_checked(bytes: &[u8]) -> Result<image::DynamicImage> {
    let reader = || {
        ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| Error::BadInput(format!("could not read the file: {e}")))
    };
    match reader()?.format() {
        None => {
            return Err(Error::BadInput(
                "this file is not a PNG or JPEG picture".into(),
            ))
        }
        Some(ImageFormat::Png | ImageFormat::Jpeg) => {}
        Some(other) => {
            return Err(Error::BadInput(format!(
                "this is a {other:?} picture; only PNG or JPEG pictures can be read"
            )))
        }
    }
    // Read only the header first, so that the message can give the picture's size.
    let (w, h) = reader()?
        .into_dimensions()
        .map_err(|e| Error::BadInput(format!("this picture could not be read: {e}")))?;
    if w > MAX_UPLOAD_SIDE || h > MAX_UPLOAD_SIDE {
        return Err(Error::BadInput(format!(
            "this picture is too large ({w}x{h} pixels); please use one of at most {MAX_UPLOAD_SIDE}x{MAX_UPLOAD_SIDE}"
        )));
    }
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_UPLOAD_SIDE);
    limits.max_image_height = Some(MAX_UPLOAD_SIDE);
    limits.max_alloc = Some(MAX_UPLOAD_DECODE_BYTES);
    let mut reader = reader()?;
    reader.limits(limits);
    reader.decode().map_err(|e| match e {
        image::ImageError::Limits(_) => Error::BadInput(format!("this picture needs more than {} MB to decode (at most {MAX_UPLOAD_SIDE}x{MAX_UPLOAD_SIDE} pixels at 8 bits)", MAX_UPLOAD_DECODE_BYTES / (1024 * 1024))),
        other => Error::BadInput(format!("this picture could not be decoded: {other}")),
    })
}

/// Decodes a photo for a model: the largest centred square is cut out (a face photo keeps its
/// proportions) and resized to `height` x `width`; RGB in [0, 1], (H, W, 3).
pub fn decode_for_model(bytes: &[u8], height: usize, width: usize) -> Result<Vec<f32>> {
    if !(1..=1024).contains(&height) || !(1..=1024).contains(&width) {
        return Err(Error::BadInput(format!(
            "a model input of {height}x{width} pixels is not supported"
        )));
    }
    let decoded = decode_checked(bytes)?.to_rgb8();
    let (w, h) = decoded.dimensions();
    let side = w.min(h);
    let square =
        image::imageops::crop_imm(&decoded, (w - side) / 2, (h - side) / 2, side, side).to_image();
    let small = image::imageops::resize(&square, width as u32, height as u32, FilterType::Triangle);
    Ok(small.as_raw().iter().map(|&v| v as f32 / 255.0).collect())
}
