//! `[videos]` of momo's config: uploads, storage, processing and the feed.

use serde::{Deserialize, Serialize};

/// `[videos]`: short videos: uploads, storage and processing.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default)]
pub struct VideoSettings {
    /// Largest upload accepted, in bytes (default 500 MB); checked while the file streams
    /// in, so an oversized upload is stopped (413) without being stored.
    pub max_upload_bytes: u64,
    /// Longest video accepted, in seconds; longer ones fail processing (`too_long`).
    pub max_duration_secs: u64,
    /// How long an unfinished resumable upload is kept, in seconds.
    pub upload_ttl_secs: u64,
    /// Storage one user's videos and unfinished uploads may take, in bytes (413
    /// `quota_exceeded` past it); 0: no quota.
    pub user_quota_bytes: u64,
    /// Smallest chunk of a resumable upload, except its last, in bytes: each chunk is
    /// a stored object until the upload completes, so 1-byte chunks are refused.
    pub min_chunk_bytes: u64,
    /// The ffprobe and ffmpeg programs that processing runs.
    pub ffprobe: String,
    pub ffmpeg: String,
    /// Where video files are kept: empty for the data dir's `files/` folder, or an
    /// `s3://bucket` URL (S3 or any S3-compatible store, set up with the `s3_*` keys).
    pub storage_url: String,
    /// Endpoint of an S3-compatible store, e.g. `http://127.0.0.1:9000`; empty for AWS.
    pub s3_endpoint: String,
    pub s3_region: String,
    pub s3_access_key_id: String,
    #[serde(skip_serializing)]
    pub s3_secret_access_key: String,
    /// How many of the best-scored videos each node keeps in memory for the recommended
    /// feed (a scroll past them reads the index); 0 reads the index for every page.
    pub feed_snapshot_size: i64,
    /// How often that list is read again, in milliseconds: a like or a new video moves
    /// in the feed within this.
    pub feed_snapshot_ms: u64,
    /// The data dir's `files/` folder (set when the node starts).
    #[serde(skip)]
    pub files_dir: std::path::PathBuf,
    /// Scratch space for processing (set when the node starts: the data dir's `tmp/`).
    #[serde(skip)]
    pub work_dir: std::path::PathBuf,
}

impl Default for VideoSettings {
    fn default() -> Self {
        Self {
            max_upload_bytes: 500 * 1024 * 1024,
            max_duration_secs: 15 * 60,
            upload_ttl_secs: 24 * 3600,
            user_quota_bytes: 10 * 1024 * 1024 * 1024,
            min_chunk_bytes: 256 * 1024,
            ffprobe: "ffprobe".into(),
            ffmpeg: "ffmpeg".into(),
            storage_url: String::new(),
            s3_endpoint: String::new(),
            s3_region: "us-east-1".into(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: String::new(),
            feed_snapshot_size: 5_000,
            feed_snapshot_ms: 2_000,
            files_dir: std::path::PathBuf::from("./data/files"),
            work_dir: std::path::PathBuf::from("./data/tmp"),
        }
    }
}
