//! The network side of live media: the RTMP server and the HTTP outputs, and the
//! question they ask the app (may this key publish?).

pub mod auth;
pub mod flv_direct;
pub mod http;
pub mod rtmp;
pub mod signed_play;
pub(crate) mod viewer;

/// How long a viewer's connection rests between writes unless configured otherwise: the
/// frames of that time go out in one write. Merged writes like these are what keep a
/// viewer cheap (a write to a socket costs about the same for one frame as for ten);
/// 100 ms is well under what players buffer (a second or more) and under the 350 ms that
/// SRS merges by default.
pub const DEFAULT_VIEWER_FLUSH: std::time::Duration = std::time::Duration::from_millis(100);

pub use auth::{AuthFuture, PublishAuth, PublishRefusal, StaticKeys};
pub use rtmp::RtmpConfig;
pub use signed_play::{PlayRefusal, PlaySigning};
