//! `POST /api/v1/auth/login`: exchange a username and password for a session.
//!
//! Guessing is slowed per (username, client address) and per client address: after a
//! few failures each attempt waits a little longer, then the key is refused with 429 and
//! `Retry-After` until the window has passed. Failures on one username from everywhere
//! only slow it (doubling, capped), never lock it: someone guessing `root`'s password
//! from one address, or from many, cannot keep `root` out, because the right password
//! from an address that has not failed still signs in. A success clears the username's
//! counts (not the address's, or a guesser could reset it by signing in to an account
//! of their own).

use std::time::Duration;

use axum::extract::State;
use axum::Json;
use kit::limiter::{stricter, FailureLimiter, FailurePolicy, Verdict};
use kit::ApiError;
use serde::Deserialize;

use crate::accounts::errors::IdentityError;
use crate::accounts::{rules, session, Role};
use crate::users::model::{UserRow, UserView, USER_COLUMNS};
use crate::AuthSettings;
use crate::IdentityState;
use api::error::Result;
use api::http::{Body, ClientIp, Fields};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(sqlx::FromRow)]
struct Credentials {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: String,
}

/// Failure counters for logins: by (username, client address), by client address, and
/// by username alone (which only slows); and accounts registered per client address.
#[derive(Debug)]
pub struct LoginGuard {
    by_pair: FailureLimiter,
    by_ip: FailureLimiter,
    by_user: FailureLimiter,
    registrations: FailureLimiter,
}

impl LoginGuard {
    pub fn new(s: &AuthSettings) -> Self {
        let window = Duration::from_secs(s.login_lock_secs.max(1));
        let step = Duration::from_millis(250);
        Self {
            by_pair: FailureLimiter::named(
                "login_pair",
                FailurePolicy {
                    free: s.login_free_failures,
                    delay_step: step,
                    max: s.login_max_failures.max(1),
                    window,
                    ..FailurePolicy::default()
                },
            ),
            by_ip: FailureLimiter::named(
                "login_ip",
                FailurePolicy {
                    free: s.login_ip_max_failures / 2,
                    delay_step: step,
                    max: s.login_ip_max_failures.max(1),
                    window,
                    ..FailurePolicy::default()
                },
            ),
            by_user: FailureLimiter::named(
                "login_user",
                FailurePolicy {
                    free: s.login_user_free_failures,
                    delay_step: step,
                    max: u32::MAX,
                    window,
                    exponential: true,
                    max_delay: Duration::from_millis(s.login_user_max_delay_ms),
                },
            ),
            // Each account made counts as a "failure" that is never slowed, only capped.
            registrations: FailureLimiter::named(
                "registrations",
                FailurePolicy {
                    free: u32::MAX,
                    max: s.register_per_hour.max(1),
                    window: Duration::from_secs(3600),
                    ..FailurePolicy::default()
                },
            ),
        }
    }

    /// Counts in `store` (Redis, in a cluster) from now on, so that every node sees one
    /// count per key; each limiter falls back to this node's own while it is away.
    pub fn share(&self, store: std::sync::Arc<dyn kit::limiter::SharedFailures>) {
        for limiter in [
            &self.by_pair,
            &self.by_ip,
            &self.by_user,
            &self.registrations,
        ] {
            limiter.share(store.clone());
        }
    }

    /// Refuses (429) a client address that registered `auth.register_per_hour` accounts
    /// within an hour of its latest.
    pub async fn may_register(&self, ip: Option<std::net::IpAddr>) -> Result<()> {
        let Some(ip) = ip else { return Ok(()) };
        match self.registrations.check_shared(&ip.to_string()).await {
            Verdict::Refuse(wait) => {
                metrics::counter!("auth_register_refused_total").increment(1);
                Err(ApiError::too_many_requests(
                    "too many accounts registered from this address; wait before trying again",
                    wait.as_secs_f64().ceil() as u64,
                )
                .into())
            }
            _ => Ok(()),
        }
    }

    /// Counts an account made from `ip`.
    pub async fn registered(&self, ip: Option<std::net::IpAddr>) {
        if let Some(ip) = ip {
            self.registrations.fail_shared(&ip.to_string()).await;
        }
    }

