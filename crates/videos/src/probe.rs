//! What a file is, as ffprobe sees it, and what processing must do with it.
//!
//! [`parse`] reads `ffprobe -print_format json -show_format -show_streams`; [`plan`]
//! decides from it whether the file can be played on the web as it is (MP4 with H.264
//! and AAC, `moov` before `mdat` — checked by [`faststart`] on the file's own bytes), only
//! needs its boxes reordered (`-c copy -movflags +faststart`), or must be transcoded.

use serde::Deserialize;

/// A probed file.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    /// ffprobe's format names, e.g. `mov,mp4,m4a,3gp,3g2,mj2` or `flv`.
    pub format: String,
    pub duration_ms: i64,
    /// The first video stream, if any.
    pub video: Option<VideoStream>,
    /// The first audio stream's codec, if any.
    pub audio_codec: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VideoStream {
    pub codec: String,
    pub pix_fmt: String,
    /// As displayed: swapped when the stream is rotated by 90°.
    pub width: i64,
    pub height: i64,
}

/// Bytes a [`sniff`] wants to see (fewer when the file is shorter).
pub const SNIFF_BYTES: usize = 189;

/// Whether the first bytes of a file look like a video container: MP4/MOV/3GP (an ISO
/// box), Matroska/WebM, FLV, AVI, MPEG-TS, MPEG-PS, Ogg or ASF. A quick, early refusal
/// of what is plainly not a video; ffprobe has the last word.
pub fn sniff(head: &[u8]) -> bool {
    let at = |i: usize, sig: &[u8]| head.get(i..i + sig.len()) == Some(sig);
    let iso_box = [&b"ftyp"[..], b"moov", b"mdat", b"free", b"wide", b"skip"]
        .iter()
        .any(|kind| at(4, kind));
    iso_box
        || at(0, &[0x1A, 0x45, 0xDF, 0xA3])
        || at(0, b"FLV\x01")
        || (at(0, b"RIFF") && at(8, b"AVI "))
        || (head.len() >= 189 && head[0] == 0x47 && head[188] == 0x47)
        || at(0, &[0x00, 0x00, 0x01, 0xBA])
        || at(0, b"OggS")
        || at(0, &[0x30, 0x26, 0xB2, 0x75, 0x8E, 0x66, 0xCF, 0x11])
}

/// What to do with a probed file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plan {
    /// Web-playable already: serve the upload itself.
    AsIs,
    /// The right codecs, in the wrong container or order: copy the streams into a
    /// faststart MP4.
    Remux,
    /// Anything else: encode H.264/AAC.
    Transcode,
}

#[derive(Deserialize)]
struct Raw {
    #[serde(default)]
    streams: Vec<RawStream>,
    format: Option<RawFormat>,
}

#[derive(Deserialize)]
struct RawStream {
    codec_type: Option<String>,
    codec_name: Option<String>,
    pix_fmt: Option<String>,
    width: Option<i64>,
    height: Option<i64>,
    duration: Option<String>,
    #[serde(default)]
    side_data_list: Vec<serde_json::Value>,
    #[serde(default)]
    tags: serde_json::Map<String, serde_json::Value>,
    #[serde(default)]
    disposition: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize)]
struct RawFormat {
    format_name: Option<String>,
    duration: Option<String>,
}

/// Parses ffprobe's JSON. `None` when it is not ffprobe's JSON at all.
pub fn parse(json: &[u8]) -> Option<Probe> {
    let raw: Raw = serde_json::from_slice(json).ok()?;
    let format = raw.format.as_ref();
    let video = raw.streams.iter().find(|s| {
        s.codec_type.as_deref() == Some("video")
            // A cover picture inside an audio file is a "video" stream too; it is not a video.
            && s.disposition.get("attached_pic").and_then(|v| v.as_i64()) != Some(1)
    });
    let audio = raw
        .streams
        .iter()
        .find(|s| s.codec_type.as_deref() == Some("audio"));
    let seconds = |s: Option<&String>| {
        s.and_then(|d| d.parse::<f64>().ok())
            .filter(|d| d.is_finite() && *d >= 0.0)
    };
    let duration = seconds(format.and_then(|f| f.duration.as_ref()))
        .or_else(|| seconds(video.and_then(|v| v.duration.as_ref())))
        .unwrap_or(0.0);
    Some(Probe {
        format: format
            .and_then(|f| f.format_name.clone())
            .unwrap_or_default(),
        duration_ms: (duration * 1000.0).round() as i64,
        video: video.map(|v| {
            let (w, h) = (v.width.unwrap_or(0), v.height.unwrap_or(0));
            let (width, height) = if rotated_sideways(v) { (h, w) } else { (w, h) };
            VideoStream {
                codec: v.codec_name.clone().unwrap_or_default(),
                pix_fmt: v.pix_fmt.clone().unwrap_or_default(),
                width,
                height,
            }
        }),
        audio_codec: audio.map(|a| a.codec_name.clone().unwrap_or_default()),
    })
}

