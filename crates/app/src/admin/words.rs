//! The chat gateway's sensitive words, kept in the database and editable while momo
//! runs: list, add, remove. An edit rebuilds this node's filter at once; other nodes
//! pick the list up within [`REFRESH`] (see [`refresh_loop`]). The words from the
//! configuration (`chat.sensitive_words`) always apply too and are not listed here.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::accounts::rules;
use crate::admin::audit;
use crate::admin::errors::AdminError;
use crate::error::Result;
use crate::http::{Admin, Body, Fields, IdPath};
use crate::AppState;

/// How often every node reloads the list, for edits made on another node.
pub const REFRESH: Duration = Duration::from_secs(30);

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Word {
    pub id: i64,
    pub word: String,
    pub created_at: i64,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWord {
    /// 1–50 characters; ASCII letters match whatever their case.
    pub word: String,
}

async fn all(state: &AppState) -> Result<Vec<Word>> {
    Ok(sqlx::query_as::<_, Word>(
        "SELECT id, word, created_at FROM sensitive_words ORDER BY word_key",
    )
    .fetch_all(state.store().pool())
    .await?)
}

/// Loads the stored words into this node's chat gateway.
pub async fn reload(state: &AppState) -> Result<()> {
    let words: Vec<String> = all(state).await?.into_iter().map(|w| w.word).collect();
    if let Some(gw) = state.chat() {
        gw.set_words(&words);
    }
    Ok(())
}

/// Reloads the list every [`REFRESH`], forever (spawn it; abort it to stop).
pub async fn refresh_loop(state: AppState) {
    let mut tick = tokio::time::interval(REFRESH);
    loop {
        tick.tick().await;
        if let Err(e) = reload(&state).await {
            tracing::warn!("cannot reload sensitive words: {e}");
        }
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/sensitive-words",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stored words, alphabetically", body = Vec<Word>),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn list_words(State(state): State<AppState>, _admin: Admin) -> Result<Json<Vec<Word>>> {
    Ok(Json(all(&state).await?))
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/sensitive-words",
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewWord,
    responses(
        (status = 201, description = "Added; room messages are filtered with it at once", body = Word),
        (status = 400, description = "Bad word (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 409, description = "Already listed (`word_exists`)", body = kit::error::ErrorBody),
    )
)]
pub async fn add_word(
    State(state): State<AppState>,
    Admin(admin): Admin,
    Body(req): Body<NewWord>,
) -> Result<(StatusCode, Json<Word>)> {
    let word = req.word.trim();
    let mut f = Fields::new();
    f.text("word", word, 1, 50);
    f.finish()?;
    let key = rules::key(word);
    let exists: Option<i64> =
        sqlx::query_scalar("SELECT id FROM sensitive_words WHERE word_key = $1")
            .bind(&key)
            .fetch_optional(state.store().pool())
            .await?;
    if exists.is_some() {
        return Err(AdminError::WordExists.into());
    }
    let row = sqlx::query_as::<_, Word>(
        "INSERT INTO sensitive_words (word, word_key, created_by, created_at) \
         VALUES ($1, $2, $3, $4) RETURNING id, word, created_at",
    )
    .bind(word)
    .bind(&key)
    .bind(admin.user_id)
    .bind(kit::time::now_ms())
    .fetch_one(state.store().writer())
    .await?;
    reload(&state).await?;
    audit::record(
        &state,
        admin.user_id,
        "word.add",
        &format!("word:{}", row.id),
        serde_json::json!({"word": row.word}),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(row)))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/sensitive-words/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "Word id")),
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such word (`word_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn remove_word(
    State(state): State<AppState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<StatusCode> {
    let word: Option<String> = sqlx::query_scalar("SELECT word FROM sensitive_words WHERE id = $1")
        .bind(id)
        .fetch_optional(state.store().pool())
        .await?;
    let word = word.ok_or(AdminError::WordNotFound)?;
    sqlx::query("DELETE FROM sensitive_words WHERE id = $1")
        .bind(id)
        .execute(state.store().writer())
        .await?;
    reload(&state).await?;
    audit::record(
        &state,
        admin.user_id,
        "word.remove",
        &format!("word:{id}"),
        serde_json::json!({"word": word}),
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}
