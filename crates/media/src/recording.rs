//! Voice and video recordings: the container recognised from its bytes (never from the name or
//! the declared type alone), its size checked, and the metadata a container holds apart from the
//! sound and pictures neutralised where the container allows it without re-encoding:
//!
//! - MP4, M4A and QuickTime: every `udta` (user data: the phone's model, the place recorded,
//!   `©xyz`), `meta` and `uuid` (XMP) box becomes a `free` box of the same size, its bytes zeroed —
//!   so that the offsets of the media data stay valid.
//! - MP3: the ID3v2 tag at the start and the ID3v1 tag at the end are removed.
//! - WAV: every `LIST` chunk (INFO: artist, software, dates…) becomes a zeroed `JUNK` chunk.
//! - WebM and Ogg (what browsers record) are kept as they are: a browser writes no personal data
//!   into them (the muxer's name only), and their tags cannot be removed without rewriting the
//!   stream.
//!
//! AMR (some phones' voice notes) and other formats are refused: browsers cannot play them.

use crate::{MediaError, SizeUnit};

/// What a recording is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordingKind {
    Audio,
    Video,
}

/// How large a recording may be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingLimits {
    /// The most bytes of a voice recording. Default: 10 MiB (several minutes of speech).
    pub max_audio_bytes: usize,
    /// The most bytes of a video. Default: 50 MiB (a short clip from a phone).
    pub max_video_bytes: usize,
}

impl Default for RecordingLimits {
    fn default() -> Self {
        Self { max_audio_bytes: 10 * 1024 * 1024, max_video_bytes: 50 * 1024 * 1024 }
    }
}

/// A recording made ready to store.
#[derive(Debug, Clone)]
pub struct Recording {
    pub kind: RecordingKind,
    /// The media type of `bytes`.
    pub content_type: &'static str,
    /// The recording, its metadata neutralised where the container allows.
    pub bytes: Vec<u8>,
}

/// Whether these bytes look like a recording (audio or video) at all.
pub fn is_recording(bytes: &[u8]) -> bool {
    infer::get(bytes).is_some_and(|t| matches!(t.matcher_type(), infer::MatcherType::Audio | infer::MatcherType::Video))
}

/// Checks a recording and removes its metadata. `declared` is the type the client gave (a
/// browser's `audio/webm` tells a voice note from a video, which WebM's first bytes do not).
pub fn process_recording(
    bytes: &[u8],
    declared: Option<&str>,
    limits: &RecordingLimits,
) -> Result<Recording, MediaError> {
    let Some(t) = infer::get(bytes) else { return Err(MediaError::NotARecording) };
    let declared_audio = declared.is_some_and(|d| d.starts_with("audio/"));
    let (kind, content_type) = match t.mime_type() {
        "audio/m4a" | "audio/aac" => (RecordingKind::Audio, "audio/mp4"),
        "video/mp4" | "video/x-m4v" if declared_audio => (RecordingKind::Audio, "audio/mp4"),
        "video/mp4" | "video/x-m4v" => (RecordingKind::Video, "video/mp4"),
        "video/quicktime" => (RecordingKind::Video, "video/quicktime"),
        "video/webm" if declared_audio => (RecordingKind::Audio, "audio/webm"),
        "video/webm" => (RecordingKind::Video, "video/webm"),
        "audio/mpeg" => (RecordingKind::Audio, "audio/mpeg"),
        "audio/ogg" | "audio/opus" => (RecordingKind::Audio, "audio/ogg"),
        "audio/x-wav" => (RecordingKind::Audio, "audio/wav"),
        _ => return Err(MediaError::NotARecording),
    };
    let max = match kind {
        RecordingKind::Audio => limits.max_audio_bytes,
        RecordingKind::Video => limits.max_video_bytes,
    };
    if bytes.len() > max {
        return Err(MediaError::TooLarge { unit: SizeUnit::Bytes, actual: bytes.len() as u64, max: max as u64 });
    }
    let bytes = match content_type {
        "audio/mp4" | "video/mp4" | "video/quicktime" => {
            let mut out = bytes.to_vec();
            free_metadata_boxes(&mut out, 0).map_err(|e| MediaError::Corrupt(e.into()))?;
            out
        }
        "audio/mpeg" => without_id3(bytes).to_vec(),
        "audio/wav" => {
            let mut out = bytes.to_vec();
            junk_list_chunks(&mut out).map_err(|e| MediaError::Corrupt(e.into()))?;
            out
        }
        _ => bytes.to_vec(),
    };
    Ok(Recording { kind, content_type, bytes })
}

