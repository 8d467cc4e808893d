//! The stream under test: an FLV file published over RTMP in real time, looped for as
//! long as the run lasts, like an encoder that never stops.
//!
//! The file is read once with [`media::flv::read_all`]; each lap sends the same frames
//! with timestamps moved on by the file's length, so the stream's clock keeps running
//! across laps. Metadata and sequence headers go out in the first lap only, as an
//! encoder sends them once. Frames are paced by their timestamps
//! ([`RtmpPublisher::send_paced`]).
//!
//! The publisher runs on a thread and runtime of its own, so thousands of viewers busy
//! on the bench's runtime cannot delay it: the stream the server gets stays in real
//! time whatever the viewers cost. It counts the audio and video frames it sent, which
//! is what viewers' counts are compared with to find frames dropped.

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{anyhow, bail, Context, Result};
use media::client::rtmp::RtmpPublisher;
use media::flv::{AudioPacket, AudioTag, VideoPacket, VideoTag};
use media::frame::{Frame, FrameKind};
use serde::Serialize;

use super::endpoint::RtmpUrl;

/// The frames of a file, and how to lay them out lap after lap.
#[derive(Debug, Clone)]
pub struct Looped {
    frames: Vec<Frame>,
    /// Milliseconds one lap takes: up to the last picture, plus one video frame
    /// interval.
    lap_ms: u32,
    first_ts: u32,
}

/// What the file holds, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    pub path: String,
    pub frames: usize,
    pub video_frames: usize,
    pub audio_frames: usize,
    pub bytes: u64,
    /// Length of one lap, in seconds.
    pub lap_s: f64,
    /// Average bit rate of audio and video payloads, in kbit/s.
    pub kbps: f64,
}

impl Looped {
    /// Reads an FLV file; it must hold at least two video frames.
    pub fn read(path: &Path) -> Result<(Self, FileInfo)> {
        let data =
            std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
        let (_, frames) = media::flv::read_all(&data)
            .map_err(|e| anyhow!("{}: not a usable FLV file: {e}", path.display()))?;
        let looped = Looped::new(frames)?;
        let count = |k| looped.frames.iter().filter(|f| f.kind == k).count();
        let bytes: u64 = looped
            .frames
            .iter()
            .filter(|f| f.kind != FrameKind::Script)
            .map(|f| f.payload.len() as u64)
            .sum();
        let lap_s = f64::from(looped.lap_ms) / 1000.0;
        let info = FileInfo {
            path: path.display().to_string(),
            frames: looped.frames.len(),
            video_frames: count(FrameKind::Video),
            audio_frames: count(FrameKind::Audio),
            bytes,
            lap_s,
            kbps: bytes as f64 * 8.0 / 1000.0 / lap_s,
        };
        Ok((looped, info))
    }

    /// Lays `frames` out for looping. The lap is as long as the pictures (first to
    /// last, plus one frame interval), so that they keep their rhythm across the
    /// seam; frames past the end of the lap (an audio tail) are dropped, so that no
    /// timestamp goes back at the seam, and so are end-of-sequence tags, which would
    /// tell players the stream stops.
    pub fn new(frames: Vec<Frame>) -> Result<Self> {
        let pictures: Vec<u32> = frames
            .iter()
            .filter(|f| video_packet(f) == Some(VideoPacket::CodedFrames))
            .map(|f| f.timestamp)
            .collect();
        if pictures.len() < 2 {
            bail!("the file must hold at least two video frames");
        }
        let first_ts = frames.iter().map(|f| f.timestamp).min().unwrap_or(0);
        let (p0, pn) = (pictures[0], pictures[pictures.len() - 1]);
        let interval = (pn.saturating_sub(p0) / (pictures.len() as u32 - 1)).max(1);
        let lap_ms = pn - p0 + interval;
        let frames = frames
            .into_iter()
            .filter(|f| f.timestamp - first_ts < lap_ms)
            .filter(|f| video_packet(f) != Some(VideoPacket::EndOfSequence))
            .collect();
        Ok(Looped {
            frames,
            lap_ms,
            first_ts,
        })
    }

