//! What every read and every engagement of a video starts with: load it for a viewer and
//! check they may see it, and the SQL that lists only what may be listed. Also the one
//! way a counter moves, so that `hot_score` follows it in the same transaction.

use kit::ApiError;
use sqlx::{Any, Transaction};

use crate::errors::VideoError;
use crate::model::{can_see, hot_score, VideoRow, VIDEO_COLUMNS, VIDEO_FROM};
use crate::VideosState;
use api::auth::Role;
use api::error::Result;
use api::http::{Auth, MaybeAuth};

/// The conditions under which a video is listed to people other than its author: ready,
/// not hidden, not deleted (the partial index `videos_feed` covers the same rows).
pub const LISTED: &str = "v.status = 'ready' AND v.hidden = 0 AND v.deleted_at IS NULL";

/// Who is looking, as the visibility rules need it.
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    /// 0 when anonymous.
    pub id: i64,
    /// Admins see everything that is not gone for good.
    pub privileged: bool,
}

impl Viewer {
    pub fn from_auth(auth: &Auth) -> Viewer {
        Viewer {
            id: auth.user_id,
            privileged: auth.role == Role::Admin,
        }
    }

    pub fn from_maybe(auth: &MaybeAuth) -> Viewer {
        match &auth.0 {
            Some(a) => Viewer::from_auth(a),
            None => Viewer {
                id: 0,
                privileged: false,
            },
        }
    }
}

fn not_found() -> ApiError {
    ApiError::from(VideoError::VideoNotFound)
}

/// The video `id` with its author and the viewer's like and favourite, whatever its
/// state; `None` when there is no such row.
pub async fn load_row(state: &VideosState, id: i64, viewer: i64) -> Result<Option<VideoRow>> {
    let row = sqlx::query_as::<_, VideoRow>(&format!(
        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} WHERE v.id = $2"
    ))
    .bind(viewer)
    .bind(id)
    .fetch_optional(state.store().pool())
    .await?;
    Ok(row)
}

/// Whether `follower` follows `followee` (identity answers, through its cache).
pub async fn follows(state: &VideosState, follower: i64, followee: i64) -> Result<bool> {
    state.directory().follows(follower, followee).await
}

/// The video `id` if `viewer` may see it; 404 `video_not_found` otherwise (a hidden,
/// deleted or private video is not admitted to exist).
pub async fn visible(state: &VideosState, id: i64, viewer: Viewer) -> Result<VideoRow> {
    let row = load_row(state, id, viewer.id)
        .await?
        .ok_or_else(not_found)?;
    let follows = row.visibility == "followers" && follows(state, viewer.id, row.author_id).await?;
    if can_see(&row, viewer.id, viewer.privileged, follows) {
        Ok(row)
    } else {
        Err(not_found().into())
    }
}

/// The video `id` for its author to change: 404 when it does not exist or is deleted,
/// 403 `not_video_author` when it is someone else's that the caller can see.
pub async fn own(state: &VideosState, id: i64, viewer: Viewer) -> Result<VideoRow> {
    let row = visible(state, id, viewer).await?;
    if row.author_id != viewer.id || row.deleted_at.is_some() {
        return Err(VideoError::NotVideoAuthor.into());
    }
    Ok(row)
}

/// A counter of a video, moved by [`bump`].
#[derive(Debug, Clone, Copy)]
pub enum Counter {
    Likes,
    Favorites,
    Comments,
    Shares,
    Views,
}

impl Counter {
    fn column(self) -> &'static str {
        match self {
            Counter::Likes => "like_count",
            Counter::Favorites => "favorite_count",
            Counter::Comments => "comment_count",
            Counter::Shares => "share_count",
            Counter::Views => "view_count",
        }
    }
}

/// The counters of a video after a change.
#[derive(Debug, Clone, Copy, sqlx::FromRow, serde::Serialize, utoipa::ToSchema)]
pub struct Counts {
    pub like_count: i64,
    pub favorite_count: i64,
    pub comment_count: i64,
    pub share_count: i64,
    pub view_count: i64,
    #[serde(skip)]
    pub created_at: i64,
}

/// Moves `counter` of video `id` by `delta` and recomputes its `hot_score`, inside the
/// caller's transaction (the row stays locked until it commits, so concurrent changes
/// queue and every count is exact). `None` when there is no such video.
pub async fn bump(
    tx: &mut Transaction<'static, Any>,
    id: i64,
    counter: Counter,
    delta: i64,
) -> Result<Option<Counts>> {
    let col = counter.column();
    let counts = sqlx::query_as::<_, Counts>(&format!(
        "UPDATE videos SET {col} = {col} + $1 WHERE id = $2 \
         RETURNING like_count, favorite_count, comment_count, share_count, view_count, created_at"
    ))
    .bind(delta)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    if let Some(c) = counts {
        sqlx::query("UPDATE videos SET hot_score = $1 WHERE id = $2")
            .bind(score_of(&c))
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(counts)
}

/// The feed's score for these counters.
pub fn score_of(c: &Counts) -> f64 {
    hot_score(
        c.like_count,
        c.comment_count,
        c.favorite_count,
        c.share_count,
        c.view_count,
        c.created_at,
    )
}

/// Whether either of `a` and `b` blocks the other.
pub async fn blocked_either_way<'e, E>(exec: E, a: i64, b: i64) -> Result<bool>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let found: Option<i64> = sqlx::query_scalar(
        "SELECT 1 FROM blocks WHERE (blocker_id = $1 AND blocked_id = $2) \
            OR (blocker_id = $2 AND blocked_id = $1)",
    )
    .bind(a)
    .bind(b)
    .fetch_optional(exec)
    .await?;
    Ok(found.is_some())
}
