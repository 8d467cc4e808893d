//! How a room is read from the database and shown.

use axum::http::header;
use axum::http::request::Parts;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use serde::Serialize;

use crate::LiveSettings;

pub const ROOM_COLUMNS: &str =
    "r.id, r.owner_id, r.title, r.stream_key, r.status, r.banned, r.live_since, r.created_at, \
     r.cover_url, r.category, r.tags, r.session_id, r.record, u.nickname AS owner_nickname, \
     u.avatar_url AS owner_avatar";

/// The tables [`ROOM_COLUMNS`] come from.
pub const ROOM_FROM: &str = "live_rooms r JOIN users u ON u.id = r.owner_id";

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct RoomRow {
    pub id: i64,
    pub owner_id: i64,
    pub title: String,
    pub stream_key: String,
    pub status: String,
    pub banned: i64,
    pub record: i64,
    pub live_since: Option<i64>,
    pub created_at: i64,
    pub cover_url: String,
    pub category: String,
    pub tags: String,
    pub session_id: Option<i64>,
    pub owner_nickname: String,
    pub owner_avatar: Option<String>,
}

/// Where a room's stream can be watched.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PlayUrls {
    pub rtmp: String,
    pub flv: String,
    pub hls: String,
    /// WebRTC: `POST` an SDP offer here (WHEP).
    pub whep: String,
}

/// A room as the API shows it. The key and publish URL are shown to the owner only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomView {
    pub id: i64,
    pub owner_id: i64,
    pub title: String,
    pub cover_url: String,
    pub category: String,
    pub tags: Vec<String>,
    /// The anchor.
    pub owner: RoomOwner,
    /// `live` or `offline`.
    pub status: String,
    /// People watching or in the room's chat now (on this node).
    pub viewers: u64,
    pub banned: bool,
    /// Whether live sessions are recorded and kept as replay videos.
    pub record: bool,
    /// When the current live session started (ms since the epoch).
    pub live_since: Option<i64>,
    pub created_at: i64,
    pub play: PlayUrls,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream_key: Option<String>,
    /// The URL to give the encoder: `rtmp://HOST:1935/live/{stream_key}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_url: Option<String>,
}

/// Who a room belongs to, as lists show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RoomOwner {
    pub id: i64,
    pub nickname: String,
    pub avatar_url: Option<String>,
}

/// The public base URLs, from the settings or else from the request's `Host`, and the
/// signer of play URLs when they must be signed.
pub struct BaseUrls {
    pub http: String,
    pub rtmp: String,
    /// The signer and the expiry (Unix seconds) to sign play URLs with.
    pub signing: Option<(media::server::PlaySigning, i64)>,
}

impl BaseUrls {
    pub fn from_request(parts: &Parts, live: &LiveSettings) -> BaseUrls {
        let host = parts
            .headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && h.chars().all(|c| c.is_ascii_graphic()))
            .unwrap_or("localhost");
        let hostname = match host.rsplit_once(':') {
            Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
            _ => host,
        };
        BaseUrls {
            http: live
                .public_http_url
                .clone()
                .unwrap_or_else(|| format!("http://{host}")),
            rtmp: live
                .public_rtmp_url
                .clone()
                .unwrap_or_else(|| format!("rtmp://{hostname}:{}/live", live.rtmp_port)),
            signing: live
                .play_secret
                .as_deref()
                .filter(|s| !s.is_empty())
                .map(|secret| {
                    let expires = kit::time::now_secs() + live.play_url_ttl_secs as i64;
                    (media::server::PlaySigning::new(secret.as_bytes()), expires)
                }),
        }
    }
}

impl RoomView {
    pub fn new(row: RoomRow, viewer: i64, urls: &BaseUrls) -> RoomView {
        let own = viewer == row.owner_id;
        let base = urls.http.trim_end_matches('/');
        let rtmp = urls.rtmp.trim_end_matches('/');
        let room = row.id.to_string();
        let query = match &urls.signing {
            Some((signer, expires)) => format!("?{}", signer.sign(&room, *expires)),
            None => String::new(),
        };
        RoomView {
            play: PlayUrls {
                rtmp: format!("{rtmp}/{room}{query}"),
                flv: format!("{base}/live/{room}.flv{query}"),
                hls: format!("{base}/live/{room}/index.m3u8{query}"),
                whep: format!("{base}/whep/{room}{query}"),
            },
            publish_url: own.then(|| format!("{rtmp}/{}", row.stream_key)),
            stream_key: own.then_some(row.stream_key),
            id: row.id,
            owner_id: row.owner_id,
            title: row.title,
            cover_url: row.cover_url,
            category: row.category,
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            owner: RoomOwner {
                id: row.owner_id,
                nickname: row.owner_nickname,
                avatar_url: row.owner_avatar,
            },
            viewers: 0,
            status: row.status,
            banned: row.banned != 0,
            record: row.record != 0,
            live_since: row.live_since,
            created_at: row.created_at,
        }
    }
}

impl RoomView {
    /// The same view with its live audience.
    pub fn with_viewers(mut self, n: u64) -> RoomView {
        self.viewers = n;
        self
    }
}

/// A new random stream key.
pub fn new_stream_key() -> String {
    let mut bytes = [0u8; 24];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("sk_{}", URL_SAFE_NO_PAD.encode(bytes))
}
