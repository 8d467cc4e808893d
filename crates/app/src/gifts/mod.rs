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

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(catalogue::list_gifts))
        .routes(routes!(catalogue::admin_list_gifts, catalogue::create_gift))
        .routes(routes!(catalogue::update_gift, catalogue::retire_gift))
        .routes(routes!(send::send_gift))
        .routes(routes!(rankings::room_ranking))
        .routes(routes!(rankings::anchor_ranking))
}
