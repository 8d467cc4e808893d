//! Gifts: the [`catalogue`] operators manage, [`send`]ing one to a live room (paid through
//! the wallet's ledger), and the contribution [`rankings`] they feed.

pub mod batch;
pub mod catalogue;
pub mod events;
pub mod lookup;
pub mod notices;
pub mod rankings;
pub mod send;

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
    OpenApiRouter::new()
        .routes(routes!(catalogue::list_gifts))
        .routes(routes!(catalogue::admin_list_gifts, catalogue::create_gift))
        .routes(routes!(catalogue::update_gift, catalogue::retire_gift))
        .routes(routes!(send::send_gift))
        .routes(routes!(rankings::room_ranking))
        .routes(routes!(rankings::anchor_ranking))
}
