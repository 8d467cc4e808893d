//! Writing AMF0 values.
//!
//! Encoding cannot fail: a [`Value::String`] too long for the 16-bit length is written as
//! a long string, and an object key longer than 65535 bytes (which no peer sends and
//! which the format cannot carry) is cut at a character boundary.

use bytes::{BufMut, Bytes, BytesMut};

use super::Value;

/// Appends `value` to `out`.
pub fn encode(value: &Value, out: &mut BytesMut) {
    match value {
        Value::Number(n) => {
            out.put_u8(0x00);
            out.put_f64(*n);
        }
        Value::Boolean(b) => {
            out.put_u8(0x01);
            out.put_u8(u8::from(*b));
        }
        Value::String(s) => put_string_value(s, out),
        Value::Object(props) => {
            out.put_u8(0x03);
            put_properties(props, out);
        }
        Value::Null => out.put_u8(0x05),
        Value::Undefined => out.put_u8(0x06),
        Value::EcmaArray(props) => {
            out.put_u8(0x08);
            out.put_u32(u32::try_from(props.len()).unwrap_or(u32::MAX));
            put_properties(props, out);
        }
        Value::StrictArray(items) => {
            out.put_u8(0x0A);
            // A Vec longer than u32::MAX cannot exist in practice: it would need 4G values.
            out.put_u32(u32::try_from(items.len()).unwrap_or(u32::MAX));
            for item in items {
                encode(item, out);
            }
        }
        Value::Date { millis, timezone } => {
            out.put_u8(0x0B);
            out.put_f64(*millis);
            out.put_i16(*timezone);
        }
        Value::LongString(s) => put_long_string(s, out),
    }
}

/// Appends each value in turn: the shape of a command or data message body.
pub fn encode_all(values: &[Value], out: &mut BytesMut) {
    for value in values {
        encode(value, out);
    }
}

/// Encodes a sequence of values into a fresh buffer, for building one message body.
pub fn to_bytes(values: &[Value]) -> Bytes {
    let mut out = BytesMut::new();
    encode_all(values, &mut out);
    out.freeze()
}

fn put_string_value(s: &str, out: &mut BytesMut) {
    match u16::try_from(s.len()) {
        Ok(len) => {
            out.put_u8(0x02);
            out.put_u16(len);
            out.put_slice(s.as_bytes());
        }
        Err(_) => put_long_string(s, out),
    }
}

fn put_long_string(s: &str, out: &mut BytesMut) {
    // Strings beyond 4 GiB cannot be sent in an RTMP message (16 MiB at most) anyway.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.put_u8(0x0C);
    out.put_u32(len);
    out.put_slice(&s.as_bytes()[..len as usize]);
}

fn put_properties(props: &[(String, Value)], out: &mut BytesMut) {
    for (key, value) in props {
        let key = cut_to_u16(key);
        out.put_u16(key.len() as u16);
        out.put_slice(key.as_bytes());
        encode(value, out);
    }
    out.put_slice(&[0, 0, 0x09]);
}

fn cut_to_u16(s: &str) -> &str {
    let mut end = s.len().min(usize::from(u16::MAX));
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::super::decode_all;
    use super::*;

    fn sample() -> Vec<Value> {
        vec![
            Value::String("connect".into()),
            Value::Number(1.0),
            Value::Object(vec![
                ("app".into(), Value::String("live".into())),
                ("flashVer".into(), Value::String("FMLE/3.0".into())),
                ("audioCodecs".into(), Value::Number(3191.0)),
                ("fpad".into(), Value::Boolean(false)),
            ]),
            Value::Null,
            Value::Undefined,
            Value::EcmaArray(vec![("duration".into(), Value::Number(0.0))]),
            Value::StrictArray(vec![Value::Number(1.0), Value::Null]),
            Value::Date {
                millis: 1.7e12,
                timezone: 0,
            },
            Value::LongString("long".into()),
        ]
    }

    #[test]
    fn what_is_encoded_decodes_to_the_same_values() {
        let values = sample();
        assert_eq!(decode_all(&to_bytes(&values)).unwrap(), values);
    }

    #[test]
    fn command_name_is_written_as_a_short_string() {
        let bytes = to_bytes(&[Value::String("play".into())]);
        assert_eq!(&bytes[..], &[0x02, 0, 4, b'p', b'l', b'a', b'y']);
    }

    #[test]
    fn string_too_long_for_sixteen_bits_becomes_a_long_string() {
        let long = "a".repeat(70_000);
        let bytes = to_bytes(&[Value::String(long.clone())]);
        assert_eq!(bytes[0], 0x0C);
        assert_eq!(decode_all(&bytes).unwrap(), vec![Value::LongString(long)]);
    }

    #[test]
    fn overlong_key_is_cut_at_a_char_boundary() {
        let key = "é".repeat(40_000); // 80,000 bytes
        let bytes = to_bytes(&[Value::Object(vec![(key, Value::Null)])]);
        let decoded = decode_all(&bytes).unwrap();
        let (k, _) = &decoded[0].properties().unwrap()[0];
        assert_eq!(k.len(), 65_534);
    }
}
