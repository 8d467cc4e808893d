//! What a server session tells the application.

use crate::frame::Frame;

/// Something the application has to know or decide, from
/// [`ServerSession::poll_event`](super::ServerSession::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// The client connected to an application (`live` in `rtmp://host/live/key`). The
    /// session has already accepted it; an application that serves no such app closes
    /// the connection.
    ConnectRequested {
        /// The application name from the `connect` command.
        app: String,
        /// The URL the client says it connected to, if it said.
        tc_url: Option<String>,
    },
    /// The client wants to publish. Answer with
    /// [`accept_publish`](super::ServerSession::accept_publish) or
    /// [`reject_publish`](super::ServerSession::reject_publish).
    PublishRequested {
        /// The message stream to answer on.
        stream_id: u32,
        /// The application it connected to.
        app: String,
        /// The stream key, exactly as sent (a `?query` included, if any).
        key: String,
    },
    /// The client wants to play. Answer with
    /// [`accept_play`](super::ServerSession::accept_play) or
    /// [`reject_play`](super::ServerSession::reject_play).
    PlayRequested {
        /// The message stream to answer and send media on.
        stream_id: u32,
        /// The application it connected to.
        app: String,
        /// The stream name, exactly as sent (a `?query` included, if any).
        name: String,
    },
    /// Audio, video or script data from an accepted publisher. Script frames hold
    /// `onMetaData` and its object with `@setDataFrame` already taken off, as players
    /// and FLV files want them.
    Frame(Frame),
    /// The publisher stopped (`FCUnpublish`, `closeStream` or `deleteStream`), or gave
    /// up on a publish request before it was answered. The connection may stay open.
    Unpublished {
        /// The message stream that was publishing.
        stream_id: u32,
    },
    /// A player stopped playing (`closeStream` or `deleteStream`), or gave up on a play
    /// request before it was answered: stop sending it media.
    Closed {
        /// The message stream that was playing.
        stream_id: u32,
    },
}