    fn pair(user_key: &str, ip: Option<&str>) -> String {
        format!("{user_key}\n{}", ip.unwrap_or(""))
    }

    async fn verdict(&self, user_key: &str, ip: Option<&str>) -> Verdict {
        let by_ip = match ip {
            Some(ip) => self.by_ip.check_shared(ip).await,
            None => Verdict::Allow,
        };
        let by_pair = self.by_pair.check_shared(&Self::pair(user_key, ip)).await;
        let by_user = self.by_user.check_shared(user_key).await;
        stricter(stricter(by_pair, by_ip), by_user)
    }

    async fn failed(&self, user_key: &str, ip: Option<&str>) {
        self.by_pair.fail_shared(&Self::pair(user_key, ip)).await;
        self.by_user.fail_shared(user_key).await;
        if let Some(ip) = ip {
            self.by_ip.fail_shared(ip).await;
        }
    }

    async fn succeeded(&self, user_key: &str, ip: Option<&str>) {
        self.by_pair.clear_shared(&Self::pair(user_key, ip)).await;
        self.by_user.clear_shared(user_key).await;
    }
}

/// Checks a username and password, slowed and limited as the module says; the active
/// account they name. Shared by the API's login and the web pages' session.
pub async fn check_credentials(
    state: &IdentityState,
    ip: Option<std::net::IpAddr>,
    req: LoginRequest,
) -> Result<UserRow> {
    let mut f = Fields::new();
    f.check("username", !req.username.is_empty(), "is required");
    f.check("username", req.username.len() <= 256, "is too long");
    f.check("password", !req.password.is_empty(), "is required");
    f.check(
        "password",
        req.password.chars().count() <= rules::PASSWORD_MAX,
        "is too long",
    );
    f.finish()?;

    let user_key = rules::key(&req.username);
    let ip = ip.map(|ip| ip.to_string());
    let guard = state.login_guard();
    match guard.verdict(&user_key, ip.as_deref()).await {
        Verdict::Allow => {}
        Verdict::Delay(d) => tokio::time::sleep(d).await,
        Verdict::Refuse(wait) => {
            metrics::counter!("auth_login_refused_total").increment(1);
            return Err(ApiError::too_many_requests(
                "too many failed sign-ins; wait before trying again",
                wait.as_secs_f64().ceil() as u64,
            )
            .into());
        }
    }

    let found = sqlx::query_as::<_, Credentials>(&format!(
        "SELECT {USER_COLUMNS}, u.password_hash FROM users u WHERE u.username_key = $1"
    ))
    .bind(&user_key)
    .fetch_optional(state.store().pool())
    .await?;
    let (row, hash) = match found {
        Some(c) => (Some(c.user), Some(c.password_hash)),
        None => (None, None),
    };
    let ok = state.passwords().verify(req.password, hash).await?;
    let Some(row) = row.filter(|_| ok) else {
        guard.failed(&user_key, ip.as_deref()).await;
        metrics::counter!("auth_login_failures_total").increment(1);
        return Err(IdentityError::InvalidCredentials.into());
    };
    guard.succeeded(&user_key, ip.as_deref()).await;
    if row.status != "active" {
        return Err(IdentityError::AccountBanned.into());
    }
    Ok(row)
}

#[utoipa::path(
    post,
    path = "/api/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = session::AuthResponse),
        (status = 401, description = "Wrong username or password (`invalid_credentials`)", body = kit::error::ErrorBody),
        (status = 403, description = "The account is banned (`account_banned`)", body = kit::error::ErrorBody),
        (status = 429, description = "Too many failures; see `Retry-After`", body = kit::error::ErrorBody),
    )
)]
pub async fn login(
    State(state): State<IdentityState>,
    ClientIp(ip): ClientIp,
    Body(req): Body<LoginRequest>,
) -> Result<Json<session::AuthResponse>> {
    let row = check_credentials(&state, ip, req).await?;
    let role = Role::parse(&row.role);
    let tokens = session::issue(&state, state.store().pool(), row.id, role, None).await?;
    let own = row.id;
    let user = UserView::new(row, own);
    Ok(Json(session::AuthResponse { user, tokens }))
}
