//! Accounts: registration, login, token refresh and logout.
//!
//! A session is a pair: a short-lived access token (JWT, see [`tokens`]) and a refresh
//! token (random, stored hashed, rotated on every use; see [`session`]).

pub mod change_password;
pub mod create_admin;
pub mod errors;
pub mod login;
pub mod logout;
pub mod password;
pub mod refresh;
pub mod register;
pub mod rules;
pub mod session;
pub mod standing;
pub mod tokens;

use serde::{Deserialize, Serialize};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// What an account may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    User,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Role {
        if s == "admin" {
            Role::Admin
        } else {
            Role::User
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register::register))
        .routes(routes!(login::login))
        .routes(routes!(refresh::refresh))
        .routes(routes!(logout::logout))
        .routes(routes!(change_password::change_password))
}
