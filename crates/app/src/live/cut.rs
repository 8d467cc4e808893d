//! Cutting a room's stream: its publisher is disconnected and its viewers closed at once
//! (no grace period), its live session is closed with a reason, and the room's chat is
//! told. Operators cut and ban rooms this way; rotating a stream key cuts the stream
//! that the old key is publishing.
//!
//! A cut reaches the stream on this node; a stream running on another node is refused
//! at its next publish and closed there by the vanished-room sweep.

use bytes::Bytes;

use crate::error::Result;
use crate::AppState;

/// Cuts room `id`'s stream on this node and closes its session with `reason`. Returns
/// whether a stream was live here.
pub async fn cut_stream(state: &AppState, id: i64, reason: &str) -> Result<bool> {
    // The session is closed first, with its reason; the hub's "stream ended" that the cut
    // causes then finds nothing left to close.
    crate::live::events::end_session(state, id, reason, 0, kit::time::now_ms()).await?;
    let was_cut = state.media().is_some_and(|h| h.cut(&id.to_string()));
    if let Some(gw) = state.chat() {
        let body = serde_json::json!({"type": "live_cut", "room_id": id, "reason": reason});
        gw.push_room(
            &id.to_string(),
            im::proto::op::MESSAGE,
            Bytes::from(body.to_string()),
        );
    }
    Ok(was_cut)
}
