//! Opening peers — WHEP viewers and WHIP publishers — and what they share through the
//! server: a viewer's keyframe requests, and each stream's one audio bridge.

use std::net::IpAddr;
use std::sync::Arc;

use rand::distributions::{Alphanumeric, DistString};
use str0m::IceCreds;

use super::audio::to_opus::AudioBridge;
use super::ingest::Ingest;
use super::play::Play;
use super::sdp::{answer_offer, Purpose};
use super::session::Session;
use super::{lock, OfferError, WebRtc};
use crate::hub::Protocol;

/// A new session: the name of its URL (for `DELETE`) and the SDP answer.
#[derive(Debug, Clone)]
pub struct Opened {
    pub name: String,
    pub answer: String,
}

fn random(len: usize) -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), len)
}

impl WebRtc {
    /// Answers a WHEP `offer` for stream `room` from a client at `addr`. The viewer runs
    /// on a task of its own until the client leaves, the stream ends or `DELETE` comes.
    pub async fn whep(
        self: &Arc<Self>,
        room: &str,
        offer: &str,
        addr: Option<IpAddr>,
    ) -> Result<Opened, OfferError> {
        let (rtc, answer, creds) = self.answer(offer, Purpose::Play)?;
        let sub = self
            .hub
            .subscribe_or_pull(room, Protocol::WebRtc, addr)
            .await
            .ok_or(OfferError::NotLive)?;
        let role = Play::new(self.clone(), room, sub);
        self.open(rtc, answer, creds, "whep", role)
    }

    /// Answers a WHIP `offer` publishing stream `room` (the stream key already checked).
    /// The stream is taken when ICE and DTLS are up.
    pub fn whip(self: &Arc<Self>, room: &str, offer: &str) -> Result<Opened, OfferError> {
        let (rtc, answer, creds) = self.answer(offer, Purpose::Publish)?;
        let role = Ingest::new(self.clone(), room);
        self.open(rtc, answer, creds, "whip", role)
    }

    fn answer(
        &self,
        offer: &str,
        purpose: Purpose,
    ) -> Result<(str0m::Rtc, String, IceCreds), OfferError> {
        let creds = IceCreds {
            ufrag: random(16),
            pass: random(32),
        };
        let (rtc, answer) = answer_offer(offer, purpose, creds.clone(), &self.candidates())?;
        Ok((rtc, answer, creds))
    }

    fn open<R: super::session::Role>(
        self: &Arc<Self>,
        rtc: str0m::Rtc,
        answer: String,
        creds: IceCreds,
        kind: &'static str,
        role: R,
    ) -> Result<Opened, OfferError> {
        let name = random(24);
        let registered = self.register(&creds.ufrag, &name)?;
        let session = Session {
            server: self.clone(),
            session: registered.session,
            kind,
            rtc,
            role,
        };
        tokio::spawn(session.run(registered.datagrams, registered.stop));
        metrics::counter!("webrtc_sessions_total", "kind" => kind).increment(1);
        Ok(Opened { name, answer })
    }

    /// A viewer of `room` lost a picture: its publisher is asked, here or on the
    /// stream's origin ([`crate::hub::Hub::want_keyframe`]).
    pub(crate) fn want_keyframe(&self, room: &str) {
        metrics::counter!("webrtc_keyframe_asks_total").increment(1);
        self.hub.want_keyframe(room);
    }

    /// `room`'s audio bridge, started if none runs; `None` when the stream is gone.
    pub(crate) fn audio_bridge(&self, room: &str) -> Option<Arc<AudioBridge>> {
        if self.config.ffmpeg.is_empty() {
            return None;
        }
        let mut bridges = lock(&self.bridges);
        bridges.retain(|_, b| b.strong_count() > 0);
        if let Some(bridge) = bridges.get(room).and_then(|b| b.upgrade()) {
            return Some(bridge);
        }
        let sub = self.hub.subscribe(room, Protocol::Bridge)?;
        let bridge = AudioBridge::start(&self.config.ffmpeg, sub);
        bridges.insert(room.to_owned(), Arc::downgrade(&bridge));
        Some(bridge)
    }
}
