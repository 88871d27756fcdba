//! The one pixel rule: how 8-bit values, intensities in [0, 1], gray and RGBA relate. Every
//! conversion in the crate (datasets, the page's pictures, webcam frames, what is drawn) goes
//! through these, so a picture means the same numbers wherever it enters.

/// The intensity an 8-bit value stands for: `v / 255` (defined where training examples store
/// bytes, [`crate::nn::examples`], which turns them into floats batch by batch).
pub use crate::nn::examples::byte_value as from_byte;

/// The 8-bit value nearest an intensity, clamped to [0, 255] (exact for values from bytes).
pub fn to_byte(v: f32) -> u8 {
    (v * 255.0).round().clamp(0.0, 255.0) as u8
}

/// OpenCV's fixed-point luma, `(4899 R + 9617 G + 1868 B + 8192) >> 14`: the formula the
/// grayscale Happy House training images were made with, so converting the RGB test
/// file with it gives test images that match the training images exactly.
pub fn gray_from_rgb_u8(r: u8, g: u8, b: u8) -> u8 {
    ((4899 * r as u32 + 9617 * g as u32 + 1868 * b as u32 + 8192) >> 14) as u8
}

/// Gray of an RGB intensity triple by the same formula, on its 8-bit values.
pub fn gray(rgb: [f32; 3]) -> f32 {
    let [r, g, b] = rgb.map(to_byte);
    from_byte(gray_from_rgb_u8(r, g, b))
}

/// RGBA bytes (alpha ignored) as (H, W, `channels`) intensities: RGB, or gray when
/// `channels` is 1.
pub fn values_from_rgba(rgba: &[u8], channels: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rgba.len() / 4 * channels);
    for px in rgba.chunks_exact(4) {
        if channels == 1 {
            out.push(from_byte(gray_from_rgb_u8(px[0], px[1], px[2])));
        } else {
            out.extend(px[..3].iter().map(|&v| from_byte(v)));
        }
    }
    out
}

/// (H, W, `channels`) intensities (1 or 3 channels) as opaque RGBA bytes, for drawing.
pub fn rgba_from_values(values: &[f32], channels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(values.len() / channels * 4);
    for px in values.chunks_exact(channels) {
        let (r, g, b) = if channels == 1 {
            (px[0], px[0], px[0])
        } else {
            (px[0], px[1], px[2])
        };
        out.extend_from_slice(&[to_byte(r), to_byte(g), to_byte(b), 255]);
    }
    out
}
