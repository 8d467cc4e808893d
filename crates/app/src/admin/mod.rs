//! Operator routes under `/api/v1/admin`, every one behind the [`Admin`](crate::http::Admin)
//! guard (403 `admin_required` for anyone else).

pub mod announce;
pub mod audit;
pub mod ban_user;
pub mod errors;
pub mod events;
pub mod get_user;
pub mod list_users;
pub mod reports;
pub mod reset_password;
pub mod set_role;
pub mod stats;
pub mod unban_user;
pub mod words;

use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users::list_users))
        .routes(routes!(ban_user::ban_user, unban_user::unban_user))
        .routes(routes!(announce::announce))
        .routes(routes!(get_user::get_user))
        .routes(routes!(reset_password::reset_password))
        .routes(routes!(set_role::set_role))
        .routes(routes!(stats::stats))
        .routes(routes!(audit::list_audit))
        .routes(routes!(words::list_words, words::add_word))
        .routes(routes!(words::remove_word))
        .routes(routes!(reports::list_reports))
        .routes(routes!(reports::resolve_report))
}
