//! Live rooms: one per anchor, with the secret stream key their encoder publishes with
//! and the URLs viewers play. The media server asks [`stream_auth::DbStreamAuth`] whether
//! a key may publish, and tells [`events::apply`] when a room goes live or offline.
//! The room's owner appoints room admins ([`admins`]); they mute ([`mutes`]) and kick
//! ([`kick`]) members of the room's chat, which the gateway learns through
//! [`room_rules`].

pub mod admin;
pub mod admins;
pub mod create_room;
pub mod cut;
pub mod errors;
pub mod events;
pub mod get_room;
pub mod kick;
pub mod list_rooms;
pub mod model;
pub mod mutes;
pub mod origins;
pub mod room_rules;
pub mod rotate_key;
pub mod rule_changes;
pub mod search;
pub mod sessions;
pub mod stream_auth;
pub mod streams;
pub mod update_room;
pub mod upkeep;

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
        .routes(routes!(get_room::get_room, update_room::update_room))
        .routes(routes!(create_room::create_room, list_rooms::list_rooms))
        .routes(routes!(list_rooms::following_rooms))
        .routes(routes!(search::search_rooms))
        .routes(routes!(rotate_key::rotate_key))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(admins::list_admins))
        .routes(routes!(admins::add_admin, admins::remove_admin))
        .routes(routes!(mutes::mute, mutes::list_mutes))
        .routes(routes!(mutes::unmute))
        .routes(routes!(kick::kick))
        .routes(routes!(admin::list_live_rooms))
        .routes(routes!(admin::cut_stream))
        .routes(routes!(admin::ban_room, admin::unban_room))
}