/// Whether a phone recorded the stream sideways (rotation ±90° in side data or tags).
fn rotated_sideways(s: &RawStream) -> bool {
    let from_side = s
        .side_data_list
        .iter()
        .filter_map(|d| d.get("rotation").and_then(|r| r.as_f64()));
    let from_tag = s
        .tags
        .get("rotate")
        .and_then(|r| r.as_str())
        .and_then(|r| r.parse::<f64>().ok());
    from_side
        .chain(from_tag)
        .any(|deg| (deg.abs() as i64) % 180 == 90)
}

/// What processing must do with `probe`; `faststart` is [`faststart`] of the file.
pub fn plan(probe: &Probe, faststart: bool) -> Plan {
    let Some(video) = &probe.video else {
        return Plan::Transcode;
    };
    let codecs_ok = video.codec == "h264"
        && (video.pix_fmt.is_empty() || video.pix_fmt == "yuv420p" || video.pix_fmt == "yuvj420p")
        && matches!(probe.audio_codec.as_deref(), None | Some("aac"));
    let is_mp4 = probe.format.split(',').any(|f| f == "mp4");
    match (codecs_ok, is_mp4 && faststart) {
        (true, true) => Plan::AsIs,
        (true, false) => Plan::Remux,
        (false, _) => Plan::Transcode,
    }
}

/// Whether an MP4 file's `moov` box comes before its `mdat`, from its first bytes (a
/// player can then start before the whole file arrives). Reads box headers only:
/// `size:u32 type:[u8;4]`, `size == 1` → a 64-bit size follows, `size == 0` → the box
/// runs to the end. `head` is the start of the file; boxes are skipped by their sizes,
/// so `head` must reach the `moov` or `mdat` box header (`offset_of_next` asks for more).
pub fn faststart(head: &[u8]) -> Faststart {
    let mut at: u64 = 0;
    loop {
        let Some(header) = usize::try_from(at)
            .ok()
            .and_then(|i| head.get(i..i.checked_add(8)?))
        else {
            return Faststart::NeedFrom(at);
        };
        let size32 = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as u64;
        let kind = &header[4..8];
        match kind {
            b"moov" => return Faststart::Yes,
            b"mdat" => return Faststart::No,
            _ => {}
        }
        let size = match size32 {
            0 => return Faststart::No, // runs to the end and no moov before it
            1 => {
                let i = at as usize + 8;
                let Some(large) = head.get(i..i + 8) else {
                    return Faststart::NeedFrom(at);
                };
                let mut b = [0u8; 8];
                b.copy_from_slice(large);
                u64::from_be_bytes(b)
            }
            n => n,
        };
        if !(8..=1 << 62).contains(&size) {
            return Faststart::No; // not a box: not an MP4 we can vouch for
        }
        at = match at.checked_add(size) {
            Some(next) => next,
            None => return Faststart::No,
        };
    }
}

/// The answer of [`faststart`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Faststart {
    Yes,
    No,
    /// Read the file again from this offset (the boxes before it were skipped).
    NeedFrom(u64),
}

