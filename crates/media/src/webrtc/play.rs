//! WHEP: one viewer playing a stream from the hub.
//!
//! Until ICE and DTLS are up, frames wait in the viewer's hub queue (a viewer that
//! falls behind resumes on the next keyframe, as every output does); then each video
//! frame is written as RTP payloads made once for all viewers ([`super::rtp`]), on the
//! 90 kHz clock at its presentation time. Audio comes from the stream's bridge
//! ([`super::audio::to_opus`]) as Opus on the 48 kHz clock. Both are handed to str0m
//! with the same wallclock for a given stream time, so its sender reports put them on
//! one clock.
//!
//! Sources with B-frames (x264's and OBS's defaults) reorder pictures, which browsers'
//! WebRTC decoders do not undo (the picture stutters). As SRS does, B pictures are left
//! out of WebRTC: the viewer gets a steady lower frame rate (with a pyramid, a picture
//! that referred to a B picture may show artifacts until the next keyframe), the other
//! outputs keep every picture, and the stream is marked so the anchor is told to turn
//! B-frames off ([`crate::hub::Stream::saw_b_frames`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::MediaKind;
use str0m::{Event, Rtc};
use tokio::sync::broadcast;

use super::audio::to_opus::{AudioBridge, OpusPacket};
use super::rtp::Line;
use super::session::{Ended, Role};
use crate::flv::{AvcConfig, VideoCodec, VideoTag};
use crate::frame::FrameKind;
use crate::hub::{Class, Packet, Subscription};

/// A WHEP viewer.
pub(crate) struct Play {
    pub server: Arc<super::WebRtc>,
    pub room: String,
    pub sub: Subscription,
    /// Where H.264 goes.
    pub video: Option<Line>,
    /// Where Opus goes.
    pub audio: Option<Line>,
    pub bridge: Option<(Arc<AudioBridge>, broadcast::Receiver<Arc<OpusPacket>>)>,
    /// Whether the bridge was asked for (once).
    pub bridge_asked: bool,
    pub avc: Option<AvcConfig>,
    /// Whether a keyframe went out (nothing is written before one).
    pub started: bool,
    /// The instant stream time 0 maps to, fixed by the first frame written.
    pub epoch: Option<Instant>,
    /// How fast the cached GOP goes out to a new viewer.
    pub pace: CatchUp,
    /// A frame waiting for its turn under `pace`, and when it is due.
    pub pending: Option<(Arc<Packet>, tokio::time::Instant)>,
}

/// How much faster than real time a new viewer gets the cached GOP: spread out, since
/// a whole GOP at once is a burst a real link drops packets of (and an RTMP source
/// cannot be asked for another keyframe), yet quick enough that the viewer reaches the
/// live edge within a third of the GOP's length. Live frames, arriving in real time,
/// are always due at once.
pub const CATCH_UP: u64 = 3;

/// The catch-up clock: set by the first frame, it runs [`CATCH_UP`] times real time
/// until frames arrive well after it (the viewer is live), and is then out of the way.
#[derive(Debug, Default, Clone, Copy)]
pub struct CatchUp {
    start: Option<(tokio::time::Instant, u32)>,
    live: bool,
}

impl CatchUp {
    /// When a frame of `class` at `timestamp` (ms) may go out: `None` for at once.
    /// Only pictures are paced (headers, metadata and the hub's audio, which WebRTC
    /// takes from the bridge, go at once), and the clock starts at the first picture,
    /// the cached keyframe — not at metadata stamped at the stream's start.
    fn gate(&mut self, class: Class, timestamp: u32) -> Option<tokio::time::Instant> {
        self.gate_at(class, timestamp, tokio::time::Instant::now())
    }

    fn gate_at(
        &mut self,
        class: Class,
        timestamp: u32,
        now: tokio::time::Instant,
    ) -> Option<tokio::time::Instant> {
        matches!(class, Class::Keyframe | Class::Video).then(|| self.due_at(timestamp, now))
    }

    /// When a picture at `timestamp` (ms) may go out.
    fn due_at(&mut self, timestamp: u32, now: tokio::time::Instant) -> tokio::time::Instant {
        if self.live {
            return now;
        }
        let (at, first) = *self.start.get_or_insert((now, timestamp));
        let ahead = (timestamp.wrapping_sub(first) as i32).max(0) as u64;
        let due = at + Duration::from_millis(ahead / CATCH_UP);
        if due + Duration::from_millis(200) < now {
            self.live = true;
        }
        due
    }
}

pub(crate) enum PlayInput {
    Video(Arc<Packet>),
    Audio(Arc<OpusPacket>),
}

impl Play {
    pub fn new(server: Arc<super::WebRtc>, room: &str, sub: Subscription) -> Play {
        Play {
            server,
            room: room.to_owned(),
            sub,
            video: None,
            audio: None,
            bridge: None,
            bridge_asked: false,
            avc: None,
            started: false,
            epoch: None,
            pace: CatchUp::default(),
            pending: None,
        }
    }

    /// Writes one frame from the hub, if it is H.264 video the peer can use.
    fn write_video(&mut self, rtc: &mut Rtc, packet: &Packet) {
        let frame = &packet.frame;
        if frame.kind != FrameKind::Video {
            return;
        }
        let Ok(tag) = VideoTag::parse(&frame.payload) else {
            return;
        };
        if tag.codec != VideoCodec::Avc {
            return;
        }
        if tag.is_sequence_header() {
            self.avc = AvcConfig::parse(tag.data).ok();
            return;
        }
        let Some(avc) = &self.avc else { return };
        if !self.started && !tag.is_keyframe() {
            return;
        }
        if tag.composition_time != 0 && self.sub.stream().saw_b_frames() {
            self.server
                .hub
                .warn(&self.room, crate::hub::StreamWarning::BFrames);
        }
        let keyframe = tag.is_keyframe();
        let Some(payloads) =
            packet.rtp_payloads(|| super::rtp::h264_payloads(tag.data, avc, keyframe))
        else {
            return;
        };
        let Some(line) = &mut self.video else { return };
        let pts = (i64::from(frame.timestamp) + i64::from(tag.composition_time)).max(0) as u64;
        let wallclock = wallclock(&mut self.epoch, pts);
        if line.write(rtc, (pts * 90) as u32, wallclock, payloads, true) {
            self.started = true;
        }
    }

