//! `GET /api/v1/webrtc/ice-servers`: the STUN and TURN servers a signed-in client may
//! use, with TURN credentials that expire, in coturn's REST form (`use-auth-secret`):
//! the username is `expiry:user_id` (expiry in Unix seconds) and the password is
//! base64(HMAC-SHA1(secret, username)). coturn checks them with the same shared secret
//! (`static-auth-secret`), without asking momo; a leaked credential works until it
//! expires and names the user it was given to.
//!
//! Each entry has the shape of WebRTC's `RTCIceServer` (`urls`, `username`,
//! `credential`), so a client hands the list to `RTCPeerConnection` as it is. With no
//! servers configured the list is empty (nothing is handed out by default).

use axum::extract::State;
use axum::Json;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use sha1::Sha1;

use crate::settings::WebRtcSettings;
use crate::LiveState;
use api::http::Auth;

/// One server, as `RTCIceServer`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct IceServer {
    /// `stun:host:port`, `turn:host:port?transport=udp`, `turns:host:443?transport=tcp` …
    pub urls: Vec<String>,
    /// TURN only: `expiry:user_id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// TURN only: base64(HMAC-SHA1(secret, username)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<String>,
}

/// The servers and when their credentials expire.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct IceServers {
    pub ice_servers: Vec<IceServer>,
    /// When the TURN credentials stop working (Unix seconds); `null` without TURN.
    pub expires_at: Option<i64>,
}

/// coturn's REST credentials for `user` valid until `expires`.
pub fn turn_credential(secret: &str, user: i64, expires: i64) -> (String, String) {
    let username = format!("{expires}:{user}");
    // HMAC takes keys of any length.
    let mut mac = Hmac::<Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

/// The list for `user` at time `now` (Unix seconds).
pub fn servers_for(settings: &WebRtcSettings, user: i64, now: i64) -> IceServers {
    let mut servers = Vec::new();
    let stun: Vec<String> = settings
        .stun_urls
        .iter()
        .filter(|u| !u.is_empty())
        .cloned()
        .collect();
    if !stun.is_empty() {
        servers.push(IceServer {
            urls: stun,
            username: None,
            credential: None,
        });
    }
    let turn: Vec<String> = settings
        .turn_urls
        .iter()
        .filter(|u| !u.is_empty())
        .cloned()
        .collect();
    let secret = settings.turn_secret.as_deref().filter(|s| !s.is_empty());
    let mut expires_at = None;
    if let (false, Some(secret)) = (turn.is_empty(), secret) {
        let expires = now + settings.turn_ttl_secs.max(60) as i64;
        let (username, credential) = turn_credential(secret, user, expires);
        servers.push(IceServer {
            urls: turn,
            username: Some(username),
            credential: Some(credential),
        });
        expires_at = Some(expires);
    }
    IceServers {
        ice_servers: servers,
        expires_at,
    }
}

#[utoipa::path(
    get,
    path = "/api/v1/webrtc/ice-servers",
    tag = "webrtc",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "STUN and TURN servers, TURN with credentials that expire", body = IceServers),
        (status = 401, description = "Not signed in", body = kit::error::ErrorBody),
    )
)]
pub async fn ice_servers(State(state): State<LiveState>, auth: Auth) -> Json<IceServers> {
    let now = kit::time::now_secs();
    metrics::counter!("webrtc_turn_credentials_total").increment(1);
    Json(servers_for(&state.settings().webrtc, auth.user_id, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_coturns_rest_form() {
        // HMAC-SHA1("secret", "1700000000:42"), base64: computed independently with
        // `printf %s 1700000000:42 | openssl dgst -sha1 -hmac secret -binary | base64`.
        let (user, pass) = turn_credential("secret", 42, 1_700_000_000);
        assert_eq!(user, "1700000000:42");
        assert_eq!(pass, OPENSSL_SAYS);
    }

    const OPENSSL_SAYS: &str = "ZzfPuPkrzUOsnm5YISnTiKDnXWo=";

    #[test]
    fn nothing_is_handed_out_unless_configured() {
        let none = servers_for(&WebRtcSettings::default(), 1, 0);
        assert!(none.ice_servers.is_empty() && none.expires_at.is_none());
        let without_secret = WebRtcSettings {
            turn_urls: vec!["turn:turn.example.com:3478".into()],
            ..WebRtcSettings::default()
        };
        assert!(servers_for(&without_secret, 1, 0).ice_servers.is_empty());
        let full = WebRtcSettings {
            stun_urls: vec!["stun:stun.example.com:3478".into()],
            turn_urls: vec!["turn:turn.example.com:3478?transport=udp".into()],
            turn_secret: Some("s".into()),
            turn_ttl_secs: 600,
        };
        let got = servers_for(&full, 7, 1_000);
        assert_eq!(got.ice_servers.len(), 2);
        assert_eq!(got.expires_at, Some(1_600));
        assert_eq!(got.ice_servers[1].username.as_deref(), Some("1600:7"));
    }
}
