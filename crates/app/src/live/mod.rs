//! Live rooms: one per anchor, with the secret stream key their encoder publishes with
//! and the URLs viewers play. The media server asks [`stream_auth::DbStreamAuth`] whether
//! a key may publish, and tells [`events::apply`] when a room goes live or offline.

pub mod create_room;
pub mod events;
pub mod get_room;
pub mod list_rooms;
pub mod model;
pub mod rotate_key;
pub mod sessions;
pub mod stream_auth;
pub mod update_room;
pub mod upkeep;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(get_room::get_room, update_room::update_room))
        .routes(routes!(create_room::create_room, list_rooms::list_rooms))
        .routes(routes!(list_rooms::following_rooms))
        .routes(routes!(rotate_key::rotate_key))
        .routes(routes!(sessions::list_sessions))
}
