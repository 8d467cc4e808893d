//! `Body<T>`: a JSON request body, with every way it can be wrong answered precisely.
//!
//! - not `application/json` → 415 `unsupported_media_type`
//! - larger than the body limit → 413 `payload_too_large`
//! - not JSON, or not UTF-8 → 400 `malformed_json`
//! - JSON of the wrong shape (missing field, wrong type, unknown field) →
//!   422 `invalid_body`, naming the field

use std::collections::BTreeMap;

use axum::extract::{FromRequest, Request};
use axum::http::{header, StatusCode};
use bytes::Bytes;
use kit::ApiError;
use serde::de::DeserializeOwned;

use crate::http::errors::RequestError;

/// A JSON request body of type `T`.
pub struct Body<T>(pub T);

impl<S, T> FromRequest<S> for Body<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let is_json = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|m| {
                let m = m.trim();
                m.eq_ignore_ascii_case("application/json") || m.ends_with("+json")
            })
            .unwrap_or(false);
        if !is_json {
            return Err(ApiError::from(RequestError::UnsupportedMediaType));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::from_status(StatusCode::PAYLOAD_TOO_LARGE)
            } else {
                RequestError::UnreadableBody.with_message(rejection.body_text())
            }
        })?;
        parse(&bytes).map(Body)
    }
}

/// Parses a JSON document into `T`, mapping errors as the module describes.
pub fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let de = &mut serde_json::Deserializer::from_slice(bytes);
    match serde_path_to_error::deserialize::<_, T>(de) {
        Ok(v) => Ok(v),
        Err(err) => {
            let path = err.path().to_string();
            let inner = err.into_inner();
            match inner.classify() {
                serde_json::error::Category::Data => {
                    let field = if path == "." {
                        field_from_message(&inner.to_string())
                    } else {
                        path
                    };
                    let message = strip_position(&inner.to_string());
                    let mut e =
                        RequestError::InvalidBody.with_message(format!("{field}: {message}"));
                    e.fields = BTreeMap::from([(field, message)]);
                    Err(e)
                }
                _ => Err(RequestError::MalformedJson
                    .with_message(format!("the body is not valid JSON: {}", inner))),
            }
        }
    }
}

/// serde reports a missing or unknown field at the parent's path; the name is in the
/// message ("missing field `password`").
fn field_from_message(msg: &str) -> String {
    msg.split('`').nth(1).unwrap_or(".").to_string()
}

fn strip_position(msg: &str) -> String {
    match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Login {
        username: String,
        password: String,
    }

    #[test]
    fn wrong_type_names_the_field() {
        let e = parse::<Login>(br#"{"username": 5, "password": "x"}"#).unwrap_err();
        assert_eq!(e.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e.fields.contains_key("username"), "{:?}", e.fields);
    }

    #[test]
    fn missing_field_names_the_field() {
        let e = parse::<Login>(br#"{"username": "abc"}"#).unwrap_err();
        assert!(e.fields.contains_key("password"), "{:?}", e.fields);
    }

    #[test]
    fn unknown_field_is_refused() {
        let e = parse::<Login>(br#"{"username":"a","password":"b","admin":true}"#).unwrap_err();
        assert!(e.fields.contains_key("admin"), "{:?}", e.fields);
    }

    #[test]
    fn broken_json_and_bad_utf8_are_malformed() {
        assert_eq!(parse::<Login>(b"{").unwrap_err().code, "malformed_json");
        let e = parse::<Login>(b"{\"username\":\"\xff\xfe\",\"password\":\"x\"}").unwrap_err();
        assert_eq!(e.code, "malformed_json");
    }
}
