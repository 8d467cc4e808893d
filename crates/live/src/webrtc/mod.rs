//! WebRTC's side of the live context: what clients need to reach momo's WebRTC
//! endpoints through NATs, and (as they land) the WHIP and WHEP endpoints.

pub mod ice_servers;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

use crate::LiveState;

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    LiveState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new().routes(routes!(ice_servers::ice_servers))
}
