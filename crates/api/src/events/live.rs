//! What the live context tells the others, on `momo.room.{id}.…`. A room going live or
//! offline is at most once (its chat is told; a client that missed it reads the room);
//! a stream cut and a kick are durable (through the outbox): they must happen.

use bus::{Event, Subject};
use serde::{Deserialize, Serialize};

/// A room's stream started (not a publisher's brief reconnect within the grace period):
/// on the node that has it, a replay starts recording; when a live session was opened
/// (not `session_resumed`), the room's chat is told and followers are notified.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomWentLive {
    pub room_id: i64,
    pub at: i64,
    /// The room's live session was already open (a node restarted under a live stream):
    /// the chat and the followers were told when it opened.
    pub session_resumed: bool,
}

impl Event for RoomWentLive {
    const KIND: &'static str = "room_went_live";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "live")
    }
}

/// A room's live session was closed: its stream ended (after the grace period) or was
/// cut.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoomWentOffline {
    pub room_id: i64,
    pub at: i64,
}

impl Event for RoomWentOffline {
    const KIND: &'static str = "room_went_offline";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "offline")
    }
}

/// An operator (or a key rotation) cut a room's stream: whichever node has it
/// disconnects the publisher and closes the players at once, and the room's chat is told
/// why (`cut`, `banned`, `key_rotated`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreamCut {
    pub room_id: i64,
    pub reason: String,
}

impl Event for StreamCut {
    const KIND: &'static str = "stream_cut";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "cut")
    }
}

/// Room `room_id`'s stream is now published to `node` (its origin): a publisher came
/// to that node (a reconnecting encoder, or a second one with the key) while the room
/// was live from another. Any other node still holding a publisher for the room cuts
/// it, so that two nodes never serve two publishers for one room. At most once: the
/// database's `live_rooms.origin` is what room state follows, this only hurries the
/// old publisher out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginMoved {
    pub room_id: i64,
    pub node: String,
}

impl Event for OriginMoved {
    const KIND: &'static str = "origin_moved";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "origin")
    }
}

/// A viewer of room `room_id`'s stream on a node that pulls it from its origin wants a
/// keyframe (its WebRTC player lost a picture): the origin asks its publisher, if that
/// one can be asked (WHIP; an RTMP encoder cannot). At most once, and at most one per
/// half second from each node: a lost request is answered by the next one, or by the
/// publisher's next periodic keyframe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyframeWanted {
    pub room_id: i64,
}

impl Event for KeyframeWanted {
    const KIND: &'static str = "keyframe_wanted";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "keyframe")
    }
}

/// A member was kicked from a room's chat until `until` (ms since the epoch): their
/// connections in the room leave it (and stay open).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemberKicked {
    pub room_id: i64,
    pub user_id: i64,
    pub until: i64,
}

impl Event for MemberKicked {
    const KIND: &'static str = "member_kicked";
    const VERSION: u16 = 1;
    fn subject(&self) -> Subject {
        Subject::of_room(self.room_id, "kick")
    }
}
