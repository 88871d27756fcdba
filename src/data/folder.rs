//! A folder of images in the convention of Keras's `image_dataset_from_directory`: one
//! subfolder per class, class names sorted alphabetically give the label indices; PNG
//! or JPEG, gray or colour, resized to the model's input.
//!
//! The structure is checked from the paths alone ([`plan_image_folder`]), so the same code
//! serves files dropped in a browser, a zip archive ([`read_zip_entries`]) and, natively, a
//! directory ([`read_dir_entries`]); then each picture's header is checked, the picture is
//! decoded (by the browser in the page, natively by [`load_image_folder`]), shrunk and added
//! to a [`FolderBuilder`], one at a time, so that a classroom folder of thousands of photos is
//! held once, as 8-bit values. Files that are not PNG or JPEG pictures (`readme.txt`,
//! `.DS_Store`, `Thumbs.db`, `__MACOSX/`, ...) are skipped and counted, as Keras's
//! `image_dataset_from_directory` skips them; a folder with more pictures than a dataset may
//! hold is subsampled, every class in proportion.

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
    /// Files left out because they are not pictures, and the first few of their names.
    skipped: usize,
    skipped_examples: Vec<String>,
    /// Pictures in the folder before subsampling (equal to the planned count when all fit).
    found: usize,
}

/// How many skipped files a note names.
const SKIPPED_NAMED: usize = 3;

/// Seeds the choice of pictures kept when a folder holds more than a dataset may: fixed, so
/// that the same folder always gives the same dataset (the split has its own seed).
const SUBSAMPLE_SEED: u64 = 0x5eed_f01d;

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
    let sorted = sort_into_classes(paths)?;
    let mut classes = sorted.classes;
    let found: usize = classes.iter().map(|(_, files)| files.len()).sum();
    let (h, w, c) = (options.height, options.width, options.channels);
    let room = (MAX_DATASET_VALUES / (h * w * c)).min(MAX_IMAGES);
    if found > room {
        subsample(&mut classes, room, paths)?;
    }
    Ok(FolderPlan {
        classes,
        options: *options,
        skipped: sorted.skipped,
        skipped_examples: sorted.skipped_examples,
        found,
    })
}

/// Keeps `room` of the pictures, each class's share rounded down (at least one each), picked
/// by a seeded shuffle and kept in path order.
fn subsample<S: AsRef<str>>(
    classes: &mut [(String, Vec<usize>)],
    room: usize,
    paths: &[S],
) -> Result<()> {
    use rand::seq::SliceRandom;
    if classes.len() > room {
        return Err(bad_input!(
            "the folder has {} classes, more than the {room} pictures a dataset of this size can hold",
            classes.len()
        ));
    }
    let found: usize = classes.iter().map(|(_, files)| files.len()).sum();
    let mut rng = crate::rng::rng_from_seed(SUBSAMPLE_SEED);
    for (_, files) in classes.iter_mut() {
        let keep = (files.len() * room / found).max(1);
        files.shuffle(&mut rng);
        files.truncate(keep);
        files.sort_by(|&a, &b| paths[a].as_ref().cmp(paths[b].as_ref()));
    }
    Ok(())
}

