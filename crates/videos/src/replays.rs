//! Replays: a room with `record` on has each live session written to disk as it streams
//! ([`media::record`]); when the stream ends, the recording becomes a video of kind
//! `replay` in the anchor's library and is processed like an upload (the FLV's H.264/AAC
//! streams are copied into a faststart MP4, no encoding).
//!
//! A recording starts when a publisher starts (not when one comes back within the grace
//! period: the same recording goes on) and ends with the stream. One recording per room
//! per node at a time. Recordings shorter than a second, or without video, are dropped.
//! A node that dies mid-recording leaves its file in `DATA_DIR/tmp/recordings`.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use super::create::{create, CheckedMeta, Source};
use super::model::Visibility;
use crate::VideosState;
use api::events::live::RoomWentLive;

/// The rooms this node is recording.
#[derive(Debug, Default, Clone)]
pub struct Recorders(Arc<Mutex<HashSet<i64>>>);

impl Recorders {
    fn claim(&self, room: i64) -> bool {
        self.0.lock().expect("recorders lock").insert(room)
    }

    fn release(&self, room: i64) {
        self.0.lock().expect("recorders lock").remove(&room);
    }
}

#[derive(sqlx::FromRow)]
struct Room {
    owner_id: i64,
    title: String,
    record: i64,
    session_id: Option<i64>,
}

/// Starts a replay recording when a room whose stream is on this node goes live
/// ([`RoomWentLive`]): only the node with the stream records it.
pub async fn follow(state: &VideosState) -> Result<tokio::task::JoinHandle<()>, bus::BusError> {
    let mut sub = api::events::subscribe(state.bus(), "momo.room.*.live", None, 4_096).await?;
    let state = state.clone();
    Ok(tokio::spawn(async move {
        while let Some(d) = sub.recv().await {
            let bus::Delivery::Message(m) = d else {
                tracing::warn!("stream starts were dropped: their replays are not recorded");
                continue;
            };
            let Ok(live) = bus::decode::<RoomWentLive>(&m.payload) else {
                continue;
            };
            let key = live.room_id.to_string();
            if state.media().is_some_and(|h| h.stream(&key).is_some()) {
                on_publish_started(&state, &key).await;
            }
        }
    }))
}

/// Starts recording stream `key` (a room id) if its room records and no recording runs.
pub async fn on_publish_started(state: &VideosState, key: &str) {
    let Ok(room_id) = key.parse::<i64>() else {
        return;
    };
    let room: Option<Room> = match sqlx::query_as(
        "SELECT owner_id, title, record, session_id FROM live_rooms WHERE id = $1",
    )
    .bind(room_id)
    .fetch_optional(state.store().pool())
    .await
    {
        Ok(room) => room,
        Err(e) => {
            tracing::error!(room_id, error = %e, "cannot read whether the room records");
            return;
        }
    };
    let Some(room) = room.filter(|r| r.record != 0) else {
        return;
    };
    let Some(hub) = state.media().cloned() else {
        return;
    };
    if !state.recorders().claim(room_id) {
        return;
    }
    let state = state.clone();
    let key = key.to_owned();
    tokio::spawn(async move {
        if let Err(e) = record_session(&state, &hub, &key, room_id, room).await {
            tracing::error!(room_id, error = %e, "recording a live session failed");
        }
        state.recorders().release(room_id);
    });
}

async fn record_session(
    state: &VideosState,
    hub: &media::hub::Hub,
    key: &str,
    room_id: i64,
    room: Room,
) -> Result<(), String> {
    let dir = state.settings().work_dir.join("recordings");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let path = dir.join(format!("room-{room_id}-{}.flv", super::random_token()));
    tracing::info!(room_id, path = %path.display(), "recording the live session");
    let started = kit::time::now_ms();
    let outcome = media::record::record(hub, key, &path).await;
    let result = match outcome {
        None => Ok(()), // the stream ended before the recorder joined
        Some(Err(e)) => Err(format!("writing {}: {e}", path.display())),
        Some(Ok(rec)) if rec.video_frames == 0 || rec.duration_ms < 1000 => {
            tracing::info!(room_id, ?rec, "recording too short to keep");
            Ok(())
        }
        Some(Ok(rec)) => keep(state, room_id, &room, &path, rec.bytes, started).await,
    };
    if let Err(e) = std::fs::remove_file(&path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!(path = %path.display(), error = %e, "could not remove a recording");
        }
    }
    result
}

async fn keep(
    state: &VideosState,
    room_id: i64,
    room: &Room,
    path: &std::path::Path,
    bytes: u64,
    started: i64,
) -> Result<(), String> {
    let key = format!("sources/{}", super::random_token());
    state
        .files()
        .put_file(&key, path)
        .await
        .map_err(|e| format!("storing the recording: {e}"))?;
    let title: String = if room.title.trim().is_empty() {
        "Live replay".to_owned()
    } else {
        room.title
            .chars()
            .take(super::create::MAX_TITLE_CHARS)
            .collect()
    };
    let meta = CheckedMeta {
        title,
        description: String::new(),
        hashtags: vec!["replay".to_owned()],
        visibility: Visibility::Public,
    };
    let source = Source {
        key: key.clone(),
        name: format!("live-{room_id}-{started}.flv"),
        bytes,
        kind: "replay",
        room_id: Some(room_id),
        session_id: room.session_id,
    };
    match create(state, room.owner_id, &meta, &source).await {
        Ok(id) => {
            tracing::info!(room_id, video_id = id, "live session kept as a replay");
            Ok(())
        }
        Err(e) => {
            let _ = state.files().delete(&key).await;
            Err(format!("creating the replay: {e}"))
        }
    }
}
