//! Accounts: registration, login, token refresh and logout.
//!
//! A session is a pair: a short-lived access token (JWT, see [`tokens`]) and a refresh
//! token (random, stored hashed, rotated on every use; see [`session`]).

pub mod change_password;
pub mod chat_auth;
pub mod check;
pub mod create_admin;
pub mod errors;
pub mod login;
pub mod logout;
pub mod password;
pub mod people;
pub mod refresh;
pub mod register;
pub mod rules;
pub mod session;
pub mod standing;
pub mod tokens;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use api::http::TrustedProxies;
use api::Directory;
use axum::extract::FromRef;

use crate::IdentityState;

pub use api::Role;

pub fn routes<S>() -> OpenApiRouter<S>
where
    S: Clone + Send + Sync + 'static,
    IdentityState: FromRef<S>,
    Directory: FromRef<S>,
    TrustedProxies: FromRef<S>,
{
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(refresh::refresh))
        .routes(routes!(logout::logout))
        .routes(routes!(change_password::change_password))
        .routes(routes!(check::check))
}
