//! WHIP: a publisher sending H.264 and Opus over WebRTC, taken into the hub like an
//! RTMP publish — the same stream, GOP cache, HLS, events (the room goes live when ICE
//! and DTLS are up), cuts and take-overs.
//!
//! - Video: str0m hands over whole access units (Annex B); [`h264::H264ToFlv`] turns
//!   them into FLV frames, a new sequence header whenever the parameter sets change (a
//!   browser that lowers its resolution), which HLS turns into a discontinuity.
//! - Keyframes: browsers send one only when asked, so momo asks (PLI) every
//!   [`super::WebRtcConfig::keyframe_interval`] to keep the GOP cache short and HLS
//!   cutting segments, and when a WebRTC viewer asks, on this node or on another
//!   that pulls the stream ([`crate::hub::Hub::want_keyframe`]) — a request within
//!   [`MIN_KEYFRAME_GAP`] of the last is answered by the keyframe already asked for, so
//!   a thousand viewers asking at once make one request.
//! - Audio: Opus through [`super::audio::to_aac`] into AAC for every other output.
//! - Timing: each track's RTP clock from its first packet, placed on one timeline by
//!   that packet's arrival, so audio and video start together.

pub mod h264;

use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::{KeyframeRequestKind, MediaData, MediaKind, Mid};
use str0m::{Event, Rtc};

use super::audio::to_aac::OpusToAac;
use super::session::{Ended, Role};
use super::WebRtc;
use crate::frame::Frame;
use crate::hub::{Publisher, StopReason};

/// The least time between two keyframe requests to the publisher.
pub const MIN_KEYFRAME_GAP: Duration = Duration::from_millis(500);

/// One track's clock: its first RTP time and where that falls on the timeline (ms).
#[derive(Debug, Clone, Copy)]
struct Clock {
    first_rtp: u64,
    at_ms: u64,
    rate: u64,
}

impl Clock {
    /// The timeline ms of RTP time `rtp`, or `None` before the first.
    fn ms(&self, rtp: u64) -> Option<u64> {
        let since = rtp.checked_sub(self.first_rtp)?;
        Some(self.at_ms + since * 1000 / self.rate)
    }
}

/// A WHIP publisher.
pub(crate) struct Ingest {
    pub server: Arc<WebRtc>,
    pub room: String,
    publisher: Option<Publisher>,
    video: Option<Mid>,
    audio: Option<Mid>,
    h264: h264::H264ToFlv,
    opus: OpusToAac,
    /// When the first media arrived: the timeline's 0.
    start: Option<Instant>,
    video_clock: Option<Clock>,
    audio_clock: Option<Clock>,
    last_request: Option<Instant>,
    next_request: tokio::time::Instant,
}

pub(crate) enum IngestInput {
    /// Time to ask the publisher for a keyframe.
    RequestKeyframe,
    /// A viewer asked for one.
    Asked,
    /// Audio out of the bridge.
    Aac(Option<bytes::Bytes>),
}

impl Ingest {
    pub fn new(server: Arc<WebRtc>, room: &str) -> Ingest {
        let ffmpeg = server.config.ffmpeg.clone();
        Ingest {
            server,
            room: room.to_owned(),
            publisher: None,
            video: None,
            audio: None,
            h264: h264::H264ToFlv::new(),
            opus: OpusToAac::new(&ffmpeg),
            start: None,
            video_clock: None,
            audio_clock: None,
            last_request: None,
            next_request: tokio::time::Instant::now(),
        }
    }

    fn push(&self, frame: Frame) {
        if let Some(p) = &self.publisher {
            p.push(frame);
        }
    }

    /// The clock of a track, made from its first packet.
    fn clock(&mut self, kind: MediaKind, data: &MediaData) -> Clock {
        let start = *self.start.get_or_insert(data.network_time);
        let slot = match kind {
            MediaKind::Video => &mut self.video_clock,
            MediaKind::Audio => &mut self.audio_clock,
        };
        *slot.get_or_insert_with(|| Clock {
            first_rtp: data.time.numer(),
            at_ms: data
                .network_time
                .saturating_duration_since(start)
                .as_millis() as u64,
            rate: u64::from(data.time.frequency().get()).max(1),
        })
    }

