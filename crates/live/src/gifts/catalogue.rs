//! The gift catalogue: what viewers can send, at what price. Operators create, edit and
//! retire gifts; a retired gift disappears from the catalogue and can no longer be sent,
//! while gifts already sent keep pointing at it.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::rooms::errors::LiveError;
use crate::LiveState;
use api::error::Result;
use api::http::{Admin, Body, Fields, IdPath};

pub const GIFT_COLUMNS: &str =
    "id, name, price_coins, icon_url, animation_url, kind, sort, active, created_at, updated_at";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GiftRow {
    pub id: i64,
    pub name: String,
    pub price_coins: i64,
    pub icon_url: String,
    pub animation_url: String,
    pub kind: String,
    pub sort: i64,
    pub active: i64,
    pub created_at: i64,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GiftView {
    pub id: i64,
    pub name: String,
    pub price_coins: i64,
    pub icon_url: String,
    pub animation_url: String,
    /// `normal`, `animated` or `effect` (a full-screen effect).
    pub kind: String,
    /// Lower comes first in the catalogue.
    pub sort: i64,
    /// False once retired.
    pub active: bool,
}

impl From<GiftRow> for GiftView {
    fn from(r: GiftRow) -> GiftView {
        GiftView {
            id: r.id,
            name: r.name,
            price_coins: r.price_coins,
            icon_url: r.icon_url,
            animation_url: r.animation_url,
            kind: r.kind,
            sort: r.sort,
            active: r.active != 0,
        }
    }
}

const KINDS: [&str; 3] = ["normal", "animated", "effect"];

/// The gift `id`, retired or not.
pub async fn find(state: &LiveState, id: i64) -> Result<Option<GiftRow>> {
    Ok(
        sqlx::query_as::<_, GiftRow>(&format!("SELECT {GIFT_COLUMNS} FROM gifts WHERE id = $1"))
            .bind(id)
            .fetch_optional(state.store().pool())
            .await?,
    )
}

async fn list(state: &LiveState, all: bool) -> Result<Vec<GiftView>> {
    let rows = sqlx::query_as::<_, GiftRow>(&format!(
        "SELECT {GIFT_COLUMNS} FROM gifts WHERE active = 1 OR $1 = 1 ORDER BY sort, price_coins, id"
    ))
    .bind(all as i64)
    .fetch_all(state.store().pool())
    .await?;
    Ok(rows.into_iter().map(GiftView::from).collect())
}

#[utoipa::path(
    get,
    path = "/api/v1/gifts",
    tag = "gifts",
    responses((status = 200, description = "Gifts that can be sent", body = Vec<GiftView>))
)]
pub async fn list_gifts(State(state): State<LiveState>) -> Result<Json<Vec<GiftView>>> {
    Ok(Json(list(&state, false).await?))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GiftFields {
    /// 1–32 characters.
    pub name: Option<String>,
    /// 1 to 10,000,000 coins.
    pub price_coins: Option<i64>,
    pub icon_url: Option<String>,
    pub animation_url: Option<String>,
    /// `normal`, `animated` or `effect`.
    pub kind: Option<String>,
    pub sort: Option<i64>,
    /// Set true to bring a retired gift back.
    pub active: Option<bool>,
}

fn validate(req: &GiftFields, creating: bool) -> std::result::Result<(), ApiError> {
    let mut f = Fields::new();
    match &req.name {
        Some(n) => {
            f.text("name", n.trim(), 1, 32);
        }
        None if creating => {
            f.check("name", false, "is required");
        }
        None => {}
    }
    match req.price_coins {
        Some(p) => {
            f.check(
                "price_coins",
                (1..=10_000_000).contains(&p),
                "must be 1 to 10,000,000",
            );
        }
        None if creating => {
            f.check("price_coins", false, "is required");
        }
        None => {}
    }
    for (field, url) in [
        ("icon_url", &req.icon_url),
        ("animation_url", &req.animation_url),
    ] {
        if let Some(u) = url {
            f.check(
                field,
                u.is_empty()
                    || ((u.starts_with("https://")
                        || u.starts_with("http://")
                        || u.starts_with('/'))
                        && u.len() <= 500),
                "must be empty, a path or an http(s) URL of at most 500 characters",
            );
        }
    }
    if let Some(k) = &req.kind {
        f.check(
            "kind",
            KINDS.contains(&k.as_str()),
            "must be normal, animated or effect",
        );
    }
    if let Some(s) = req.sort {
        f.check(
            "sort",
            (-1_000_000..=1_000_000).contains(&s),
            "must be within ±1,000,000",
        );
    }
    f.finish()
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/gifts",
    tag = "admin",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Every gift, retired ones too", body = Vec<GiftView>),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn admin_list_gifts(
    State(state): State<LiveState>,
    _admin: Admin,
) -> Result<Json<Vec<GiftView>>> {
    Ok(Json(list(&state, true).await?))
}

/// Refuses (and so rolls back) a gift on sale whose name another gift on sale has,
/// in any case: a viewer could not tell two Roses apart in the gift bar.
async fn refuse_a_name_taken(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    row: &GiftRow,
) -> Result<()> {
    if row.active == 0 {
        return Ok(());
    }
    let other: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM gifts WHERE LOWER(name) = LOWER($1) AND active = 1 AND id <> $2 LIMIT 1",
    )
    .bind(&row.name)
    .bind(row.id)
    .fetch_optional(&mut **tx)
    .await?;
    match other {
        Some(other) => Err(LiveError::GiftNameTaken
            .with_message(format!(
                "gift {other} on sale is already called {:?}",
                row.name
            ))
            .into()),
        None => Ok(()),
    }
}

