//! Short videos: uploads (in one request, or resumable in chunks), processing (probe,
//! cover, a web-playable MP4) as jobs, the files served with range requests, the feed,
//! engagement (likes, favourites, comments, views, shares), search, replays of recorded
//! live sessions, and reports that admins work through.

pub mod create;
pub mod files;
pub mod model;
pub mod probe;
pub mod process;
pub mod purge;
pub mod replays;
pub mod storage;
pub mod upload;
pub mod uploads;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use rand::RngCore;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    // Uploads stream to storage with their own limit ([videos] max_upload_bytes),
    // checked chunk by chunk; the API's small JSON body limit does not apply to them.
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload::upload))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(uploads::start))
        .routes(routes!(uploads::status, uploads::append, uploads::cancel))
        .route("/files/{*key}", get(files::serve))
}

/// Paths whose requests stream large bodies: they are exempt from the API's request
/// timeout (an upload on a slow phone takes minutes) and keep their own idle timeout.
pub fn is_streaming_upload(method: &axum::http::Method, path: &str) -> bool {
    use axum::http::Method;
    (method == Method::POST && path == "/api/v1/videos")
        || (method == Method::PATCH && path.starts_with("/api/v1/uploads/"))
}

/// A random name for stored files: 128 bits, hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}
