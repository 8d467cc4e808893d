//! What a client session tells the application.

use crate::frame::Frame;

/// Something the application should know, from
/// [`ClientSession::poll_event`](super::ClientSession::poll_event).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientEvent {
    /// The server accepted `connect`; the session goes on to `createStream` by itself.
    Connected,
    /// `NetStream.Publish.Start`: frames may be sent with
    /// [`send_frame`](super::ClientSession::send_frame).
    PublishStarted,
    /// `NetStream.Play.Start`: frames follow as [`ClientEvent::Frame`].
    PlayStarted,
    /// Any other status the server sent, or an `_error` answer to `connect` or
    /// `createStream`: refusals such as `NetStream.Publish.BadName` or
    /// `NetStream.Play.StreamNotFound`, and notices such as `NetStream.Play.Reset`.
    /// A refusal (`level` "error" before the stream started) leaves the session with
    /// nothing more to do; momo closes the connection after one.
    Status {
        /// The `code` string, for example `NetStream.Play.StreamNotFound`.
        code: String,
        /// The server's `description`, for people.
        description: String,
    },
    /// A player's audio, video or script frame, exactly as the server sent it (script
    /// frames hold `onMetaData`; the server's `|RtmpSampleAccess` is left out).
    Frame(Frame),
    /// The stream being played is over: `NetStream.Play.UnpublishNotify`,
    /// `NetStream.Play.Stop` or `NetStream.Play.Complete`. momo closes the connection
    /// right after; other servers may keep it for a later publisher.
    StreamEnded,
}
