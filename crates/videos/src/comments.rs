//! Comments on a video: `GET /api/v1/videos/{id}/comments` (top-level comments, newest or
//! oldest first, each with its reply count) and `POST /api/v1/videos/{id}/comments`.
//! Also what replies, deletion and comment likes share: the row, its view, the rules of
//! a comment's text.
//!
//! `comment_count` on the video counts every comment and reply not deleted, and
//! `reply_count` on a top-level comment its replies not deleted; both move in the
//! transaction that inserts or deletes, so they are exact.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::access::{blocked_either_way, bump, visible, Counter, Viewer};
use crate::errors::VideoError;
use crate::model::VideoAuthor;
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, Cursor, Fields, IdPath, MaybeAuth, Page, Query};
use api::{Notification, NotificationKind};

/// Longest comment, in characters.
pub const MAX_COMMENT: usize = 500;

/// The comment columns every view selects, from [`COMMENT_FROM`]; `$1` is the viewer.
pub const COMMENT_COLUMNS: &str = "c.id, c.video_id, c.user_id, c.parent_id, \
     c.reply_to_user_id, c.body, c.like_count, c.reply_count, c.hidden, c.deleted_at, \
     c.created_at, u.username, u.nickname, u.avatar_url, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM comment_likes l WHERE l.comment_id = c.id AND l.user_id = $1) \
          THEN 1 ELSE 0 END AS BIGINT) AS liked";

pub const COMMENT_FROM: &str = "video_comments c JOIN users u ON u.id = c.user_id";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CommentRow {
    pub id: i64,
    pub video_id: i64,
    pub user_id: i64,
    pub parent_id: Option<i64>,
    pub reply_to_user_id: Option<i64>,
    pub body: String,
    pub like_count: i64,
    pub reply_count: i64,
    pub hidden: i64,
    pub deleted_at: Option<i64>,
    pub created_at: i64,
    pub username: String,
    pub nickname: String,
    pub avatar_url: Option<String>,
    pub liked: i64,
}

/// A comment or reply as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CommentView {
    pub id: i64,
    pub video_id: i64,
    pub author: VideoAuthor,
    /// The top-level comment this replies to; `null` for a top-level comment.
    pub parent_id: Option<i64>,
    /// Whom a reply answers.
    pub reply_to_user_id: Option<i64>,
    /// Empty once deleted.
    pub body: String,
    pub like_count: i64,
    pub reply_count: i64,
    /// Whether the viewer likes it.
    pub liked: bool,
    /// Deleted comments stay listed while they have replies, with an empty body.
    pub deleted: bool,
    pub created_at: i64,
}

impl From<CommentRow> for CommentView {
    fn from(r: CommentRow) -> Self {
        CommentView {
            id: r.id,
            video_id: r.video_id,
            author: VideoAuthor {
                id: r.user_id,
                username: r.username,
                nickname: r.nickname,
                avatar_url: r.avatar_url,
            },
            parent_id: r.parent_id,
            reply_to_user_id: r.reply_to_user_id,
            body: r.body,
            like_count: r.like_count,
            reply_count: r.reply_count,
            liked: r.liked != 0,
            deleted: r.deleted_at.is_some(),
            created_at: r.created_at,
        }
    }
}

/// The text of a new comment or reply.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewComment {
    /// 1 to 500 characters.
    pub body: String,
}

/// The comment's text, trimmed: 400 `validation_failed` when empty or holding control
/// characters, 422 `comment_too_long` past [`MAX_COMMENT`] characters.
pub fn check_body(body: &str) -> Result<String> {
    let body = body.trim();
    if body.chars().count() > MAX_COMMENT {
        let mut e = VideoError::CommentTooLong
            .with_message(format!("a comment is at most {MAX_COMMENT} characters"));
        e.fields.insert(
            "body".into(),
            format!("must be at most {MAX_COMMENT} characters"),
        );
        return Err(e.into());
    }
    let mut fields = Fields::new();
    fields.text("body", body, 1, MAX_COMMENT);
    fields.finish()?;
    Ok(body.to_string())
}

/// The comment `id` (any state), or 404 `comment_not_found`.
pub async fn load_comment(state: &VideosState, id: i64, viewer: i64) -> Result<CommentRow> {
    sqlx::query_as::<_, CommentRow>(&format!(
        "SELECT {COMMENT_COLUMNS} FROM {COMMENT_FROM} WHERE c.id = $2"
    ))
    .bind(viewer)
    .bind(id)
    .fetch_optional(state.store().pool())
    .await?
    .ok_or_else(|| VideoError::CommentNotFound.into())
}

/// The comment `id` if it is live (not deleted or hidden) on a video `viewer` may see.
pub async fn live_comment(state: &VideosState, id: i64, viewer: Viewer) -> Result<CommentRow> {
    let c = load_comment(state, id, viewer.id).await?;
    if c.deleted_at.is_some() || c.hidden != 0 {
        return Err(VideoError::CommentNotFound.into());
    }
    visible(state, c.video_id, viewer).await?;
    Ok(c)
}

