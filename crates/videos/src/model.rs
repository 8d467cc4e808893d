//! How a video is read from the database and shown to callers, and the rules every use
//! case shares: hashtags, visibility, the feed's score.

use serde::{Deserialize, Serialize};

use crate::VideosState;

/// The video columns every view selects, from `videos v JOIN users u ON u.id = v.author_id`.
/// The viewer id is bound as `$1` (0 when anonymous) for `liked` and `favorited`.
pub const VIDEO_COLUMNS: &str = "v.id, v.author_id, v.kind, v.title, v.description, v.hashtags, \
     v.visibility, v.status, v.fail_reason, v.hidden, v.deleted_at, v.video_key, v.cover_key, \
     v.duration_ms, v.width, v.height, v.like_count, v.favorite_count, v.comment_count, \
     v.share_count, v.view_count, v.hot_score, v.created_at, \
     u.username, u.nickname, u.avatar_url, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM video_likes l WHERE l.video_id = v.id AND l.user_id = $1) \
          THEN 1 ELSE 0 END AS BIGINT) AS liked, \
     CAST(CASE WHEN EXISTS (SELECT 1 FROM video_favorites f WHERE f.video_id = v.id AND f.user_id = $1) \
          THEN 1 ELSE 0 END AS BIGINT) AS favorited";

/// `FROM` clause that goes with [`VIDEO_COLUMNS`].
pub const VIDEO_FROM: &str = "videos v JOIN users u ON u.id = v.author_id";

/// A video row with its author and the viewer's relation to it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct VideoRow {
    pub id: i64,
    pub author_id: i64,
    pub kind: String,
    pub title: String,
    pub description: String,
    pub hashtags: String,
    pub visibility: String,
    pub status: String,
    pub fail_reason: Option<String>,
    pub hidden: i64,
    pub deleted_at: Option<i64>,
    pub video_key: Option<String>,
    pub cover_key: Option<String>,
    pub duration_ms: i64,
    pub width: i64,
    pub height: i64,
    pub like_count: i64,
    pub favorite_count: i64,
    pub comment_count: i64,
    pub share_count: i64,
    pub view_count: i64,
    pub hot_score: f64,
    pub created_at: i64,
    pub username: String,
    pub nickname: String,
    pub avatar_url: Option<String>,
    #[sqlx(default)]
    pub liked: i64,
    #[sqlx(default)]
    pub favorited: i64,
}

/// Who may see a video.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Everyone; listed in the feed.
    Public,
    /// The author's followers; listed in their following feed.
    Followers,
    /// The author alone.
    Private,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Public => "public",
            Visibility::Followers => "followers",
            Visibility::Private => "private",
        }
    }

    pub fn parse(s: &str) -> Option<Visibility> {
        match s {
            "public" => Some(Visibility::Public),
            "followers" => Some(Visibility::Followers),
            "private" => Some(Visibility::Private),
            _ => None,
        }
    }
}

/// The author of a video, as lists show them.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VideoAuthor {
    pub id: i64,
    pub username: String,
    pub nickname: String,
    pub avatar_url: Option<String>,
}

/// A video as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VideoView {
    pub id: i64,
    pub author: VideoAuthor,
    pub title: String,
    pub description: String,
    pub hashtags: Vec<String>,
    /// `upload` or `replay` (a recorded live session).
    pub kind: String,
    /// `processing`, `ready` or `failed`.
    pub status: String,
    /// Why processing failed; shown to the author (and admins) only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_reason: Option<String>,
    pub visibility: Visibility,
    /// Set by moderation; shown to the author (and admins) only.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hidden: bool,
    /// The cover image (JPEG), once processed.
    pub cover_url: Option<String>,
    /// The web-playable MP4 (H.264/AAC, faststart), once processed.
    pub play_url: Option<String>,
    pub duration_ms: i64,
    pub width: i64,
    pub height: i64,
    pub like_count: i64,
    pub favorite_count: i64,
    pub comment_count: i64,
    pub share_count: i64,
    pub view_count: i64,
    /// Whether the viewer likes / has favourited it (false when anonymous).
    pub liked: bool,
    pub favorited: bool,
    /// Milliseconds since the Unix epoch.
    pub created_at: i64,
}

impl VideoView {
    /// The view of `row` for `viewer` (0 when anonymous); `privileged` for admins.
    pub fn new(state: &VideosState, row: VideoRow, viewer: i64, privileged: bool) -> Self {
        let own = privileged || viewer == row.author_id;
        VideoView {
            id: row.id,
            author: VideoAuthor {
                id: row.author_id,
                username: row.username,
                nickname: row.nickname,
                avatar_url: row.avatar_url,
            },
            title: row.title,
            description: row.description,
            hashtags: split_hashtags(&row.hashtags),
            kind: row.kind,
            status: row.status,
            fail_reason: if own { row.fail_reason } else { None },
            visibility: Visibility::parse(&row.visibility).unwrap_or(Visibility::Private),
            hidden: own && row.hidden != 0,
            cover_url: row.cover_key.as_deref().map(|k| file_url(state, k)),
            play_url: row.video_key.as_deref().map(|k| file_url(state, k)),
            duration_ms: row.duration_ms,
            width: row.width,
            height: row.height,
            like_count: row.like_count,
            favorite_count: row.favorite_count,
            comment_count: row.comment_count,
            share_count: row.share_count,
            view_count: row.view_count,
            liked: row.liked != 0,
            favorited: row.favorited != 0,
            created_at: row.created_at,
        }
    }
}