    /// The frames of lap `lap` (0 first), with their timestamps on the running clock.
    pub fn lap(&self, lap: u32) -> impl Iterator<Item = Frame> + '_ {
        let offset = lap.wrapping_mul(self.lap_ms);
        self.frames
            .iter()
            .filter(move |f| lap == 0 || !is_once_only(f))
            .map(move |f| Frame {
                kind: f.kind,
                timestamp: (f.timestamp - self.first_ts).wrapping_add(offset),
                payload: f.payload.clone(),
            })
    }
}

/// What a video frame carries; `None` for other frames and unreadable video.
fn video_packet(f: &Frame) -> Option<VideoPacket> {
    if f.kind != FrameKind::Video {
        return None;
    }
    VideoTag::parse(&f.payload).ok().map(|t| t.packet)
}

/// Metadata and codec configurations: sent at the start only.
fn is_once_only(f: &Frame) -> bool {
    match f.kind {
        FrameKind::Script => true,
        FrameKind::Video => video_packet(f) == Some(VideoPacket::SequenceHeader),
        FrameKind::Audio => {
            AudioTag::parse(&f.payload).is_ok_and(|t| t.packet == AudioPacket::SequenceHeader)
        }
    }
}

/// What the publisher thread shares with the run.
#[derive(Debug, Default)]
pub struct PublishState {
    started: AtomicBool,
    stop: AtomicBool,
    /// Audio and video frames sent.
    media_frames: AtomicU64,
    error: Mutex<Option<String>>,
}

impl PublishState {
    /// Audio and video frames sent so far.
    pub fn media_frames(&self) -> u64 {
        self.media_frames.load(Ordering::Relaxed)
    }

    /// Why publishing stopped, if it failed.
    pub fn error(&self) -> Option<String> {
        self.error.lock().ok().and_then(|e| e.clone())
    }
}

/// A running publisher.
#[derive(Debug)]
pub struct Publisher {
    state: Arc<PublishState>,
    thread: Option<JoinHandle<()>>,
}

impl Publisher {
    /// Starts publishing `looped` to `url` and waits (up to `limit`) until the server
    /// accepted the publish.
    pub async fn start(url: RtmpUrl, looped: Looped, limit: Duration) -> Result<Self> {
        Self::start_with(url, looped, limit, None).await
    }

