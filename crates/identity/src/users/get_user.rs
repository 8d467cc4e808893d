//! `GET /api/v1/users/{id}`: anyone's public profile, with follower and following counts
//! and, for a signed-in viewer, whether they follow each other.

use axum::extract::State;
use axum::Json;

use crate::users::model::UserView;
use crate::IdentityState;
use api::error::Result;
use api::http::{IdPath, MaybeAuth};

#[utoipa::path(
    get,
    path = "/api/v1/users/{id}",
    tag = "users",
    params(("id" = i64, Path, description = "User id")),
    security((), ("bearer" = [])),
    responses(
        (status = 200, description = "The user's profile", body = UserView),
        (status = 404, description = "No such user (`user_not_found`)", body = kit::error::ErrorBody),
    )
)]
pub async fn get_user(
    State(state): State<IdentityState>,
    viewer: MaybeAuth,
    IdPath(id): IdPath,
) -> Result<Json<UserView>> {
    let row = super::load(&state, id, viewer.viewer_id()).await?;
    Ok(Json(UserView::new(row, viewer.viewer_id())))
}
