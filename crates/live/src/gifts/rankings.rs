//! Contribution rankings: for each room, who gave the most in the current live session,
//! today, this week and all time; and across rooms, which anchors earned the most.
//!
//! Sending a gift adds to running sums in `gift_ranks` in the gift's own transaction, one
//! row per (room, period, user), so a ranking is an index range read however many gifts
//! there were. Periods are named `s{session}`, `d{day}`, `w{week}` and `all`, where day and
//! week count from the Unix epoch in the configured time zone (weeks start on Monday);
//! room 0 holds the anchor ranking. [`prune`] drops days and weeks past their keeping.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::Json;
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::rooms::errors::LiveError;
use crate::LiveState;
use api::error::Result;
use api::http::errors::RequestError;
use api::http::{IdPath, Query};

const DAY_MS: i64 = 86_400_000;

/// The day number of `ms` in a zone `offset_minutes` east of UTC.
pub fn day(ms: i64, offset_minutes: i32) -> i64 {
    (ms + offset_minutes as i64 * 60_000).div_euclid(DAY_MS)
}

/// The week number of `ms` (weeks start on Monday; 1970-01-01 was a Thursday).
pub fn week(ms: i64, offset_minutes: i32) -> i64 {
    (day(ms, offset_minutes) + 3).div_euclid(7)
}

/// The period keys a gift at `now` in `session` counts towards.
pub fn periods(now: i64, offset_minutes: i32, session: Option<i64>) -> Vec<String> {
    let mut v = vec![
        "all".to_string(),
        format!("d{}", day(now, offset_minutes)),
        format!("w{}", week(now, offset_minutes)),
    ];
    if let Some(s) = session {
        v.push(format!("s{s}"));
    }
    v
}

/// Whether period key `p` is a live session's (`s{session}`): the anchors' ranking (room
/// 0) has no sessions.
fn is_session(p: &str) -> bool {
    p.starts_with('s')
}

/// Gifts' coins summed per (room, period, user) before they are written: a batch of
/// gifts costs one statement.
#[derive(Debug, Default)]
pub struct Contributions(BTreeMap<(i64, String, i64), i64>);

impl Contributions {
    /// Counts `coins` given by `sender` to `anchor` in `room` towards `periods` (from
    /// [`periods`]): the room's ranking of senders for each, and the anchors' ranking
    /// (room 0) for each but the session.
    pub fn add(&mut self, room: i64, sender: i64, anchor: i64, periods: &[String], coins: i64) {
        for p in periods {
            *self.0.entry((room, p.clone(), sender)).or_default() += coins;
            if !is_session(p) {
                *self.0.entry((0, p.clone(), anchor)).or_default() += coins;
            }
        }
    }

    /// Adds the sums to the running totals in `gift_ranks`, in one statement.
    pub async fn write(&self, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<()> {
        if self.0.is_empty() {
            return Ok(());
        }
        let mut sql =
            String::from("INSERT INTO gift_ranks (room_id, period, user_id, coins) VALUES ");
        sql.push_str(&store::sql::rows(1, self.0.len(), 4));
        sql.push_str(
            " ON CONFLICT (room_id, period, user_id) DO UPDATE SET coins = gift_ranks.coins + excluded.coins",
        );
        let mut q = sqlx::query(&sql);
        for ((room, period, user), coins) in &self.0 {
            q = q.bind(*room).bind(period.as_str()).bind(*user).bind(*coins);
        }
        q.execute(&mut **tx).await?;
        Ok(())
    }
}

#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    /// The room's current (or last) live session.
    Session,
    Day,
    Week,
    All,
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RankingQuery {
    /// `session`, `day`, `week` or `all` (default `day`).
    #[param(inline)]
    pub period: Option<Period>,
    /// 1–100 (default 20).
    pub limit: Option<i64>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RankEntry {
    pub rank: i64,
    pub user_id: i64,
    pub nickname: String,
    pub avatar_url: Option<String>,
    /// Coins given (room rankings) or received (anchor ranking).
    pub coins: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    /// The period's key, e.g. `d20419` or `s12`.
    pub period: String,
    pub items: Vec<RankEntry>,
}

fn limit(q: &RankingQuery) -> std::result::Result<i64, ApiError> {
    let limit = q.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::from(RequestError::InvalidLimit));
    }
    Ok(limit)
}

async fn read(state: &LiveState, room: i64, period: String, limit: i64) -> Result<Ranking> {
    let rows: Vec<(i64, String, Option<String>, i64)> = sqlx::query_as(
        "SELECT g.user_id, u.nickname, u.avatar_url, g.coins FROM gift_ranks g \
         JOIN users u ON u.id = g.user_id \
         WHERE g.room_id = $1 AND g.period = $2 ORDER BY g.coins DESC, g.user_id LIMIT $3",
    )
    .bind(room)
    .bind(&period)
    .bind(limit)
    .fetch_all(state.store().pool())
    .await?;
    let items = rows
        .into_iter()
        .enumerate()
        .map(|(i, (user_id, nickname, avatar_url, coins))| RankEntry {
            rank: i as i64 + 1,
            user_id,
            nickname,
            avatar_url,
            coins,
        })
        .collect();
    Ok(Ranking { period, items })
}

