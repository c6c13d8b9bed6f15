//! `process` on photos built here in memory: a JPEG carrying hand-made EXIF (orientation and
//! GPS), a PNG with metadata chunks, WebP, and files that must be refused.

use std::io::Cursor;

use gridkeeper_media::{process, Limits, MediaError, Processed, SizeUnit, THUMBNAIL_SIZE};
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::{DynamicImage, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};

const RED: Rgb<u8> = Rgb([255, 0, 0]);
const BLUE: Rgb<u8> = Rgb([0, 0, 255]);

/// 30° 44′ 42″ and 120° 29′ 12″ as EXIF degree/minute/second rationals.
const LAT: [(u32, u32); 3] = [(30, 1), (44, 1), (4200, 100)];
const LON: [(u32, u32); 3] = [(120, 1), (29, 1), (1200, 100)];
const EXPECTED_LAT: f64 = 30.0 + 44.0 / 60.0 + 42.0 / 3600.0;
const EXPECTED_LON: f64 = 120.0 + 29.0 / 60.0 + 12.0 / 3600.0;

// ---------------------------------------------------------------------------------------
// Fixture builders

/// A little-endian TIFF structure as EXIF carries it: IFD0 holds an Orientation tag and a
/// pointer to a GPS IFD, which holds latitude and longitude with their N/S, E/W references.
fn exif_tiff(
    orientation: u16,
    (lat_ref, lat): (u8, [(u32, u32); 3]),
    (lon_ref, lon): (u8, [(u32, u32); 3]),
) -> Vec<u8> {
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    // Header 8 bytes, IFD0 2 + 2×12 + 4 bytes, GPS IFD 2 + 4×12 + 4 bytes, then the
    // rationals: 3 per coordinate, 8 bytes each.
    const GPS_IFD: u32 = 8 + 30;
    const LAT_AT: u32 = GPS_IFD + 54;
    const LON_AT: u32 = LAT_AT + 24;

    let mut tiff = b"II\x2a\x00\x08\x00\x00\x00".to_vec();
    push_ifd(&mut tiff, &[(0x0112, SHORT, 1, u32::from(orientation)), (0x8825, LONG, 1, GPS_IFD)]);
    assert_eq!(tiff.len(), GPS_IFD as usize);
    push_ifd(
        &mut tiff,
        &[
            // A one-letter reference plus its NUL fits in the entry itself.
            (0x0001, ASCII, 2, u32::from(lat_ref)),
            (0x0002, RATIONAL, 3, LAT_AT),
            (0x0003, ASCII, 2, u32::from(lon_ref)),
            (0x0004, RATIONAL, 3, LON_AT),
        ],
    );
    assert_eq!(tiff.len(), LAT_AT as usize);
    for (numerator, denominator) in lat.iter().chain(&lon) {
        tiff.extend_from_slice(&numerator.to_le_bytes());
        tiff.extend_from_slice(&denominator.to_le_bytes());
    }
    tiff
}

/// Appends an IFD of `(tag, type, count, value or offset)` entries with no next IFD.
fn push_ifd(tiff: &mut Vec<u8>, entries: &[(u16, u16, u32, u32)]) {
    let count = u16::try_from(entries.len()).unwrap();
    tiff.extend_from_slice(&count.to_le_bytes());
    for &(tag, kind, count, value) in entries {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    }
    tiff.extend_from_slice(&0u32.to_le_bytes());
}

/// The EXIF of a phone photo taken in portrait (orientation 6) at `LAT` N, `LON` E.
fn phone_exif() -> Vec<u8> {
    exif_tiff(6, (b'N', LAT), (b'E', LON))
}

/// A 40×20 picture, left half red and right half blue, so that a rotation shows.
fn two_halves() -> RgbImage {
    RgbImage::from_fn(40, 20, |x, _| if x < 20 { RED } else { BLUE })
}

fn jpeg(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image.write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90)).unwrap();
    out
}

/// `jpeg` with an APP1 "Exif\0\0" segment holding `tiff` spliced in right after SOI.
fn with_exif_segment(jpeg: &[u8], tiff: &[u8]) -> Vec<u8> {
    let (soi, rest) = jpeg.split_at(2);
    assert_eq!(soi, [0xFF, 0xD8]);
    let length = u16::try_from(2 + 6 + tiff.len()).unwrap();
    let mut out = soi.to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(tiff);
    out.extend_from_slice(rest);
    out
}

fn phone_jpeg() -> Vec<u8> {
    with_exif_segment(&jpeg(&two_halves()), &phone_exif())
}

