//! The `Range` request header (RFC 9110 §14), for serving files in pieces: video players
//! seek by asking for byte ranges.
//!
//! Only a single range is honoured; several ranges, another unit or a header that does
//! not parse mean "send the whole file", as the RFC allows.

use std::ops::Range;

/// What to send for a file of some size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteRange {
    /// The whole file (no usable `Range`).
    Full,
    /// Only these bytes (206 Partial Content).
    Part(Range<u64>),
    /// A range wholly past the end (416, `Content-Range: bytes */size`).
    Unsatisfiable,
}

/// The range `header` asks of a file of `size` bytes.
pub fn parse(header: Option<&[u8]>, size: u64) -> ByteRange {
    let Some(spec) = header
        .and_then(|h| std::str::from_utf8(h).ok())
        .and_then(|h| h.trim().strip_prefix("bytes="))
    else {
        return ByteRange::Full;
    };
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return ByteRange::Full;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (first.trim().is_empty(), num(first), num(last)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part(size.saturating_sub(n)..size)
            }
        }
        // bytes=A- : from A to the end.
        (false, Some(a), None) if last.trim().is_empty() => {
            if a >= size {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part(a..size)
            }
        }
        // bytes=A-B: both inclusive.
        (false, Some(a), Some(b)) if a <= b => {
            if a >= size {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Part(a..b.saturating_add(1).min(size))
            }
        }
        _ => ByteRange::Full,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(h: &str, size: u64) -> ByteRange {
        parse(Some(h.as_bytes()), size)
    }

    #[test]
    fn the_three_forms_of_a_single_range() {
        assert_eq!(p("bytes=0-499", 1000), ByteRange::Part(0..500));
        assert_eq!(p("bytes=500-", 1000), ByteRange::Part(500..1000));
        assert_eq!(p("bytes=-200", 1000), ByteRange::Part(800..1000));
        assert_eq!(p("bytes=-2000", 1000), ByteRange::Part(0..1000));
        assert_eq!(p("bytes=900-5000", 1000), ByteRange::Part(900..1000));
        assert_eq!(p("bytes=0-0", 1), ByteRange::Part(0..1));
    }

    #[test]
    fn past_the_end_is_unsatisfiable() {
        assert_eq!(p("bytes=1000-", 1000), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=1000-1001", 1000), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=-0", 1000), ByteRange::Unsatisfiable);
        assert_eq!(p("bytes=-5", 0), ByteRange::Unsatisfiable);
    }

    #[test]
    fn anything_else_is_the_whole_file() {
        for h in [
            "",
            "bytes=",
            "bytes=-",
            "bytes=5-2",
            "bytes=a-b",
            "items=0-1",
            "bytes=0-1,4-5",
            "bytes=+1-2",
            "bytes=18446744073709551616-",
            "bytes=1 - 2x",
        ] {
            assert_eq!(p(h, 1000), ByteRange::Full, "{h:?}");
        }
        assert_eq!(parse(None, 10), ByteRange::Full);
        assert_eq!(parse(Some(&[0xff, 0xfe]), 10), ByteRange::Full);
        assert_eq!(
            p("bytes=0-18446744073709551615", 10),
            ByteRange::Part(0..10)
        );
    }
}
