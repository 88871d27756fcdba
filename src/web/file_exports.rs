//! The worker's exports for the student's files: Happy House `.h5` files, image folders,
//! zip archives and photos. The browser does the heavy lifting the wasm module would
//! otherwise carry (decoding PNG and JPEG, reading HDF5: most of the download), and these
//! calls do the rest: every check before anything is decoded or read, in the same words as
//! the native build, resizing, and the dataset.
//!
//! The page's order for a folder: [`TrainingSession::plan_image_folder`] on the paths, then
//! per picture [`TrainingSession::check_folder_picture`], the browser's decoder and
//! [`TrainingSession::shrink_folder_picture`], then [`TrainingSession::load_image_folder`].

use std::collections::BTreeMap;

use super::session::FOLDER_OPTIONS;
use super::training::{js_error, to_js, TrainingSession};
use crate::data::folder::{check_picture, plan_image_folder, read_zip_entries, shrink};
use crate::data::happy::{check_happy_file, happy_from_arrays, ArrayInfo, HappyPart};
use crate::data::picture::from_rgba;
use crate::invalid;
use wasm_bindgen::prelude::*;

/// The files of a zip archive: paths, and each file's bytes one after another.
#[wasm_bindgen]
pub struct ZipEntries {
    paths: Vec<String>,
    lengths: Vec<u32>,
    bytes: Vec<u8>,
}

#[wasm_bindgen]
impl ZipEntries {
    pub fn paths(&self) -> Vec<String> {
        self.paths.clone()
    }
    pub fn lengths(&self) -> Vec<u32> {
        self.lengths.clone()
    }
    /// Every file's bytes, in path order, as one Uint8Array. Takes them (read the paths and
    /// lengths first): an archive may unpack to hundreds of MB, not to be copied twice.
    #[wasm_bindgen(js_name = takeBytes)]
    pub fn take_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Unpacks a zip archive (refusing bombs and oversized archives from their directory).
#[wasm_bindgen(js_name = readZip)]
pub fn read_zip(bytes: &[u8]) -> Result<ZipEntries, JsError> {
    let entries = read_zip_entries(bytes).map_err(js_error)?;
    let mut unpacked = ZipEntries {
        paths: Vec::with_capacity(entries.len()),
        lengths: Vec::with_capacity(entries.len()),
        bytes: Vec::with_capacity(entries.iter().map(|e| e.bytes.len()).sum()),
    };
    for entry in entries {
        unpacked.paths.push(entry.path);
        unpacked.lengths.push(entry.bytes.len() as u32);
        unpacked.bytes.extend_from_slice(&entry.bytes);
    }
    Ok(unpacked)
}

/// Whole numbers from a JS array of numbers; `what` names them in the message.
fn whole_numbers(values: &[f64], what: &str) -> crate::Result<Vec<i64>> {
    values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            if v.is_finite() && v.fract() == 0.0 && v.abs() < 9.0e15 {
                Ok(v as i64)
            } else {
                Err(crate::Error::BadInput(format!(
                    "{what}: label {v} at position {i} is not 0 (not smiling) or 1 (smiling)"
                )))
            }
        })
        .collect()
}

#[wasm_bindgen]
impl TrainingSession {
    /// Checks a Happy House `.h5` file as the page's HDF5 reader describes it, before any
    /// array is read: `names` are its datasets, `arrays` maps names to `{shape, dtype}` (a
    /// NumPy type string such as `"|u1"`). Returns the part to read, `"train"` or `"test"`.
    #[wasm_bindgen(js_name = checkHappyH5)]
    pub fn check_happy_h5(
        &self,
        names: Vec<String>,
        arrays: JsValue,
        file_name: &str,
    ) -> Result<String, JsError> {
        let arrays: BTreeMap<String, ArrayInfo> = serde_wasm_bindgen::from_value(arrays)
            .map_err(|e| {
                js_error(invalid!("{file_name}: this .h5 file describes its arrays strangely ({e}); it may be damaged"))
            })?;
        let (part, _) = check_happy_file(&names, &arrays)
            .map_err(|e| js_error(invalid!("{file_name}: {e}")))?;
        Ok(part.name().to_string())
    }

