//! `PATCH /api/v1/rooms/{id}`: the owner edits the room's title, cover, category and tags,
//! and whether its live sessions are recorded as replays.

use axum::extract::State;
use axum::http::request::Parts;
use axum::Json;
use kit::ApiError;
use serde::Deserialize;

use crate::rooms::errors::LiveError;
use crate::rooms::get_room::load;
use crate::rooms::model::{BaseUrls, RoomView};
use crate::LiveState;
use api::error::Result;
use api::http::{Auth, Body, Fields, IdPath};

#[derive(Debug, Default, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoom {
    /// 1–64 characters.
    pub title: Option<String>,
    /// An http(s) URL or a path, up to 500 characters; empty for none.
    pub cover_url: Option<String>,
    /// Up to 32 characters, e.g. `music`, `games`; empty for none.
    pub category: Option<String>,
    /// Up to 5 tags of 1–16 characters.
    pub tags: Option<Vec<String>>,
    /// Record live sessions and keep each as a replay video in the owner's library.
    pub record: Option<bool>,
}

#[utoipa::path(
    patch,
    path = "/api/v1/rooms/{id}",
    tag = "live",
    params(("id" = i64, Path, description = "Room id")),
    security(("bearer" = [])),
    request_body = UpdateRoom,
    responses(
        (status = 200, description = "The room as changed", body = RoomView),
        (status = 400, description = "Bad fields (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not your room (`not_room_owner`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn update_room(
    State(state): State<LiveState>,
    auth: Auth,
    IdPath(id): IdPath,
    parts: Parts,
    Body(req): Body<UpdateRoom>,
) -> Result<Json<RoomView>> {
    validate(&req)?;
    let room = load(&state, id).await?;
    if room.owner_id != auth.user_id {
        return Err(LiveError::NotRoomOwner
            .with_message("only the room's owner may edit it")
            .into());
    }
    apply(&state, id, &req).await?;
    let row = load(&state, id).await?;
    let urls = BaseUrls::from_request(&parts, &state.settings().live);
    Ok(Json(
        RoomView::new(row, auth.user_id, &urls).with_viewers(state.room_viewers(id)),
    ))
}

/// Checks the fields of a room being created or edited.
pub fn validate(req: &UpdateRoom) -> std::result::Result<(), ApiError> {
    let mut f = Fields::new();
    if let Some(t) = &req.title {
        f.text("title", t.trim(), 1, 64);
    }
    if let Some(c) = &req.cover_url {
        f.check(
            "cover_url",
            c.is_empty()
                || ((c.starts_with("https://") || c.starts_with("http://") || c.starts_with('/'))
                    && c.len() <= 500
                    && !c.chars().any(char::is_whitespace)),
            "must be empty, a path or an http(s) URL of at most 500 characters",
        );
    }
    if let Some(c) = &req.category {
        f.text("category", c.trim(), 0, 32);
    }
    if let Some(tags) = &req.tags {
        f.check(
            "tags",
            tags.len() <= 5
                && tags
                    .iter()
                    .all(|t| (1..=16).contains(&t.trim().chars().count())),
            "at most 5 tags of 1 to 16 characters",
        );
    }
    f.finish()
}

/// Writes the fields given; the others stay as they are.
pub async fn apply(state: &LiveState, id: i64, req: &UpdateRoom) -> Result<()> {
    let tags = req.tags.as_ref().map(|t| {
        let trimmed: Vec<&str> = t.iter().map(|s| s.trim()).collect();
        serde_json::to_string(&trimmed).unwrap_or_else(|_| "[]".into())
    });
    sqlx::query(
        "UPDATE live_rooms SET title = COALESCE($1, title), cover_url = COALESCE($2, cover_url), \
             category = COALESCE($3, category), tags = COALESCE($4, tags), updated_at = $5, \
             record = COALESCE($7, record), search_text = COALESCE($8, search_text), \
             search_v = COALESCE($9, search_v) \
         WHERE id = $6",
    )
    .bind(req.title.as_deref().map(str::trim))
    .bind(req.cover_url.as_deref())
    .bind(req.category.as_deref().map(|c| c.trim().to_lowercase()))
    .bind(tags)
    .bind(kit::time::now_ms())
    .bind(id)
    .bind(req.record.map(i64::from))
    .bind(
        req.title
            .as_deref()
            .map(|t| crate::rooms::search::terms(t.trim())),
    )
    .bind(req.title.as_ref().map(|_| store::search::VERSION))
    .execute(state.store().writer())
    .await?;
    Ok(())
}
