//! Shared plumbing for every momo crate.
//!
//! Nothing here knows about users, rooms or streams: it is the error shape every HTTP
//! answer uses, the Prometheus recorder, the limiter that slows down password guessing,
//! the shutdown signal and the clock. Domain crates build on it; it depends on none of them.

pub mod cache;
pub mod cidr;
pub mod codes;
pub mod conn_limits;
pub mod error;
pub mod limiter;
pub mod metrics;
pub mod net;
pub mod rate;
pub mod shutdown;
pub mod time;

pub use error::ApiError;