    /// Takes the checked part's arrays: 8-bit `pixels` with `xShape`, `labels` (numbers) with
    /// `yShape`. Returns the data info (see `loadSynthetic`).
    #[wasm_bindgen(js_name = loadHappyArrays)]
    pub fn load_happy_arrays(
        &mut self,
        part: &str,
        pixels: &[u8],
        x_shape: Vec<u32>,
        labels: Vec<f64>,
        y_shape: Vec<u32>,
        file_name: &str,
    ) -> Result<JsValue, JsError> {
        let read = || -> crate::Result<_> {
            let part = HappyPart::parse(part)?;
            let (x_key, y_key) = part.keys();
            let labels = whole_numbers(&labels, y_key)?;
            let sizes = |shape: &[u32]| shape.iter().map(|&d| d as usize).collect::<Vec<_>>();
            let set = happy_from_arrays(
                pixels,
                &sizes(&x_shape),
                &labels,
                &sizes(&y_shape),
                x_key,
                y_key,
            )?;
            Ok((part, set))
        };
        let (part, set) = read().map_err(|e| js_error(invalid!("{file_name}: {e}")))?;
        to_js(
            &self
                .session_mut()
                .load_happy_part(part, set, file_name)
                .map_err(js_error)?,
        )
    }

    /// Checks a dropped folder's structure from its paths (a path ending in `/` is a folder)
    /// and returns the indices of the pictures to decode, in dataset order.
    #[wasm_bindgen(js_name = planImageFolder)]
    pub fn plan_image_folder(&self, paths: Vec<String>) -> Result<Vec<u32>, JsError> {
        let plan = plan_image_folder(&paths, &FOLDER_OPTIONS).map_err(js_error)?;
        Ok(plan.files().map(|i| i as u32).collect())
    }

    /// Checks a folder picture's header (PNG or JPEG, not too large) before it is decoded.
    #[wasm_bindgen(js_name = checkFolderPicture)]
    pub fn check_folder_picture(&self, path: &str, bytes: &[u8]) -> Result<(), JsError> {
        check_picture(path, bytes).map(|_| ()).map_err(js_error)
    }

    /// A decoded folder picture (RGBA bytes) shrunk to the dataset's size: RGB bytes.
    #[wasm_bindgen(js_name = shrinkFolderPicture)]
    pub fn shrink_folder_picture(
        &self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
    ) -> Result<Vec<u8>, JsError> {
        let picture = from_rgba(rgba, width, height).map_err(js_error)?;
        Ok(shrink(&picture, &FOLDER_OPTIONS).into_raw())
    }

    /// Makes the data from a folder: `paths` as given to `planImageFolder`, `shrunk` the
    /// planned pictures' `shrinkFolderPicture` bytes one after another, in plan order.
    /// `source` names the folder or archive in the description. Returns the data info.
    #[wasm_bindgen(js_name = loadImageFolder)]
    pub fn load_image_folder(
        &mut self,
        paths: Vec<String>,
        shrunk: &[u8],
        source: &str,
        seed: u32,
    ) -> Result<JsValue, JsError> {
        let plan = plan_image_folder(&paths, &FOLDER_OPTIONS).map_err(js_error)?;
        let side = FOLDER_OPTIONS.height * FOLDER_OPTIONS.width * 3;
        let count = plan.files().count();
        if shrunk.len() != count * side {
            return Err(JsError::new(
                "the folder's pictures arrived garbled (sizes do not add up)",
            ));
        }
        // The build asks for the pictures in plan order, which is the order of `shrunk`.
        let mut next = shrunk.chunks_exact(side);
        let picture = |_: usize| {
            let bytes = next.next().expect("counted above").to_vec();
            image::RgbImage::from_raw(
                FOLDER_OPTIONS.width as u32,
                FOLDER_OPTIONS.height as u32,
                bytes,
            )
            .ok_or_else(|| invalid!("a folder picture arrived garbled"))
        };
        let info = self
            .session_mut()
            .load_folder_plan(plan, picture, &format!("images from {source}"), seed as u64)
            .map_err(js_error)?;
        to_js(&info)
    }

    /// A photo's class probabilities, `{probabilities, height, width, rgba}` (`rgba`: what the
    /// model saw), from the decoded photo's RGBA bytes; check the file with `checkPicture`
    /// before decoding it.
    #[wasm_bindgen(js_name = predictPhoto)]
    pub fn predict_photo(
        &mut self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
    ) -> Result<JsValue, JsError> {
        let picture = from_rgba(rgba, width, height).map_err(js_error)?;
        let p = self
            .session_mut()
            .predict_picture(&picture)
            .map_err(js_error)?;
        let answer = to_js(&p)?;
        let rgba = js_sys::Uint8Array::from(p.rgba.as_slice());
        js_sys::Reflect::set(&answer, &JsValue::from_str("rgba"), &rgba)
            .map_err(|_| JsError::new("internal error while answering the page"))?;
        Ok(answer)
    }
}