    /// [`Publisher::start`], each frame passed through `each` as it is sent (the
    /// WebRTC bench stamps pictures with the time).
    pub async fn start_with(
        url: RtmpUrl,
        looped: Looped,
        limit: Duration,
        each: Option<fn(&Frame) -> Frame>,
    ) -> Result<Self> {
        let state = Arc::new(PublishState::default());
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the publisher's runtime")?;
        let thread = {
            let state = state.clone();
            std::thread::Builder::new()
                .name("publisher".into())
                .spawn(move || {
                    if let Err(e) = runtime.block_on(publish(&url, &looped, &state, each)) {
                        if let Ok(mut slot) = state.error.lock() {
                            *slot = Some(format!("{e:#}"));
                        }
                    }
                })
                .context("cannot start the publisher's thread")?
        };
        let publisher = Publisher {
            state,
            thread: Some(thread),
        };
        let deadline = tokio::time::Instant::now() + limit;
        while !publisher.state.started.load(Ordering::Relaxed) {
            if let Some(e) = publisher.state.error() {
                bail!("publishing failed: {e}");
            }
            if tokio::time::Instant::now() > deadline {
                bail!("the server did not accept the publish within {limit:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(publisher)
    }

    pub fn state(&self) -> &PublishState {
        &self.state
    }

    /// Fails if the publisher has stopped on an error.
    pub fn check(&self) -> Result<()> {
        match self.state.error() {
            Some(e) => bail!("publishing failed: {e}"),
            None => Ok(()),
        }
    }

    /// Stops publishing politely and waits for the thread.
    pub fn stop(mut self) -> Result<()> {
        self.state.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            t.join()
                .map_err(|_| anyhow!("the publisher thread panicked"))?;
        }
        self.check()
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Relaxed);
    }
}

async fn publish(
    url: &RtmpUrl,
    looped: &Looped,
    state: &PublishState,
    each: Option<fn(&Frame) -> Frame>,
) -> Result<()> {
    let mut publisher = RtmpPublisher::connect(&url.addr, &url.app, &url.name)
        .await
        .with_context(|| format!("publish to rtmp://{}/{}/…", url.addr, url.app))?;
    state.started.store(true, Ordering::Relaxed);
    for lap in 0.. {
        for frame in looped.lap(lap) {
            if state.stop.load(Ordering::Relaxed) {
                publisher.finish().await?;
                return Ok(());
            }
            match each {
                Some(each) => {
                    publisher.until_due(&frame).await?;
                    publisher.send(&each(&frame)).await?;
                }
                None => publisher.send_paced(&frame).await?,
            }
            if frame.kind != FrameKind::Script {
                state.media_frames.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn f(kind: FrameKind, timestamp: u32, payload: &'static [u8]) -> Frame {
        Frame {
            kind,
            timestamp,
            payload: Bytes::from_static(payload),
        }
    }

    /// Like FFmpeg writes it: metadata and headers at 0, pictures from 23 ms, an
    /// audio frame past the last picture, end of sequence.
    fn file() -> Vec<Frame> {
        vec![
            f(FrameKind::Script, 0, b"\x02\x00\x0aonMetaData"),
            f(FrameKind::Video, 0, &[0x17, 0, 0, 0, 0, 1]),
            f(FrameKind::Audio, 0, &[0xAF, 0, 0x12, 0x10]),
            f(FrameKind::Audio, 0, &[0xAF, 1, 6]),
            f(FrameKind::Video, 23, &[0x17, 1, 0, 0, 0, 9]),
            f(FrameKind::Audio, 23, &[0xAF, 1, 7]),
            f(FrameKind::Video, 56, &[0x27, 1, 0, 0, 0, 9]),
            f(FrameKind::Audio, 46, &[0xAF, 1, 8]),
            f(FrameKind::Audio, 69, &[0xAF, 1, 8]),
            f(FrameKind::Video, 89, &[0x27, 1, 0, 0, 0, 9]),
            f(FrameKind::Audio, 92, &[0xAF, 1, 8]),
            f(FrameKind::Audio, 115, &[0xAF, 1, 9]),
            f(FrameKind::Video, 89, &[0x17, 2, 0, 0, 0]),
        ]
    }

    fn times(frames: impl Iterator<Item = Frame>, kind: FrameKind) -> Vec<u32> {
        frames
            .filter(|f| f.kind == kind)
            .map(|f| f.timestamp)
            .collect()
    }

    #[test]
    fn a_lap_lasts_from_the_first_picture_to_the_last_plus_one_interval() {
        let l = Looped::new(file()).unwrap();
        assert_eq!(l.lap_ms, 89 - 23 + 33);
        assert_eq!(times(l.lap(0), FrameKind::Video), vec![0, 23, 56, 89]);
    }

    #[test]
    fn pictures_keep_their_rhythm_across_the_seam() {
        let l = Looped::new(file()).unwrap();
        let video = times(l.lap(0).chain(l.lap(1)), FrameKind::Video);
        // No header again, no end of sequence; 89 → 122 is one interval.
        assert_eq!(video, vec![0, 23, 56, 89, 122, 155, 188]);
    }

    #[test]
    fn audio_past_the_lap_is_cut_so_no_timestamp_goes_back() {
        let l = Looped::new(file()).unwrap();
        let audio = times(l.lap(0).chain(l.lap(1)), FrameKind::Audio);
        assert_eq!(audio, vec![0, 0, 23, 46, 69, 92, 99, 122, 145, 168, 191]);
        assert!(audio.windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn timestamps_start_from_zero() {
        let frames = file()
            .into_iter()
            .map(|mut fr| {
                fr.timestamp += 5000;
                fr
            })
            .collect();
        let l = Looped::new(frames).unwrap();
        assert_eq!(l.lap(0).next().unwrap().timestamp, 0);
    }

    #[test]
    fn a_file_without_video_is_refused() {
        assert!(Looped::new(vec![f(FrameKind::Audio, 0, &[0xAF, 1])]).is_err());
    }
}
