//! Refusals of a request's shape, shared by every route: its body, its query, its ids.
//!
//! Each refusal is declared once, with its status, its code and its usual message.

kit::error_codes! {
    /// Refusals of a request's shape, shared by every route: its body, its query, its ids.
    pub enum RequestError {
        InvalidBody = (UNPROCESSABLE_ENTITY, "invalid_body", "invalid body"),
        InvalidCursor = (BAD_REQUEST, "invalid_cursor", "the cursor is not one we gave out"),
        InvalidId = (BAD_REQUEST, "invalid_id", "the id in the path must be a positive integer"),
        InvalidLimit = (BAD_REQUEST, "invalid_limit", "limit must be between 1 and 100"),
        InvalidQuery = (BAD_REQUEST, "invalid_query", "invalid query"),
        MalformedJson = (BAD_REQUEST, "malformed_json", "malformed json"),
        NotFound = (NOT_FOUND, "not_found", "no such route"),
        UnreadableBody = (BAD_REQUEST, "unreadable_body", "unreadable body"),
        UnsupportedMediaType = (UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send the body as JSON with Content-Type: application/json"),
        ValidationFailed = (BAD_REQUEST, "validation_failed", "some fields are not valid"),
    }
}

crate::from_codes!(RequestError);
