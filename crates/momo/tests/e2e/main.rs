//! momo's end-to-end tests, in one test binary: each module starts real servers (SQLite,
//! and PostgreSQL when `MOMO_TEST_POSTGRES_URL` is set) or the `momo` binary itself, and
//! talks to them as clients do: HTTP, WebSocket, RTMP, ffmpeg and Chromium. One binary
//! links the whole server once, instead of once per file.
//!
//! Run one module with `cargo test -p momo --test e2e chat::`.

#[macro_use]
mod common;

mod accounts;
mod bad_input;
mod browser;
mod browser_webrtc;
mod chat;
mod cli;
mod cluster;
mod cluster_faults;
mod cluster_nodes;
mod cluster_streams;
mod conversations;
mod crash;
mod economy;
mod goim;
mod groups;
mod limits;
mod live;
mod notifications;
mod ops;
mod proxy;
mod replays;
mod reports;
mod room_moderation;
mod rooms;
mod search;
mod social;
mod stalled_viewer;
mod users;
mod videos_engagement;
mod videos_feed;
pub(crate) mod videos_s3;
pub(crate) mod videos_upload;
mod web;
mod webrtc;
mod whip;
