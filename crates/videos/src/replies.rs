//! Replies: `POST /api/v1/comments/{id}/replies` answers a comment or a reply (the new
//! reply hangs off the top-level comment, `parent_id`, and names whom it answers,
//! `reply_to_user_id`; that user is notified), and `GET /api/v1/comments/{id}/replies`
//! lists a top-level comment's replies, oldest first by default.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use crate::access::{blocked_either_way, visible, Viewer};
use crate::comments::{
    check_body, comment_page, excerpt, insert_comment, live_comment, load_comment, CommentQuery,
    CommentView, NewComment, Notice,
};
use crate::errors::VideoError;
use crate::VideosState;
use api::error::Result;
use api::http::{Auth, Body, IdPath, MaybeAuth, Page, Query};
use api::NotificationKind;

#[utoipa::path(
    post,
    path = "/api/v1/comments/{id}/replies",
    tag = "videos",
    params(("id" = i64, Path, description = "The comment or reply answered")),
    request_body = NewComment,
    security(("bearer" = [])),
    responses(
        (status = 201, description = "The new reply", body = CommentView),
        (status = 400, description = "Empty body or control characters (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "The video's author or the one answered and the caller block one another (`blocked`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such comment (`comment_not_found`) or video (`video_not_found`)", body = kit::error::ErrorBody),
        (status = 413, description = "A body over `[api] max_body_bytes` (`payload_too_large`)", body = kit::error::ErrorBody),
        (status = 422, description = "Over 500 characters (`comment_too_long`), or a malformed body (`invalid_body`)", body = kit::error::ErrorBody),
    )
)]
pub async fn post_reply(
    State(state): State<VideosState>,
    auth: Auth,
    IdPath(id): IdPath,
    Body(req): Body<NewComment>,
) -> Result<(StatusCode, Json<CommentView>)> {
    let viewer = Viewer::from_auth(&auth);
    let body = check_body(&req.body)?;
    let target = live_comment(&state, id, viewer).await?;
    let video = visible(&state, target.video_id, viewer).await?;
    let pool = state.store().pool();
    if blocked_either_way(pool, auth.user_id, video.author_id).await?
        || blocked_either_way(pool, auth.user_id, target.user_id).await?
    {
        return Err(VideoError::Blocked
            .with_message("you and this comment's or video's author block one another")
            .into());
    }
    let parent = target.parent_id.unwrap_or(target.id);
    let notice = Notice {
        to: target.user_id,
        kind: NotificationKind::CommentReply,
        payload: serde_json::json!({
            "video_id": video.id, "parent_id": parent, "excerpt": excerpt(&body),
        }),
    };
    let rid = insert_comment(
        &state,
        video.id,
        auth.user_id,
        Some(parent),
        Some(target.user_id),
        &body,
        Some(notice),
    )
    .await?;
    let c = load_comment(&state, rid, auth.user_id).await?;
    Ok((StatusCode::CREATED, Json(c.into())))
}

#[utoipa::path(
    get,
    path = "/api/v1/comments/{id}/replies",
    tag = "videos",
    params(("id" = i64, Path, description = "A top-level comment"), CommentQuery),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "Its replies not deleted, oldest first unless `order=newest`", body = Page<CommentView>),
        (status = 400, description = "Bad order (`invalid_order`), cursor or limit", body = kit::error::ErrorBody),
        (status = 404, description = "No such comment (`comment_not_found`) or video (`video_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_replies(
    State(state): State<VideosState>,
    auth: MaybeAuth,
    IdPath(id): IdPath,
    Query(q): Query<CommentQuery>,
) -> Result<Json<Page<CommentView>>> {
    let viewer = Viewer::from_maybe(&auth);
    let c = load_comment(&state, id, viewer.id).await?;
    if c.hidden != 0 {
        return Err(VideoError::CommentNotFound.into());
    }
    visible(&state, c.video_id, viewer).await?;
    let filter = "c.parent_id = $2 AND c.deleted_at IS NULL";
    Ok(Json(
        comment_page(&state, viewer.id, filter, id, &q, false).await?,
    ))
}
