//! `GET /api/v1/admin/stats`: the dashboard's figures. Totals now (accounts, rooms on
//! air, viewers on this node, gift income today) and one row per day for the charts
//! (new accounts, gift coins, live sessions started, their best audience), counted in
//! the database with one grouped query per series.
//!
//! Days begin at midnight in `economy.ranking_utc_offset_minutes`, as rankings do.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::http::{Admin, Fields, Query};
use crate::AppState;

const DAY_MS: i64 = 86_400_000;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// How many days of series, today included: 1–90 (default 14).
    pub days: Option<i64>,
}

/// Figures as of now.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Totals {
    pub users: i64,
    pub users_banned: i64,
    pub rooms: i64,
    pub rooms_live: i64,
    /// People watching or chatting in live rooms on this node.
    pub viewers: u64,
    /// Coins spent on gifts since midnight.
    pub gift_coins_today: i64,
    pub gifts_today: i64,
    pub withdrawals_pending: i64,
}

/// One day of the series.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub date: String,
    pub new_users: i64,
    pub gift_coins: i64,
    pub live_sessions: i64,
    /// The largest audience of a session that started that day.
    pub peak_viewers: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Stats {
    pub totals: Totals,
    /// Oldest first, today last.
    pub days: Vec<Day>,
    /// Unsafe settings in force on this node (see `/readyz`), shown as a banner.
    pub warnings: Vec<String>,
}

#[utoipa::path(
    get,
    path = "/api/v1/admin/stats",
    tag = "admin",
    params(StatsQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Totals and daily series", body = Stats),
        (status = 400, description = "Bad `days` (`validation_failed`)", body = kit::error::ErrorBody),
        (status = 403, description = "Not an admin (`admin_required`)", body = kit::error::ErrorBody),
    )
)]
pub async fn stats(
    State(state): State<AppState>,
    _admin: Admin,
    Query(query): Query<StatsQuery>,
) -> Result<Json<Stats>> {
    let days = query.days.unwrap_or(14);
    let mut f = Fields::new();
    f.check("days", (1..=90).contains(&days), "must be 1 to 90");
    f.finish()?;
    let offset = state.settings().economy.ranking_utc_offset_minutes as i64 * 60_000;
    let now = kit::time::now_ms();
    let today = (now + offset).div_euclid(DAY_MS);
    let first = today - days + 1;
    let since = first * DAY_MS - offset;
    let pool = state.store().pool();

    let mut series: BTreeMap<i64, Day> = (first..=today)
        .map(|d| {
            (
                d,
                Day {
                    date: date_of(d),
                    ..Day::default()
                },
            )
        })
        .collect();
    let grouped = |sql: &'static str| {
        sqlx::query_as::<_, (i64, i64)>(sql)
            .bind(offset)
            .bind(since)
            .fetch_all(pool)
    };
    for (d, n) in grouped(
        "SELECT CAST((created_at + $1) / 86400000 AS BIGINT) AS d, CAST(COUNT(*) AS BIGINT) \
         FROM users WHERE created_at >= $2 GROUP BY d",
    )
    .await?
    {
        if let Some(day) = series.get_mut(&d) {
            day.new_users = n;
        }
    }
    for (d, n) in grouped(
        "SELECT CAST((created_at + $1) / 86400000 AS BIGINT) AS d, CAST(SUM(coins) AS BIGINT) \
         FROM gift_events WHERE created_at >= $2 GROUP BY d",
    )
    .await?
    {
        if let Some(day) = series.get_mut(&d) {
            day.gift_coins = n;
        }
    }
    for (d, n) in grouped(
        "SELECT CAST((started_at + $1) / 86400000 AS BIGINT) AS d, CAST(COUNT(*) AS BIGINT) \
         FROM live_sessions WHERE started_at >= $2 GROUP BY d",
    )
    .await?
    {
        if let Some(day) = series.get_mut(&d) {
            day.live_sessions = n;
        }
    }
    for (d, n) in grouped(
        "SELECT CAST((started_at + $1) / 86400000 AS BIGINT) AS d, \
                CAST(MAX(peak_viewers) AS BIGINT) \
         FROM live_sessions WHERE started_at >= $2 GROUP BY d",
    )
    .await?
    {
        if let Some(day) = series.get_mut(&d) {
            day.peak_viewers = n;
        }
    }

    let count = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).fetch_one(pool);
    let users = count("SELECT CAST(COUNT(*) AS BIGINT) FROM users").await?;
    let users_banned =
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM users WHERE status = 'banned'").await?;
    let rooms = count("SELECT CAST(COUNT(*) AS BIGINT) FROM live_rooms").await?;
    let withdrawals_pending =
        count("SELECT CAST(COUNT(*) AS BIGINT) FROM withdrawals WHERE state = 'pending'").await?;
    let live: Vec<i64> = sqlx::query_scalar("SELECT id FROM live_rooms WHERE status = 'live'")
        .fetch_all(pool)
        .await?;
    let viewers = live.iter().map(|id| state.room_viewers(*id)).sum();
    let midnight = today * DAY_MS - offset;
    let (gift_coins_today, gifts_today): (i64, i64) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(coins), 0) AS BIGINT), CAST(COUNT(*) AS BIGINT) \
         FROM gift_events WHERE created_at >= $1",
    )
    .bind(midnight)
    .fetch_one(pool)
    .await?;
    Ok(Json(Stats {
        totals: Totals {
            users,
            users_banned,
            rooms,
            rooms_live: live.len() as i64,
            viewers,
            gift_coins_today,
            gifts_today,
            withdrawals_pending,
        },
        days: series.into_values().collect(),
        warnings: crate::ops::health::unsafe_settings(state.settings()),
    }))
}

/// `YYYY-MM-DD` of day number `d` since 1970-01-01 (proleptic Gregorian).
fn date_of(d: i64) -> String {
    // Howard Hinnant's civil_from_days.
    let z = d + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}

#[cfg(test)]
mod tests {
    #[test]
    fn day_numbers_become_dates() {
        assert_eq!(super::date_of(0), "1970-01-01");
        assert_eq!(super::date_of(20_454), "2026-01-01");
        assert_eq!(super::date_of(19_782), "2024-02-29");
    }
}
