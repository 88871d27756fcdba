//! The explorer's wasm-bindgen surface: a few coarse calls. Bulk numbers go out as
//! `Float32Array` copies, small structured answers as plain JS objects; every fallible
//! call returns `Result<_, JsError>` whose message the page shows as it is.

use super::to_js;
use crate::app::explorer::{self, ConvRequest, ConvRun, ConvSettings, PoolRun};
use crate::app::presets::{self, Image};
use crate::app::{filters, upload};
use wasm_bindgen::prelude::*;

/// An input picture: (H, W, C) values the page draws and edits.
#[wasm_bindgen]
pub struct InputImage(Image);

#[wasm_bindgen]
impl InputImage {
    #[wasm_bindgen(getter)]
    pub fn height(&self) -> usize {
        self.0.height
    }
    #[wasm_bindgen(getter)]
    pub fn width(&self) -> usize {
        self.0.width
    }
    #[wasm_bindgen(getter)]
    pub fn channels(&self) -> usize {
        self.0.channels
    }
    /// The values, (H, W, C), as a fresh Float32Array.
    pub fn data(&self) -> Vec<f32> {
        self.0.data.clone()
    }
}

/// A built-in input: `x`, `seven`, `seven14` or `face`.
#[wasm_bindgen(js_name = inputPreset)]
pub fn input_preset(name: &str) -> Result<InputImage, JsError> {
    presets::input_preset(name)
        .map(InputImage)
        .map_err(JsError::from)
}

/// Checks an uploaded file before the page decodes it: a PNG or JPEG not too large to
/// decode; see [`upload::check_upload`].
#[wasm_bindgen(js_name = checkPicture)]
pub fn check_picture(bytes: &[u8]) -> Result<(), JsError> {
    upload::check_upload(bytes)
        .map(|_| ())
        .map_err(JsError::from)
}

/// Fits a decoded picture (RGBA bytes from the browser's decoder) within `maxSide` pixels;
/// see [`upload::fit_image`].
#[wasm_bindgen(js_name = fitPicture)]
pub fn fit_picture(
    rgba: Vec<u8>,
    width: u32,
    height: u32,
    max_side: usize,
    colour: bool,
) -> Result<InputImage, JsError> {
    let picture = crate::data::picture::from_rgba(rgba, width, height)?;
    upload::fit_image(&picture, max_side, colour)
        .map(InputImage)
        .map_err(JsError::from)
}

/// The kernel presets usable with `channels` input channels: `[{id, label, minSize, needsChannels}]`.
#[wasm_bindgen(js_name = kernelRecipes)]
pub fn kernel_recipes(channels: usize) -> Result<JsValue, JsError> {
    to_js(&filters::recipes_for(channels))
}

/// One filter's weights for a preset, (K, K, C).
#[wasm_bindgen(js_name = kernelPreset)]
pub fn kernel_preset(id: &str, size: usize, channels: usize) -> Result<Vec<f32>, JsError> {
    filters::kernel_preset(id, size, channels).map_err(JsError::from)
}

/// The explorer's sliders from the page's object (see [`ConvRequest`]).
fn read_settings(value: JsValue) -> Result<(ConvSettings, bool), JsError> {
    let request: ConvRequest = serde_wasm_bindgen::from_value(value)
        .map_err(|e| JsError::new(&format!("the settings could not be read: {e}")))?;
    Ok(request.settings()?)
}

/// Everything a geometry implies for an input of `height` x `width`, whether or not it works:
/// `{padTop, padBottom, padLeft, padRight, outHeight, outWidth, span, diagnostics: [{control, level, message}]}`
/// (the output sizes are null when the kernel does not fit).
#[wasm_bindgen(js_name = describeConv)]
pub fn describe_conv(height: usize, width: usize, settings: JsValue) -> Result<JsValue, JsError> {
    let (s, _) = read_settings(settings)?;
    to_js(&explorer::describe(height, width, &s))
}

/// One convolution with its maps and the breakdown of any cell. `settings` is
/// `{kernel, stride, padding: "valid" | "same" | "explicit", pad, dilation, relu}`; the data
/// arguments are input (H, W, C), filters (F, K, K, C) one after another, bias (F).
#[wasm_bindgen]
pub struct ConvLab(ConvRun);