/// Inserts a comment (a reply when `parent` is given, answering `reply_to`), moves the
/// counts and asks for `notice` (with the new comment's id as `comment_id` in its
/// payload), in one transaction. Returns the new comment's id.
pub async fn insert_comment(
    state: &VideosState,
    video: i64,
    user: i64,
    parent: Option<i64>,
    reply_to: Option<i64>,
    body: &str,
    notice: Option<Notice>,
) -> Result<i64> {
    let mut tx = state.store().begin().await?;
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO video_comments (video_id, user_id, parent_id, reply_to_user_id, body, \
                                     created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(video)
    .bind(user)
    .bind(parent)
    .bind(reply_to)
    .bind(body)
    .bind(kit::time::now_ms())
    .fetch_one(&mut *tx)
    .await?;
    if let Some(p) = parent {
        sqlx::query("UPDATE video_comments SET reply_count = reply_count + 1 WHERE id = $1")
            .bind(p)
            .execute(&mut *tx)
            .await?;
    }
    bump(&mut tx, video, Counter::Comments, 1).await?;
    let notice = notice.filter(|n| n.to != user);
    if let Some(mut n) = notice.clone() {
        n.payload["comment_id"] = id.into();
        let request = Notification {
            kind: n.kind,
            actor_id: Some(user),
            payload: n.payload,
        };
        api::notices::request_in(state.jobs(), &mut tx, n.to, request).await?;
    }
    tx.commit().await?;
    if notice.is_some() {
        state.jobs().wake();
    }
    Ok(id)
}

/// The notice a new comment asks for: `kind` to user `to` (nothing when `to` is the
/// commenter), with `payload` and the comment's id.
#[derive(Debug, Clone)]
pub struct Notice {
    pub to: i64,
    pub kind: NotificationKind,
    pub payload: serde_json::Value,
}

/// The start of a comment, for notices.
pub fn excerpt(body: &str) -> String {
    body.chars().take(80).collect()
}

/// `?order=newest|oldest&limit=…&cursor=…`
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CommentQuery {
    /// `newest` (default) or `oldest` first.
    pub order: Option<String>,
    /// Items per page, 1–100 (default 20).
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// One page of comments by id, newest or oldest first, under `filter` (which may use
/// `$2`, bound to `subject`).
pub async fn comment_page(
    state: &VideosState,
    viewer: i64,
    filter: &str,
    subject: i64,
    q: &CommentQuery,
    newest_default: bool,
) -> Result<Page<CommentView>> {
    let (limit, cursor) = api::http::PageQuery {
        limit: q.limit,
        cursor: q.cursor.clone(),
    }
    .resolve()?;
    let newest = match q.order.as_deref() {
        None => newest_default,
        Some("newest") => true,
        Some("oldest") => false,
        Some(_) => return Err(VideoError::InvalidOrder.into()),
    };
    let (cmp, dir, from) = if newest {
        ("<", "DESC", cursor.id)
    } else {
        (
            ">",
            "ASC",
            if cursor == Cursor::START {
                0
            } else {
                cursor.id
            },
        )
    };
    let rows = sqlx::query_as::<_, CommentRow>(&format!(
        "SELECT {COMMENT_COLUMNS} FROM {COMMENT_FROM} \
         WHERE {filter} AND c.hidden = 0 AND c.id {cmp} $3 ORDER BY c.id {dir} LIMIT $4"
    ))
    .bind(viewer)
    .bind(subject)
    .bind(from)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let page = Page::from_rows(rows, limit, |r| Cursor {
        key: r.id,
        id: r.id,
    });
    Ok(Page {
        items: page.items.into_iter().map(CommentView::from).collect(),
        next_cursor: page.next_cursor,
    })
}

#[utoipa::path(
    get,
    path = "/api/v1/videos/{id}/comments",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id"), CommentQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Top-level comments with their reply counts", body = Page<CommentView>),
        (status = 400, description = "Bad order (`invalid_order`), cursor or limit", body = kit::error::ErrorBody),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_comments(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    IdPath(id): IdPath,
    Query(q): Query<CommentQuery>,
) -> Result<Json<Page<CommentView>>> {
    let viewer = Viewer::from_maybe(&auth);
    visible(&state, id, viewer).await?;
    // A deleted comment stays while replies hang off it.
    let filter = "c.video_id = $2 AND c.parent_id IS NULL \
                  AND (c.deleted_at IS NULL OR c.reply_count > 0)";
    Ok(Json(
        comment_page(&state, viewer.id, filter, id, &q, true).await?,
    ))
}

#[utoipa::path(
    post,
    path = "/api/v1/videos/{id}/comments",
    tag = "videos",
    params(("id" = i64, Path, description = "Video id")),
    request_body = NewComment,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new comment", body = CommentView),
        (status = 400, description = "Empty body or control characters (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "The author and the caller block one another (`blocked`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such video the caller may see (`video_not_found`)", body = kit::error::ErrorBody),
        (status = 413, description = "A body over `[api] max_body_bytes` (`payload_too_large`)", body = kit::error::ErrorBody),
        (status = 422, description = "Over 500 characters (`comment_too_long`), or a malformed body (`invalid_body`)", body = kit::error::ErrorBody),
    )
)]
pub async fn post_comment(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
    api::http::Body(req): api::http::Body<NewComment>,
) -> Result<(StatusCode, Json<CommentView>)> {
    let viewer = Viewer::from_auth(&auth);
    let body = check_body(&req.body)?;
    let video = visible(&state, id, viewer).await?;
    if blocked_either_way(state.store().pool(), auth.user_id, video.author_id).await? {
        return Err(VideoError::Blocked.into());
    }
    let notice = Notice {
        to: video.author_id,
        kind: NotificationKind::VideoComment,
        payload: serde_json::json!({"video_id": id, "excerpt": excerpt(&body)}),
    };
    let cid = insert_comment(&state, id, auth.user_id, None, None, &body, Some(notice)).await?;
    let c = load_comment(&state, cid, auth.user_id).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}
