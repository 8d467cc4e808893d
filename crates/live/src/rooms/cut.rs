//! Cutting a room's stream: its live session is closed with a reason, and a durable
//! [`StreamCut`] event tells every node: the one with the stream disconnects its
//! publisher and closes its viewers at once (no grace period), and the room's chat is
//! told. Operators cut and ban rooms this way; rotating a stream key cuts the stream
//! that the old key is publishing.

use crate::rooms::events::StreamCut;
use crate::LiveState;
use api::error::Result;
use api::events::outbox::Outbox;

/// Cuts room `id`'s stream and closes its session with `reason`. Returns whether the
/// stream was live on this node.
pub async fn cut_stream(state: &LiveState, id: i64, reason: &str) -> Result<bool> {
    // The session is closed first, with its reason; the hub's "stream ended" that the cut
    // causes then finds nothing left to close.
    let mut tx = state.store().begin().await?;
    crate::rooms::streams::close_session(&mut tx, id, reason, 0, kit::time::now_ms()).await?;
    let mut outbox = Outbox::new();
    let cut = StreamCut {
        room_id: id,
        reason: reason.to_owned(),
    };
    outbox.put(&mut tx, &cut).await?;
    tx.commit().await?;
    crate::gifts::lookup::forget_room(state, id);
    let live_here = (state.media()).is_some_and(|h| h.stream(&id.to_string()).is_some());
    outbox.send(state.store(), state.bus()).await;
    Ok(live_here)
}
