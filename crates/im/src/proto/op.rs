//! Operation numbers. 0–17 are goim's, unchanged, so goim clients work as they are;
//! 18–29 are momo's, for what goim lacks (acks, offline sync, read receipts, error
//! replies, the notifications inbox). Requests are even and their replies the next odd
//! number, as in goim; 24 (error) and 25 (notification) are sent by the server alone.
//! Numbers from 1000 up are application messages pushed by the server.

/// Client → server, goim's handshake; momo answers but does nothing with it.
pub const HANDSHAKE: u32 = 0;
/// Server → client, answer to [`HANDSHAKE`].
pub const HANDSHAKE_REPLY: u32 = 1;
/// Client → server, "still here"; expected about every 30 s.
pub const HEARTBEAT: u32 = 2;
/// Server → client, answer to [`HEARTBEAT`] with the room's online count.
pub const HEARTBEAT_REPLY: u32 = 3;
/// Client → server, a danmaku to the current room.
pub const SEND_MSG: u32 = 4;
/// Server → client, answer to [`SEND_MSG`].
pub const SEND_MSG_REPLY: u32 = 5;
/// Server → client, the server is closing this connection (kicked, banned, shutting down).
pub const DISCONNECT_REPLY: u32 = 6;
/// Client → server, the first packet of every connection: token, room, accepted ops.
pub const AUTH: u32 = 7;
/// Server → client, authentication succeeded.
pub const AUTH_REPLY: u32 = 8;
/// Server → client, a batch: the body is whole binary packets back to back.
pub const RAW: u32 = 9;
/// goim's internal "protocol ready" marker; never on the wire.
pub const PROTO_READY: u32 = 10;
/// goim's internal "protocol finish" marker; never on the wire.
pub const PROTO_FINISH: u32 = 11;
/// Client → server, join, change or leave a room.
pub const CHANGE_ROOM: u32 = 12;
/// Server → client, answer to [`CHANGE_ROOM`].
pub const CHANGE_ROOM_REPLY: u32 = 13;
/// Client → server, also accept these pushed operations.
pub const SUB: u32 = 14;
/// Server → client, answer to [`SUB`].
pub const SUB_REPLY: u32 = 15;
/// Client → server, stop accepting these pushed operations.
pub const UNSUB: u32 = 16;
/// Server → client, answer to [`UNSUB`].
pub const UNSUB_REPLY: u32 = 17;
/// Client → server (momo), "I have received up to this sequence number".
pub const ACK: u32 = 18;
/// Server → client (momo), answer to [`ACK`].
pub const ACK_REPLY: u32 = 19;
/// Client → server (momo), "send me everything after these positions".
pub const SYNC: u32 = 20;
/// Server → client (momo), the missed messages.
pub const SYNC_REPLY: u32 = 21;
/// Client → server (momo), read receipt: "I have read up to this sequence number".
pub const READ: u32 = 22;
/// Server → client (momo), answer to [`READ`].
pub const READ_REPLY: u32 = 23;
/// Server → client (momo): `{"code","message","op"}` about a request it refused.
pub const ERROR: u32 = 24;
/// Server → client (momo), a new notification in the user's inbox (or an announcement).
pub const NOTIFICATION: u32 = 25;
/// Client → server (momo), "send me my notifications after this sequence number".
pub const NOTIFY_SYNC: u32 = 26;
/// Server → client (momo), the missed notifications.
pub const NOTIFY_SYNC_REPLY: u32 = 27;
/// Client → server (momo), "I have read my notifications up to this sequence number".
pub const NOTIFY_READ: u32 = 28;
/// Server → client (momo), answer to [`NOTIFY_READ`]: the read position and unread count.
pub const NOTIFY_READ_REPLY: u32 = 29;
/// Client → server (momo), send a message to a conversation:
/// `{"conversation_id", "kind", "content", "client_id"}`.
pub const CONV_SEND: u32 = 30;
/// Server → client (momo), answer to [`CONV_SEND`]: the message as stored, with its seq.
pub const CONV_SEND_REPLY: u32 = 31;
/// Server → client, the default operation of pushed and broadcast messages.
pub const MESSAGE: u32 = 1000;

/// A short name for logs and metric labels; `None` for numbers the protocol does not
/// define (pushes use any number from [`MESSAGE`] up, all named `"message"`).
pub fn name(op: u32) -> Option<&'static str> {
    Some(match op {
        HANDSHAKE => "handshake",
        HANDSHAKE_REPLY => "handshake_reply",
        HEARTBEAT => "heartbeat",
        HEARTBEAT_REPLY => "heartbeat_reply",
        SEND_MSG => "send_msg",
        SEND_MSG_REPLY => "send_msg_reply",
        DISCONNECT_REPLY => "disconnect_reply",
        AUTH => "auth",
        AUTH_REPLY => "auth_reply",
        RAW => "raw",
        PROTO_READY => "proto_ready",
        PROTO_FINISH => "proto_finish",
        CHANGE_ROOM => "change_room",
        CHANGE_ROOM_REPLY => "change_room_reply",
        SUB => "sub",
        SUB_REPLY => "sub_reply",
        UNSUB => "unsub",
        UNSUB_REPLY => "unsub_reply",
        ACK => "ack",
        ACK_REPLY => "ack_reply",
        SYNC => "sync",
        SYNC_REPLY => "sync_reply",
        READ => "read",
        READ_REPLY => "read_reply",
        ERROR => "error",
        NOTIFICATION => "notification",
        NOTIFY_SYNC => "notify_sync",
        NOTIFY_SYNC_REPLY => "notify_sync_reply",
        NOTIFY_READ => "notify_read",
        NOTIFY_READ_REPLY => "notify_read_reply",
        CONV_SEND => "conv_send",
        CONV_SEND_REPLY => "conv_send_reply",
        MESSAGE.. => "message",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_goims_then_momos() {
        // goim's api/protocol numbering, which existing clients hard-code.
        let goim = [
            HANDSHAKE,
            HANDSHAKE_REPLY,
            HEARTBEAT,
            HEARTBEAT_REPLY,
            SEND_MSG,
            SEND_MSG_REPLY,
            DISCONNECT_REPLY,
            AUTH,
            AUTH_REPLY,
            RAW,
            PROTO_READY,
            PROTO_FINISH,
            CHANGE_ROOM,
            CHANGE_ROOM_REPLY,
            SUB,
            SUB_REPLY,
            UNSUB,
            UNSUB_REPLY,
        ];
        assert_eq!(goim.to_vec(), (0..=17).collect::<Vec<u32>>());
        let momo = [
            ACK,
            ACK_REPLY,
            SYNC,
            SYNC_REPLY,
            READ,
            READ_REPLY,
            ERROR,
            NOTIFICATION,
            NOTIFY_SYNC,
            NOTIFY_SYNC_REPLY,
            NOTIFY_READ,
            NOTIFY_READ_REPLY,
            CONV_SEND,
            CONV_SEND_REPLY,
        ];
        assert_eq!(momo.to_vec(), (18..=31).collect::<Vec<u32>>());
    }

    #[test]
    fn every_defined_operation_has_a_name() {
        for op in 0..=31 {
            assert!(name(op).is_some(), "op {op}");
        }
        assert_eq!(name(32), None);
        assert_eq!(name(999), None);
        assert_eq!(name(1000), Some("message"));
        assert_eq!(name(u32::MAX), Some("message"));
    }
}
