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

/// The convolution explorer's limits: they keep the page responsive and the pictures readable.
/// A link asking for more gets a message instead of a frozen tab.
pub mod explorer {
    pub const MAX_KERNEL: usize = 15;
    pub const MAX_STRIDE: usize = 16;
    pub const MAX_DILATION: usize = 8;
    pub const MAX_PADDING: usize = 16;
    /// Largest side of the explorer's input picture (an upload is shrunk to it).
    pub const MAX_SIDE: usize = 256;
    pub const MAX_CHANNELS: usize = 4;
    pub const MAX_FILTERS: usize = 8;
    /// Largest side of a painted picture that a link can carry (one hex digit per cell).
    pub const MAX_PAINTED_SIDE: usize = 64;
    /// The shape calculator's numbers: any real layer's are far below.
    pub const MAX_CALCULATOR: usize = 1 << 20;
    /// The player's step counter (a 256x256 output has 65,536 cells).
    pub const MAX_STEP: usize = 1 << 16;
}

/// The training page's limits.
pub mod training {
    pub const MAX_EPOCHS: usize = 1000;
    pub const MAX_BATCH_SIZE: usize = 1024;
    /// Below this no run the page can do moves the weights visibly.
    pub const MIN_LEARNING_RATE: f32 = 1e-6;
    /// Up to 10: a student may try a rate that diverges and see it explained.
    pub const MAX_LEARNING_RATE: f32 = 10.0;
    /// A moving average with a larger momentum would not follow the weights in any page run.
    pub const MAX_BN_MOMENTUM: f64 = 0.999;
    /// Seeds cross the page's boundary as 32-bit numbers.
    pub const MAX_SEED: u64 = u32::MAX as u64;
    /// The model editor: conv blocks, filters and kernel per block, dropout, hidden dense units.
    pub const MAX_BLOCKS: usize = 6;
    pub const MAX_BLOCK_FILTERS: usize = 256;
    pub const MAX_BLOCK_KERNEL: usize = 11;
    pub const MAX_DROPOUT: f32 = 0.9;
    pub const MAX_DENSE_UNITS: usize = 1024;
}

/// Data augmentation's largest settings (`data::augment`): beyond them a face is no longer a
/// face a camera takes (upside down at 180° is as far as rotation goes; a zoom below 1 would
/// mean the same as its inverse).
pub mod augmentation {
    pub const ROTATION_DEGREES: (f32, f32) = (0.0, 180.0);
    pub const SHIFT: (f32, f32) = (0.0, 0.5);
    pub const ZOOM: (f32, f32) = (1.0, 2.0);
    pub const BRIGHTNESS: (f32, f32) = (0.0, 0.5);
    pub const CONTRAST: (f32, f32) = (0.0, 0.9);
    pub const ELASTIC_PIXELS: (f32, f32) = (0.0, 8.0);
}

/// One control of the page: the range its slider or number box offers (`ui_*`), and what the
/// core accepts (`min`, `max`): a link may ask for anything the core accepts, and the control
/// widens to show it. The page builds its link parser and its controls from this table.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ControlRange {
    /// The page's name for the control's value (`www/js/state.js`).
    pub key: &'static str,
    pub ui_min: f64,
    pub ui_max: f64,
    pub min: f64,
    pub max: f64,
}

const fn control(key: &'static str, ui: (f64, f64), hard: (f64, f64)) -> ControlRange {
    ControlRange {
        key,
        ui_min: ui.0,
        ui_max: ui.1,
        min: hard.0,
        max: hard.1,
    }
}

