//! The social graph: follows (one-way), friends (mutual follows) and blocks.
//!
//! Follower and following counts live on the user row and change in the same
//! transaction as the edge, so a profile read is one indexed row lookup.

pub mod block;
pub mod follow;
pub mod list_blocked;
pub mod lists;
pub mod unblock;
pub mod unfollow;

use serde::Serialize;
use sqlx::{Any, Transaction};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::users::model::{UserRow, UserView, RELATION_COLUMNS, USER_COLUMNS};
use api::error::Result;
use api::http::TrustedProxies;
use api::http::{Cursor, Page, PageQuery};
use api::Directory;
use axum::extract::FromRef;

use crate::IdentityState;

/// Tells the others that `actor` changed how they stand with `target` (follow, unfollow,
/// block, unblock): the feed drops what it cached of both graphs
/// ([`api::events::social::GraphChanged`], at most once).
pub async fn graph_changed(state: &IdentityState, actor: i64, target: i64) {
    api::events::publish(
        state.bus(),
        &api::events::social::GraphChanged { actor, target },
    )
    .await;
}

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    IdentityState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(follow::follow, unfollow::unfollow))
        .routes(routes!(block::block, unblock::unblock))
        .routes(routes!(lists::followers))
        .routes(routes!(lists::following))
        .routes(routes!(lists::friends))
        .routes(routes!(list_blocked::blocks))
}

/// The caller's relation to a user after a follow, unfollow, block or unblock.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Relation {
    pub user_id: i64,
    pub is_following: bool,
    pub is_blocking: bool,
}

#[derive(sqlx::FromRow)]
struct EdgeRow {
    #[sqlx(flatten)]
    user: UserRow,
    edge_at: i64,
}

/// One page of users reached through an edge table, newest edge first.
///
/// `from_where` is the `FROM … WHERE …` part: it joins `users u`, names the edge's time
/// as `edge_at` through `time_col`, and may use `$2` for `subject`. `$1` is the viewer.
pub(crate) async fn edge_page(
    state: &IdentityState,
    viewer: i64,
    subject: i64,
    from_where: &str,
    time_col: &str,
    page: &PageQuery,
) -> Result<Page<UserView>> {
    let (limit, cursor) = page.resolve()?;
    let rows = sqlx::query_as::<_, EdgeRow>(&format!(
        "SELECT {USER_COLUMNS}, {RELATION_COLUMNS}, {time_col} AS edge_at {from_where} \
           AND u.status = 'active' \
           AND ({time_col} < $3 OR ({time_col} = $3 AND u.id < $4)) \
         ORDER BY {time_col} DESC, u.id DESC LIMIT $5"
    ))
    .bind(viewer)
    .bind(subject)
    .bind(cursor.key)
    .bind(cursor.id)
    .bind(limit + 1)
    .fetch_all(state.store().pool())
    .await?;
    let rows: Vec<(i64, UserView)> = rows
        .into_iter()
        .map(|r| (r.edge_at, UserView::new(r.user, viewer)))
        .collect();
    let page = Page::from_rows(rows, limit, |(at, u)| Cursor { key: *at, id: u.id });
    Ok(Page {
        items: page.items.into_iter().map(|(_, u)| u).collect(),
        next_cursor: page.next_cursor,
    })
}

/// Checks that `target` is an active user other than `me`; `self_error` is the answer
/// when it is `me`.
pub(crate) async fn check_target(
    state: &IdentityState,
    me: i64,
    target: i64,
    self_error: kit::ApiError,
) -> Result<()> {
    if target == me {
        return Err(self_error.into());
    }
    crate::users::ensure_exists(state, target).await
}

/// Deletes the follow `follower → followee` if present, and its counts with it.
/// Returns whether there was one.
pub(crate) async fn remove_follow(
    tx: &mut Transaction<'static, Any>,
    follower: i64,
    followee: i64,
) -> Result<bool> {
    let gone = sqlx::query("DELETE FROM follows WHERE follower_id = $1 AND followee_id = $2")
        .bind(follower)
        .bind(followee)
        .execute(&mut **tx)
        .await?
        .rows_affected();
    if gone > 0 {
        adjust_counts(tx, follower, followee, -1).await?;
    }
    Ok(gone > 0)
}

/// Moves `follower`'s following count and `followee`'s follower count by `delta`,
/// touching the rows in id order so that concurrent follows cannot deadlock.
pub(crate) async fn adjust_counts(
    tx: &mut Transaction<'static, Any>,
    follower: i64,
    followee: i64,
    delta: i64,
) -> Result<()> {
    let following = "UPDATE users SET following_count = following_count + $1 WHERE id = $2";
    let followers = "UPDATE users SET follower_count = follower_count + $1 WHERE id = $2";
    let mut steps = [(follower, following), (followee, followers)];
    steps.sort_by_key(|(id, _)| *id);
    for (id, sql) in steps {
        sqlx::query(sql)
            .bind(delta)
            .bind(id)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Whether `blocker` blocks `blocked`.
pub(crate) async fn blocks<'e, E>(exec: E, blocker: i64, blocked: i64) -> Result<bool>
where
    E: sqlx::Executor<'e, Database = Any>,
{
    let found: Option<i64> =
        sqlx::query_scalar("SELECT 1 FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
            .bind(blocker)
            .bind(blocked)
            .fetch_optional(exec)
            .await?;
    Ok(found.is_some())
}
