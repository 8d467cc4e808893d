//! Groups as stored and as shown, and the checks every group change starts with.

use kit::ApiError;
use serde::Serialize;
use sqlx::AnyConnection;

use crate::chat::append::{conversation_not_found, group_dissolved};
use crate::chat::errors::TalkError;
use api::error::Result;

/// A member's standing in a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GroupRole {
    Member,
    Admin,
    Owner,
}

impl GroupRole {
    pub fn parse(s: &str) -> Option<GroupRole> {
        match s {
            "member" => Some(GroupRole::Member),
            "admin" => Some(GroupRole::Admin),
            "owner" => Some(GroupRole::Owner),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Member => "member",
            GroupRole::Admin => "admin",
            GroupRole::Owner => "owner",
        }
    }

    /// The owner and admins run the group.
    pub fn is_manager(self) -> bool {
        self >= GroupRole::Admin
    }
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: i64,
    pub name: Option<String>,
    pub owner_id: Option<i64>,
    pub muted_all: i64,
    pub admins_invite_only: i64,
    pub member_count: i64,
    pub dissolved_at: Option<i64>,
    pub last_seq: i64,
    pub created_at: i64,
}

pub const GROUP_COLUMNS: &str = "id, name, owner_id, muted_all, admins_invite_only, \
     member_count, dissolved_at, last_seq, created_at";

impl GroupRow {
    /// 409 `group_dissolved` once the group is read-only.
    pub fn ensure_open(&self) -> Result<()> {
        match self.dissolved_at {
            Some(_) => Err(group_dissolved().into()),
            None => Ok(()),
        }
    }
}

/// A member as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema, sqlx::FromRow)]
pub struct GroupMember {
    pub user_id: i64,
    /// `owner`, `admin` or `member`.
    pub role: String,
    /// Muted until then (ms since the epoch); absent when not muted.
    #[sqlx(skip)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub muted_until: Option<i64>,
    #[serde(skip)]
    pub muted_until_ms: i64,
    /// How far the member has read.
    pub read_seq: i64,
    /// How far the member's devices have received (socket ack).
    pub delivered_seq: i64,
    pub joined_at: i64,
}

/// A group as its members see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct GroupView {
    /// The group's conversation id: send, read and sync with the conversation routes.
    pub id: i64,
    pub kind: &'static str,
    pub name: String,
    pub owner_id: i64,
    /// Only the owner and admins may speak.
    pub muted_all: bool,
    /// Only the owner and admins may invite.
    pub admins_invite_only: bool,
    /// Set once the owner dissolved the group; it is read-only from then on.
    pub dissolved_at: Option<i64>,
    pub member_count: i64,
    pub last_seq: i64,
    pub created_at: i64,
    /// Owner first, then admins, then members, each by joining time.
    pub members: Vec<GroupMember>,
}

/// Locks group `id` for the rest of the transaction and returns it with `user`'s role.
/// 404 `conversation_not_found` when it is not a group or `user` is not in it.
pub async fn lock_as_member(
    conn: &mut AnyConnection,
    id: i64,
    user: i64,
) -> Result<(GroupRow, GroupRole)> {
    // A write that changes nothing: the row lock (PostgreSQL) or write lock (SQLite)
    // that serialises this change with sends and other changes of the group.
    let group = sqlx::query_as::<_, GroupRow>(&format!(
        "UPDATE conversations SET member_count = member_count \
         WHERE id = $1 AND kind = 'group' RETURNING {GROUP_COLUMNS}"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(conversation_not_found)?;
    let role = role_of(conn, id, user)
        .await?
        .ok_or_else(conversation_not_found)?;
    Ok((group, role))
}

/// `user`'s role in conversation `id`, if a member.
pub async fn role_of(conn: &mut AnyConnection, id: i64, user: i64) -> Result<Option<GroupRole>> {
    let role: Option<String> = sqlx::query_scalar(
        "SELECT role FROM conversation_members WHERE conversation_id = $1 AND user_id = $2",
    )
    .bind(id)
    .bind(user)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(role.and_then(|r| GroupRole::parse(&r)))
}

/// The group and its members, for `user` (404 unless a member).
pub async fn load_view(conn: &mut AnyConnection, id: i64, user: i64) -> Result<GroupView> {
    let group = sqlx::query_as::<_, GroupRow>(&format!(
        "SELECT {GROUP_COLUMNS} FROM conversations WHERE id = $1 AND kind = 'group'"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or_else(conversation_not_found)?;
    let mut members = sqlx::query_as::<_, GroupMember>(
        "SELECT user_id, role, muted_until AS muted_until_ms, read_seq, delivered_seq, \
                joined_at \
         FROM conversation_members WHERE conversation_id = $1 ORDER BY joined_at, user_id",
    )
    .bind(id)
    .fetch_all(&mut *conn)
    .await?;
    if !members.iter().any(|m| m.user_id == user) {
        return Err(conversation_not_found().into());
    }
    let now = kit::time::now_ms();
    for m in &mut members {
        m.muted_until = Some(m.muted_until_ms).filter(|u| *u > now);
    }
    members.sort_by_key(|m| std::cmp::Reverse(GroupRole::parse(&m.role)));
    Ok(GroupView {
        id: group.id,
        kind: "group",
        name: group.name.unwrap_or_default(),
        owner_id: group.owner_id.unwrap_or_default(),
        muted_all: group.muted_all != 0,
        admins_invite_only: group.admins_invite_only != 0,
        dissolved_at: group.dissolved_at,
        member_count: group.member_count,
        last_seq: group.last_seq,
        created_at: group.created_at,
        members,
    })
}

pub fn not_group_admin() -> ApiError {
    ApiError::from(TalkError::NotGroupAdmin)
}

pub fn not_group_owner() -> ApiError {
    ApiError::from(TalkError::NotGroupOwner)
}

pub fn member_not_found() -> ApiError {
    ApiError::from(TalkError::MemberNotFound)
}

/// Whether `actor` may act on `target` (kick, mute): managers only; never on oneself or
/// the owner; an admin not on another admin.
pub fn check_moderation(actor: GroupRole, target: GroupRole, same_user: bool) -> Result<()> {
    if same_user {
        return Err(TalkError::CannotModerateSelf.into());
    }
    if !actor.is_manager() {
        return Err(not_group_admin().into());
    }
    if target == GroupRole::Owner {
        return Err(TalkError::CannotModerateOwner.into());
    }
    if target == GroupRole::Admin && actor == GroupRole::Admin {
        return Err(TalkError::CannotModerateGroupAdmin.into());
    }
    Ok(())
}

/// Checks a group name: 1 to 64 characters after trimming, no control characters.
pub fn check_name(f: &mut api::http::Fields, name: &str) {
    f.text("name", name.trim(), 1, 64);
}
