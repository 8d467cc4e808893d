//! Data messages (type 18) from a publisher: `@setDataFrame` and `onMetaData`.
//!
//! Encoders send their metadata as `@setDataFrame, "onMetaData", {…}`: an instruction to
//! the server to keep the frame and give it to players. Players expect the inner part,
//! `"onMetaData", {…}`, which is also what an FLV file's script tag holds. Unwrapping is
//! a slice of the original bytes, not a re-encode, so what the encoder wrote reaches
//! players unchanged.

use bytes::{Bytes, BytesMut};

use crate::amf0::{self, Value};

/// The instruction encoders wrap metadata in.
pub const SET_DATA_FRAME: &str = "@setDataFrame";

/// The name of the metadata a player reads.
pub const ON_METADATA: &str = "onMetaData";

/// The body without a leading `@setDataFrame` string, or the body unchanged if it does
/// not start with one (or is not AMF0 at all).
pub fn unwrap_set_data_frame(body: Bytes) -> Bytes {
    let mut rest = &body[..];
    match amf0::decode(&mut rest) {
        Ok(Value::String(name)) if name == SET_DATA_FRAME => {
            let start = body.len() - rest.len();
            body.slice(start..)
        }
        _ => body,
    }
}

/// The body with a leading `@setDataFrame` string, as encoders send metadata: the
/// inverse of [`unwrap_set_data_frame`], for momo's own publisher
/// ([`ClientSession`](super::client::ClientSession)). A body already wrapped is returned
/// unchanged. Costs one copy of the body, which only script frames pay.
pub fn wrap_set_data_frame(body: &Bytes) -> Bytes {
    let prefix = set_data_frame_prefix();
    if body.starts_with(&prefix) {
        return body.clone();
    }
    let mut out = BytesMut::with_capacity(prefix.len() + body.len());
    out.extend_from_slice(&prefix);
    out.extend_from_slice(body);
    out.freeze()
}

/// `@setDataFrame` as an AMF0 string value: marker, 16-bit length, text.
fn set_data_frame_prefix() -> [u8; 3 + SET_DATA_FRAME.len()] {
    let mut prefix = [0u8; 3 + SET_DATA_FRAME.len()];
    prefix[0] = 0x02;
    prefix[2] = SET_DATA_FRAME.len() as u8;
    prefix[3..].copy_from_slice(SET_DATA_FRAME.as_bytes());
    prefix
}

/// The metadata properties of an `onMetaData` body (wrapped in `@setDataFrame` or not):
/// width, height, codecs, frame rate … as the encoder wrote them. `None` if the body is
/// some other data message.
pub fn metadata(body: &[u8]) -> Option<Vec<(String, Value)>> {
    let mut input = body;
    let mut name = amf0::decode(&mut input).ok()?;
    if name.as_str() == Some(SET_DATA_FRAME) {
        name = amf0::decode(&mut input).ok()?;
    }
    if name.as_str() != Some(ON_METADATA) {
        return None;
    }
    match amf0::decode(&mut input).ok()? {
        Value::Object(p) | Value::EcmaArray(p) => Some(p),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amf0::to_bytes;

    fn meta() -> Value {
        Value::EcmaArray(vec![
            ("width".into(), Value::Number(1280.0)),
            ("height".into(), Value::Number(720.0)),
        ])
    }

    #[test]
    fn set_data_frame_is_unwrapped_to_on_metadata() {
        let inner = to_bytes(&[Value::String(ON_METADATA.into()), meta()]);
        let wrapped = to_bytes(&[
            Value::String(SET_DATA_FRAME.into()),
            Value::String(ON_METADATA.into()),
            meta(),
        ]);
        assert_eq!(unwrap_set_data_frame(wrapped), inner);
    }

    #[test]
    fn wrapping_is_what_encoders_send_and_unwrapping_undoes_it() {
        let inner = to_bytes(&[Value::String(ON_METADATA.into()), meta()]);
        let wrapped = to_bytes(&[
            Value::String(SET_DATA_FRAME.into()),
            Value::String(ON_METADATA.into()),
            meta(),
        ]);
        assert_eq!(wrap_set_data_frame(&inner), wrapped);
        assert_eq!(wrap_set_data_frame(&wrapped), wrapped, "not wrapped twice");
        assert_eq!(unwrap_set_data_frame(wrap_set_data_frame(&inner)), inner);
    }

    #[test]
    fn other_data_is_left_alone() {
        let inner = to_bytes(&[Value::String(ON_METADATA.into()), meta()]);
        assert_eq!(unwrap_set_data_frame(inner.clone()), inner);
        let garbage = Bytes::from_static(&[0xFF, 1, 2]);
        assert_eq!(unwrap_set_data_frame(garbage.clone()), garbage);
    }

    #[test]
    fn metadata_is_read_wrapped_or_not() {
        let wrapped = to_bytes(&[
            Value::String(SET_DATA_FRAME.into()),
            Value::String(ON_METADATA.into()),
            meta(),
        ]);
        let props = metadata(&wrapped).unwrap();
        assert_eq!(props[0], ("width".into(), Value::Number(1280.0)));
        let inner = unwrap_set_data_frame(wrapped);
        assert_eq!(metadata(&inner).unwrap().len(), 2);
        let other = to_bytes(&[Value::String("onTextData".into()), meta()]);
        assert_eq!(metadata(&other), None);
    }
}