/// A PNG of `image` with an eXIf chunk holding `exif`.
fn png_with_exif(image: &RgbImage, exif: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = PngEncoder::new(&mut out);
    encoder.set_exif_metadata(exif).unwrap();
    image.write_with_encoder(encoder).unwrap();
    out
}

/// `png` with a chunk inserted right before its final IEND chunk.
fn with_png_chunk(png: &[u8], kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let (body, iend) = png.split_at(png.len() - 12);
    assert_eq!(&iend[4..8], b"IEND");
    [body, &png_chunk(kind, data), iend].concat()
}

/// A PNG chunk: length, type, data, CRC of type and data.
fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = u32::try_from(data.len()).unwrap().to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// The CRC-32 PNG chunks end with (bitwise; fixtures are tiny).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A lossless WebP of a 30×10 picture: opaque red on the left, fully transparent on the right.
fn half_transparent_webp() -> Vec<u8> {
    let image = RgbaImage::from_fn(30, 10, |x, _| if x < 15 { Rgba([255, 0, 0, 255]) } else { Rgba([0, 0, 0, 0]) });
    let mut out = Vec::new();
    image.write_with_encoder(WebPEncoder::new_lossless(&mut out)).unwrap();
    out
}

/// A deterministic xorshift generator for the garbage-input tests.
struct Xorshift(u64);

impl Xorshift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next().to_le_bytes()[0]).collect()
    }
}

// ---------------------------------------------------------------------------------------
// Checks on results

fn accept(bytes: &[u8]) -> Processed {
    process(bytes, &Limits::default()).expect("the photo should be accepted")
}

fn decode(bytes: &[u8], format: ImageFormat) -> DynamicImage {
    image::load_from_memory_with_format(bytes, format).expect("output should decode")
}

/// What EXIF kamadak-exif finds in an image file, if any.
fn exif_in(bytes: &[u8]) -> Option<exif::Exif> {
    exif::Reader::new().read_from_container(&mut Cursor::new(bytes)).ok()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|window| window == needle)
}

fn assert_close(actual: (f64, f64), expected: (f64, f64)) {
    assert!(
        (actual.0 - expected.0).abs() < 1e-9 && (actual.1 - expected.1).abs() < 1e-9,
        "{actual:?} is not {expected:?}"
    );
}

/// `image` is the two halves rotated a quarter turn clockwise: red on top, blue below.
fn assert_upright(image: &DynamicImage) {
    assert_eq!((image.width(), image.height()), (20, 40));
    let rgb = image.to_rgb8();
    let near = |pixel: Rgb<u8>, colour: Rgb<u8>| pixel.0.iter().zip(colour.0).all(|(&a, b)| a.abs_diff(b) < 40);
    assert!(near(*rgb.get_pixel(10, 8), RED), "top should be red");
    assert!(near(*rgb.get_pixel(10, 32), BLUE), "bottom should be blue");
}

fn assert_thumbnail(processed: &Processed, expected: (u32, u32)) {
    assert_eq!(image::guess_format(&processed.thumbnail).unwrap(), ImageFormat::Jpeg);
    let thumbnail = decode(&processed.thumbnail, ImageFormat::Jpeg);
    assert_eq!((thumbnail.width(), thumbnail.height()), expected);
    assert!(exif_in(&processed.thumbnail).is_none());
}

// ---------------------------------------------------------------------------------------
// Tests

#[test]
fn the_exif_fixture_is_valid_exif() {
    let exif = exif_in(&phone_jpeg()).expect("kamadak-exif should parse the fixture");
    let field = |tag| exif.get_field(tag, exif::In::PRIMARY).unwrap();
    assert_eq!(field(exif::Tag::Orientation).value.get_uint(0), Some(6));
    assert_eq!(field(exif::Tag::GPSLatitudeRef).display_value().to_string(), "N");
    let exif::Value::Rational(longitude) = &field(exif::Tag::GPSLongitude).value else {
        panic!("GPSLongitude should be rationals");
    };
    let longitude: Vec<_> = longitude.iter().map(|r| (r.num, r.denom)).collect();
    assert_eq!(longitude, LON);
}

