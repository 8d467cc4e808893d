//! `GET /healthz` (the process answers) and `GET /readyz` (and its database does).

use axum::extract::State;
use axum::Json;
use kit::ApiError;
use serde::Serialize;

use crate::AppState;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// `ok`, or `degraded` when the node serves but something it shares with other nodes
    /// is away (see `degraded`).
    pub status: &'static str,
    /// What is away: the node keeps serving what it can on its own and recovers by itself
    /// (`event bus`: events do not reach other nodes; `shared counts`: limits and online
    /// counts are per node). Absent when nothing is.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub degraded: Vec<String>,
    /// Settings on this node that are unsafe where the public can reach it (for
    /// example the development payment provider); absent when there are none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// What an operator must know before this node faces the public: each setting that
/// hands out money or access for development, said in a sentence. The log says it at
/// start, `/readyz` and the admin dashboard say it while it lasts.
pub fn unsafe_settings(settings: &crate::Settings) -> Vec<String> {
    let mut warnings = Vec::new();
    if settings.economy.dev_payments {
        warnings.push(
            "economy.dev_payments is on: any signed-in user can buy coins for nothing \
             through /api/v1/payments/dev/checkout; turn it off before the public can reach \
             this server"
                .to_string(),
        );
    }
    warnings
}

#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    responses((status = 200, description = "The process is alive", body = Health))
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        degraded: Vec::new(),
        warnings: Vec::new(),
    })
}

#[utoipa::path(
    get,
    path = "/readyz",
    tag = "ops",
    responses(
        (status = 200, description = "Ready to serve: the database answers (`degraded` when the event bus between nodes is away)", body = Health),
        (status = 503, description = "The database does not answer (`unavailable`)", body = kit::error::ErrorBody),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    let ping = tokio::time::timeout(std::time::Duration::from_secs(2), state.store().ping()).await;
    match ping {
        Ok(Ok(())) => {
            let mut degraded = Vec::new();
            if !state.bus().is_up() {
                degraded.push(
                    "event bus: NATS is not connected; events stay on this node until it \
                     reconnects"
                        .to_string(),
                );
            }
            if state.shared_missing() {
                degraded.push(
                    "shared counts: Redis has not answered since this node started; limits \
                     and online counts are this node's own until it does"
                        .to_string(),
                );
            }
            if let Some(shared) = state.shared() {
                if !shared.is_up().await {
                    degraded.push(
                        "shared counts: Redis does not answer; limits and online counts are \
                         this node's own until it does"
                            .to_string(),
                    );
                }
            }
            Ok(Json(Health {
                status: if degraded.is_empty() {
                    "ok"
                } else {
                    "degraded"
                },
                degraded,
                warnings: unsafe_settings(state.settings()),
            }))
        }
        Ok(Err(e)) => {
            tracing::warn!("readiness check failed: {e}");
            Err(ApiError::unavailable("the database does not answer"))
        }
        Err(_) => Err(ApiError::unavailable("the database did not answer in time")),
    }
}
