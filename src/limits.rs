//! Every size limit in one place: what the page refuses before it allocates, and why each
//! value. A browser tab's WebAssembly memory ends at 4 GB (wasm32) and a school laptop has
//! less to spare, so the limits keep the largest dataset, one decoded image and one training
//! batch each around a gigabyte or below. Every refusal names its limit in the message.

/// The most images one dataset (a training or a test set) may hold. At 64x64x3 that is 245 MB
/// of 8-bit photos (how folders, zips, webcam frames and Happy House files are kept), or about
/// 1 GB of `f32` for computed images; the chapter uses 600. A folder with more pictures is
/// subsampled, every class in proportion, with a note saying so.
pub const MAX_IMAGES: usize = 20_000;

/// The most pixel values (`f32`) one dataset may hold, whatever its image size: the same
/// gigabyte as [`MAX_IMAGES`] images of 64x64x3, so bigger images mean fewer of them.
pub const MAX_DATASET_VALUES: usize = MAX_IMAGES * 64 * 64 * 3;

/// The most values a `.npy` array may declare: one dataset's worth, checked (with overflow
/// checks) from the header before the payload is looked at.
pub const MAX_NPY_ELEMENTS: usize = MAX_DATASET_VALUES;

/// The most axes a `.npy` shape may list; images need four, so anything beyond eight is junk.
pub const MAX_NPY_AXES: usize = 8;

/// Largest width or height of an image in a class folder, read from its header before any
/// pixel is decoded. 8192 covers any camera photo; a 30000x30000 PNG is refused.
pub const MAX_FOLDER_IMAGE_SIDE: u32 = 8192;

/// Most memory the decoder may take for one folder image: an 8192x8192 RGBA picture at
/// 8 bits (256 MB); deeper or bigger ones are refused by the `image` crate's own limit.
pub const MAX_FOLDER_DECODE_BYTES: u64 = 256 * 1024 * 1024;

/// Largest width or height of the explorer's own uploaded picture. It is shrunk to at most
/// 256x256 for the explorer, so a phone photo (up to 4096 wide) is all it needs.
pub const MAX_UPLOAD_SIDE: u32 = 4096;

/// Most memory the decoder may take for the uploaded picture: 4096x4096 RGBA at 16 bits.
pub const MAX_UPLOAD_DECODE_BYTES: u64 = 128 * 1024 * 1024;

/// Most entries a zip archive may list: more than twice [`MAX_IMAGES`], so that folders and
/// the odd hidden file fit, while a zip of 100,000 files is refused from its directory.
pub const MAX_ZIP_ENTRIES: usize = 50_000;

/// Most bytes a whole zip archive may unpack to. The unpacked files stay in memory while the
/// images are decoded, next to the dataset (up to 1 GB), so this stays at half of that.
pub const MAX_ZIP_BYTES: u64 = 512 * 1024 * 1024;

/// Most bytes one file in a zip archive may unpack to: a 8192x8192 PNG is rarely above
/// 64 MB, and a bomb that declares gigabytes for one entry is refused from its header.
pub const MAX_ZIP_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// The most parameters a model may have: with its gradients and Adam's two moments that is
/// 16 bytes a parameter, 800 MB at this limit. The chapter's model has about a million.
pub const MAX_PARAMETERS: usize = 50_000_000;

/// The most values one layer's output (or the input) may have per image: 64 MB of `f32`
/// for a single image's feature maps; the chapter's largest is 64x64x16 = 65,536.
pub const MAX_VALUES_PER_IMAGE: usize = 16_000_000;

/// Largest kernel, pooling window, stride, dilation or explicit padding a model may declare.
/// No image here is wider than this (a larger window cannot fit), and bounding them keeps
/// every size computed from them far from overflowing, even with 32-bit `usize` in wasm.
pub const MAX_WINDOW: usize = 4096;

/// The most activation values (outputs and gradients of every layer, `f32`) one training or
/// evaluation batch may need: 1 GB. The chapter's model needs about 400,000 per image, so a
/// batch of up to about 640 of its images fits.
pub const MAX_BATCH_ACTIVATION_VALUES: usize = 256 * 1024 * 1024;