#[test]
fn a_phone_jpeg_is_stored_upright_without_exif_and_its_position_is_read() {
    let processed = accept(&phone_jpeg());

    assert_eq!(processed.content_type, "image/jpeg");
    assert_close(processed.gps.unwrap(), (EXPECTED_LAT, EXPECTED_LON));
    assert!((processed.gps.unwrap().0 - 30.745).abs() < 1e-3);
    assert!((processed.gps.unwrap().1 - 120.4867).abs() < 1e-3);

    assert!(!contains(&processed.bytes, b"Exif"), "no Exif APP1 segment");
    assert!(exif_in(&processed.bytes).is_none(), "no EXIF, so no GPS");
    assert_eq!((processed.width, processed.height), (20, 40));
    assert_upright(&decode(&processed.bytes, ImageFormat::Jpeg));
    assert_thumbnail(&processed, (20, 40));
}

#[test]
fn gps_signs_follow_the_references_and_bad_positions_are_dropped() {
    let gps_of = |tiff: Vec<u8>| accept(&with_exif_segment(&jpeg(&two_halves()), &tiff)).gps;

    let south_west = gps_of(exif_tiff(1, (b'S', LAT), (b'W', LON))).unwrap();
    assert_close(south_west, (-EXPECTED_LAT, -EXPECTED_LON));

    assert_eq!(gps_of(exif_tiff(1, (b'X', LAT), (b'E', LON))), None);
    let north_of_the_pole = [(95, 1), (0, 1), (0, 1)];
    assert_eq!(gps_of(exif_tiff(1, (b'N', north_of_the_pole), (b'E', LON))), None);
    let zero_denominator = [(30, 1), (44, 0), (0, 1)];
    assert_eq!(gps_of(exif_tiff(1, (b'N', zero_denominator), (b'E', LON))), None);
    let null_island = [(0, 1), (0, 1), (0, 1)];
    assert_eq!(gps_of(exif_tiff(1, (b'N', null_island), (b'E', null_island))), None);

    assert_eq!(accept(&jpeg(&two_halves())).gps, None, "no EXIF at all");
}

#[test]
fn a_png_stays_png_and_loses_its_metadata_chunks() {
    let png = png_with_exif(&two_halves(), phone_exif());
    let png = with_png_chunk(&png, b"tEXt", b"Author\0Jane Resident");
    assert!(contains(&png, b"tEXt") && contains(&png, b"eXIf"));
    assert!(exif_in(&png).is_some());

    let processed = accept(&png);

    assert_eq!(processed.content_type, "image/png");
    assert_close(processed.gps.unwrap(), (EXPECTED_LAT, EXPECTED_LON));
    assert!(!contains(&processed.bytes, b"tEXt"));
    assert!(!contains(&processed.bytes, b"Jane Resident"));
    assert!(!contains(&processed.bytes, b"eXIf"));
    assert!(exif_in(&processed.bytes).is_none());
    assert_upright(&decode(&processed.bytes, ImageFormat::Png));
    assert_thumbnail(&processed, (20, 40));
}

#[test]
fn a_webp_is_stored_as_jpeg_with_transparency_on_white() {
    let processed = accept(&half_transparent_webp());

    assert_eq!(processed.content_type, "image/jpeg");
    assert_eq!((processed.width, processed.height), (30, 10));
    assert_eq!(processed.gps, None);
    let stored = decode(&processed.bytes, ImageFormat::Jpeg).to_rgb8();
    assert!(stored.get_pixel(3, 5).0[0] > 200 && stored.get_pixel(3, 5).0[2] < 60);
    assert!(stored.get_pixel(26, 5).0.iter().all(|&c| c > 215), "white");
    assert_thumbnail(&processed, (30, 10));
}

#[test]
fn thumbnails_fit_the_longest_side_and_are_never_enlarged() {
    let wide = RgbImage::from_pixel(1000, 500, RED);
    assert_thumbnail(&accept(&jpeg(&wide)), (THUMBNAIL_SIZE, THUMBNAIL_SIZE / 2));
    let tall_portrait = with_exif_segment(&jpeg(&wide), &phone_exif());
    assert_thumbnail(&accept(&tall_portrait), (THUMBNAIL_SIZE / 2, THUMBNAIL_SIZE));
    let small = RgbImage::from_pixel(100, 60, BLUE);
    assert_thumbnail(&accept(&jpeg(&small)), (100, 60));
}

#[test]
fn other_formats_and_non_images_are_refused() {
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;";
    let bmp = b"BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00";
    for bytes in [&gif[..], bmp, b"just some text, not a photo", b""] {
        let error = process(bytes, &Limits::default()).unwrap_err();
        assert!(matches!(error, MediaError::NotAnImage), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("JPEG") && message.contains("PNG") && message.contains("WebP"));
    }
}