#[utoipa::path(
    get,
    path = "/api/v1/rooms/{id}/rankings",
    tag = "gifts",
    params(("id" = i64, Path, description = "Room id"), RankingQuery),
    responses(
        (status = 200, description = "Top contributors of the room", body = Ranking),
        (status = 400, description = "Bad period or limit", body = kit::error::ErrorBody),
        (status = 404, description = "No such room (`room_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn room_ranking(
    State(state): State<LiveState>,
    IdPath(id): IdPath,
    Query(q): Query<RankingQuery>,
) -> Result<Json<Ranking>> {
    let limit = limit(&q)?;
    let session: Option<Option<i64>> = sqlx::query_scalar(
        "SELECT COALESCE(session_id, (SELECT MAX(s.id) FROM live_sessions s WHERE s.room_id = r.id)) \
         FROM live_rooms r WHERE r.id = $1",
    )
    .bind(id)
    .fetch_optional(state.store().pool())
    .await?;
    let session = session.ok_or(LiveError::RoomNotFound)?;
    let offset = state.settings().economy.ranking_utc_offset_minutes;
    let now = kit::time::now_ms();
    let period = match q.period.unwrap_or(Period::Day) {
        Period::Session => format!("s{}", session.unwrap_or(0)),
        Period::Day => format!("d{}", day(now, offset)),
        Period::Week => format!("w{}", week(now, offset)),
        Period::All => "all".into(),
    };
    Ok(Json(read(&state, id, period, limit).await?))
}

#[utoipa::path(
    get,
    path = "/api/v1/rankings/anchors",
    tag = "gifts",
    params(RankingQuery),
    responses(
        (status = 200, description = "Anchors who received the most, in coins spent on them", body = Ranking),
        (status = 400, description = "Bad period (`session` has no meaning here) or limit", body = kit::error::ErrorBody),
    )
)]
pub async fn anchor_ranking(
    State(state): State<LiveState>,
    Query(q): Query<RankingQuery>,
) -> Result<Json<Ranking>> {
    let limit = limit(&q)?;
    let offset = state.settings().economy.ranking_utc_offset_minutes;
    let now = kit::time::now_ms();
    let period = match q.period.unwrap_or(Period::Day) {
        Period::Session => return Err(LiveError::InvalidPeriod.into()),
        Period::Day => format!("d{}", day(now, offset)),
        Period::Week => format!("w{}", week(now, offset)),
        Period::All => "all".into(),
    };
    Ok(Json(read(&state, 0, period, limit).await?))
}

/// Deletes daily and weekly rankings older than the configured keeping, and session
/// rankings of sessions that ended that long ago. Returns the rows deleted.
pub async fn prune(state: &LiveState, now: i64) -> Result<u64> {
    let economy = &state.settings().economy;
    let offset = economy.ranking_utc_offset_minutes;
    let keep = economy.ranking_keep_days as i64;
    let cutoff = now - keep * DAY_MS;
    let periods: Vec<String> = sqlx::query_scalar("SELECT DISTINCT period FROM gift_ranks")
        .fetch_all(state.store().pool())
        .await?;
    let old_sessions: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM live_sessions WHERE ended_at IS NOT NULL AND ended_at < $1 ORDER BY id",
    )
    .bind(cutoff)
    .fetch_all(state.store().pool())
    .await?;
    let (first_day, first_week) = (day(cutoff, offset), week(cutoff, offset));
    let mut deleted = 0;
    for p in periods {
        let n = p.get(1..).and_then(|n| n.parse::<i64>().ok());
        let stale = match (p.chars().next(), n) {
            (Some('d'), Some(d)) => d < first_day,
            (Some('w'), Some(w)) => w < first_week,
            (Some('s'), Some(s)) => old_sessions.binary_search(&s).is_ok(),
            _ => false,
        };
        if stale {
            deleted += sqlx::query("DELETE FROM gift_ranks WHERE period = $1")
                .bind(&p)
                .execute(state.store().writer())
                .await?
                .rows_affected();
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gift_counts_for_the_room_in_every_period_and_for_the_anchor_but_the_session() {
        let mut c = Contributions::default();
        let p = vec!["all".to_string(), "d1".into(), "s9".into()];
        c.add(7, 1, 2, &p, 5);
        c.add(7, 1, 2, &p, 3);
        assert_eq!(c.0[&(7, "s9".into(), 1)], 8);
        assert_eq!(c.0[&(0, "all".into(), 2)], 8);
        assert!(!c.0.contains_key(&(0, "s9".into(), 2)));
        assert_eq!(c.0.len(), 5);
    }

    #[test]
    fn days_and_weeks_follow_the_zone() {
        // 2026-11-27 (a Friday) 20:00 UTC is already the 28th in China.
        let t = 1_795_809_600_000;
        assert_eq!(day(t, 480), day(t, 0) + 1);
        // Monday 2026-11-23 00:00 UTC starts a week; the Sunday before is in the previous.
        let monday = 1_795_392_000_000;
        assert_eq!(week(monday, 0), week(t, 0));
        assert_eq!(week(monday - 1, 0), week(t, 0) - 1);
        assert_eq!(periods(t, 0, Some(9)).len(), 4);
    }
}
