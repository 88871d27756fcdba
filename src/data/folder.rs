//! A folder of images in the convention of Keras's `image_dataset_from_directory`: one
//! subfolder per class, class names sorted alphabetically give the label indices; PNG
//! or JPEG, gray or colour, resized to the model's input.
//!
//! The structure is checked from the paths alone ([`plan_image_folder`]), so the same code
//! serves files dropped in a browser, a zip archive ([`read_zip_entries`]) and, natively, a
//! directory ([`read_dir_entries`]); then each picture's header is checked, the picture is
//! decoded (by the browser in the page, natively by [`load_image_folder`]) and shrunk.
//! Hidden files (`.DS_Store`, `__MACOSX/`, ...) are skipped.

use std::io::{Cursor, Read};

use image::RgbImage;

use super::picture::{read_header, to_rgb, HeaderProblem, Picture, PictureHeader};
use super::{gray_from_rgb_u8, Dataset, MAX_IMAGES};
use crate::limits::{
    MAX_DATASET_VALUES, MAX_FOLDER_IMAGE_SIDE, MAX_ZIP_BYTES, MAX_ZIP_ENTRIES, MAX_ZIP_FILE_BYTES,
};
use crate::{invalid, Result};

/// One file of a dropped folder or archive. A path ending in `/` is a folder (listed so
/// that an empty class folder can be reported).
#[derive(Clone, Debug, PartialEq)]
pub struct FileEntry {
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Size of the images the folder is turned into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FolderOptions {
    pub height: usize,
    pub width: usize,
    /// 3 for RGB, 1 for gray (made with the Happy House formula, [`gray_from_rgb_u8`]).
    pub channels: usize,
}

impl Default for FolderOptions {
    fn default() -> Self {
        FolderOptions {
            height: 64,
            width: 64,
            channels: 3,
        }
    }
}

/// Which files of a folder become the dataset, in order: classes alphabetically, files in
/// path order within a class. Made from the paths alone, so that the structure is checked
/// (and a mistake reported) before any picture is decoded.
#[derive(Clone, Debug, PartialEq)]
pub struct FolderPlan {
    /// Class names, each with the indices (into the listed paths) of its pictures.
    classes: Vec<(String, Vec<usize>)>,
    options: FolderOptions,
}

/// Checks a folder's structure from its paths (a path ending in `/` is a folder) and the
/// size of the dataset it would make; see [`FolderPlan`].
pub fn plan_image_folder<S: AsRef<str>>(
    paths: &[S],
    options: &FolderOptions,
) -> Result<FolderPlan> {
    if options.height == 0
        || options.width == 0
        || options.height > 1024
        || options.width > 1024
        || !(options.channels == 1 || options.channels == 3)
    {
        return Err(invalid!(
            "images can be resized to 1..1024 pixels a side with 1 or 3 channels, not {options:?}"
        ));
    }
    let classes = sort_into_classes(paths)?;
    let total: usize = classes.iter().map(|(_, files)| files.len()).sum();
    let (h, w, c) = (options.height, options.width, options.channels);
    if total > MAX_IMAGES || total * h * w * c > MAX_DATASET_VALUES {
        return Err(bad_input!(
            "the folder holds {total} images, more than this page can hold at {h}x{w}x{c} (at most {MAX_IMAGES} images, and {MAX_DATASET_VALUES} values in all: {} at this size)",
            (MAX_DATASET_VALUES / (h * w * c)).min(MAX_IMAGES)
        ));
    }
    Ok(FolderPlan {
        classes,
        options: *options,
    })
}

impl FolderPlan {
    /// Indices of the pictures to decode, in dataset order.
    pub fn files(&self) -> impl Iterator<Item = usize> + '_ {
        self.classes
            .iter()
            .flat_map(|(_, files)| files.iter().copied())
    }

    /// The dataset: `picture(i)` gives file i already shrunk by [`shrink`] (the options'
    /// size, RGB); the first error stops the build.
    pub fn build(self, mut picture: impl FnMut(usize) -> Result<RgbImage>) -> Result<Dataset> {
        let (h, w, c) = (
            self.options.height,
            self.options.width,
            self.options.channels,
        );
        let total = self.files().count();
        let mut images = Vec::with_capacity(total * h * w * c);
        let mut labels = Vec::with_capacity(total);
        for (label, (_, files)) in self.classes.iter().enumerate() {
            for &file in files {
                let rgb = picture(file)?;
                if rgb.dimensions() != (w as u32, h as u32) {
                    return Err(invalid!("a folder picture arrived at the wrong size"));
                }
                if c == 3 {
                    images.extend(rgb.as_raw().iter().map(|&v| v as f32 / 255.0));
                } else {
                    images.extend(
                        rgb.pixels()
                            .map(|p| gray_from_rgb_u8(p[0], p[1], p[2]) as f32 / 255.0),
                    );
                }
                labels.push(label as u8);
            }
        }
        let names = self.classes.into_iter().map(|(name, _)| name).collect();
        Dataset::new(images, labels, h, w, c, names)
    }
}

