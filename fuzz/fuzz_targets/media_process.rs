//! The image pipeline: the bytes as an uploaded photo, through `gridkeeper_media::process`
//! (format check, decompression-bomb limits, EXIF orientation and GPS, re-encoding without
//! metadata, thumbnail), with small limits so that each run stays fast. Property: a processed
//! image or a `MediaError`, never a panic; what is stored decodes again and is within limits.
#![no_main]

use gridkeeper_media::{process, Limits, THUMBNAIL_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bytes: 256 * 1024, max_pixels: 1 << 20 };
    let Ok(p) = process(data, &limits) else { return };
    assert!(u64::from(p.width) * u64::from(p.height) <= limits.max_pixels, "{}x{}", p.width, p.height);
    let thumb = image::load_from_memory(&p.thumbnail).expect("the thumbnail decodes");
    assert!(thumb.width().max(thumb.height()) <= THUMBNAIL_SIZE);
    let stored = image::load_from_memory(&p.bytes).expect("the stored image decodes");
    assert_eq!((stored.width(), stored.height()), (p.width, p.height));
    if let Some((lat, lon)) = p.gps {
        assert!(lat.abs() <= 90.0 && lon.abs() <= 180.0, "gps {lat},{lon}");
    }
});
