//! Timestamp repair: publishers send 32-bit millisecond timestamps that wrap after
//! 49.7 days (or after 4.6 hours for encoders that count in 90 kHz-ish units and
//! truncate), jump when an encoder restarts, and start again from zero when an anchor
//! reconnects. Viewers need one monotonic timeline per track, in sync across tracks.
//!
//! Each track maps its input to the output by adding the signed 32-bit difference from
//! its previous input (so a wrap is just a small step forward). A step backwards, or a
//! jump forward of more than [`MAX_JUMP_MS`], is a discontinuity: the track continues
//! from its last output plus its usual frame spacing. After [`Timeline::restart`]
//! (a publisher came back), every track continues from the latest output of any track.

use crate::frame::FrameKind;

/// Forward jumps larger than this are treated as discontinuities.
pub const MAX_JUMP_MS: i64 = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct Track {
    last_in: Option<u32>,
    last_out: u64,
    /// The last sane spacing between frames, used to step over discontinuities.
    step: u64,
}

/// The output timeline of one stream.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    audio: Track,
    video: Track,
    script: Track,
    /// Input timestamp of the first frame of the current publisher session, and the
    /// output time it maps to.
    origin: Option<(u32, u64)>,
    /// Frames whose timestamps were repaired (jumps and steps backwards).
    pub repaired: u64,
}

impl Timeline {
    pub fn new() -> Self {
        Self::default()
    }

    /// The output timestamp (ms) for a frame of `kind` stamped `input` by the publisher.
    pub fn map(&mut self, kind: FrameKind, input: u32) -> u64 {
        let high_water = self.high_water();
        let origin = *self.origin.get_or_insert((input, high_water));
        let track = match kind {
            FrameKind::Audio => &mut self.audio,
            FrameKind::Video => &mut self.video,
            FrameKind::Script => &mut self.script,
        };
        let out = match track.last_in {
            None => {
                // First frame of this track in this session: place it relative to the
                // session's first frame, so audio and video stay in step.
                let delta = input.wrapping_sub(origin.0) as i32 as i64;
                if (0..=MAX_JUMP_MS).contains(&delta) {
                    origin.1 + delta as u64
                } else {
                    origin.1
                }
            }
            Some(last) => {
                let delta = input.wrapping_sub(last) as i32 as i64;
                if (0..=MAX_JUMP_MS).contains(&delta) {
                    if delta > 0 {
                        track.step = delta as u64;
                    }
                    track.last_out + delta as u64
                } else {
                    self.repaired += 1;
                    track.last_out + track.step.max(1)
                }
            }
        };
        let out = out.max(track.last_out);
        track.last_in = Some(input);
        track.last_out = out;
        out
    }

    /// A new publisher session begins (the anchor reconnected): its timestamps start
    /// afresh and are placed after everything already sent.
    pub fn restart(&mut self) {
        for t in [&mut self.audio, &mut self.video, &mut self.script] {
            t.last_in = None;
        }
        self.origin = None;
    }

    fn high_water(&self) -> u64 {
        let a = self.audio.last_out;
        let v = self.video.last_out;
        let started =
            self.audio.last_in.is_some() || self.video.last_in.is_some() || a > 0 || v > 0;
        if started {
            a.max(v).max(self.script.last_out) + 1
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use FrameKind::*;

    #[test]
    fn steady_timestamps_pass_through_from_zero() {
        let mut t = Timeline::new();
        assert_eq!(t.map(Video, 1000), 0);
        assert_eq!(t.map(Audio, 1010), 10);
        assert_eq!(t.map(Video, 1040), 40);
        assert_eq!(t.map(Audio, 1033), 33);
        assert_eq!(t.repaired, 0);
    }

    #[test]
    fn a_32_bit_wrap_is_a_small_step_forward() {
        let mut t = Timeline::new();
        let near_end = u32::MAX - 20;
        assert_eq!(t.map(Video, near_end), 0);
        assert_eq!(t.map(Video, near_end.wrapping_add(40)), 40);
        assert_eq!(t.map(Video, 60), 81);
        assert_eq!(t.repaired, 0);
    }

    #[test]
    fn jumps_and_steps_back_continue_at_the_usual_spacing() {
        let mut t = Timeline::new();
        t.map(Video, 0);
        t.map(Video, 40);
        assert_eq!(t.map(Video, 3_600_000), 80, "a jump of an hour");
        assert_eq!(t.map(Video, 3_600_040), 120);
        assert_eq!(t.map(Video, 5), 160, "a step back");
        assert_eq!(t.repaired, 2);
    }

    #[test]
    fn a_reconnecting_publisher_continues_after_what_was_sent() {
        let mut t = Timeline::new();
        t.map(Video, 0);
        t.map(Audio, 20);
        t.map(Video, 5_000);
        t.restart();
        let v = t.map(Video, 0);
        assert!(v > 5_000, "{v}");
        let a = t.map(Audio, 10);
        assert_eq!(a, v + 10);
    }
}
