//! The worker's exports for the student's files: Happy House `.h5` files, image folders,
//! zip archives and photos. The browser does the heavy lifting the wasm module would
//! otherwise carry (decoding PNG and JPEG, reading HDF5: most of the download), and these
//! calls do the rest: every check before anything is decoded or read, in the same words as
//! the native build, resizing, and the dataset.
//!
//! The page's order for a folder: [`TrainingSession::begin_folder`] on the paths, then per
//! picture [`TrainingSession::check_folder_picture`], the browser's decoder and
//! [`TrainingSession::add_folder_picture`], then [`TrainingSession::finish_folder`]
//! ([`TrainingSession::cancel_folder`] if anything failed).

use std::collections::BTreeMap;

use super::training::TrainingSession;
use super::{set, to_js};
use crate::app::session::{check_happy_description, HappyArrays};
use crate::data::folder::{check_picture, read_zip_entries};
use crate::data::happy::ArrayInfo;
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
    let entries = read_zip_entries(bytes)?;
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

/// The page's Happy House arrays (shapes as JS numbers) as the core reads them, for `f`.
pub(crate) fn with_happy_arrays<R>(
    pixels: &[u8],
    x_shape: &[u32],
    labels: &[f64],
    y_shape: &[u32],
    f: impl FnOnce(&HappyArrays) -> R,
) -> R {
    let dims = |d: &[u32]| d.iter().map(|&v| v as usize).collect::<Vec<_>>();
    f(&HappyArrays {
        pixels,
        x_shape: &dims(x_shape),
        labels,
        y_shape: &dims(y_shape),
    })
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
                JsError::from(invalid!("{file_name}: this .h5 file describes its arrays strangely ({e}); it may be damaged"))
            })?;
        Ok(check_happy_description(&names, &arrays, file_name)?
            .name()
            .to_string())
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
        seed: u32,
    ) -> Result<JsValue, JsError> {
        with_happy_arrays(pixels, &x_shape, &labels, &y_shape, |arrays| {
            to_js(
                &self
                    .session_mut()
                    .load_happy_arrays(part, arrays, file_name, seed as u64)?,
            )
        })
    }

    /// Starts loading a dropped folder from its paths (a path ending in `/` is a folder):
    /// checks its structure and returns `{files, classNames, classCounts, notes}`, `files`
    /// being the indices of the pictures to decode, in the order `addFolderPicture` takes
    /// them. `source` names the folder or archive in the description. The data loaded
    /// before stay until `finishFolder`.
    #[wasm_bindgen(js_name = beginFolder)]
    pub fn begin_folder(
        &mut self,
        paths: Vec<String>,
        source: &str,
        seed: u32,
    ) -> Result<JsValue, JsError> {
        let start = self.session_mut().begin_folder(
            &paths,
            &format!("images from {source}"),
            seed as u64,
        )?;
        to_js(&start)
    }

    /// Checks a folder picture's header (PNG or JPEG, not too large) before it is decoded.
    #[wasm_bindgen(js_name = checkFolderPicture)]
    pub fn check_folder_picture(&self, path: &str, bytes: &[u8]) -> Result<(), JsError> {
        check_picture(path, bytes)
            .map(|_| ())
            .map_err(JsError::from)
    }

    /// Adds the next planned picture of the folder being loaded, decoded by the browser
    /// (RGBA bytes); it is shrunk to the model's input. Returns how many have arrived.
    #[wasm_bindgen(js_name = addFolderPicture)]
    pub fn add_folder_picture(
        &mut self,
        rgba: Vec<u8>,
        width: u32,
        height: u32,
    ) -> Result<usize, JsError> {
        let picture = from_rgba(rgba, width, height)?;
        self.session_mut()
            .add_folder_picture(&picture)
            .map_err(JsError::from)
    }

    /// Makes the folder's pictures the data (split into train and test by the seed given to
    /// `beginFolder`); returns the data info.
    #[wasm_bindgen(js_name = finishFolder)]
    pub fn finish_folder(&mut self) -> Result<JsValue, JsError> {
        to_js(&self.session_mut().finish_folder()?)
    }

    /// Forgets a folder whose loading failed; the data before it stay.
    #[wasm_bindgen(js_name = cancelFolder)]
    pub fn cancel_folder(&mut self) {
        self.session_mut().cancel_folder();
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
        let picture = from_rgba(rgba, width, height)?;
        let p = self.session_mut().predict_picture(&picture)?;
        let answer = to_js(&p)?;
        set(
            &answer,
            "rgba",
            &js_sys::Uint8Array::from(p.rgba.as_slice()).into(),
        )?;
        Ok(answer)
    }
}