/// [`faststart`] over a whole file, reading only box headers.
pub fn faststart_file(path: &std::path::Path) -> std::io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(path)?;
    let mut base = 0u64;
    // At most a few dozen top-level boxes precede moov or mdat in any real file.
    for _ in 0..64 {
        let mut head = [0u8; 16];
        file.seek(SeekFrom::Start(base))?;
        let n = file.read(&mut head)?;
        match faststart(&head[..n]) {
            Faststart::Yes => return Ok(true),
            Faststart::No => return Ok(false),
            Faststart::NeedFrom(0) => return Ok(false), // not even one box header
            Faststart::NeedFrom(at) => match base.checked_add(at) {
                Some(next) => base = next,
                None => return Ok(false),
            },
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn boxed(kind: &[u8; 4], body: usize) -> Vec<u8> {
        let mut b = ((8 + body) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.resize(8 + body, 0);
        b
    }

    #[test]
    fn containers_are_sniffed_and_other_files_are_not() {
        assert!(sniff(&boxed(b"ftyp", 16)));
        assert!(sniff(b"FLV\x01\x05\0\0\0\x09"));
        assert!(sniff(&[0x1A, 0x45, 0xDF, 0xA3, 1, 2]));
        let mut ts = vec![0u8; 376];
        ts[0] = 0x47;
        ts[188] = 0x47;
        assert!(sniff(&ts));
        assert!(!sniff(&ts[..100]));
        assert!(!sniff(b"%PDF-1.7 hello"));
        assert!(!sniff(b"\x89PNG\r\n\x1a\n"));
        assert!(!sniff(b""));
        assert!(!sniff(b"ftyp"));
    }

    #[test]
    fn moov_first_is_faststart_and_mdat_first_is_not() {
        let mut fast = boxed(b"ftyp", 16);
        fast.extend(boxed(b"moov", 40));
        fast.extend(boxed(b"mdat", 100));
        assert_eq!(faststart(&fast), Faststart::Yes);
        let mut slow = boxed(b"ftyp", 16);
        slow.extend(boxed(b"mdat", 100));
        slow.extend(boxed(b"moov", 40));
        assert_eq!(faststart(&slow), Faststart::No);
        assert_eq!(faststart(&slow[..6]), Faststart::NeedFrom(0));
        assert_eq!(faststart(&slow[..10]), Faststart::NeedFrom(24));
        assert_eq!(faststart(&fast[..24]), Faststart::NeedFrom(24));
    }

    #[test]
    fn malformed_boxes_are_not_faststart_and_never_panic() {
        assert_eq!(faststart(b"\0\0\0\x04ftyp"), Faststart::No);
        assert_eq!(
            faststart(b"\0\0\0\x01ftyp\xff\xff\xff\xff\xff\xff\xff\xff"),
            Faststart::No
        );
        assert_eq!(faststart(b"\0\0\0\0free"), Faststart::No);
        assert_eq!(faststart(b"garbage"), Faststart::NeedFrom(0));
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"not an mp4 at all, just text").unwrap();
        assert!(!faststart_file(&p).unwrap());
        let mut fast = boxed(b"ftyp", 16);
        fast.extend(boxed(b"free", 1000));
        fast.extend(boxed(b"moov", 40));
        std::fs::write(&p, &fast).unwrap();
        assert!(faststart_file(&p).unwrap());
    }

    const PHONE: &str = r#"{"streams":[
        {"codec_type":"video","codec_name":"h264","pix_fmt":"yuv420p","width":1920,"height":1080,
         "side_data_list":[{"side_data_type":"Display Matrix","rotation":-90}]},
        {"codec_type":"audio","codec_name":"aac"}],
        "format":{"format_name":"mov,mp4,m4a,3gp,3g2,mj2","duration":"12.345"}}"#;

    #[test]
    fn a_phone_video_is_read_upright_and_played_as_is_when_faststart() {
        let p = parse(PHONE.as_bytes()).unwrap();
        assert_eq!(p.duration_ms, 12_345);
        let v = p.video.as_ref().unwrap();
        assert_eq!((v.width, v.height), (1080, 1920));
        assert_eq!(plan(&p, true), Plan::AsIs);
        assert_eq!(plan(&p, false), Plan::Remux);
    }

    #[test]
    fn other_codecs_and_containers_are_transcoded() {
        let flv = r#"{"streams":[{"codec_type":"video","codec_name":"h264","width":640,"height":360},
            {"codec_type":"audio","codec_name":"aac"}],"format":{"format_name":"flv","duration":"5"}}"#;
        assert_eq!(plan(&parse(flv.as_bytes()).unwrap(), false), Plan::Remux);
        let hevc = PHONE.replace("h264", "hevc");
        assert_eq!(
            plan(&parse(hevc.as_bytes()).unwrap(), true),
            Plan::Transcode
        );
        let mp3 = PHONE.replace("\"aac\"", "\"mp3\"");
        assert_eq!(plan(&parse(mp3.as_bytes()).unwrap(), true), Plan::Transcode);
    }

    #[test]
    fn audio_with_cover_art_has_no_video() {
        let song = r#"{"streams":[{"codec_type":"audio","codec_name":"mp3"},
            {"codec_type":"video","codec_name":"mjpeg","disposition":{"attached_pic":1}}],
            "format":{"format_name":"mp3","duration":"200.0"}}"#;
        assert_eq!(parse(song.as_bytes()).unwrap().video, None);
        assert_eq!(parse(b"not json"), None);
        assert_eq!(parse(b"{}").unwrap().duration_ms, 0);
    }
}
