//! What every context of momo's HTTP API shares, below all of them: the error their use
//! cases return ([`error`]), the extractors of a request's body, query, ids and cursors
//! ([`http`]), who is calling ([`auth`]), and the questions a context may ask the identity
//! context without knowing its insides ([`people`]).
//!
//! The contexts (identity, live, talk, videos) depend on this crate, never on each
//! other; the shell (`app`) implements [`people::People`] with the identity context and
//! hands it to the others.

pub mod audit;
pub mod auth;
pub mod error;
pub mod events;
pub mod http;
pub mod notices;
pub mod people;
pub mod shared;

pub use auth::{Admin, Auth, MaybeAuth, Role};
pub use error::{Error, Result};
pub use people::{Directory, Notification, NotificationKind, People, Profile};
