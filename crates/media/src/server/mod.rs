//! The network side of live media: the RTMP server and the HTTP outputs, and the
//! question they ask the app (may this key publish?).

pub mod auth;
pub mod http;
pub mod rtmp;
pub mod signed_play;

pub use auth::{AuthFuture, PublishAuth, PublishRefusal, StaticKeys};
pub use rtmp::RtmpConfig;
pub use signed_play::{PlayRefusal, PlaySigning};
