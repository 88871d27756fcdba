//! Pictures a student brings (PNG or JPEG files): their header is read here, so that the
//! format and the size are checked against the limits before a single pixel is decoded.
//!
//! Who decodes differs by build. In the browser the page does (it already has fast PNG and
//! JPEG decoders, and leaving ours out keeps the wasm download small) and hands over RGBA
//! bytes; [`from_rgba`] turns them into a [`Picture`]. Natively [`decode`] uses the `image`
//! crate. Everything after that (resizing, cropping, the dataset) is shared.

use image::RgbaImage;

/// A decoded picture: 8-bit RGBA, straight (not premultiplied) alpha.
pub type Picture = RgbaImage;

/// The two formats accepted everywhere (the browser could read more, the native build not).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PictureFormat {
    Png,
    Jpeg,
}

/// What a picture file's first bytes say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PictureHeader {
    pub format: PictureFormat,
    pub width: u32,
    pub height: u32,
}

/// Why a header was refused; each caller words it for its own context.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HeaderProblem {
    /// Not a picture format we know at all.
    NotAPicture,
    /// A picture, but neither PNG nor JPEG (the name of its format).
    OtherFormat(&'static str),
    /// PNG or JPEG by its signature, but the header is damaged or cut short.
    Unreadable(String),
    /// Wider or taller than `max_side`.
    TooLarge { width: u32, height: u32 },
}

/// Reads the format and size of a PNG or JPEG from its header; refuses other files, damaged
/// headers and pictures wider or taller than `max_side`.
pub fn read_header(bytes: &[u8], max_side: u32) -> Result<PictureHeader, HeaderProblem> {
    use imagesize::ImageType;
    let format = match imagesize::image_type(bytes) {
        Ok(ImageType::Png) => PictureFormat::Png,
        Ok(ImageType::Jpeg) => PictureFormat::Jpeg,
        _ => return Err(other_format(bytes)),
    };
    let size = imagesize::blob_size(bytes).map_err(|e| HeaderProblem::Unreadable(e.to_string()))?;
    let (width, height) = (
        u32::try_from(size.width).unwrap_or(u32::MAX),
        u32::try_from(size.height).unwrap_or(u32::MAX),
    );
    if width == 0 || height == 0 {
        return Err(HeaderProblem::Unreadable(format!(
            "it says it is {width}x{height} pixels"
        )));
    }
    if width > max_side || height > max_side {
        return Err(HeaderProblem::TooLarge { width, height });
    }
    Ok(PictureHeader {
        format,
        width,
        height,
    })
}

/// With only PNG and JPEG compiled into `imagesize`, other formats are told apart here by
/// their signatures, so that a GIF or WebP gets a message naming it.
fn other_format(bytes: &[u8]) -> HeaderProblem {
    let starts = |s: &[u8]| bytes.starts_with(s);
    if starts(b"GIF87a") || starts(b"GIF89a") {
        HeaderProblem::OtherFormat("GIF")
    } else if starts(b"RIFF") && bytes.get(8..12) == Some(b"WEBP") {
        HeaderProblem::OtherFormat("WebP")
    } else if starts(b"BM") && bytes.len() > 26 {
        HeaderProblem::OtherFormat("BMP")
    } else if starts(b"II*\0") || starts(b"MM\0*") {
        HeaderProblem::OtherFormat("TIFF")
    } else if bytes.get(4..8) == Some(b"ftyp") {
        HeaderProblem::OtherFormat("HEIF")
    } else {
        HeaderProblem::NotAPicture
    }
}

/// A picture from RGBA bytes (row by row, 4 bytes a pixel), as the page's decoder gives them.
pub fn from_rgba(rgba: Vec<u8>, width: u32, height: u32) -> crate::Result<Picture> {
    let expected = width as u64 * height as u64 * 4;
    if width == 0 || height == 0 || rgba.len() as u64 != expected {
        return Err(crate::invalid!(
            "the decoded picture arrived garbled ({} bytes for {width}x{height} pixels)",
            rgba.len()
        ));
    }
    Ok(RgbaImage::from_raw(width, height, rgba).expect("length checked above"))
}

/// The picture without its alpha channel. (Written out rather than through `DynamicImage`,
/// whose conversions between every pixel type would add to the wasm download.)
pub fn to_rgb(picture: &Picture) -> image::RgbImage {
    image::RgbImage::from_fn(picture.width(), picture.height(), |x, y| {
        let [r, g, b, _] = picture.get_pixel(x, y).0;
        image::Rgb([r, g, b])
    })
}

/// The picture with values in [0, 1], for resizing without rounding twice.
pub fn to_rgba_f32(picture: &Picture) -> image::Rgba32FImage {
    image::Rgba32FImage::from_fn(picture.width(), picture.height(), |x, y| {
        image::Rgba(picture.get_pixel(x, y).0.map(|v| v as f32 / 255.0))
    })
}

/// Why a native decode failed.
#[cfg(not(target_arch = "wasm32"))]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeProblem {
    /// Decoding would take more than the memory allowed.
    TooMuchMemory,
    /// The data is damaged (the decoder's own words).
    Damaged(String),
}

/// Decodes a picture whose header [`read_header`] accepted, taking at most `max_bytes` of
/// memory (native builds only; the page decodes in the browser).
#[cfg(not(target_arch = "wasm32"))]
pub fn decode(
    bytes: &[u8],
    header: &PictureHeader,
    max_bytes: u64,
) -> Result<Picture, DecodeProblem> {
    use image::{ImageError, ImageFormat, ImageReader, Limits};
    let format = match header.format {
        PictureFormat::Png => ImageFormat::Png,
        PictureFormat::Jpeg => ImageFormat::Jpeg,
    };
    let mut limits = Limits::default();
    limits.max_image_width = Some(header.width);
    limits.max_image_height = Some(header.height);
    limits.max_alloc = Some(max_bytes);
    let mut reader = ImageReader::with_format(std::io::Cursor::new(bytes), format);
    reader.limits(limits);
    match reader.decode() {
        Ok(decoded) => Ok(decoded.to_rgba8()),
        Err(ImageError::Limits(_)) => Err(DecodeProblem::TooMuchMemory),
        Err(other) => Err(DecodeProblem::Damaged(other.to_string())),
    }
}
