//! The `index.m3u8` text of a live stream.

use std::fmt::Write;

use super::segment::Segment;

/// What a playlist says besides its segments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaylistHeader {
    /// The configured target duration, in milliseconds: the floor of
    /// `#EXT-X-TARGETDURATION`.
    pub target_duration_ms: u64,
    /// Discontinuities that have left the playlist (`#EXT-X-DISCONTINUITY-SEQUENCE`),
    /// so players can match up discontinuities across reloads.
    pub discontinuity_sequence: u64,
    /// The publisher stopped: `#EXT-X-ENDLIST` tells players not to reload.
    pub ended: bool,
}

/// Renders a live media playlist (RFC 8216, version 3 for fractional durations).
///
/// `#EXT-X-TARGETDURATION` is the longest listed segment rounded up to whole seconds,
/// and never below the configured target, so that every `#EXTINF` fits under it.
pub fn render<'a>(
    header: &PlaylistHeader,
    segments: impl Iterator<Item = &'a Segment> + Clone,
) -> String {
    let longest = segments.clone().map(|s| s.duration_ms).max().unwrap_or(0);
    let target = longest.max(header.target_duration_ms).div_ceil(1000).max(1);
    let first = segments.clone().next().map_or(0, |s| s.sequence);

    let mut out = String::with_capacity(128 + 48 * segments.clone().count());
    // Writing to a String cannot fail; the results are ignored on that ground.
    let _ = write!(
        out,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:{target}\n#EXT-X-MEDIA-SEQUENCE:{first}\n"
    );
    if header.discontinuity_sequence > 0 {
        let _ = writeln!(
            out,
            "#EXT-X-DISCONTINUITY-SEQUENCE:{}",
            header.discontinuity_sequence
        );
    }
    for s in segments {
        if s.discontinuity {
            out.push_str("#EXT-X-DISCONTINUITY\n");
        }
        let _ = write!(
            out,
            "#EXTINF:{}.{:03},\nseg-{}.ts\n",
            s.duration_ms / 1000,
            s.duration_ms % 1000,
            s.sequence
        );
    }
    if header.ended {
        out.push_str("#EXT-X-ENDLIST\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn seg(sequence: u64, duration_ms: u64, discontinuity: bool) -> Segment {
        Segment {
            sequence,
            duration_ms,
            discontinuity,
            data: Bytes::new(),
        }
    }

    #[test]
    fn live_playlist_lists_segments_with_real_durations() {
        let segs = [
            seg(7, 2000, false),
            seg(8, 2040, false),
            seg(9, 1960, false),
        ];
        let header = PlaylistHeader {
            target_duration_ms: 2000,
            discontinuity_sequence: 0,
            ended: false,
        };
        assert_eq!(
            render(&header, segs.iter()),
            "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:3\n#EXT-X-MEDIA-SEQUENCE:7\n\
             #EXTINF:2.000,\nseg-7.ts\n#EXTINF:2.040,\nseg-8.ts\n#EXTINF:1.960,\nseg-9.ts\n"
        );
    }

    #[test]
    fn target_duration_never_drops_below_the_configured_one() {
        let segs = [seg(0, 900, false)];
        let header = PlaylistHeader {
            target_duration_ms: 2000,
            discontinuity_sequence: 0,
            ended: false,
        };
        assert!(render(&header, segs.iter()).contains("#EXT-X-TARGETDURATION:2\n"));
    }

    #[test]
    fn discontinuities_and_end_are_marked() {
        let segs = [seg(3, 2000, true), seg(4, 2000, false), seg(5, 1000, true)];
        let header = PlaylistHeader {
            target_duration_ms: 2000,
            discontinuity_sequence: 2,
            ended: true,
        };
        let text = render(&header, segs.iter());
        assert!(text.contains("#EXT-X-DISCONTINUITY-SEQUENCE:2\n"));
        assert!(text.contains("#EXT-X-DISCONTINUITY\n#EXTINF:2.000,\nseg-3.ts\n"));
        assert!(text.contains("#EXT-X-DISCONTINUITY\n#EXTINF:1.000,\nseg-5.ts\n"));
        assert!(text.ends_with("#EXT-X-ENDLIST\n"));
    }
}
