//! Short videos: uploads (in one request, or resumable in chunks), processing (probe,
//! cover, a web-playable MP4) as jobs, the files served with range requests, the feed,
//! engagement (likes, favourites, comments, views, shares), search, replays of recorded
//! live sessions, and reports that admins work through.

pub mod access;
pub mod admin;
pub mod comment_like;
pub mod comments;
pub mod create;
pub mod delete;
pub mod delete_comment;
pub mod errors;
pub mod favorite;
pub mod feed;
pub mod files;
pub mod get;
pub mod graph_changes;
pub mod like;
pub mod lists;
pub mod model;
pub mod probe;
pub mod process;
pub mod purge;
pub mod quota;
pub mod replays;
pub mod replies;
pub mod reports;
pub mod resumable;
pub mod runtime;
pub mod search;
pub mod share;
pub mod storage;
pub mod update;
pub mod upload_multipart;
pub mod views;

mod settings;
mod state;

pub use settings::VideoSettings;
pub use state::{Parts, VideosState};

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use rand::RngCore;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

/// Starts this node's subscribers of the videos context: replays of streams on this
/// node, and the feed's cached graphs following the social graph.
pub async fn listen(
    state: &VideosState,
) -> Result<Vec<tokio::task::JoinHandle<()>>, bus::BusError> {
    Ok(vec![
        replays::follow(state).await?,
        graph_changes::follow(state).await?,
    ])
}

/// The context's routes, for any state that holds a [`VideosState`] and what the
/// shared extractors read (the caller through [`Directory`], the client's address).
pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    VideosState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    // Uploads stream to storage with their own limit ([videos] max_upload_bytes),
    // checked chunk by chunk; the API's small JSON body limit does not apply to them.
    let uploads = OpenApiRouter::new()
        .routes(routes!(upload_multipart::upload))
        .layer(DefaultBodyLimit::disable());
    OpenApiRouter::new()
        .merge(uploads)
        .routes(routes!(resumable::start))
        .routes(routes!(
            resumable::status,
            resumable::append,
            resumable::cancel
        ))
        .route("/files/{*key}", get(files::serve))
        .routes(routes!(
            get::get_video,
            update::update_video,
            delete::delete_video
        ))
        .routes(routes!(feed::feed))
        .routes(routes!(search::search))
        .routes(routes!(lists::user_videos))
        .routes(routes!(lists::hashtag_videos))
        .routes(routes!(lists::my_favorites))
        .routes(routes!(like::like, like::unlike))
        .routes(routes!(favorite::favorite, favorite::unfavorite))
        .routes(routes!(views::view))
        .routes(routes!(share::share))
        .routes(routes!(comments::list_comments, comments::post_comment))
        .routes(routes!(replies::list_replies, replies::post_reply))
        .routes(routes!(delete_comment::delete_comment))
        .routes(routes!(
            comment_like::like_comment,
            comment_like::unlike_comment
        ))
        .routes(routes!(reports::report))
        .routes(routes!(admin::list_videos))
        .routes(routes!(admin::hide_video))
        .routes(routes!(admin::unhide_video))
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
