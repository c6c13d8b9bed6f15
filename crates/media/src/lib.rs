//! gridkeeper's photo intake: turns the bytes of an uploaded photo into what is stored (and of a
//! voice or video recording: [`process_recording`]).
//!
//! Residents report problems from a phone, and phone photos carry more than pixels: the
//! EXIF block holds the GPS position, the camera model, times, sometimes the owner's name.
//! [`process`] reads what is useful from it (the GPS position, the orientation), then
//! re-encodes the pixels so that **no metadata at all** reaches storage:
//!
//! - JPEG, PNG and WebP are accepted; anything else is refused with [`MediaError`].
//! - JPEG and WebP are stored as JPEG (quality 85), PNG stays PNG. Re-encoding drops every
//!   EXIF, XMP, IPTC, ICC and text block, since the encoders here are given none.
//! - The EXIF orientation is applied to the pixels, so the stored image displays upright
//!   without its (removed) orientation tag.
//! - A JPEG thumbnail of at most [`THUMBNAIL_SIZE`] pixels on its longest side is made.
//! - Decompression bombs are refused from the header, before any pixel is decoded, and the
//!   decoders run under [`image::Limits`].
//!
//! Everything happens in memory; the crate does no I/O.

mod gps;
mod jpeg;
mod recording;

pub use recording::{is_recording, process_recording, Recording, RecordingKind, RecordingLimits};

use std::fmt;
use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::{DynamicImage, ImageDecoder, ImageError, ImageFormat, ImageReader, Rgb, RgbImage};

/// The longest side, in pixels, of the thumbnails [`process`] makes.
pub const THUMBNAIL_SIZE: u32 = 320;

/// The JPEG quality of stored images and thumbnails.
const JPEG_QUALITY: u8 = 85;

/// The most bytes one decoded pixel takes (16-bit RGBA PNG), to bound decoder allocations.
const MAX_BYTES_PER_PIXEL: u64 = 8;

/// How large an upload may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most bytes an uploaded file may have. Default: 15 MiB.
    pub max_bytes: usize,
    /// The most pixels (width × height) an image may have. Default: 50 megapixels.
    pub max_pixels: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_bytes: 15 * 1024 * 1024, max_pixels: 50_000_000 }
    }
}

/// An uploaded photo made ready to store.
#[derive(Debug, Clone)]
pub struct Processed {
    /// The media type of `bytes`: `"image/jpeg"` or `"image/png"`.
    pub content_type: &'static str,
    /// The image to store: upright, without any metadata.
    pub bytes: Vec<u8>,
    /// The width of the stored image, in pixels.
    pub width: u32,
    /// The height of the stored image, in pixels.
    pub height: u32,
    /// A JPEG of at most [`THUMBNAIL_SIZE`] pixels on its longest side (never enlarged),
    /// without any metadata.
    pub thumbnail: Vec<u8>,
    /// The (latitude, longitude) in decimal degrees that the upload's EXIF GPS block held,
    /// if it held a complete and valid one.
    pub gps: Option<(f64, f64)>,
}

/// Why an upload was refused. The messages are meant to be shown to the person uploading.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// Not a JPEG, PNG or WebP file (another image format, or no image at all).
    #[error("this file is not a photo we accept: please send a JPEG, PNG or WebP image")]
    NotAnImage,
    /// Not a recording we keep (MP4, M4A, QuickTime, WebM, MP3, Ogg, WAV).
    #[error("this recording is not in a format we keep: please send MP4, M4A, WebM, MP3, Ogg or WAV")]
    NotARecording,
    /// A JPEG, PNG or WebP file using a variant the decoder cannot read.
    #[error("this image uses a variant we cannot read ({0}): please send it as an ordinary JPEG or PNG")]
    Unsupported(String),
    /// A JPEG, PNG or WebP file that is damaged or cut short.
    #[error("the image is damaged or incomplete ({0}): please send the photo again")]
    Corrupt(String),
    /// The file, or the image its header announces, exceeds [`Limits`]; nothing was decoded.
    #[error("the file is too large: {actual} {unit}, at most {max} allowed; please send a smaller one")]
    TooLarge {
        /// What was measured.
        unit: SizeUnit,
        /// The upload's size.
        actual: u64,
        /// The limit it exceeds.
        max: u64,
    },
    /// The decoded image could not be encoded again (an internal failure, not the upload's).
    #[error("the photo could not be stored ({0}); please try again later")]
    Encode(String),
}