/// Boxes whose children are boxes (where metadata boxes may be found).
const CONTAINERS: [&[u8; 4]; 6] = [b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts"];
/// Boxes of metadata.
const METADATA: [&[u8; 4]; 3] = [b"udta", b"meta", b"uuid"];

/// Walks the boxes of `data` from `start` (depth-first into containers) and turns every metadata
/// box into a zeroed `free` box of the same size.
fn free_metadata_boxes(data: &mut [u8], depth: u8) -> Result<(), &'static str> {
    if depth > 8 {
        return Err("the boxes nest too deep");
    }
    let mut at = 0usize;
    while at + 8 <= data.len() {
        let size32 = u32::from_be_bytes(data[at..at + 4].try_into().expect("four bytes"));
        let (size, header) = match size32 {
            0 => (data.len() - at, 8),
            1 => {
                if at + 16 > data.len() {
                    return Err("a box's size is cut short");
                }
                let s = u64::from_be_bytes(data[at + 8..at + 16].try_into().expect("eight bytes"));
                (usize::try_from(s).map_err(|_| "a box is larger than the file")?, 16)
            }
            s => (s as usize, 8),
        };
        if size < header || at + size > data.len() {
            return Err("a box runs past the end of the file");
        }
        let kind: [u8; 4] = data[at + 4..at + 8].try_into().expect("four bytes");
        if METADATA.contains(&&kind) {
            data[at + 4..at + 8].copy_from_slice(b"free");
            data[at + header..at + size].fill(0);
        } else if CONTAINERS.contains(&&kind) {
            free_metadata_boxes(&mut data[at + header..at + size], depth + 1)?;
        }
        at += size;
    }
    Ok(())
}

/// An MP3 without its ID3v2 tag (at the start) and ID3v1 tag (the last 128 bytes).
fn without_id3(bytes: &[u8]) -> &[u8] {
    let mut b = bytes;
    if b.len() >= 10 && &b[..3] == b"ID3" {
        // The size is four 7-bit bytes; a footer adds 10 more.
        let size = b[6..10].iter().fold(0usize, |n, x| (n << 7) | usize::from(x & 0x7f));
        let footer = if b[5] & 0x10 != 0 { 10 } else { 0 };
        b = b.get(10 + size + footer..).unwrap_or_default();
    }
    if b.len() >= 128 && &b[b.len() - 128..b.len() - 125] == b"TAG" {
        b = &b[..b.len() - 128];
    }
    b
}

