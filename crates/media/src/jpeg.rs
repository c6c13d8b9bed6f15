//! A structural check of JPEG files, which the decoder does not make.

/// Whether `jpeg` (starting with its SOI marker) runs through to an EOI marker.
///
/// `image` runs zune-jpeg in its lenient mode, which decodes a cut-off JPEG by filling the
/// missing part with grey instead of failing. Walking the marker segments and the
/// entropy-coded scans tells a complete file from a cut-off one. Data after EOI is allowed
/// (phones append preview images there).
pub(crate) fn is_complete(jpeg: &[u8]) -> bool {
    let mut at = 2;
    loop {
        // A marker: 0xFF, maybe more 0xFF fill bytes, then its code.
        if jpeg.get(at) != Some(&0xFF) {
            return false;
        }
        while jpeg.get(at) == Some(&0xFF) {
            at += 1;
        }
        let Some(&marker) = jpeg.get(at) else {
            return false;
        };
        at += 1;
        match marker {
            0xD9 => return true,     // EOI
            0x01 | 0xD0..=0xD7 => {} // TEM and RSTn stand alone.
            _ => {
                // A segment: its big-endian length counts itself but not the marker.
                let Some(&[high, low]) = jpeg.get(at..at + 2) else {
                    return false;
                };
                at += usize::from(u16::from_be_bytes([high, low]));
                if marker == 0xDA {
                    // SOS: entropy-coded data follows, up to the next marker that is
                    // neither a stuffed 0xFF00 nor a restart marker.
                    match end_of_scan(jpeg, at) {
                        Some(end) => at = end,
                        None => return false,
                    }
                }
            }
        }
    }
}

/// Where the entropy-coded data starting at `at` ends: the 0xFF of the marker after it.
fn end_of_scan(jpeg: &[u8], mut at: usize) -> Option<usize> {
    loop {
        at += jpeg.get(at..)?.iter().position(|&byte| byte == 0xFF)?;
        match *jpeg.get(at + 1)? {
            0x00 | 0xD0..=0xD7 => at += 2,
            _ => return Some(at),
        }
    }
}
