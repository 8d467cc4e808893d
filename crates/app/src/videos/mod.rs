//! Short videos: uploads (in one request, or resumable in chunks), processing (probe,
//! cover, a web-playable MP4) as jobs, the files served with range requests, the feed,
//! engagement (likes, favourites, comments, views, shares), search, replays of recorded
//! live sessions, and reports that admins work through.

pub mod model;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
}
