//! Short videos: uploads (in one request, or resumable in chunks), processing (probe,
//! cover, a web-playable MP4) as jobs, the files served with range requests, the feed,
//! engagement (likes, favourites, comments, views, shares), search, replays of recorded
//! live sessions, and reports that admins work through.

pub mod access;
pub mod comment_like;
pub mod comments;
pub mod delete;
pub mod delete_comment;
pub mod favorite;
pub mod feed;
pub mod get;
pub mod like;
pub mod lists;
pub mod model;
pub mod replies;
pub mod reports;
pub mod runtime;
pub mod search;
pub mod share;
pub mod update;
pub mod views;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
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
}