impl FolderPlan {
    /// Indices of the pictures to decode, in dataset order.
    pub fn files(&self) -> impl Iterator<Item = usize> + '_ {
        self.classes
            .iter()
            .flat_map(|(_, files)| files.iter().copied())
    }

    /// The pictures to decode.
    pub fn len(&self) -> usize {
        self.classes.iter().map(|(_, files)| files.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Class names, alphabetically (their label indices).
    pub fn class_names(&self) -> Vec<String> {
        self.classes.iter().map(|(name, _)| name.clone()).collect()
    }

    /// Pictures per class (after any subsampling).
    pub fn class_counts(&self) -> Vec<usize> {
        self.classes.iter().map(|(_, files)| files.len()).collect()
    }

    pub fn options(&self) -> &FolderOptions {
        &self.options
    }

    /// What the student should know about the plan: files skipped, pictures left out.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.skipped > 0 {
            let more = if self.skipped > self.skipped_examples.len() {
                ", ..."
            } else {
                ""
            };
            let what = if self.skipped == 1 {
                "file that is not a PNG or JPEG picture was"
            } else {
                "files that are not PNG or JPEG pictures were"
            };
            notes.push(format!(
                "{} {what} skipped ({}{more})",
                self.skipped,
                self.skipped_examples.join(", ")
            ));
        }
        if self.found > self.len() {
            notes.push(format!(
                "the folder holds {} pictures, more than the {} a dataset here can hold: {} of them were kept, the same share of every class",
                self.found,
                self.len(),
                self.len()
            ));
        }
        notes
    }

    /// A builder that takes the planned pictures one by one, in plan order.
    pub fn builder(&self) -> FolderBuilder {
        let (h, w, c) = (
            self.options.height,
            self.options.width,
            self.options.channels,
        );
        let labels: Vec<u8> = self
            .classes
            .iter()
            .enumerate()
            .flat_map(|(label, (_, files))| std::iter::repeat_n(label as u8, files.len()))
            .collect();
        FolderBuilder {
            pixels: Vec::with_capacity(labels.len() * h * w * c),
            labels,
            added: 0,
            options: self.options,
            class_names: self.class_names(),
        }
    }

    /// The dataset: `picture(i)` gives file i already shrunk by [`shrink`] (the options'
    /// size, RGB); the first error stops the build.
    pub fn build(self, mut picture: impl FnMut(usize) -> Result<RgbImage>) -> Result<Dataset> {
        let mut builder = self.builder();
        for file in self.files() {
            builder.push(&picture(file)?)?;
        }
        builder.finish()
    }
}

/// A folder's dataset as its pictures arrive, in plan order: 8-bit values, one copy.
#[derive(Clone, Debug)]
pub struct FolderBuilder {
    pixels: Vec<u8>, // (added, H, W, C)
    labels: Vec<u8>, // (planned,), known from the plan
    added: usize,
    options: FolderOptions,
    class_names: Vec<String>,
}

impl FolderBuilder {
    /// Pictures added so far, and the number planned.
    pub fn progress(&self) -> (usize, usize) {
        (self.added, self.labels.len())
    }

    /// Adds the next picture, already shrunk to the options' size (RGB).
    pub fn push(&mut self, rgb: &RgbImage) -> Result<()> {
        let (h, w, c) = (
            self.options.height,
            self.options.width,
            self.options.channels,
        );
        if self.added == self.labels.len() {
            return Err(invalid!("more folder pictures arrived than were planned"));
        }
        if rgb.dimensions() != (w as u32, h as u32) {
            return Err(invalid!("a folder picture arrived at the wrong size"));
        }
        if c == 3 {
            self.pixels.extend_from_slice(rgb.as_raw());
        } else {
            self.pixels
                .extend(rgb.pixels().map(|p| gray_from_rgb_u8(p[0], p[1], p[2])));
        }
        self.added += 1;
        Ok(())
    }

