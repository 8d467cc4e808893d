//! The bench's WebRTC peers, on str0m (full ICE, the offering side): a WHEP viewer
//! that completes ICE and DTLS with the server and counts the frames and bytes it gets
//! without decoding them (a probe also reads the stamps of [`super::stamp`]), and a
//! WHIP publisher that sends a file's H.264 in real time with stamps.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use media::flv::{AvcConfig, VideoTag};
use media::frame::FrameKind;
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::watch;

use super::stamp;
use crate::live::publisher::Looped;

/// What all viewers of a step count together.
#[derive(Debug, Default)]
pub struct Tally {
    pub connected: AtomicU64,
    pub failed: AtomicU64,
    pub video_frames: AtomicU64,
    pub audio_frames: AtomicU64,
    pub bytes: AtomicU64,
    /// Glass-to-glass delays the probes saw, in microseconds.
    pub delays: Mutex<Vec<u64>>,
    /// Why viewers failed (the first few).
    pub errors: Mutex<Vec<String>>,
}

impl Tally {
    fn failed(&self, e: &anyhow::Error) {
        self.failed.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut errors) = self.errors.lock() {
            if errors.len() < 5 {
                errors.push(format!("{e:#}"));
            }
        }
    }
}

/// A str0m session on a UDP socket of its own, with its URL on the server.
struct Peer {
    socket: UdpSocket,
    local: SocketAddr,
    rtc: Rtc,
    location: Option<String>,
}

impl Peer {
    /// Offers `direction` video (and audio, when `audio`) to `url`.
    async fn offer(
        http: &reqwest::Client,
        url: &str,
        direction: Direction,
        audio: bool,
    ) -> Result<(Peer, Mid)> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        let local = socket.local_addr()?;
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_h264(true)
            .enable_opus(true)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        let mut change = rtc.sdp_api();
        let video = change.add_media(MediaKind::Video, direction, None, None, None);
        if audio {
            change.add_media(MediaKind::Audio, direction, None, None, None);
        }
        let (offer, pending) = change.apply().context("no offer")?;
        let res = http
            .post(url)
            .header("content-type", "application/sdp")
            .body(offer.to_sdp_string())
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = res.status();
        let location = res
            .headers()
            .get("location")
            .and_then(|l| l.to_str().ok())
            .map(|l| resolve(url, l));
        let text = res.text().await?;
        if status.as_u16() != 201 && status.as_u16() != 200 {
            bail!(
                "POST {url}: {status}: {}",
                text.chars().take(200).collect::<String>()
            );
        }
        let answer = SdpAnswer::from_sdp_string(&text).context("the answer is not SDP")?;
        rtc.sdp_api().accept_answer(pending, answer)?;
        Ok((
            Peer {
                socket,
                local,
                rtc,
                location,
            },
            video,
        ))
    }

    /// Drives the session until `until`, handing events to `on_event`; false when the
    /// session ended.
    async fn drive_until(
        &mut self,
        buf: &mut [u8],
        until: Instant,
        mut on_event: impl FnMut(&mut Rtc, Event),
    ) -> Result<bool> {
        loop {
            let timeout = loop {
                match self.rtc.poll_output()? {
                    Output::Timeout(at) => break at,
                    Output::Transmit(t) => {
                        let _ = self.socket.try_send_to(&t.contents, t.destination);
                    }
                    Output::Event(event) => on_event(&mut self.rtc, event),
                }
            };
            if !self.rtc.is_alive() {
                return Ok(false);
            }
            let now = Instant::now();
            if now >= until {
                return Ok(true);
            }
            let wait = timeout.min(until).saturating_duration_since(now);
            match tokio::time::timeout(wait, self.socket.recv_from(buf)).await {
                Ok(Ok((n, source))) => {
                    if let Ok(receive) = Receive::new(Protocol::Udp, source, self.local, &buf[..n])
                    {
                        self.rtc
                            .handle_input(Input::Receive(Instant::now(), receive))?;
                    }
                }
                _ => self.rtc.handle_input(Input::Timeout(Instant::now()))?,
            }
        }
    }

    /// Ends the session on the server (`DELETE`), best effort.
    async fn close(&self, http: &reqwest::Client) {
        if let Some(location) = &self.location {
            let _ = http.delete(location).send().await;
        }
    }
}

/// `location` (absolute or a path) against `url`.
fn resolve(url: &str, location: &str) -> String {
    if location.starts_with("http://") || location.starts_with("https://") {
        return location.to_owned();
    }
    let origin_end = url
        .find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| i + 3 + j))
        .unwrap_or(url.len());
    format!("{}{location}", &url[..origin_end])
}