/// What a [`MediaError::TooLarge`] measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeUnit {
    /// The size of the uploaded file.
    Bytes,
    /// Width × height of the image.
    Pixels,
}

impl fmt::Display for SizeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SizeUnit::Bytes => "bytes",
            SizeUnit::Pixels => "pixels",
        })
    }
}

/// Checks an uploaded photo against `limits` and makes it ready to store: see the crate
/// documentation for what is done to it.
pub fn process(bytes: &[u8], limits: &Limits) -> Result<Processed, MediaError> {
    if bytes.len() > limits.max_bytes {
        return Err(MediaError::TooLarge {
            unit: SizeUnit::Bytes,
            actual: bytes.len() as u64,
            max: limits.max_bytes as u64,
        });
    }

    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|error| MediaError::Corrupt(error.to_string()))?;
    let format = match reader.format() {
        Some(format @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP)) => format,
        _ => return Err(MediaError::NotAnImage),
    };
    if format == ImageFormat::Jpeg && !jpeg::is_complete(bytes) {
        return Err(MediaError::Corrupt("the file ends before the image does".into()));
    }
    let mut decoder_limits = image::Limits::default();
    decoder_limits.max_alloc = Some(limits.max_pixels.saturating_mul(MAX_BYTES_PER_PIXEL));
    reader.limits(decoder_limits);

    // Building the decoder reads the header only: refuse a bomb before decoding pixels.
    let mut decoder = reader.into_decoder().map_err(decoding_error)?;
    let (width, height) = decoder.dimensions();
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels {
        return Err(MediaError::TooLarge { unit: SizeUnit::Pixels, actual: pixels, max: limits.max_pixels });
    }

    // Metadata is optional: if it cannot be read, the photo is kept without it.
    let gps = decoder.exif_metadata().ok().flatten().and_then(gps::position);
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut image = DynamicImage::from_decoder(decoder).map_err(decoding_error)?;
    image.apply_orientation(orientation);

    let thumbnail = encode_jpeg(shrink(&image))?;
    let (width, height) = (image.width(), image.height());
    let (content_type, bytes) = match format {
        ImageFormat::Png => ("image/png", encode_png(&image)?),
        _ => ("image/jpeg", encode_jpeg(image)?),
    };
    Ok(Processed { content_type, bytes, width, height, thumbnail, gps })
}

/// Sorts a decoder's error into what the uploader can do about it.
fn decoding_error(error: ImageError) -> MediaError {
    match error {
        ImageError::Unsupported(error) => MediaError::Unsupported(error.to_string()),
        error => MediaError::Corrupt(error.to_string()),
    }
}

/// `image` scaled down to fit [`THUMBNAIL_SIZE`], or a copy of it if it already fits.
fn shrink(image: &DynamicImage) -> DynamicImage {
    if image.width().max(image.height()) > THUMBNAIL_SIZE {
        image.thumbnail(THUMBNAIL_SIZE, THUMBNAIL_SIZE)
    } else {
        image.clone()
    }
}

/// `image` as a baseline JPEG, without metadata; transparency is flattened onto white.
fn encode_jpeg(image: DynamicImage) -> Result<Vec<u8>, MediaError> {
    let rgb = if image.color().has_alpha() { flatten_onto_white(&image) } else { image.into_rgb8() };
    let mut out = Vec::new();
    rgb.write_with_encoder(JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY))
        .map_err(|error| MediaError::Encode(error.to_string()))?;
    Ok(out)
}

/// `image` as a PNG, without metadata chunks.
fn encode_png(image: &DynamicImage) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    image.write_with_encoder(PngEncoder::new(&mut out)).map_err(|error| MediaError::Encode(error.to_string()))?;
    Ok(out)
}

/// Composites `image` over a white background (JPEG has no transparency, and dropping the
/// alpha channel would show whatever colour transparent pixels happen to hold).
fn flatten_onto_white(image: &DynamicImage) -> RgbImage {
    let rgba = image.to_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, alpha] = rgba.get_pixel(x, y).0;
        let over_white = |channel: u8| {
            let (channel, alpha) = (u32::from(channel), u32::from(alpha));
            // At most 255 by construction, so the conversion cannot fail.
            u8::try_from((channel * alpha + 255 * (255 - alpha) + 127) / 255).unwrap_or(u8::MAX)
        };
        Rgb([over_white(r), over_white(g), over_white(b)])
    })
}