impl ConvLab {
    pub(crate) fn run(&self) -> &ConvRun {
        &self.0
    }
}

#[wasm_bindgen]
impl ConvLab {
    #[wasm_bindgen(constructor)]
    pub fn new(
        settings: JsValue,
        height: usize,
        width: usize,
        channels: usize,
        input: &[f32],
        filters: &[f32],
        bias: &[f32],
    ) -> Result<ConvLab, JsError> {
        let (s, relu) = read_settings(settings)?;
        let image = Image::new(height, width, channels, input.to_vec())?;
        ConvRun::new(image, filters, bias, &s, relu)
            .map(ConvLab)
            .map_err(JsError::from)
    }
    #[wasm_bindgen(getter, js_name = outHeight)]
    pub fn out_height(&self) -> usize {
        self.0.geometry.out_h
    }
    #[wasm_bindgen(getter, js_name = outWidth)]
    pub fn out_width(&self) -> usize {
        self.0.geometry.out_w
    }
    #[wasm_bindgen(getter)]
    pub fn filters(&self) -> usize {
        self.0.geometry.out_c
    }
    /// Filter `f`'s activation map, (OH, OW).
    pub fn map(&self, f: usize) -> Result<Vec<f32>, JsError> {
        self.0.map(f).map_err(JsError::from)
    }
    /// The multiply-adds of output cell (oy, ox) of filter `f` (see [`explorer::ConvCell`]).
    pub fn cell(&self, oy: usize, ox: usize, f: usize) -> Result<JsValue, JsError> {
        to_js(&self.0.cell(oy, ox, f)?)
    }
}

/// One pooling of a map, with the breakdown of any cell.
#[wasm_bindgen]
pub struct PoolLab(PoolRun);

impl PoolLab {
    pub(crate) fn run(&self) -> &PoolRun {
        &self.0
    }
}

#[wasm_bindgen]
impl PoolLab {
    /// Pools an (H, W) map: `kind` is `max` or `average`, `padding` `valid` or `same`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        map: &[f32],
        height: usize,
        width: usize,
        kind: &str,
        window: usize,
        stride: usize,
        padding: &str,
    ) -> Result<PoolLab, JsError> {
        let kind = explorer::parse_pool_kind(kind)?;
        let padding = explorer::parse_padding(padding, 0)?;
        PoolRun::new(map.to_vec(), height, width, kind, window, stride, padding)
            .map(PoolLab)
            .map_err(JsError::from)
    }
    #[wasm_bindgen(getter, js_name = outHeight)]
    pub fn out_height(&self) -> usize {
        self.0.geometry.out_h
    }
    #[wasm_bindgen(getter, js_name = outWidth)]
    pub fn out_width(&self) -> usize {
        self.0.geometry.out_w
    }
    #[wasm_bindgen(getter, js_name = padTop)]
    pub fn pad_top(&self) -> usize {
        self.0.geometry.pad_top
    }
    #[wasm_bindgen(getter, js_name = padLeft)]
    pub fn pad_left(&self) -> usize {
        self.0.geometry.pad_left
    }
    #[wasm_bindgen(getter, js_name = padBottom)]
    pub fn pad_bottom(&self) -> usize {
        self.0.pad_bottom
    }
    #[wasm_bindgen(getter, js_name = padRight)]
    pub fn pad_right(&self) -> usize {
        self.0.pad_right
    }
    /// The pooled map, (OH, OW).
    pub fn output(&self) -> Vec<f32> {
        self.0.output.clone()
    }
    /// The window of output cell (oy, ox) (see [`explorer::PoolCell`]).
    pub fn cell(&self, oy: usize, ox: usize) -> Result<JsValue, JsError> {
        to_js(&self.0.cell(oy, ox)?)
    }
}

/// The pooling shape calculator: `[height, width, channels]` after pooling.
#[wasm_bindgen(js_name = poolShape)]
pub fn pool_shape(
    height: usize,
    width: usize,
    channels: usize,
    window: usize,
    stride: usize,
    padding: &str,
) -> Result<Vec<u32>, JsError> {
    let padding = explorer::parse_padding(padding, 0)?;
    let (h, w, c) = explorer::pool_shape(height, width, channels, window, stride, padding)?;
    Ok(vec![h as u32, w as u32, c as u32])
}
