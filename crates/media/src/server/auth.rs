//! Who may publish: the media server asks, the app answers (from its database).
//! Keeping this a trait keeps `media` free of users and rooms, and testable alone.

use std::future::Future;
use std::pin::Pin;

/// Why a publish was refused; each becomes `NetStream.Publish.BadName` (or
/// `…Publish.Denied`) with this text, and the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublishRefusal {
    #[error("unknown stream key")]
    UnknownKey,
    #[error("this room is banned")]
    Banned,
    #[error("cannot check the stream key now: {0}")]
    Unavailable(String),
}

/// A boxed future, so the trait can be used as `dyn PublishAuth`.
pub type AuthFuture<'a> = Pin<Box<dyn Future<Output = Result<String, PublishRefusal>> + Send + 'a>>;

/// Decides whether a stream key may publish, and as which stream (room id).
pub trait PublishAuth: Send + Sync + 'static {
    /// `app` is the RTMP application (`live`), `key` the stream name the encoder sent.
    /// Returns the key viewers play the stream by.
    fn authorize(&self, app: &str, key: &str) -> AuthFuture<'_>;
}

/// A fixed table of keys, for tests and for trying momo without the app.
#[derive(Debug, Clone, Default)]
pub struct StaticKeys(pub Vec<(String, String)>);

impl PublishAuth for StaticKeys {
    fn authorize(&self, _app: &str, key: &str) -> AuthFuture<'_> {
        let found = self
            .0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, room)| room.clone());
        Box::pin(async move { found.ok_or(PublishRefusal::UnknownKey) })
    }
}