#[utoipa::path(
    post,
    path = "/api/v1/admin/gifts",
    tag = "admin",
    security(("bearer" = [])),
    request_body = GiftFields,
    responses(
        (status = 201, description = "Created", body = GiftView),
        (status = 400, description = "Bad fields (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
        (status = 409, description = "Another gift on sale has this name, in any case (`gift_name_taken`)", body = kit::error::ErrorBody),
    )
)]
pub async fn create_gift(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    Body(req): Body<GiftFields>,
) -> Result<(StatusCode, Json<GiftView>)> {
    validate(&req, true)?;
    let now = kit::time::now_ms();
    let mut tx = state.store().begin().await?;
    let row = sqlx::query_as::<_, GiftRow>(&format!(
        "INSERT INTO gifts (name, price_coins, icon_url, animation_url, kind, sort, active, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING {GIFT_COLUMNS}"
    ))
    .bind(req.name.as_deref().unwrap_or("").trim())
    .bind(req.price_coins.unwrap_or(1))
    .bind(req.icon_url.as_deref().unwrap_or(""))
    .bind(req.animation_url.as_deref().unwrap_or(""))
    .bind(req.kind.as_deref().unwrap_or("normal"))
    .bind(req.sort.unwrap_or(0))
    .bind(req.active.unwrap_or(true) as i64)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
    refuse_a_name_taken(&mut tx, &row).await?;
    tx.commit().await?;
    api::audit::record(
        state.store(),
        admin.user_id,
        "gift.create",
        &format!("gift:{}", row.id),
        serde_json::json!({"name": row.name, "price_coins": row.price_coins}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, gift = row.id, "gift created");
    Ok((StatusCode::CREATED, Json(row.into())))
}

#[utoipa::path(
    patch,
    path = "/api/v1/admin/gifts/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "Gift id")),
    security(("bearer" = [])),
    request_body = GiftFields,
    responses(
        (status = 200, description = "Updated", body = GiftView),
        (status = 400, description = "Bad fields (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 404, description = "No such gift (`gift_not_found`)", body = kit::error::ErrorBody),
        (status = 409, description = "Another gift on sale has this name, in any case (`gift_name_taken`)", body = kit::error::ErrorBody),
    )
)]
pub async fn update_gift(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
    Body(req): Body<GiftFields>,
) -> Result<Json<GiftView>> {
    validate(&req, false)?;
    let mut tx = state.store().begin().await?;
    let row = sqlx::query_as::<_, GiftRow>(&format!(
        "UPDATE gifts SET name = COALESCE($1, name), price_coins = COALESCE($2, price_coins), \
             icon_url = COALESCE($3, icon_url), animation_url = COALESCE($4, animation_url), \
             kind = COALESCE($5, kind), sort = COALESCE($6, sort), active = COALESCE($7, active), \
             updated_at = $8 \
         WHERE id = $9 RETURNING {GIFT_COLUMNS}"
    ))
    .bind(req.name.as_deref().map(str::trim))
    .bind(req.price_coins)
    .bind(req.icon_url.as_deref())
    .bind(req.animation_url.as_deref())
    .bind(req.kind.as_deref())
    .bind(req.sort)
    .bind(req.active.map(|a| a as i64))
    .bind(kit::time::now_ms())
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or_else(not_found)?;
    refuse_a_name_taken(&mut tx, &row).await?;
    tx.commit().await?;
    crate::gifts::lookup::forget_gift(&state, id);
    api::audit::record(
        state.store(),
        admin.user_id,
        "gift.update",
        &format!("gift:{id}"),
        serde_json::json!({"name": row.name, "price_coins": row.price_coins, "active": row.active != 0}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, gift = id, "gift updated");
    Ok(Json(row.into()))
}

#[utoipa::path(
    delete,
    path = "/api/v1/admin/gifts/{id}",
    tag = "admin",
    params(("id" = i64, Path, description = "Gift id")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Retired (also when already retired)", body = GiftView),
        (status = 404, description = "No such gift (`gift_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn retire_gift(
    State(state): State<LiveState>,
    Admin(admin): Admin,
    IdPath(id): IdPath,
) -> Result<Json<GiftView>> {
    let row = sqlx::query_as::<_, GiftRow>(&format!(
        "UPDATE gifts SET active = 0, updated_at = $1 WHERE id = $2 RETURNING {GIFT_COLUMNS}"
    ))
    .bind(kit::time::now_ms())
    .bind(id)
    .fetch_optional(state.store().writer())
    .await?
    .ok_or_else(not_found)?;
    crate::gifts::lookup::forget_gift(&state, id);
    api::audit::record(
        state.store(),
        admin.user_id,
        "gift.retire",
        &format!("gift:{id}"),
        serde_json::json!({"name": row.name}),
    )
    .await?;
    tracing::info!(admin = admin.user_id, gift = id, "gift retired");
    Ok(Json(row.into()))
}

pub fn not_found() -> ApiError {
    ApiError::from(LiveError::GiftNotFound)
}
