//! The notifications inbox: per user, numbered 1, 2, 3, … without gaps, persisted before
//! anything is pushed; new follower, gift received, a followed anchor went live, operator
//! announcements.
//!
//! Identity's own use cases call [`notify`], [`notify_many`] (fan-outs) and
//! [`notify_followers_live`]; the other contexts ask with a durable request
//! ([`api::notices`]) that the `notices.deliver` job stores once ([`deliver`]). Connected users get each notification at once as an op 25
//! push; everyone catches up with `GET /api/v1/notifications?after_seq=N` or the socket's
//! op 26, and reports reading with `POST /api/v1/notifications/read` or op 28.
//! Announcements are stored once and copied into each inbox when it is next read
//! ([`announcements`]).

pub mod announcements;
pub mod deliver;
pub mod events;
pub mod followers_live;
pub mod inbox;
pub mod list;
pub mod mark_read;
pub mod model;
pub mod notify;
pub mod socket;
pub mod unread;

pub use followers_live::notify_followers_live;
pub use model::{Notification, NotificationKind, NotificationView};
pub use notify::{notify, notify_many};

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

use crate::IdentityState;

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    IdentityState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(list::list_notifications))
        .routes(routes!(unread::unread))
        .routes(routes!(mark_read::mark_read))
}
