//! The `momo` binary's library half: configuration, and the wiring that turns a
//! [`Config`] into running servers. `main.rs` only parses the command line and calls in.
//!
//! Nothing here implements a feature; features live in the `app`, `store` and `kit`
//! crates (and later `media` and `im`), and this crate plugs them together.

pub mod cluster;
pub mod config;
pub mod http_server;
pub mod secrets;
pub mod serve;
pub mod webrtc;
pub mod welcome;

pub use config::Config;
