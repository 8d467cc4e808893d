//! The web pages served by the binary: the viewer site at `/` and the admin console at
//! `/admin`.
//!
//! Pages are small HTML shells ([`pages`]) whose scripts call the JSON API and the chat
//! socket; scripts, styles and the vendored players are embedded in the binary
//! ([`assets`]), so the site needs nothing beyond `cargo build` and works offline. Every
//! page is sent with a Content-Security-Policy that allows scripts from this origin only
//! (no inline script): user data is always written into the page as text.
//!
//! Who loads a page is known from the session cookie ([`session`]); the admin pages are
//! refused (403) to anyone without the admin role, as the admin API is.

pub mod assets;
pub mod pages;

pub use identity::web_session as session;

use axum::routing::get;
use axum::Router;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

/// The session endpoints, documented in the OpenAPI document.
pub fn api_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(
        session::sign_in,
        session::current,
        session::sign_out
    ))
}

/// The pages and their assets (not part of the API document).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/", get(pages::home))
        .route("/login", get(pages::login))
        .route("/signup", get(pages::signup))
        .route("/rooms/{id}", get(pages::room))
        .route("/videos", get(pages::videos))
        .route("/studio", get(pages::studio))
        .route("/admin", get(pages::admin))
        .route("/admin/{*section}", get(pages::admin))
        .route("/assets/{*path}", get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route("/me", get(pages::me))
        .route("/upload", get(pages::upload))
        .route("/search", get(pages::search))
}
