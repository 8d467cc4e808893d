//! Recording a live stream to an FLV file as it arrives, for replays.
//!
//! A recorder is one more subscriber of the stream ([`Protocol::Record`]): it is primed
//! like a viewer (metadata, codec headers, the current GOP) and then writes every tag in
//! the FLV encoding the stream made once for its HTTP-FLV viewers — recording costs a
//! buffered file write per frame and no encoding. It keeps going through a publisher's
//! reconnect within the grace period, and ends when the stream does (its queue closes).
//! If the disk falls behind, the hub drops the recorder to the next keyframe like any
//! slow viewer: the replay skips, the live stream never waits for the disk.

use std::path::Path;

use tokio::io::{AsyncWriteExt, BufWriter};

use crate::flv::tag::FlvHeader;
use crate::frame::FrameKind;
use crate::hub::{Hub, Protocol};

/// What a recording holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recording {
    pub bytes: u64,
    pub video_frames: u64,
    pub audio_frames: u64,
    /// Milliseconds between the first and the last frame.
    pub duration_ms: u64,
}

/// Records stream `key` into a new file at `path` until the stream ends. `None` when
/// the stream is not live.
pub async fn record(hub: &Hub, key: &str, path: &Path) -> Option<std::io::Result<Recording>> {
    let mut sub = hub.subscribe(key, Protocol::Record)?;
    Some(
        async move {
            let file = tokio::fs::File::create(path).await?;
            let mut out = BufWriter::with_capacity(256 * 1024, file);
            let header = FlvHeader {
                has_audio: true,
                has_video: true,
            };
            out.write_all(&header.encode()).await?;
            let mut rec = Recording {
                bytes: header.encode().len() as u64,
                ..Default::default()
            };
            let mut first_ts: Option<u32> = None;
            while let Some(packet) = sub.rx.recv().await {
                let tag = packet.flv_tag();
                out.write_all(tag).await?;
                rec.bytes += tag.len() as u64;
                let ts = packet.frame.timestamp;
                match packet.frame.kind {
                    FrameKind::Video if !packet.class.is_header() => rec.video_frames += 1,
                    FrameKind::Audio if !packet.class.is_header() => rec.audio_frames += 1,
                    _ => continue,
                }
                let first = *first_ts.get_or_insert(ts);
                rec.duration_ms = rec.duration_ms.max(ts.wrapping_sub(first) as u64);
            }
            out.flush().await?;
            metrics::counter!("media_recorded_bytes_total").increment(rec.bytes);
            Ok(rec)
        }
        .await,
    )
}
