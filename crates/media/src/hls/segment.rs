//! One finished HLS segment and its file name.

use bytes::Bytes;

/// A complete MPEG-TS segment: it starts with a PAT and PMT and, when the stream has
/// video, with a keyframe preceded by its SPS and PPS, so a player can begin with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// The media sequence number, which is also in its file name.
    pub sequence: u64,
    /// Real duration in milliseconds, from the timestamps of the frames that bound it.
    pub duration_ms: u64,
    /// The first segment after a publisher reconnected (or the timeline jumped): the
    /// playlist marks it with `#EXT-X-DISCONTINUITY` so players reset their decoders.
    pub discontinuity: bool,
    /// The TS bytes, shared with every HTTP response that serves them.
    pub data: Bytes,
}

impl Segment {
    /// The file name the playlist lists it under: `seg-{sequence}.ts`.
    pub fn name(&self) -> String {
        format!("seg-{}.ts", self.sequence)
    }
}

/// The sequence number in a segment file name, if it is one of ours.
pub fn parse_name(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("seg-")?.strip_suffix(".ts")?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let s = Segment {
            sequence: 42,
            duration_ms: 2000,
            discontinuity: false,
            data: Bytes::new(),
        };
        assert_eq!(s.name(), "seg-42.ts");
        assert_eq!(parse_name(&s.name()), Some(42));
    }

    #[test]
    fn foreign_names_are_not_segments() {
        for name in [
            "seg-.ts",
            "seg-1.ts.bak",
            "seg--1.ts",
            "seg-+1.ts",
            "index.m3u8",
            "seg-1a.ts",
            "../seg-1.ts",
            "seg-99999999999999999999999.ts",
        ] {
            assert_eq!(parse_name(name), None, "{name}");
        }
    }
}
