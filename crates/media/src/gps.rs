//! Reading the GPS position out of a raw EXIF block (a TIFF structure).

use exif::{Exif, In, Reader, Tag, Value};

/// The (latitude, longitude) in decimal degrees recorded in `raw_exif`, if there is a
/// complete and plausible one.
///
/// Both coordinates need their hemisphere reference (`N`/`S`, `E`/`W`): without it the sign
/// is unknown and the position is dropped rather than guessed. Out-of-range values, zero
/// denominators and the exact point (0, 0) — which cameras without a fix tend to write — are
/// dropped too.
pub(crate) fn position(raw_exif: Vec<u8>) -> Option<(f64, f64)> {
    // JPEG and PNG decoders hand over the bare TIFF structure; some WebP writers keep the
    // "Exif\0\0" header of the JPEG APP1 segment in front of it.
    let tiff = match raw_exif.strip_prefix(b"Exif\0\0") {
        Some(rest) => rest.to_vec(),
        None => raw_exif,
    };
    // A damaged field elsewhere (a maker note, say) must not hide an intact position.
    let exif = Reader::new()
        .continue_on_error(true)
        .read_raw(tiff)
        .or_else(|error| error.distill_partial_result(|_| {}))
        .ok()?;
    let lat = coordinate(&exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, (b'N', b'S'), 90.0)?;
    let lon = coordinate(&exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, (b'E', b'W'), 180.0)?;
    (lat != 0.0 || lon != 0.0).then_some((lat, lon))
}

/// One signed coordinate from its degrees/minutes/seconds rationals and its hemisphere
/// reference, whose `positive`/`negative` letters are given as `hemispheres`.
fn coordinate(exif: &Exif, value_tag: Tag, ref_tag: Tag, hemispheres: (u8, u8), max_degrees: f64) -> Option<f64> {
    let Value::Ascii(reference) = &exif.get_field(ref_tag, In::PRIMARY)?.value else {
        return None;
    };
    let letter = reference.first()?.first()?.to_ascii_uppercase();
    let sign = match hemispheres {
        (positive, _) if letter == positive => 1.0,
        (_, negative) if letter == negative => -1.0,
        _ => return None,
    };

    let Value::Rational(parts) = &exif.get_field(value_tag, In::PRIMARY)?.value else {
        return None;
    };
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|part| part.denom == 0) {
        return None;
    }
    // Degrees, then minutes and seconds if present; writers may put all in the degrees.
    let degrees: f64 = parts.iter().zip([1.0, 60.0, 3600.0]).map(|(part, per_degree)| part.to_f64() / per_degree).sum();
    (degrees <= max_degrees).then_some(sign * degrees)
}
