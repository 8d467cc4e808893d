//! `PATCH /api/v1/users/me`: edit one's own profile. Fields left out stay as they are;
//! `null` clears the fields that may be empty (`avatar_url`, `birthday`).

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Deserializer};

use crate::accounts::rules;
use crate::users::model::{Gender, UserView};
use crate::IdentityState;
use api::error::Result;
use api::http::{Auth, Body, Fields};

pub const BIO_MAX: usize = 280;
pub const LOCATION_MAX: usize = 64;
pub const URL_MAX: usize = 512;

#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateProfile {
    /// 1–32 characters.
    pub nickname: Option<String>,
    /// An http(s) URL of at most 512 characters, or `null` to remove.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub avatar_url: Option<Option<String>>,
    /// At most 280 characters.
    pub bio: Option<String>,
    pub gender: Option<Gender>,
    /// `YYYY-MM-DD`, not in the future, or `null` to remove.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub birthday: Option<Option<String>>,
    /// At most 64 characters.
    pub location: Option<String>,
}

/// Tells a field sent as `null` (`Some(None)`) from one left out (`None`).
fn present<'de, D, T>(d: D) -> std::result::Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[utoipa::path(
    patch,
    path = "/api/v1/users/me",
    tag = "users",
    security(("bearer" = [])),
    request_body = UpdateProfile,
    responses(
        (status = 200, description = "The updated profile", body = UserView),
        (status = 400, description = "A field is invalid (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn update_me(
    State(state): State<IdentityState>,
    auth: Auth,
    Body(req): Body<UpdateProfile>,
) -> Result<Json<UserView>> {
    validate(&req)?;
    let nickname = req.nickname.as_deref().map(str::trim);
    let (set_avatar, avatar) = split(req.avatar_url);
    let (set_birthday, birthday) = split(req.birthday);
    // A new nickname changes what the user is found by (with the username).
    let terms = match nickname {
        Some(n) => {
            let username: String = sqlx::query_scalar("SELECT username FROM users WHERE id = $1")
                .bind(auth.user_id)
                .fetch_one(state.store().pool())
                .await?;
            crate::users::search::terms(&username, n)
        }
        None => String::new(),
    };
    // One statement: each column keeps its value unless its flag says to set it.
    sqlx::query(
        "UPDATE users SET \
           nickname     = CASE WHEN $1 = 1 THEN $2 ELSE nickname END, \
           nickname_key = CASE WHEN $1 = 1 THEN $3 ELSE nickname_key END, \
           avatar_url   = CASE WHEN $4 = 1 THEN $5 ELSE avatar_url END, \
           bio          = CASE WHEN $6 = 1 THEN $7 ELSE bio END, \
           gender       = CASE WHEN $8 = 1 THEN $9 ELSE gender END, \
           birthday     = CASE WHEN $10 = 1 THEN $11 ELSE birthday END, \
           location     = CASE WHEN $12 = 1 THEN $13 ELSE location END, \
           updated_at   = $14, \
           search_text  = CASE WHEN $1 = 1 THEN $16 ELSE search_text END \
         WHERE id = $15",
    )
    .bind(nickname.is_some() as i64)
    .bind(nickname.unwrap_or_default().to_string())
    .bind(rules::key(nickname.unwrap_or_default()))
    .bind(set_avatar)
    .bind(avatar)
    .bind(req.bio.is_some() as i64)
    .bind(req.bio.unwrap_or_default())
    .bind(req.gender.is_some() as i64)
    .bind(req.gender.unwrap_or(Gender::Unknown).as_str())
    .bind(set_birthday)
    .bind(birthday)
    .bind(req.location.is_some() as i64)
    .bind(req.location.unwrap_or_default())
    .bind(kit::time::now_ms())
    .bind(auth.user_id)
    .bind(terms)
    .execute(state.store().writer())
    .await?;
    crate::users::changes::changed(&state, auth.user_id).await;
    let row = super::load(&state, auth.user_id, auth.user_id).await?;
    Ok(Json(UserView::new(row, auth.user_id)))
}

fn split(v: Option<Option<String>>) -> (i64, Option<String>) {
    match v {
        None => (0, None),
        Some(inner) => (1, inner),
    }
}

fn validate(req: &UpdateProfile) -> std::result::Result<(), kit::ApiError> {
    let mut f = Fields::new();
    if let Some(n) = &req.nickname {
        rules::check_nickname(&mut f, n);
    }
    if let Some(Some(url)) = &req.avatar_url {
        f.text("avatar_url", url, 1, URL_MAX);
        f.check(
            "avatar_url",
            is_http_url(url),
            "must be an http:// or https:// URL",
        );
    }
    if let Some(bio) = &req.bio {
        f.text("bio", bio, 0, BIO_MAX);
    }
    if let Some(Some(b)) = &req.birthday {
        f.check(
            "birthday",
            valid_birthday(b),
            "must be a real date YYYY-MM-DD between 1900 and today",
        );
    }
    if let Some(loc) = &req.location {
        f.text("location", loc, 0, LOCATION_MAX);
    }
    f.finish()
}

fn is_http_url(s: &str) -> bool {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    matches!(rest, Some(r) if !r.is_empty() && !r.starts_with('/') && !r.chars().any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<' || c == '>'))
}

/// `YYYY-MM-DD`, a real calendar date, from 1900-01-01 to today.
fn valid_birthday(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|p| p.parse::<u32>().ok());
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    if y < 1900 || d == 0 || d > days {
        return false;
    }
    // Compare with today's date, derived from the Unix day number (civil-from-days).
    let today = civil_today();
    (y, m, d) <= today
}

fn civil_today() -> (u32, u32, u32) {
    let z = kit::time::now_secs().div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    (y as u32, m as u32, d as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn birthdays() {
        assert!(valid_birthday("1990-02-28"));
        assert!(valid_birthday("2000-02-29"));
        assert!(!valid_birthday("1900-02-29"));
        assert!(!valid_birthday("1990-13-01"));
        assert!(!valid_birthday("1899-12-31"));
        assert!(!valid_birthday("9999-01-01"));
        assert!(!valid_birthday("1990-1-1"));
        assert!(!valid_birthday("1990-01-01'; DROP TABLE users;--"));
    }

    #[test]
    fn today_is_plausible() {
        let (y, m, d) = civil_today();
        assert!(y >= 2024 && (1..=12).contains(&m) && (1..=31).contains(&d));
    }

    #[test]
    fn urls() {
        assert!(is_http_url("https://cdn.example.com/a.png"));
        assert!(!is_http_url("javascript:alert(1)"));
        assert!(!is_http_url("https://"));
        assert!(!is_http_url("http://a b"));
    }
}