/// Whether `viewer` may see `row` at all; see [`Gate::can_see`].
pub fn can_see(row: &VideoRow, viewer: i64, privileged: bool, follows: bool) -> bool {
    row.gate().can_see(viewer, privileged, follows)
}

/// The columns of a video that decide who may see it.
#[derive(Debug, Clone, Copy)]
pub struct Gate<'a> {
    pub author_id: i64,
    pub visibility: &'a str,
    pub status: &'a str,
    pub hidden: i64,
    pub deleted_at: Option<i64>,
}

impl Gate<'_> {
    /// Ready, not hidden, not deleted: listed for those its visibility allows.
    pub fn is_listed(&self) -> bool {
        self.status == "ready" && self.hidden == 0 && self.deleted_at.is_none()
    }

    /// Listed, and for everyone.
    pub fn is_public(&self) -> bool {
        self.is_listed() && Visibility::parse(self.visibility) == Some(Visibility::Public)
    }

    /// Whether `viewer` may see the video: hidden, deleted and private videos are their
    /// author's (and admins') alone; followers-only ones also their author's followers'
    /// (`follows` says whether the viewer follows the author).
    pub fn can_see(&self, viewer: i64, privileged: bool, follows: bool) -> bool {
        if privileged || (viewer != 0 && viewer == self.author_id) {
            return self.deleted_at.is_none() || privileged;
        }
        if !self.is_listed() {
            return false;
        }
        match Visibility::parse(self.visibility) {
            Some(Visibility::Public) => true,
            Some(Visibility::Followers) => follows,
            _ => false,
        }
    }
}

impl VideoRow {
    pub fn gate(&self) -> Gate<'_> {
        Gate {
            author_id: self.author_id,
            visibility: &self.visibility,
            status: &self.status,
            hidden: self.hidden,
            deleted_at: self.deleted_at,
        }
    }
}

/// The URL a stored file is served at: `/files/{key}`, after the configured public base.
pub fn file_url(state: &VideosState, key: &str) -> String {
    format!("{}/files/{key}", state.public_base())
}

/// Most hashtags on one video.
pub const MAX_HASHTAGS: usize = 10;
/// Longest hashtag, in characters.
pub const MAX_HASHTAG_CHARS: usize = 32;

/// One hashtag as stored: without `#`, lower case; `None` when it is empty, too long or
/// holds anything but letters, digits and `_`.
pub fn normalize_hashtag(raw: &str) -> Option<String> {
    let tag = raw.trim().trim_start_matches('#').to_lowercase();
    let ok = !tag.is_empty()
        && tag.chars().count() <= MAX_HASHTAG_CHARS
        && tag.chars().all(|c| c.is_alphanumeric() || c == '_');
    ok.then_some(tag)
}

/// The hashtags of a video: those given, then those written as `#tag` in `text`; each
/// once, in order, at most [`MAX_HASHTAGS`].
pub fn collect_hashtags<'a>(given: impl IntoIterator<Item = &'a str>, text: &str) -> Vec<String> {
    let mut tags: Vec<String> = Vec::new();
    let mut from_text = Vec::new();
    for (i, part) in text.split('#').enumerate() {
        if i == 0 {
            continue;
        }
        let word: String = part
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        from_text.push(word);
    }
    for raw in given
        .into_iter()
        .flat_map(|g| g.split([' ', ',']))
        .chain(from_text.iter().map(String::as_str))
    {
        if let Some(tag) = normalize_hashtag(raw) {
            if !tags.contains(&tag) && tags.len() < MAX_HASHTAGS {
                tags.push(tag);
            }
        }
    }
    tags
}

/// Hashtags as stored (space-separated) back into a list.
pub fn split_hashtags(stored: &str) -> Vec<String> {
    stored.split_whitespace().map(str::to_owned).collect()
}

/// The feed's score of a video: `log10(1 + engagement) + created_at / 45e6` (ms), so a
/// video needs ten times the engagement to stay level with one 12.5 hours newer. It
/// changes only when a counter does, so the order is stable while nobody engages.
pub fn hot_score(
    likes: i64,
    comments: i64,
    favorites: i64,
    shares: i64,
    views: i64,
    created_at_ms: i64,
) -> f64 {
    let engagement = likes + 2 * comments + 2 * favorites + 3 * shares + views / 10;
    (1.0 + engagement.max(0) as f64).log10() + created_at_ms as f64 / 45e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashtags_are_normalized_deduplicated_and_found_in_text() {
        let tags = collect_hashtags(["#Dance", "dance", "cats,  DOGS"], "so fun #travel #Dance!");
        assert_eq!(tags, ["dance", "cats", "dogs", "travel"]);
        assert_eq!(normalize_hashtag("#"), None);
        assert_eq!(normalize_hashtag("a/../b"), None);
        assert_eq!(normalize_hashtag("美食"), Some("美食".into()));
        assert_eq!(normalize_hashtag(&"x".repeat(33)), None);
        let many: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert_eq!(
            collect_hashtags(many.iter().map(String::as_str), "").len(),
            MAX_HASHTAGS
        );
    }

    #[test]
    fn score_decays_with_age_and_grows_with_engagement() {
        let hour = 3_600_000;
        let fresh = hot_score(0, 0, 0, 0, 0, 100 * hour);
        let old_popular = hot_score(9, 0, 0, 0, 0, 100 * hour - 12 * hour);
        let old_quiet = hot_score(0, 0, 0, 0, 0, 100 * hour - hour);
        assert!(old_quiet < fresh);
        assert!(
            old_popular > fresh,
            "ten times the engagement beats 12 hours"
        );
    }
}
