//! Reading AMF0 values from untrusted bytes.
//!
//! Every read checks the remaining input first, and nothing is allocated ahead of the
//! bytes that justify it: a string's buffer is allocated only once its bytes are known to
//! be there, and arrays and objects grow with the elements actually read, never with a
//! count a peer announced. Each byte of input is thus paid for at most once, so a value
//! costs a small multiple of its encoded size. Recursion is bounded by [`MAX_DEPTH`].

use super::{Amf0Error, Value, MAX_DEPTH};

const NUMBER: u8 = 0x00;
const BOOLEAN: u8 = 0x01;
const STRING: u8 = 0x02;
const OBJECT: u8 = 0x03;
const NULL: u8 = 0x05;
const UNDEFINED: u8 = 0x06;
const ECMA_ARRAY: u8 = 0x08;
const OBJECT_END: u8 = 0x09;
const STRICT_ARRAY: u8 = 0x0A;
const DATE: u8 = 0x0B;
const LONG_STRING: u8 = 0x0C;

/// Decodes one value from the front of `input` and advances `input` past it.
///
/// On error `input` is left somewhere inside the bad value; callers give up on the
/// message rather than resynchronise, since AMF0 has no way to find the next value.
pub fn decode(input: &mut &[u8]) -> Result<Value, Amf0Error> {
    decode_value(input, 0)
}

/// Decodes values until the input is used up: an RTMP command or data message body is
/// a plain sequence of AMF0 values with no count in front.
pub fn decode_all(mut input: &[u8]) -> Result<Vec<Value>, Amf0Error> {
    let mut values = Vec::new();
    while !input.is_empty() {
        values.push(decode(&mut input)?);
    }
    Ok(values)
}

fn decode_value(input: &mut &[u8], depth: usize) -> Result<Value, Amf0Error> {
    if depth >= MAX_DEPTH {
        return Err(Amf0Error::TooDeep);
    }
    let marker = take_u8(input)?;
    match marker {
        NUMBER => Ok(Value::Number(take_f64(input)?)),
        BOOLEAN => Ok(Value::Boolean(take_u8(input)? != 0)),
        STRING => {
            let len = usize::from(take_u16(input)?);
            Ok(Value::String(take_string(input, len)?))
        }
        OBJECT => Ok(Value::Object(decode_properties(input, depth)?)),
        NULL => Ok(Value::Null),
        UNDEFINED => Ok(Value::Undefined),
        ECMA_ARRAY => {
            // The count is a hint that encoders get wrong; the end marker is what counts.
            take_u32(input)?;
            Ok(Value::EcmaArray(decode_properties(input, depth)?))
        }
        OBJECT_END => Err(Amf0Error::UnexpectedObjectEnd),
        STRICT_ARRAY => {
            let count = take_u32(input)? as usize;
            // Each element is at least one byte (its marker), so a count larger than the
            // input left is a lie.
            if count > input.len() {
                return Err(Amf0Error::Truncated);
            }
            // Grow with the elements actually read rather than trust the count: nested
            // arrays each claiming the rest of the input would otherwise reserve it once
            // per level before failing.
            let mut items = Vec::with_capacity(count.min(16));
            for _ in 0..count {
                items.push(decode_value(input, depth + 1)?);
            }
            Ok(Value::StrictArray(items))
        }
        DATE => {
            let millis = take_f64(input)?;
            let timezone = take_u16(input)? as i16;
            Ok(Value::Date { millis, timezone })
        }
        LONG_STRING => {
            let len = take_u32(input)? as usize;
            Ok(Value::LongString(take_string(input, len)?))
        }
        other => Err(Amf0Error::UnsupportedMarker(other)),
    }
}

/// Reads `key, value` pairs up to the empty key followed by the object-end marker.
fn decode_properties(input: &mut &[u8], depth: usize) -> Result<Vec<(String, Value)>, Amf0Error> {
    let mut props = Vec::new();
    loop {
        let key_len = usize::from(take_u16(input)?);
        if key_len == 0 && input.first() == Some(&OBJECT_END) {
            *input = &input[1..];
            return Ok(props);
        }
        let key = take_string(input, key_len)?;
        let value = decode_value(input, depth + 1)?;
        props.push((key, value));
    }
}

fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], Amf0Error> {
    if input.len() < n {
        return Err(Amf0Error::Truncated);
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

fn take_u8(input: &mut &[u8]) -> Result<u8, Amf0Error> {
    Ok(take(input, 1)?[0])
}

fn take_u16(input: &mut &[u8]) -> Result<u16, Amf0Error> {
    let b = take(input, 2)?;
    Ok(u16::from_be_bytes([b[0], b[1]]))
}

fn take_u32(input: &mut &[u8]) -> Result<u32, Amf0Error> {
    let b = take(input, 4)?;
    Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn take_f64(input: &mut &[u8]) -> Result<f64, Amf0Error> {
    let b = take(input, 8)?;
    let mut raw = [0u8; 8];
    raw.copy_from_slice(b);
    Ok(f64::from_be_bytes(raw))
}

/// Strings are UTF-8 by the spec; bytes that are not (old encoders writing a local code
/// page into a stream name) are replaced rather than refused, so such a peer still gets
/// an answer it can read.
fn take_string(input: &mut &[u8], len: usize) -> Result<String, Amf0Error> {
    let bytes = take(input, len)?;
    Ok(String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_each_supported_type() {
        let mut bytes = vec![0x00];
        bytes.extend_from_slice(&1.5f64.to_be_bytes());
        bytes.extend_from_slice(&[0x01, 0x01]);
        bytes.extend_from_slice(&[0x02, 0x00, 0x02, b'h', b'i']);
        bytes.extend_from_slice(&[0x05, 0x06]);
        bytes.extend_from_slice(&[0x0C, 0, 0, 0, 1, b'x']);
        bytes.push(0x0B);
        bytes.extend_from_slice(&10.0f64.to_be_bytes());
        bytes.extend_from_slice(&[0xFF, 0xFF]);
        let values = decode_all(&bytes).unwrap();
        assert_eq!(
            values,
            vec![
                Value::Number(1.5),
                Value::Boolean(true),
                Value::String("hi".into()),
                Value::Null,
                Value::Undefined,
                Value::LongString("x".into()),
                Value::Date {
                    millis: 10.0,
                    timezone: -1
                },
            ]
        );
    }

    #[test]
    fn object_keeps_property_order() {
        let bytes = [0x03, 0, 1, b'b', 0x05, 0, 1, b'a', 0x01, 0x00, 0, 0, 0x09];
        let value = decode(&mut &bytes[..]).unwrap();
        assert_eq!(
            value,
            Value::Object(vec![
                ("b".into(), Value::Null),
                ("a".into(), Value::Boolean(false))
            ])
        );
    }

    #[test]
    fn ecma_array_count_is_only_a_hint() {
        let bytes = [0x08, 0, 0, 0, 99, 0, 1, b'k', 0x05, 0, 0, 0x09];
        let value = decode(&mut &bytes[..]).unwrap();
        assert_eq!(value, Value::EcmaArray(vec![("k".into(), Value::Null)]));
    }

    #[test]
    fn decode_advances_past_one_value_only() {
        let bytes = [0x05, 0x06];
        let mut input = &bytes[..];
        assert_eq!(decode(&mut input).unwrap(), Value::Null);
        assert_eq!(input, &[0x06]);
    }

    #[test]
    fn nesting_ten_thousand_deep_is_an_error_not_a_stack_overflow() {
        let bytes = [0x0A, 0, 0, 0, 1].repeat(10_000);
        assert_eq!(decode_all(&bytes), Err(Amf0Error::TooDeep));
        let mut objects = Vec::new();
        for _ in 0..10_000 {
            objects.extend_from_slice(&[0x03, 0, 1, b'a']);
        }
        assert_eq!(decode_all(&objects), Err(Amf0Error::TooDeep));
    }

    #[test]
    fn nesting_just_under_the_limit_decodes() {
        let mut bytes = [0x0A, 0, 0, 0, 1].repeat(MAX_DEPTH - 1);
        bytes.push(0x05);
        assert!(decode_all(&bytes).is_ok());
    }

    #[test]
    fn string_length_beyond_the_input_is_truncated_not_allocated() {
        assert_eq!(
            decode_all(&[0x02, 0xFF, 0xFF, b'a']),
            Err(Amf0Error::Truncated)
        );
        assert_eq!(
            decode_all(&[0x0C, 0xFF, 0xFF, 0xFF, 0xFF, b'a']),
            Err(Amf0Error::Truncated)
        );
    }

    #[test]
    fn strict_array_count_beyond_the_input_is_refused_before_allocating() {
        assert_eq!(
            decode_all(&[0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x05]),
            Err(Amf0Error::Truncated)
        );
    }

    #[test]
    fn nested_arrays_claiming_the_whole_input_fail_without_reserving_it() {
        // 64 levels, each announcing ~1M elements, over ~1 MiB of input: reserving by the
        // count would take 64 × 1M × size_of::<Value>() bytes before failing.
        let mut bytes = Vec::new();
        for _ in 0..MAX_DEPTH {
            bytes.extend_from_slice(&[0x0A, 0x00, 0x0F, 0xFF, 0xF0]);
        }
        bytes.resize(1 << 20, 0x05);
        assert!(decode_all(&bytes).is_err());
    }

    #[test]
    fn object_without_end_marker_is_truncated() {
        assert_eq!(
            decode_all(&[0x03, 0, 1, b'a', 0x05]),
            Err(Amf0Error::Truncated)
        );
    }

    #[test]
    fn unsupported_markers_are_refused() {
        for marker in [0x04, 0x07, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0xFF] {
            assert_eq!(
                decode_all(&[marker, 0, 0, 0, 0]),
                Err(Amf0Error::UnsupportedMarker(marker))
            );
        }
        assert_eq!(decode_all(&[0x09]), Err(Amf0Error::UnexpectedObjectEnd));
    }

    #[test]
    fn invalid_utf8_is_replaced_not_refused() {
        let value = decode(&mut &[0x02, 0, 2, b'a', 0xFF][..]).unwrap();
        assert_eq!(value, Value::String("a\u{FFFD}".into()));
    }

    #[test]
    fn truncated_number_is_an_error() {
        assert_eq!(decode_all(&[0x00, 1, 2, 3]), Err(Amf0Error::Truncated));
    }
}
