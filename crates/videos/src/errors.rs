//! The videos context's refusals: uploads, the feed, comments and reports.
//!
//! Each refusal is declared once, with its status, its code and its usual message.

kit::error_codes! {
    /// The videos context's refusals: uploads, the feed, comments and reports.
    pub enum VideoError {
        InvalidStatus = (BAD_REQUEST, "invalid_status", "status must be processing, ready, failed or deleted"),
        AlreadyReported = (CONFLICT, "already_reported", "your report of this is still waiting for a decision"),
        Blocked = (FORBIDDEN, "blocked", "you and this video's author block one another"),
        ChunkTooSmall = (BAD_REQUEST, "chunk_too_small", "chunk too small"),
        CommentNotFound = (NOT_FOUND, "comment_not_found", "no such comment"),
        CommentTooLong = (UNPROCESSABLE_ENTITY, "comment_too_long", "comment too long"),
        DescriptionTooLong = (BAD_REQUEST, "description_too_long", "description too long"),
        EmptyFile = (BAD_REQUEST, "empty_file", "the file is empty"),
        FieldTooLong = (BAD_REQUEST, "field_too_long", "field too long"),
        FileMissing = (BAD_REQUEST, "file_missing", "the form has no `file` field with the video"),
        FileNotFound = (NOT_FOUND, "file_not_found", "no such file"),
        FileTooLarge = (PAYLOAD_TOO_LARGE, "file_too_large", "file too large"),
        InvalidFilename = (BAD_REQUEST, "invalid_filename", "the file name must be a plain name, without folders or control characters"),
        InvalidHashtag = (BAD_REQUEST, "invalid_hashtag", "a hashtag is 1 to 32 letters, digits or `_`"),
        InvalidKind = (BAD_REQUEST, "invalid_kind", "kind must be `recommended` or `following`"),
        InvalidLength = (BAD_REQUEST, "invalid_length", "length must be at least 1 byte"),
        InvalidMultipart = (BAD_REQUEST, "invalid_multipart", "invalid multipart"),
        InvalidOrder = (BAD_REQUEST, "invalid_order", "order must be `newest` or `oldest`"),
        InvalidText = (BAD_REQUEST, "invalid_text", "form fields must be UTF-8"),
        InvalidVisibility = (BAD_REQUEST, "invalid_visibility", "visibility is public, followers or private"),
        NotAVideo = (UNSUPPORTED_MEDIA_TYPE, "not_a_video", "the file is not a video (MP4, MOV, WebM, MKV, FLV, AVI, TS, …)"),
        NotCommentAuthor = (FORBIDDEN, "not_comment_author", "only the comment's author, the video's author or an admin may delete it"),
        NotVideoAuthor = (FORBIDDEN, "not_video_author", "only the author may do this"),
        OffsetMismatch = (CONFLICT, "offset_mismatch", "offset mismatch"),
        PastDeclaredLength = (PAYLOAD_TOO_LARGE, "past_declared_length", "past declared length"),
        QuotaExceeded = (PAYLOAD_TOO_LARGE, "quota_exceeded", "quota exceeded"),
        RangeNotSatisfiable = (RANGE_NOT_SATISFIABLE, "range_not_satisfiable", "range not satisfiable"),
        TargetNotFound = (NOT_FOUND, "target_not_found", "nothing to report there"),
        TitleTooLong = (BAD_REQUEST, "title_too_long", "title too long"),
        TooManyFiles = (BAD_REQUEST, "too_many_files", "send one `file`"),
        TooManyUploads = (CONFLICT, "too_many_uploads", "too many uploads"),
        UploadComplete = (CONFLICT, "upload_complete", "this upload is already complete"),
        UploadNotFound = (NOT_FOUND, "upload_not_found", "no such upload of yours"),
        UploadOffsetMissing = (BAD_REQUEST, "upload_offset_missing", "send the `Upload-Offset` header: the bytes already received"),
        UploadStalled = (REQUEST_TIMEOUT, "upload_stalled", "upload stalled"),
        VideoNotFound = (NOT_FOUND, "video_not_found", "no such video"),
    }
}

api::from_codes!(VideoError);