    /// The dataset, once every planned picture has been added.
    pub fn finish(self) -> Result<Dataset> {
        if self.added != self.labels.len() {
            return Err(invalid!(
                "only {} of the folder's {} pictures arrived",
                self.added,
                self.labels.len()
            ));
        }
        let o = self.options;
        Dataset::from_bytes(
            self.pixels,
            self.labels,
            o.height,
            o.width,
            o.channels,
            self.class_names,
        )
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

/// Whether a file name has a picture extension this loader reads (PNG or JPEG; any case).
fn is_picture_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    [".png", ".jpg", ".jpeg"].iter().any(|e| lower.ends_with(e))
}

/// A folder's pictures by class, and what was skipped.
struct Sorted {
    classes: Vec<(String, Vec<usize>)>,
    skipped: usize,
    skipped_examples: Vec<String>,
}

/// Groups the pictures by class folder, sorted; skips (and counts) what is not a picture;
/// checks the folder is a usable dataset.
fn sort_into_classes<S: AsRef<str>>(paths: &[S]) -> Result<Sorted> {
    struct Item<'a> {
        parts: Vec<&'a str>,
        path: &'a str,
        index: usize,
        is_dir: bool,
    }
    let mut skipped = 0;
    let mut skipped_examples = Vec::new();
    let mut items: Vec<Item> = Vec::new();
    for (index, p) in paths.iter().enumerate() {
        let path = p.as_ref();
        let parts = components(path);
        let is_dir = path.ends_with('/') || path.ends_with('\\');
        if parts.is_empty() {
            continue;
        }
        if is_hidden(&parts) || (!is_dir && !is_picture_name(parts[parts.len() - 1])) {
            if !is_dir {
                skipped += 1;
                if skipped_examples.len() < SKIPPED_NAMED {
                    skipped_examples.push(parts[parts.len() - 1].to_string());
                }
            }
            continue;
        }
        items.push(Item {
            parts,
            path,
            index,
            is_dir,
        });
    }
    if !items.iter().any(|i| !i.is_dir) {
        return Err(if skipped > 0 {
            bad_input!("the folder has no PNG or JPEG pictures, only {skipped} other {} ({}): put one subfolder per class in it, each holding that class's pictures", if skipped == 1 { "file" } else { "files" }, skipped_examples.join(", "))
        } else {
            bad_input!("the folder is empty: put one subfolder per class in it, each holding that class's images")
        });
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
                "'{}' is not inside a class folder: put each image in a subfolder named after its class (for example smiling/{} and not_smiling/...)",
                item.path,
                item.parts[0]
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
    Ok(Sorted {
        classes,
        skipped,
        skipped_examples,
    })
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
/// Symbolic links are followed (a class folder is often a link to where the photos are),
/// each real folder once, so a link back up the tree cannot loop.
pub fn read_dir_entries(dir: &std::path::Path) -> Result<Vec<FileEntry>> {
    use std::collections::HashSet;
    use std::path::{Path, PathBuf};
    struct Walk<'a> {
        root: &'a Path,
        out: Vec<FileEntry>,
        files: usize,
        seen: HashSet<PathBuf>,
    }
    fn walk(w: &mut Walk, dir: &Path, relative_dir: &str) -> Result<()> {
        let cannot = |e: std::io::Error| bad_input!("cannot read '{}': {e}", dir.display());
        let real = std::fs::canonicalize(dir).map_err(cannot)?;
        if !w.seen.insert(real) {
            return Ok(());
        }
        let mut children: Vec<_> = std::fs::read_dir(dir)
            .map_err(cannot)?
            .collect::<std::io::Result<_>>()
            .map_err(cannot)?;
        children.sort_by_key(|c| c.file_name());
        for child in children {
            let path = child.path();
            let name = child.file_name().to_string_lossy().into_owned();
            let relative = format!("{relative_dir}{name}");
            // metadata() follows links; a dangling link is reported like an unreadable file.
            let meta = std::fs::metadata(&path)
                .map_err(|e| bad_input!("cannot read '{}': {e}", path.display()))?;
            if meta.is_dir() {
                w.out.push(FileEntry {
                    path: format!("{relative}/"),
                    bytes: Vec::new(),
                });
                walk(w, &path, &format!("{relative}/"))?;
            } else {
                w.files += 1;
                if w.files > MAX_ZIP_ENTRIES {
                    return Err(bad_input!(
                        "'{}' holds more than {MAX_ZIP_ENTRIES} files, too many to look through",
                        w.root.display()
                    ));
                }
                // Only pictures are read: a folder may hold large files that are not data.
                let bytes = if is_picture_name(&name) {
                    std::fs::read(&path)
                        .map_err(|e| bad_input!("cannot read '{}': {e}", path.display()))?
                } else {
                    Vec::new()
                };
                w.out.push(FileEntry {
                    path: relative,
                    bytes,
                });
            }
        }
        Ok(())
    }
    let mut w = Walk {
        root: dir,
        out: Vec::new(),
        files: 0,
        seen: HashSet::new(),
    };
    walk(&mut w, dir, "")?;
    Ok(w.out)
}
