//! `GET /api/v1/users/me`: the caller's own profile, private fields included.

use axum::extract::State;
use axum::Json;

use crate::users::model::UserView;
use crate::IdentityState;
use api::error::Result;
use api::http::Auth;

#[utoipa::path(
    get,
    path = "/api/v1/users/me",
    tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's profile", body = UserView),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn get_me(State(state): State<IdentityState>, auth: Auth) -> Result<Json<UserView>> {
    let row = super::load(&state, auth.user_id, auth.user_id).await?;
    Ok(Json(UserView::new(row, auth.user_id)))
}