/// Plays `url` over WHEP until `stop`, counting into `tally`; a `probe` also reads the
/// stamps of the pictures.
pub async fn view(
    http: reqwest::Client,
    url: String,
    probe: bool,
    tally: Arc<Tally>,
    mut stop: watch::Receiver<bool>,
) {
    let result = async {
        let (mut peer, video) = Peer::offer(&http, &url, Direction::RecvOnly, true).await?;
        let mut buf = vec![0u8; 2048];
        let mut connected = false;
        let deadline = Instant::now() + Duration::from_secs(20);
        while !*stop.borrow() {
            let until = Instant::now() + Duration::from_millis(200);
            let alive = peer
                .drive_until(&mut buf, until, |_, event| match event {
                    Event::Connected => {
                        connected = true;
                        tally.connected.fetch_add(1, Ordering::Relaxed);
                    }
                    Event::MediaData(data) => {
                        tally
                            .bytes
                            .fetch_add(data.data.len() as u64, Ordering::Relaxed);
                        if data.mid == video {
                            tally.video_frames.fetch_add(1, Ordering::Relaxed);
                            if probe {
                                if let Some(age) = stamp::age_micros(&data.data) {
                                    if let Ok(mut d) = tally.delays.lock() {
                                        d.push(age);
                                    }
                                }
                            }
                        } else {
                            tally.audio_frames.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    _ => {}
                })
                .await?;
            if !alive {
                bail!("the session ended");
            }
            if !connected && Instant::now() > deadline {
                bail!("no ICE/DTLS within 20 s");
            }
            if stop.has_changed().unwrap_or(true) && *stop.borrow_and_update() {
                break;
            }
        }
        peer.close(&http).await;
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = result {
        tally.failed(&e);
    }
}

/// Publishes `looped`'s video over WHIP to `url` in real time, each picture stamped,
/// until `stop`.
pub async fn publish(
    http: reqwest::Client,
    url: String,
    looped: Looped,
    running: Arc<AtomicBool>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let (mut peer, video) = Peer::offer(&http, &url, Direction::SendOnly, false).await?;
    let mut buf = vec![0u8; 2048];
    let mut connected = false;
    let deadline = Instant::now() + Duration::from_secs(20);
    while !connected {
        if Instant::now() > deadline {
            bail!("the WHIP publisher did not connect within 20 s");
        }
        let until = Instant::now() + Duration::from_millis(20);
        peer.drive_until(&mut buf, until, |_, e| {
            connected |= matches!(e, Event::Connected)
        })
        .await?;
    }
    running.store(true, Ordering::Relaxed);
    let start = Instant::now();
    let mut avc = None;
    let mut annexb = Vec::new();
    'laps: for lap in 0u32.. {
        for frame in looped.lap(lap).filter(|f| f.kind == FrameKind::Video) {
            let due = start + Duration::from_millis(u64::from(frame.timestamp));
            peer.drive_until(&mut buf, due, |_, _| {}).await?;
            if *stop.borrow_and_update() {
                break 'laps;
            }
            let Ok(tag) = VideoTag::parse(&frame.payload) else {
                continue;
            };
            if tag.is_sequence_header() {
                avc = AvcConfig::parse(tag.data).ok();
                continue;
            }
            let Some(avc) = &avc else { continue };
            annexb.clear();
            if media::ts::annexb::write_access_unit(&mut annexb, tag.data, avc, tag.is_keyframe())
                .is_err()
            {
                continue;
            }
            let Some(writer) = peer.rtc.writer(video) else {
                bail!("the WHIP session has no video");
            };
            let pt = writer
                .payload_params()
                .find(|p| p.spec().codec == Codec::H264)
                .map(|p| p.pt())
                .context("no H.264 in the answer")?;
            let time = MediaTime::new(u64::from(frame.timestamp) * 90, Frequency::NINETY_KHZ);
            writer.write(pt, Instant::now(), time, stamp::stamp_annexb(&annexb))?;
        }
    }
    peer.close(&http).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_resolve_against_the_url() {
        assert_eq!(
            resolve("http://127.0.0.1:8080/whep/1", "/whep/1/abc"),
            "http://127.0.0.1:8080/whep/1/abc"
        );
        assert_eq!(
            resolve("http://h:1/rtc/v1/whep/?app=live", "http://h:1/x"),
            "http://h:1/x"
        );
    }
}
