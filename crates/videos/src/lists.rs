//! Lists of videos, newest first, paged by cursor: a user's videos
//! (`GET /api/v1/users/{id}/videos`; the author sees all their own, processing, failed
//! and private ones too), a hashtag's page (`GET /api/v1/hashtags/{tag}/videos`, through
//! `video_hashtags`) and the caller's favourites (`GET /api/v1/users/me/favorites`, most
//! recently favourited first).

use axum::extract::{Path, State};
use axum::Json;

use crate::access::{follows, Viewer, LISTED};
use crate::errors::VideoError;
use crate::feed::video_page;
use crate::model::{normalize_hashtag, VideoRow, VideoView, VIDEO_COLUMNS, VIDEO_FROM};
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, Cursor, IdPath, MaybeAuth, Page, PageQuery, Query};

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}/videos",
    tag = "videos",
    params(("id" = i64, Path, description = "The author"), PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The user's videos the caller may see, newest first", body = Page<VideoView>),
        (status = 400, description = "Bad cursor (`invalid_cursor`) or limit (`invalid_limit`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn user_videos(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    IdPath(author): IdPath,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<VideoView>>> {
    let viewer = Viewer::from_maybe(&auth);
    let (limit, cursor) = page.resolve()?;
    state.directory().ensure_exists(author).await?;
    let filter = if viewer.id == author || viewer.privileged {
        "v.deleted_at IS NULL".to_string()
    } else if follows(&state, viewer.id, author).await? {
        format!("{LISTED} AND v.visibility IN ('public', 'followers')")
    } else {
        format!("{LISTED} AND v.visibility = 'public'")
    };
    let rows = sqlx::query_as::<_, VideoRow>(&format!(
        "SELECT {VIDEO_COLUMNS} FROM {VIDEO_FROM} \
         WHERE v.author_id = $2 AND {filter} AND v.id < $3 ORDER BY v.id DESC LIMIT $4"
    ))
    .bind(viewer.id)
    .bind(author)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(video_page(&state, viewer, rows, limit)))
}

#[utoipa::path(
    get,
    path = "/api/v1/hashtags/{tag}/videos",
    tag = "videos",
    params(("tag" = String, Path, description = "The hashtag, with or without `#`"), PageQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Public videos with the hashtag, newest first", body = Page<VideoView>),
        (status = 400, description = "Not a hashtag (`invalid_hashtag`), bad cursor or limit", body = kit::error::ErrorBody),
    )
)]
pub async fn hashtag_videos(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    Path(tag): Path<String>,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<VideoView>>> {
    let viewer = Viewer::from_maybe(&auth);
    let (limit, cursor) = page.resolve()?;
    let tag = normalize_hashtag(&tag).ok_or(VideoError::InvalidHashtag)?;
    let rows = sqlx::query_as::<_, VideoRow>(&format!(
        "SELECT {VIDEO_COLUMNS} FROM video_hashtags h JOIN videos v ON v.id = h.video_id \
         JOIN users u ON u.id = v.author_id \
         WHERE h.tag = $2 AND h.video_id < $3 AND {LISTED} AND v.visibility = 'public' \
         ORDER BY h.video_id DESC LIMIT $4"
    ))
    .bind(viewer.id)
    .bind(&tag)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    Ok(Json(video_page(&state, viewer, rows, limit)))
}

#[derive(sqlx::FromRow)]
struct FavoriteRow {
    #[sqlx(flatten)]
    video: VideoRow,
    favorited_at: i64,
}

#[utoipa::path(
    get,
    path = "/api/v1/users/me/favorites",
    tag = "videos",
    params(PageQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's favourites they may still see, latest first", body = Page<VideoView>),
        (status = 400, description = "Bad cursor (`invalid_cursor`) or limit (`invalid_limit`)", body = kit::error::ErrorBody),
    )
)]
pub async fn my_favorites(
    State(state): State<VideosState>,
    auth: Auth,
    Query(page): Query<PageQuery>,
) -> Result<Json<Page<VideoView>>> {
    let viewer = Viewer::from_auth(&auth);
    let (limit, cursor) = page.resolve()?;
    let rows = sqlx::query_as::<_, FavoriteRow>(&format!(
        "SELECT {VIDEO_COLUMNS}, fav.created_at AS favorited_at \
         FROM video_favorites fav JOIN videos v ON v.id = fav.video_id \
         JOIN users u ON u.id = v.author_id \
         WHERE fav.user_id = $1 AND (fav.created_at, fav.video_id) < ($2, $3) \
           AND ((v.author_id = $1 AND v.deleted_at IS NULL) \
                OR ({LISTED} AND (v.visibility = 'public' OR (v.visibility = 'followers' \
                    AND EXISTS (SELECT 1 FROM follows fo \
                                WHERE fo.follower_id = $1 AND fo.followee_id = v.author_id))))) \
         ORDER BY fav.created_at DESC, fav.video_id DESC LIMIT $4"
    ))
    .bind(viewer.id)
    .bind(cursor.key)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let page = Page::from_rows(rows, limit, |r| Cursor {
        key: r.favorited_at,
        id: r.video.id,
    });
    Ok(Json(Page {
        items: page
            .items
            .into_iter()
            .map(|r| VideoView::new(&state, r.video, viewer.id, viewer.privileged))
            .collect(),
        next_cursor: page.next_cursor,
    }))
}