/// Turns every `LIST` chunk of a RIFF/WAVE file into a zeroed `JUNK` chunk.
fn junk_list_chunks(data: &mut [u8]) -> Result<(), &'static str> {
    let mut at = 12usize;
    while at + 8 <= data.len() {
        let size = u32::from_le_bytes(data[at + 4..at + 8].try_into().expect("four bytes")) as usize;
        let end = at + 8 + size + (size & 1);
        if at + 8 + size > data.len() {
            return Err("a chunk runs past the end of the file");
        }
        if &data[at..at + 4] == b"LIST" {
            data[at..at + 4].copy_from_slice(b"JUNK");
            data[at + 8..at + 8 + size].fill(0);
        }
        at = end;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend_from_slice(body);
        b
    }

    /// A small M4A: ftyp, a moov with a track and user data holding a place, and the media data.
    fn m4a() -> Vec<u8> {
        let mut ftyp = b"M4A ".to_vec();
        ftyp.extend_from_slice(&[0, 0, 0, 0]);
        ftyp.extend_from_slice(b"M4A isom");
        let place = mp4_box(b"\xa9xyz", b"+30.7453+120.4862/");
        let udta = mp4_box(b"udta", &place);
        let trak = mp4_box(b"trak", &[mp4_box(b"tkhd", &[1; 20]), mp4_box(b"udta", b"Xiaomi 14")].concat());
        let moov = mp4_box(b"moov", &[mp4_box(b"mvhd", &[2; 100]), trak, udta].concat());
        [mp4_box(b"ftyp", &ftyp), moov, mp4_box(b"mdat", &[7; 300])].concat()
    }

    #[test]
    fn an_m4a_keeps_its_sound_and_loses_its_place_and_phone() {
        let original = m4a();
        let r = process_recording(&original, None, &RecordingLimits::default()).unwrap();
        assert_eq!((r.kind, r.content_type), (RecordingKind::Audio, "audio/mp4"));
        assert_eq!(r.bytes.len(), original.len(), "same size: the media data's offsets hold");
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(!text.contains("+30.7453") && !text.contains("Xiaomi") && !text.contains("udta"), "{text}");
        assert_eq!(text.matches("free").count(), 2);
        assert!(r.bytes.ends_with(&[7; 300]), "the media data is untouched");
        // A browser's video/mp4 declared as audio is a voice note; as video, a video.
        let v = process_recording(&original, Some("video/mp4"), &RecordingLimits::default()).unwrap();
        assert_eq!(v.kind, RecordingKind::Audio, "M4A's brand says audio whatever is declared");
    }

    #[test]
    fn a_damaged_mp4_is_refused_not_stored() {
        let mut bad = m4a();
        // The moov box claims more bytes than the file has.
        let at = bad.windows(4).position(|w| w == b"moov").unwrap() - 4;
        bad[at..at + 4].copy_from_slice(&10_000u32.to_be_bytes());
        let e = process_recording(&bad, None, &RecordingLimits::default()).unwrap_err();
        assert!(matches!(e, MediaError::Corrupt(_)), "{e}");
    }

    #[test]
    fn an_mp3_loses_its_id3_tags_and_a_wav_its_info() {
        let mut mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x0aTIT2owner!".to_vec();
        mp3.extend_from_slice(&[0xff, 0xfb, 0x90, 0x64]);
        mp3.extend_from_slice(&[0x55; 400]);
        let mut tag = b"TAGLi Ming".to_vec();
        tag.resize(128, b' ');
        mp3.extend_from_slice(&tag);
        let r = process_recording(&mp3, None, &RecordingLimits::default()).unwrap();
        assert_eq!(r.content_type, "audio/mpeg");
        assert_eq!(&r.bytes[..2], &[0xff, 0xfb]);
        assert_eq!(r.bytes.len(), 404);

        let mut wav = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        wav.extend_from_slice(&16u32.to_le_bytes());
        wav.extend_from_slice(&[1, 0, 1, 0, 0x40, 0x1f, 0, 0, 0x80, 0x3e, 0, 0, 2, 0, 16, 0]);
        wav.extend_from_slice(b"LIST");
        wav.extend_from_slice(&18u32.to_le_bytes());
        wav.extend_from_slice(b"INFOIART\x06\0\0\0LiMing");
        wav.extend_from_slice(b"data");
        wav.extend_from_slice(&4u32.to_le_bytes());
        wav.extend_from_slice(&[1, 2, 3, 4]);
        let r = process_recording(&wav, None, &RecordingLimits::default()).unwrap();
        assert_eq!(r.content_type, "audio/wav");
        let text = String::from_utf8_lossy(&r.bytes);
        assert!(!text.contains("LiMing") && text.contains("JUNK"), "{text}");
        assert!(r.bytes.ends_with(&[1, 2, 3, 4]));
    }

    #[test]
    fn other_files_and_oversized_recordings_are_refused() {
        assert!(matches!(
            process_recording(b"#!AMR\n\x3c\x00", None, &RecordingLimits::default()),
            Err(MediaError::NotARecording)
        ));
        assert!(matches!(
            process_recording(b"hello", None, &RecordingLimits::default()),
            Err(MediaError::NotARecording)
        ));
        let small = RecordingLimits { max_audio_bytes: 100, max_video_bytes: 100 };
        assert!(matches!(process_recording(&m4a(), None, &small), Err(MediaError::TooLarge { .. })));
        assert!(is_recording(&m4a()) && !is_recording(b"\xff\xd8\xff\xe0"));
    }
}
