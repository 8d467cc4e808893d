//! Group chat: a conversation of kind `group` with a name, an owner, admins and members.
//!
//! Messages, sequence numbers, history, sync, unread counts and read positions are the
//! conversation machinery's ([`crate::chat`]); this folder manages who is in a group and
//! what they may do. Every change (created, joined, left, kicked, role changed, muted,
//! updated, dissolved) is stored as a `system` message in the conversation, in the same
//! transaction, so a member who was away learns it from a sync, in order.
//!
//! Rules:
//! - Groups are private: nobody joins by id; members are invited. Any member may invite,
//!   unless the group is `admins_invite_only`. Invited users who block the inviter are
//!   skipped, as are current members.
//! - The owner appoints admins and may hand ownership to a member (becoming an admin).
//!   The owner and admins rename, mute members or the whole group, and kick; an admin
//!   cannot kick or mute another admin or the owner.
//! - The owner cannot leave: they transfer ownership first, or dissolve the group.
//! - A dissolved group is read-only: its members still read and sync it, and may leave.

pub mod create;
pub mod dissolve;
pub mod get;
pub mod invite;
pub mod kick;
pub mod leave;
pub mod model;
pub mod mutes;
pub mod set_role;
pub mod update;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

use crate::TalkState;

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    TalkState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(create::create_group))
        .routes(routes!(
            get::get_group,
            update::update_group,
            dissolve::dissolve_group
        ))
        .routes(routes!(invite::invite))
        .routes(routes!(leave::leave))
        .routes(routes!(kick::kick))
        .routes(routes!(set_role::set_role))
        .routes(routes!(mutes::mute))
        .routes(routes!(mutes::unmute))
}