    fn write_audio(&mut self, rtc: &mut Rtc, packet: &OpusPacket) {
        // Audio waits for the picture: a viewer starts on a keyframe.
        if !self.started {
            return;
        }
        let Some(line) = &mut self.audio else { return };
        let wallclock = wallclock(&mut self.epoch, packet.pts_ms);
        let time = (packet.pts_ms * 48) as u32;
        line.write(
            rtc,
            time,
            wallclock,
            std::slice::from_ref(&packet.data),
            false,
        );
    }
}

/// The wallclock of stream time `ms`, on the clock `epoch` (stream time 0) fixes with
/// the first frame written.
fn wallclock(epoch: &mut Option<Instant>, ms: u64) -> Instant {
    let now = Instant::now();
    let epoch =
        *epoch.get_or_insert_with(|| now.checked_sub(Duration::from_millis(ms)).unwrap_or(now));
    epoch + Duration::from_millis(ms)
}

impl Role for Play {
    type Input = PlayInput;

    async fn next(&mut self) -> Result<PlayInput, Ended> {
        loop {
            // A frame ahead of the catch-up pace waits for its turn.
            let due = self.pending.as_ref().map(|(_, due)| *due);
            let bridge = &mut self.bridge;
            let audio = async move {
                match bridge {
                    Some((_, rx)) => loop {
                        match rx.recv().await {
                            Ok(p) => return Some(p),
                            Err(broadcast::error::RecvError::Lagged(_)) => continue,
                            Err(broadcast::error::RecvError::Closed) => return None,
                        }
                    },
                    None => std::future::pending().await,
                }
            };
            let sub = &mut self.sub;
            tokio::select! {
                _ = tokio::time::sleep_until(due.unwrap_or_else(tokio::time::Instant::now)), if due.is_some() => {
                    if let Some((p, _)) = self.pending.take() {
                        return Ok(PlayInput::Video(p));
                    }
                }
                p = sub.rx.recv(), if due.is_none() => {
                    let Some(p) = p else { return Err(Ended::StreamOver) };
                    match self.pace.gate(p.class, p.frame.timestamp) {
                        Some(due) if due > tokio::time::Instant::now() => {
                            self.pending = Some((p, due))
                        }
                        _ => return Ok(PlayInput::Video(p)),
                    }
                }
                Some(a) = audio => return Ok(PlayInput::Audio(a)),
            }
        }
    }

    fn act(&mut self, rtc: &mut Rtc, input: PlayInput) -> Result<(), Ended> {
        match input {
            PlayInput::Video(p) => self.write_video(rtc, &p),
            PlayInput::Audio(a) => self.write_audio(rtc, &a),
        }
        // The stream's audio bridge, once the picture started and the peer takes audio
        // (str0m names the m-lines once connected).
        if self.started && self.audio.is_some() && !self.bridge_asked {
            self.bridge_asked = true;
            if let Some(bridge) = self.server.audio_bridge(&self.room) {
                let rx = bridge.subscribe();
                self.bridge = Some((bridge, rx));
            }
        }
        Ok(())
    }

    fn event(&mut self, _rtc: &mut Rtc, event: Event) -> Result<(), Ended> {
        match event {
            Event::MediaAdded(m) if m.kind == MediaKind::Video && self.video.is_none() => {
                self.video = Some(Line::new(m.mid, Codec::H264));
            }
            Event::MediaAdded(m) if m.kind == MediaKind::Audio && self.audio.is_none() => {
                self.audio = Some(Line::new(m.mid, Codec::Opus));
            }
            Event::KeyframeRequest(_) => self.server.want_keyframe(&self.room),
            _ => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cached_gop_goes_out_three_times_faster_than_real_time_then_live() {
        let mut pace = CatchUp::default();
        let start = tokio::time::Instant::now();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(pace.due_at(1_000, start), start, "the keyframe at once");
        assert_eq!(pace.due_at(1_300, start), start + ms(100));
        assert_eq!(pace.due_at(2_960, start), start + ms(653));
        // An earlier time (never expected) is not a wait.
        assert_eq!(pace.due_at(900, start), start);
        // Frames now arrive in real time, well after the catch-up clock: live.
        let later = start + ms(3_000);
        assert!(pace.due_at(4_000, later) < later);
        assert_eq!(
            pace.due_at(90_000, later),
            later,
            "once live, nothing waits"
        );
    }

    #[test]
    fn the_clock_starts_at_the_first_picture_not_at_the_streams_metadata() {
        let mut pace = CatchUp::default();
        let now = tokio::time::Instant::now();
        // A stream an hour old: its metadata and headers were stamped at its start.
        assert_eq!(pace.gate_at(Class::Metadata, 0, now), None);
        assert_eq!(pace.gate_at(Class::VideoHeader, 0, now), None);
        assert_eq!(pace.gate_at(Class::Keyframe, 3_600_000, now), Some(now));
        assert_eq!(pace.gate_at(Class::Audio, 3_600_010, now), None);
        assert_eq!(
            pace.gate_at(Class::Video, 3_600_040, now),
            Some(now + Duration::from_millis(13))
        );
    }
}