    fn media(&mut self, data: MediaData) {
        if Some(data.mid) == self.video {
            let clock = self.clock(MediaKind::Video, &data);
            let Some(ms) = clock.ms(data.time.numer()) else {
                return;
            };
            match self.h264.push(&data.data, ms as u32) {
                Ok(frames) => frames.into_iter().for_each(|f| self.push(f)),
                Err(h264::Skipped::WaitingForKeyframe) => {
                    self.next_request = self.next_request.min(self.soonest_request());
                }
                Err(h264::Skipped::Empty) => {}
            }
        } else if Some(data.mid) == self.audio {
            let clock = self.clock(MediaKind::Audio, &data);
            let rtp = data.time.numer();
            // Opus is always on a 48 kHz clock.
            let Some(at_ms) = clock.ms(rtp) else { return };
            self.opus.push(&data.data, rtp - clock.first_rtp, at_ms);
        }
    }

    /// The earliest a keyframe request may go now.
    fn soonest_request(&self) -> tokio::time::Instant {
        match self.last_request {
            Some(last) => tokio::time::Instant::from_std(last + MIN_KEYFRAME_GAP),
            None => tokio::time::Instant::now(),
        }
    }

    fn request_keyframe(&mut self, rtc: &mut Rtc) {
        let Some(mid) = self.video else { return };
        let Some(mut writer) = rtc.writer(mid) else {
            return;
        };
        if writer.is_request_keyframe_possible(KeyframeRequestKind::Pli) {
            let _ = writer.request_keyframe(None, KeyframeRequestKind::Pli);
            metrics::counter!("webrtc_keyframe_requests_total").increment(1);
        }
        let now = Instant::now();
        self.last_request = Some(now);
        self.next_request =
            tokio::time::Instant::from_std(now + self.server.config.keyframe_interval);
    }
}

impl Role for Ingest {
    type Input = IngestInput;

    async fn next(&mut self) -> Result<IngestInput, Ended> {
        let Some(publisher) = &self.publisher else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = publisher.stream().cut_requested() => Err(Ended::Cut),
            _ = publisher.superseded() => Err(Ended::Superseded),
            _ = tokio::time::sleep_until(self.next_request) => Ok(IngestInput::RequestKeyframe),
            _ = publisher.stream().keyframe_wanted() => Ok(IngestInput::Asked),
            out = self.opus.output() => Ok(IngestInput::Aac(out)),
        }
    }

    fn act(&mut self, rtc: &mut Rtc, input: IngestInput) -> Result<(), Ended> {
        match input {
            IngestInput::RequestKeyframe => self.request_keyframe(rtc),
            IngestInput::Asked => {
                // A keyframe asked for within the gap is on its way: it answers this too.
                let answered = self
                    .last_request
                    .is_some_and(|last| last.elapsed() < MIN_KEYFRAME_GAP);
                if !answered {
                    self.next_request = tokio::time::Instant::now();
                }
            }
            IngestInput::Aac(Some(chunk)) => {
                for frame in self.opus.frames(&chunk) {
                    self.push(frame);
                }
            }
            IngestInput::Aac(None) => self.opus.ended(),
        }
        Ok(())
    }

    fn event(&mut self, rtc: &mut Rtc, event: Event) -> Result<(), Ended> {
        match event {
            Event::MediaAdded(m) if m.kind == MediaKind::Video && self.video.is_none() => {
                self.video = Some(m.mid);
            }
            Event::MediaAdded(m) if m.kind == MediaKind::Audio && self.audio.is_none() => {
                self.audio = Some(m.mid);
            }
            Event::Connected => {
                // The stream is taken when media can flow, as an RTMP publish is.
                let publisher = self
                    .server
                    .hub
                    .publish(&self.room)
                    .map_err(|e| Ended::Failed(e.to_string()))?;
                tracing::info!(room = %self.room, "publishing over WHIP");
                self.publisher = Some(publisher);
                self.request_keyframe(rtc);
            }
            Event::MediaData(data) => self.media(data),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, ended: &Ended) {
        if let Some(mut p) = self.publisher.take() {
            let reason = match ended {
                Ended::Closed => StopReason::Unpublished,
                other => StopReason::Disconnected(format!("{other:?}")),
            };
            p.set_stop_reason(reason);
        }
    }
}