/// Every numeric control of the page, with its range.
pub fn control_ranges() -> Vec<ControlRange> {
    use explorer as e;
    use training as t;
    let n = |v: usize| v as f64;
    // An f32 limit goes to the page as the decimal it was written as (1e-6, 0.9), not as its
    // widened binary value (9.99999997e-7, 0.899999976), which the page would print and compare.
    let decimal = |v: f32| {
        v.to_string()
            .parse::<f64>()
            .expect("a float prints as a number")
    };
    let calc = (1.0, n(e::MAX_CALCULATOR));
    let mut controls = vec![
        control("kernel", (1.0, 9.0), (1.0, n(e::MAX_KERNEL))),
        control("stride", (1.0, 6.0), (1.0, n(e::MAX_STRIDE))),
        control("pad", (0.0, 6.0), (0.0, n(e::MAX_PADDING))),
        control("dilation", (1.0, 4.0), (1.0, n(e::MAX_DILATION))),
        control(
            "filterCount",
            (1.0, n(e::MAX_FILTERS)),
            (1.0, n(e::MAX_FILTERS)),
        ),
        control(
            "filter",
            (0.0, n(e::MAX_FILTERS - 1)),
            (0.0, n(e::MAX_FILTERS - 1)),
        ),
        control(
            "channel",
            (0.0, n(e::MAX_CHANNELS - 1)),
            (0.0, n(e::MAX_CHANNELS - 1)),
        ),
        control(
            "paintedSide",
            (1.0, n(e::MAX_PAINTED_SIDE)),
            (1.0, n(e::MAX_PAINTED_SIDE)),
        ),
        control("step", (0.0, n(e::MAX_STEP)), (0.0, n(e::MAX_STEP))),
        control("poolWindow", (1.0, 5.0), (1.0, n(e::MAX_KERNEL))),
        control("poolStride", (1.0, 5.0), (1.0, n(e::MAX_STRIDE))),
        control("poolStep", (0.0, n(e::MAX_STEP)), (0.0, n(e::MAX_STEP))),
        control("calcH", calc, calc),
        control("calcW", calc, calc),
        control("calcC", calc, calc),
        control("calcWindow", calc, calc),
        control("calcStride", calc, calc),
        control("trainSize", (20.0, 5000.0), (1.0, n(MAX_IMAGES))),
        control("testSize", (10.0, 2000.0), (1.0, n(MAX_IMAGES))),
        control("dataSeed", (0.0, 1e9), (0.0, t::MAX_SEED as f64)),
        control("epochs", (1.0, n(t::MAX_EPOCHS)), (1.0, n(t::MAX_EPOCHS))),
        control(
            "batchSize",
            (1.0, n(t::MAX_BATCH_SIZE)),
            (1.0, n(t::MAX_BATCH_SIZE)),
        ),
        control(
            "learningRate",
            (decimal(t::MIN_LEARNING_RATE), decimal(t::MAX_LEARNING_RATE)),
            (decimal(t::MIN_LEARNING_RATE), decimal(t::MAX_LEARNING_RATE)),
        ),
        control("patience", (0.0, n(t::MAX_EPOCHS)), (0.0, n(t::MAX_EPOCHS))),
        control("trainSeed", (0.0, 1e9), (0.0, t::MAX_SEED as f64)),
        control(
            "bnMomentum",
            (0.0, t::MAX_BN_MOMENTUM),
            (0.0, t::MAX_BN_MOMENTUM),
        ),
        control(
            "archBlocks",
            (0.0, n(t::MAX_BLOCKS)),
            (0.0, n(t::MAX_BLOCKS)),
        ),
        control(
            "archFilters",
            (1.0, n(t::MAX_BLOCK_FILTERS)),
            (1.0, n(t::MAX_BLOCK_FILTERS)),
        ),
        control(
            "archKernel",
            (1.0, n(t::MAX_BLOCK_KERNEL)),
            (1.0, n(t::MAX_BLOCK_KERNEL)),
        ),
        control(
            "archDropout",
            (0.0, decimal(t::MAX_DROPOUT)),
            (0.0, decimal(t::MAX_DROPOUT)),
        ),
        control(
            "archDense",
            (0.0, n(t::MAX_DENSE_UNITS)),
            (0.0, n(t::MAX_DENSE_UNITS)),
        ),
    ];
    let range = |(lo, hi): (f32, f32)| (decimal(lo), decimal(hi));
    use augmentation as a;
    controls.extend([
        control(
            "augRotation",
            range(a::ROTATION_DEGREES),
            range(a::ROTATION_DEGREES),
        ),
        control("augShift", range(a::SHIFT), range(a::SHIFT)),
        control("augZoom", range(a::ZOOM), range(a::ZOOM)),
        control("augBrightness", range(a::BRIGHTNESS), range(a::BRIGHTNESS)),
        control("augContrast", range(a::CONTRAST), range(a::CONTRAST)),
        control(
            "augElastic",
            range(a::ELASTIC_PIXELS),
            range(a::ELASTIC_PIXELS),
        ),
    ]);
    controls
}
