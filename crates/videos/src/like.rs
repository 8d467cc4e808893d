//! `POST/DELETE /api/v1/videos/{id}/like`: like a video, or take it back. Idempotent:
//! the counter moves only when a row was really inserted or deleted, in the same
//! transaction, and `hot_score` with it; a storm of likes on one video queues on the
//! video's row (or SQLite's one writer) and leaves the count exact.
//!
//! The author is notified of a new like once per liker and video while this node
//! remembers it (a day), so liking, unliking and liking again does not flood the inbox.
//! The notice is asked for in the like's transaction ([`api::notices::request_in`]).

use axum::extract::State;
use axum::Json;
use serde::Serialize;

use crate::access::{bump, visible, Counter, Viewer};
use crate::model::VideoRow;
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, IdPath};
use api::{Notification, NotificationKind};

/// The caller's mark on a video after a like, unlike, favourite or unfavourite.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Mark {
    pub video_id: i64,
    /// Whether the caller now likes (or has favourited) the video.
    pub active: bool,
    pub like_count: i64,
    pub favorite_count: i64,
}

/// A table of marks users put on videos (likes, favourites) and the counter it drives.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MarkKind {
    pub table: &'static str,
    pub counter: Counter,
    /// The notice the author gets of a new mark, if any.
    pub notice: Option<NotificationKind>,
}

pub(crate) const LIKES: MarkKind = MarkKind {
    table: "video_likes",
    counter: Counter::Likes,
    notice: Some(NotificationKind::VideoLike),
};

/// Puts (`on`) or removes the caller's mark on video `id`, and asks for the author's
/// notice of a new mark (see the module's note). Returns the video as read before, the
/// new counts, and whether anything changed.
pub(crate) async fn set_mark(
    state: &VideosState,
    auth: &Auth,
    id: i64,
    kind: MarkKind,
    on: bool,
) -> Result<(VideoRow, Mark, bool)> {
    let row = visible(state, id, Viewer::from_auth(auth)).await?;
    let table = kind.table;
    let mut tx = state.store().begin().await?;
    let changed = if on {
        sqlx::query(&format!(
            "INSERT INTO {table} (video_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (video_id, user_id) DO NOTHING"
        ))
        .bind(id)
        .bind(auth.user_id)
        .bind(kit::time::now_ms())
        .execute(&mut *tx)
        .await?
        .rows_affected()
    } else {
        sqlx::query(&format!(
            "DELETE FROM {table} WHERE video_id = $1 AND user_id = $2"
        ))
        .bind(id)
        .bind(auth.user_id)
        .execute(&mut *tx)
        .await?
        .rows_affected()
    };
    let mut mark = Mark {
        video_id: id,
        active: on,
        like_count: row.like_count,
        favorite_count: row.favorite_count,
    };
    if changed > 0 {
        let delta = if on { 1 } else { -1 };
        if let Some(c) = bump(&mut tx, id, kind.counter, delta).await? {
            mark.like_count = c.like_count;
            mark.favorite_count = c.favorite_count;
        }
    }
    let notice = match kind.notice {
        Some(notice) if on && changed > 0 && row.author_id != auth.user_id => state
            .video_runtime()
            .first_notice(notice, auth.user_id, id)
            .then_some(notice),
        _ => None,
    };
    if let Some(notice) = notice {
        let n = Notification {
            kind: notice,
            actor_id: Some(auth.user_id),
            payload: serde_json::json!({ "video_id": id, "title": row.title }),
        };
        api::notices::request_in(state.jobs(), &mut tx, row.author_id, n).await?;
    }
    tx.commit().await?;
    if notice.is_some() {
        state.jobs().wake();
    }
    Ok((row, mark, changed > 0))
}

#[utoipa::path(
    post,
    path = "/api/v1/videos/{id}/like",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Liked (also when already liked)", body = Mark),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn like(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<Mark>> {
    let (_, mark, _) = set_mark(&state, &auth, id, LIKES, true).await?;
    Ok(Json(mark))
}

#[utoipa::path(
    delete,
    path = "/api/v1/videos/{id}/like",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Not liked (also when it was not)", body = Mark),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn unlike(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
) -> Result<Json<Mark>> {
    let (_, mark, _) = set_mark(&state, &auth, id, LIKES, false).await?;
    Ok(Json(mark))
}