/// A folder picture at the dataset's size: RGB (alpha dropped) resized with bilinear
/// filtering, as Keras does by default.
pub fn shrink(picture: &Picture, options: &FolderOptions) -> RgbImage {
    image::imageops::resize(
        &to_rgb(picture),
        options.width as u32,
        options.height as u32,
        image::imageops::FilterType::Triangle,
    )
}

/// Checks a folder picture's header before it is decoded: PNG or JPEG, and not so large
/// that decoding it would exhaust memory. `path` names it in the message.
pub fn check_picture(path: &str, bytes: &[u8]) -> Result<PictureHeader> {
    read_header(bytes, MAX_FOLDER_IMAGE_SIDE).map_err(|problem| match problem {
        HeaderProblem::NotAPicture | HeaderProblem::OtherFormat(_) => {
            bad_input!("'{path}' is not a PNG or JPEG image")
        }
        HeaderProblem::Unreadable(e) => bad_input!("'{path}' could not be read as an image: {e}"),
        HeaderProblem::TooLarge { width, height } => bad_input!(
            "'{path}' is {width}x{height} pixels; images may be at most {MAX_FOLDER_IMAGE_SIDE}x{MAX_FOLDER_IMAGE_SIDE} (shrink it first)"
        ),
    })
}

/// Reads an image folder into a dataset (see [`FolderPlan`]), decoding each picture here
/// (native builds; in the browser the page decodes them and calls [`FolderPlan::build`]).
/// Split it with [`Dataset::stratified_split`].
#[cfg(not(target_arch = "wasm32"))]
pub fn load_image_folder(entries: &[FileEntry], options: &FolderOptions) -> Result<Dataset> {
    let paths: Vec<&str> = entries.iter().map(|e| e.path.as_str()).collect();
    plan_image_folder(&paths, options)?.build(|i| {
        let entry = &entries[i];
        Ok(shrink(&decode_checked(&entry.path, &entry.bytes)?, options))
    })
}

/// Decodes a folder picture within the limits (native builds).
#[cfg(not(target_arch = "wasm32"))]
fn decode_checked(path: &str, bytes: &[u8]) -> Result<Picture> {
    use super::picture::{decode, DecodeProblem};
    use crate::limits::MAX_FOLDER_DECODE_BYTES;
    let header = check_picture(path, bytes)?;
    decode(bytes, &header, MAX_FOLDER_DECODE_BYTES).map_err(|problem| match problem {
        DecodeProblem::TooMuchMemory => bad_input!(
            "'{path}' needs more than {} MB to decode, the most one image may take (shrink it first)",
            MAX_FOLDER_DECODE_BYTES / (1024 * 1024)
        ),
        DecodeProblem::Damaged(e) => bad_input!("'{path}' could not be read as an image: {e}"),
    })
}

/// Splits a path into its non-empty components (either slash).
fn components(path: &str) -> Vec<&str> {
    path.split(['/', '\\'])
        .filter(|p| !p.is_empty() && *p != ".")
        .collect()
}

/// Files and folders the operating system or archiver adds, which are not data.
fn is_hidden(parts: &[&str]) -> bool {
    parts.iter().any(|p| p.starts_with('.') || *p == "__MACOSX")
        || matches!(parts.last(), Some(&"Thumbs.db") | Some(&"desktop.ini"))
}

/// Groups the files by class folder, sorted; checks the folder is a usable dataset.
fn sort_into_classes<S: AsRef<str>>(paths: &[S]) -> Result<Vec<(String, Vec<usize>)>> {
    struct Item<'a> {
        parts: Vec<&'a str>,
        path: &'a str,
        index: usize,
        is_dir: bool,
    }
    let mut items: Vec<Item> = paths
        .iter()
        .enumerate()
        .map(|(index, p)| {
            let path = p.as_ref();
            Item {
                parts: components(path),
                path,
                index,
                is_dir: path.ends_with('/') || path.ends_with('\\'),
            }
        })
        .filter(|i| !i.parts.is_empty() && !is_hidden(&i.parts))
        .collect();
    if !items.iter().any(|i| !i.is_dir) {
        return Err(bad_input!("the folder is empty: put one subfolder per class in it, each holding that class's images"));
    }
    // A dropped folder arrives as "faces/smiling/1.png": drop the top folder(s) that all
    // entries share, as long as some file sits below a class folder inside it.
    loop {
        let first = items[0].parts[0];
        let shared = items.iter().all(|i| i.parts[0] == first)
            && items.iter().any(|i| !i.is_dir && i.parts.len() >= 3);
        if !shared {
            break;
        }
        items.retain(|i| i.parts.len() > 1);
        for i in items.iter_mut() {
            i.parts.remove(0);
        }
    }
    let mut classes: Vec<(String, Vec<usize>)> = Vec::new();
    for item in &items {
        if item.parts.len() == 1 && !item.is_dir {
            return Err(bad_input!(
                "'{}' is not inside a class folder: put each image in a subfolder named after its class (for example smiling/{0} and not_smiling/...)",
                item.path
            ));
        }
        let class = item.parts[0].to_string();
        let slot = match classes.iter().position(|(name, _)| *name == class) {
            Some(k) => k,
            None => {
                classes.push((class, Vec::new()));
                classes.len() - 1
            }
        };
        if !item.is_dir {
            classes[slot].1.push(item.index);
        }
    }
    classes.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, files) in classes.iter_mut() {
        files.sort_by(|&a, &b| paths[a].as_ref().cmp(paths[b].as_ref()));
    }
    if classes.len() < 2 {
        return Err(bad_input!(
            "the folder has only one class ({}); a classifier needs at least two class subfolders",
            classes[0].0
        ));
    }
    if classes.len() > 256 {
        return Err(bad_input!(
            "the folder has {} class subfolders; at most 256 are supported",
            classes.len()
        ));
    }
    if let Some((name, _)) = classes.iter().find(|(_, files)| files.is_empty()) {
        return Err(bad_input!("the class folder '{name}' has no images"));
    }
    Ok(classes)
}

