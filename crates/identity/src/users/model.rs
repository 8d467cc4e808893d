//! How a user is read from the database and shown to callers.

use serde::{Deserialize, Serialize};

use crate::accounts::Role;

/// The user columns every view selects, from a `users u` table alias.
pub const USER_COLUMNS: &str = "u.id, u.username, u.nickname, u.role, u.status, u.avatar_url, \
     u.bio, u.gender, u.birthday, u.location, u.follower_count, u.following_count, u.created_at";

/// The same columns unqualified, for `RETURNING` lists.
pub const USER_FIELDS: &str = "id, username, nickname, role, status, avatar_url, \
     bio, gender, birthday, location, follower_count, following_count, created_at";

/// The viewer's relation to `u`; the viewer id is always bound as `$1` (0 when anonymous).
pub const RELATION_COLUMNS: &str = "\
     CAST(CASE WHEN EXISTS (SELECT 1 FROM follows r WHERE r.follower_id = $1 AND r.followee_id = u.id) \
          THEN 1 ELSE 0 END AS BIGINT) AS is_following, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM follows r WHERE r.follower_id = u.id AND r.followee_id = $1) \
          THEN 1 ELSE 0 END AS BIGINT) AS is_followed_by";

/// A user row with the viewer's relation to it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UserRow {
    pub id: i64,
    pub username: String,
    pub nickname: String,
    pub role: String,
    pub status: String,
    pub avatar_url: Option<String>,
    pub bio: String,
    pub gender: String,
    pub birthday: Option<String>,
    pub location: String,
    pub follower_count: i64,
    pub following_count: i64,
    pub created_at: i64,
    #[sqlx(default)]
    pub is_following: i64,
    #[sqlx(default)]
    pub is_followed_by: i64,
}

/// Gender as users choose to show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Male,
    Female,
    Other,
    Unknown,
}

impl Gender {
    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
            Gender::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> Gender {
        match s {
            "male" => Gender::Male,
            "female" => Gender::Female,
            "other" => Gender::Other,
            _ => Gender::Unknown,
        }
    }
}

/// A user as the API shows them. Private fields (`role`, `birthday`, `status`) appear only
/// to the user themself; relation flags only to a signed-in viewer looking at someone else.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub nickname: String,
    pub avatar_url: Option<String>,
    pub bio: String,
    pub gender: Gender,
    pub location: String,
    pub follower_count: i64,
    pub following_count: i64,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birthday: Option<String>,
    /// Whether the viewer follows this user.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_following: Option<bool>,
    /// Whether this user follows the viewer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_followed_by: Option<bool>,
}

impl UserView {
    /// The view of `row` for `viewer` (0 when anonymous).
    pub fn new(row: UserRow, viewer: i64) -> Self {
        let own = viewer == row.id;
        let relation = viewer != 0 && !own;
        UserView {
            id: row.id,
            username: row.username,
            nickname: row.nickname,
            avatar_url: row.avatar_url,
            bio: row.bio,
            gender: Gender::parse(&row.gender),
            location: row.location,
            follower_count: row.follower_count,
            following_count: row.following_count,
            created_at: row.created_at,
            role: own.then(|| Role::parse(&row.role)),
            status: own.then_some(row.status),
            birthday: if own { row.birthday } else { None },
            is_following: relation.then_some(row.is_following != 0),
            is_followed_by: relation.then_some(row.is_followed_by != 0),
        }
    }

    /// The full view an admin sees: private fields included.
    pub fn for_admin(row: UserRow) -> Self {
        let role = Role::parse(&row.role);
        let status = row.status.clone();
        let birthday = row.birthday.clone();
        let mut v = UserView::new(row, 0);
        v.role = Some(role);
        v.status = Some(status);
        v.birthday = birthday;
        v
    }
}
