//! The network side of momo's own clients, for its end-to-end tests and the bench: the
//! tokio layer around the sans-IO [`ClientSession`](crate::rtmp::ClientSession), as
//! [`crate::server`] is the tokio layer around the server session.
//!
//! Only RTMP lives here. HTTP-FLV and WebSocket-FLV players need no session of their
//! own: any HTTP or WebSocket client plus [`FlvReader`](crate::flv::FlvReader) is one.

pub mod rtmp;