/// The entries of a zip archive (for example a zipped image folder). Archives that list
/// too many entries or would unpack to too many bytes are refused from their directory,
/// before anything is unpacked.
pub fn read_zip_entries(bytes: &[u8]) -> Result<Vec<FileEntry>> {
    let damaged = |e: zip::result::ZipError| {
        bad_input!("this zip archive is damaged or not a zip file ({e})")
    };
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes)).map_err(damaged)?;
    if archive.len() > MAX_ZIP_ENTRIES {
        return Err(bad_input!(
            "this zip archive lists {} entries, more than the {MAX_ZIP_ENTRIES} accepted",
            archive.len()
        ));
    }
    let mut total: u64 = 0;
    for i in 0..archive.len() {
        let file = archive.by_index_raw(i).map_err(damaged)?;
        if file.size() > MAX_ZIP_FILE_BYTES {
            return Err(bad_input!(
                "'{}' in the zip archive would unpack to {} MB, more than the {} MB accepted for one file",
                file.name().map_err(damaged)?,
                file.size() / (1024 * 1024),
                MAX_ZIP_FILE_BYTES / (1024 * 1024)
            ));
        }
        total = total.saturating_add(file.size());
    }
    if total > MAX_ZIP_BYTES {
        return Err(bad_input!(
            "this zip archive would unpack to {} MB, more than the {} MB accepted",
            total / (1024 * 1024),
            MAX_ZIP_BYTES / (1024 * 1024)
        ));
    }
    let mut entries = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let file = archive.by_index(i).map_err(damaged)?;
        let path = file.name().map_err(damaged)?.to_string();
        if file.is_dir() {
            entries.push(FileEntry {
                path,
                bytes: Vec::new(),
            });
            continue;
        }
        let declared = file.size();
        let mut data = Vec::with_capacity(declared as usize);
        // Never trust the declared size: read at most one byte more than it.
        file.take(declared + 1)
            .read_to_end(&mut data)
            .map_err(|e| bad_input!("'{path}' in the zip archive could not be unpacked: {e}"))?;
        if data.len() as u64 != declared {
            return Err(bad_input!("'{path}' in the zip archive is not the size its header says (the archive is damaged)"));
        }
        entries.push(FileEntry { path, bytes: data });
    }
    Ok(entries)
}

/// The entries of a directory on disk, with paths relative to it (native only; the
/// browser hands over dropped files itself). Folders are listed with a trailing `/`.
pub fn read_dir_entries(dir: &std::path::Path) -> Result<Vec<FileEntry>> {
    fn walk(
        root: &std::path::Path,
        dir: &std::path::Path,
        out: &mut Vec<FileEntry>,
        files: &mut usize,
    ) -> Result<()> {
        let cannot = |e: std::io::Error| bad_input!("cannot read '{}': {e}", dir.display());
        let mut children: Vec<_> = std::fs::read_dir(dir)
            .map_err(cannot)?
            .collect::<std::io::Result<_>>()
            .map_err(cannot)?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let path = child.path();
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if path.is_dir() {
                out.push(FileEntry {
                    path: format!("{relative}/"),
                    bytes: Vec::new(),
                });
                walk(root, &path, out, files)?;
            } else {
                *files += 1;
                if *files > MAX_IMAGES + 1000 {
                    return Err(bad_input!(
                        "'{}' holds too many files (more than {MAX_IMAGES} images)",
                        root.display()
                    ));
                }
                let bytes = std::fs::read(&path)
                    .map_err(|e| bad_input!("cannot read '{}': {e}", path.display()))?;
                out.push(FileEntry {
                    path: relative,
                    bytes,
                });
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out, &mut 0)?;
    Ok(out)
}
