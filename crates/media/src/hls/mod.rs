//! Live HLS: MPEG-TS segments cut from the frames the hub pushes, and the playlist that
//! lists them.
//!
//! A pure data structure, fed by the hub and read by the HTTP handlers: [`Segmenter`]
//! takes every frame of one stream ([`Segmenter::push`]), muxes it with a
//! [`TsMuxer`](crate::ts::TsMuxer), cuts a new [`Segment`] at the first video keyframe
//! once the target duration is reached (on time alone for audio-only streams), keeps a
//! sliding window of them as shared `Bytes`, and renders `index.m3u8` ([`playlist`]).
//! No clock, no file system: segment durations come from the frames' own timestamps.

pub mod config;
pub mod playlist;
pub mod segment;
pub mod segmenter;

pub use config::SegmenterConfig;
pub use segment::Segment;
pub use segmenter::Segmenter;