#[test]
fn truncated_photos_are_refused_as_corrupt() {
    // Big enough for the scan to span many blocks: a decoder could fill in a missing end.
    let photo = RgbImage::from_fn(400, 300, |x, y| Rgb([(x * 7) as u8, (y * 13) as u8, (x ^ y) as u8]));
    let big_jpeg = jpeg(&photo);
    let png = png_with_exif(&two_halves(), phone_exif());
    let webp = half_transparent_webp();

    let jpeg_cuts = [1, 2, 100, big_jpeg.len() / 3];
    for (file, cuts) in [
        (&phone_jpeg(), &[1, 2, 100][..]),
        (&big_jpeg, &jpeg_cuts),
        (&png, &[20, png.len() / 3]),
        (&webp, &[20, webp.len() / 3]),
    ] {
        for &cut in cuts {
            let error = process(&file[..file.len() - cut], &Limits::default()).unwrap_err();
            assert!(matches!(error, MediaError::Corrupt(_)), "cut {cut}: {error:?}");
        }
    }

    let mut with_trailer = big_jpeg;
    with_trailer.extend_from_slice(b"data some phones append after the end marker");
    assert_eq!(accept(&with_trailer).width, 400);
}

#[test]
fn garbage_never_panics() {
    let mut random = Xorshift(0x9E37_79B9_7F4A_7C15);
    for len in (0..2000).step_by(7) {
        assert!(process(&random.bytes(len), &Limits::default()).is_err());
    }

    let png = png_with_exif(&two_halves(), phone_exif());
    for file in [phone_jpeg(), png, half_transparent_webp()] {
        // Every prefix, valid signature followed by garbage, and random bit flips.
        for end in 0..file.len() {
            let _ = process(&file[..end], &Limits::default());
        }
        let mut signed_garbage = file[..16].to_vec();
        signed_garbage.extend(random.bytes(500));
        let _ = process(&signed_garbage, &Limits::default());
        for _ in 0..300 {
            let mut damaged = file.clone();
            for _ in 0..4 {
                let at = usize::try_from(random.next() % file.len() as u64).unwrap();
                damaged[at] ^= 1 << (random.next() % 8);
            }
            let _ = process(&damaged, &Limits::default());
        }
    }
}

#[test]
fn files_over_the_byte_limit_are_refused() {
    let file = phone_jpeg();
    let limits = Limits { max_bytes: file.len() - 1, ..Limits::default() };
    let error = process(&file, &limits).unwrap_err();
    assert!(
        matches!(error, MediaError::TooLarge { unit: SizeUnit::Bytes, actual, max }
            if actual == file.len() as u64 && max == limits.max_bytes as u64),
        "{error:?}"
    );
}

#[test]
fn images_over_the_pixel_limit_are_refused_from_the_header() {
    let limits = Limits::default();
    let too_large = |error: MediaError, pixels: u64| match error {
        MediaError::TooLarge { unit: SizeUnit::Pixels, actual, max } => {
            assert_eq!((actual, max), (pixels, limits.max_pixels));
        }
        error => panic!("expected TooLarge, got {error:?}"),
    };

    // A JPEG whose frame header claims 65000×65000 over 40×20 worth of data: decoding it
    // would need gigabytes, and would fail rather than answer TooLarge.
    let mut bomb = jpeg(&two_halves());
    let sof = bomb.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bomb[sof + 5..sof + 9].copy_from_slice(&[0xFD, 0xE8, 0xFD, 0xE8]);
    too_large(process(&bomb, &limits).unwrap_err(), 65000 * 65000);

    // The same with a PNG header (IHDR, CRC fixed up) claiming 100000×100000.
    let png = png_with_exif(&two_halves(), Vec::new());
    let (signature, ihdr, rest) = (&png[..8], &png[8..33], &png[33..]);
    assert_eq!(&ihdr[4..8], b"IHDR");
    let mut header = ihdr[8..21].to_vec();
    header[..8].copy_from_slice(&[0, 1, 0x86, 0xA0, 0, 1, 0x86, 0xA0]);
    let bomb = [signature, &png_chunk(b"IHDR", &header), rest].concat();
    too_large(process(&bomb, &limits).unwrap_err(), 100_000 * 100_000);

    // An ordinary photo over a low limit.
    let small_limit = Limits { max_pixels: 799, ..Limits::default() };
    let error = process(&phone_jpeg(), &small_limit).unwrap_err();
    assert!(matches!(error, MediaError::TooLarge { unit: SizeUnit::Pixels, actual: 800, max: 799 }), "{error:?}");
}
