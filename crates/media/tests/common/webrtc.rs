//! WebRTC clients for the media tests: str0m (the library momo answers with, here in
//! the offering role and not ICE-lite) playing over WHEP or publishing over WHIP to a
//! server's shared UDP port.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use media::flv::{AvcConfig, VideoTag};
use media::frame::FrameKind;
use media::webrtc::{WebRtc, WebRtcConfig};
use str0m::change::SdpAnswer;
use str0m::format::Codec;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

use super::*;

/// The server's WHEP and WHIP routes on an HTTP port of their own, over `server`'s hub
/// (the test key publishes the test room), asking WHIP publishers for a keyframe every
/// 500 ms. No ffmpeg: video only.
pub async fn webrtc_on(server: &Server) -> (String, Arc<WebRtc>) {
    webrtc_every(server, Duration::from_millis(500)).await
}

/// [`webrtc_on`] asking WHIP publishers for a keyframe every `interval`.
pub async fn webrtc_every(server: &Server, interval: Duration) -> (String, Arc<WebRtc>) {
    let config = WebRtcConfig {
        ffmpeg: String::new(),
        keyframe_interval: interval,
        ..WebRtcConfig::default()
    };
    webrtc_with(server, config).await
}

/// The WebRTC routes with `config`.
pub async fn webrtc_with(server: &Server, config: WebRtcConfig) -> (String, Arc<WebRtc>) {
    webrtc_bound(server, "127.0.0.1:0", config).await
}

/// The WebRTC routes with `config`, the UDP port and ICE over TCP bound at `bind`.
pub async fn webrtc_bound(
    server: &Server,
    bind: &str,
    config: WebRtcConfig,
) -> (String, Arc<WebRtc>) {
    let udp = UdpSocket::bind(bind).await.unwrap();
    let webrtc = WebRtc::start(server.hub.clone(), udp, config).unwrap();
    let tcp = TcpListener::bind(bind).await.unwrap();
    webrtc.serve_tcp(tcp).unwrap();
    let outputs = media::server::http::Outputs::new(
        server.hub.clone(),
        None,
        media::server::DEFAULT_VIEWER_FLUSH,
    );
    let auth = Arc::new(StaticKeys(vec![(KEY.into(), ROOM.into())]));
    let routes = media::webrtc::http::routes(webrtc.clone(), outputs, auth);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, routes).await });
    (base, webrtc)
}

/// Waits until `webrtc` has no peer left.
pub async fn no_peers_left(webrtc: &WebRtc) {
    within(5.0, "the sessions end", async {
        while webrtc.peers() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// How a client reaches the server: its UDP socket, or (ICE over TCP) the connection
/// it opens to the server's passive candidate when it first sends.
enum Transport {
    Udp(UdpSocket),
    Tcp {
        stream: Option<tokio::net::TcpStream>,
        buf: bytes::BytesMut,
    },
}

/// A str0m peer: its transport, its session, the video m-line and the session's URL.
pub struct Client {
    transport: Transport,
    local: std::net::SocketAddr,
    pub rtc: Rtc,
    pub video: Mid,
    pub audio: Mid,
    pub location: String,
    /// Keyframe requests a publisher received.
    pub requests: Arc<AtomicUsize>,
}

impl Client {
    /// Offers to receive video at `base`'s WHEP endpoint for the test room.
    pub async fn play(base: &str) -> Client {
        Client::play_on(base, false).await
    }

    /// [`Client::play`] with only an active TCP candidate: ICE over TCP or nothing.
    pub async fn play_over_tcp(base: &str) -> Client {
        Client::play_on(base, true).await
    }

    async fn play_on(base: &str, tcp: bool) -> Client {
        let (client, status) =
            Client::offer(&format!("{base}/whep/{ROOM}"), Direction::RecvOnly, tcp).await;
        assert_eq!(status, 201);
        assert!(
            client.location.starts_with("/whep/42/"),
            "{}",
            client.location
        );
        client
    }

    /// Offers to send video to `base`'s WHIP endpoint with the test key.
    pub async fn publish(base: &str) -> Client {
        let (client, status) =
            Client::offer(&format!("{base}/whip/{KEY}"), Direction::SendOnly, false).await;
        assert_eq!(status, 201);
        assert!(
            client.location.starts_with("/whip/42/"),
            "{}",
            client.location
        );
        client
    }

    async fn offer(url: &str, direction: Direction, tcp: bool) -> (Client, u16) {
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_h264(true)
            .enable_opus(true)
            .build(Instant::now());
        let (transport, local) = if tcp {
            // An active candidate's port is 9 (RFC 6544): the connection's own port is
            // whatever the system picks.
            let local: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
            let candidate = Candidate::builder()
                .tcp()
                .host(local)
                .tcptype(str0m::net::TcpType::Active)
                .build()
                .unwrap();
            rtc.add_local_candidate(candidate);
            let buf = bytes::BytesMut::new();
            (Transport::Tcp { stream: None, buf }, local)
        } else {
            let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let local = socket.local_addr().unwrap();
            rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
            (Transport::Udp(socket), local)
        };
        let mut change = rtc.sdp_api();
        let video = change.add_media(MediaKind::Video, direction, None, None, None);
        let audio = change.add_media(MediaKind::Audio, direction, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let res = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/sdp")
            .body(offer.to_sdp_string())
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        let location = res
            .headers()
            .get("location")
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let text = res.text().await.unwrap();
        if status == 201 {
            let answer = SdpAnswer::from_sdp_string(&text).unwrap();
            rtc.sdp_api().accept_answer(pending, answer).unwrap();
        }
        let client = Client {
            transport,
            local,
            rtc,
            video,
            audio,
            location,
            requests: Arc::default(),
        };
        (client, status)
    }

    /// Drives the session until `until`, handing each event to `on_event`.
    pub async fn drive_until(&mut self, until: Instant, mut on_event: impl FnMut(Event)) {
        let mut buf = vec![0u8; 2048];
        loop {
            let timeout = loop {
                match self.rtc.poll_output().unwrap() {
                    Output::Timeout(at) => break at,
                    Output::Transmit(t) => self.transmit(&t.contents, t.destination).await,
                    Output::Event(event) => on_event(event),
                }
            };
            let now = Instant::now();
            if now >= until {
                return;
            }
            let wait = timeout.min(until).saturating_duration_since(now);
            let mut received = Vec::new();
            match &mut self.transport {
                Transport::Udp(socket) => {
                    if let Ok(Ok((n, source))) =
                        tokio::time::timeout(wait, socket.recv_from(&mut buf)).await
                    {
                        received.push((Protocol::Udp, source, buf[..n].to_vec()));
                    }
                }
                Transport::Tcp {
                    stream: Some(stream),
                    buf,
                } => {
                    let source = stream.peer_addr().unwrap();
                    if let Ok(Ok(n)) = tokio::time::timeout(wait, stream.read_buf(buf)).await {
                        assert!(n > 0, "the server closed the TCP connection");
                    }
                    while let Some(packet) = media::webrtc::tcp::next_frame(buf) {
                        received.push((Protocol::Tcp, source, packet));
                    }
                }
                Transport::Tcp { stream: None, .. } => tokio::time::sleep(wait).await,
            }
            if received.is_empty() {
                self.rtc
                    .handle_input(Input::Timeout(Instant::now()))
                    .unwrap();
            }
            for (proto, source, data) in received {
                let receive = Receive::new(proto, source, self.local, &data).unwrap();
                self.rtc
                    .handle_input(Input::Receive(Instant::now(), receive))
                    .unwrap();
            }
        }
    }

    /// Sends one of the session's packets: a datagram, or a frame on the TCP
    /// connection (opened to `to` by the first).
    async fn transmit(&mut self, data: &[u8], to: std::net::SocketAddr) {
        match &mut self.transport {
            Transport::Udp(socket) => {
                socket.send_to(data, to).await.unwrap();
            }
            Transport::Tcp { stream, .. } => {
                if stream.is_none() {
                    *stream = Some(tokio::net::TcpStream::connect(to).await.unwrap());
                }
                let framed = media::webrtc::tcp::frame(data).unwrap();
                stream.as_mut().unwrap().write_all(&framed).await.unwrap();
            }
        }
    }

    /// Drives the session until `frames` video frames came; whether the first was a
    /// keyframe.
    pub async fn receive(&mut self, frames: usize) -> bool {
        let mut got = 0;
        let mut keyframe_first = None;
        let video = self.video;
        within(15.0, "video frames over WebRTC", async {
            while got < frames {
                let until = Instant::now() + Duration::from_millis(50);
                self.drive_until(until, |event| {
                    if let Event::MediaData(data) = event {
                        if data.mid == video {
                            keyframe_first.get_or_insert_with(|| annexb_has_idr(&data.data));
                            got += 1;
                        }
                    }
                })
                .await;
            }
        })
        .await;
        keyframe_first == Some(true)
    }

    /// Drives the session until `packets` audio packets came.
    pub async fn receive_audio(&mut self, packets: usize) {
        let mut got = 0;
        let audio = self.audio;
        within(15.0, "audio over WebRTC", async {
            while got < packets {
                let until = Instant::now() + Duration::from_millis(50);
                self.drive_until(until, |event| {
                    if let Event::MediaData(data) = event {
                        if data.mid == audio {
                            got += 1;
                        }
                    }
                })
                .await;
            }
        })
        .await;
    }

    /// Publishes the sample's video in real time for `span`, once connected, counting
    /// the keyframe requests that come in [`Client::requests`].
    pub async fn send_sample(&mut self, span: Duration) {
        let requests = self.requests.clone();
        let mut connected = false;
        // Connect first (a request the server sends as soon as it is connected may come
        // in the same turn as this side's own `Connected`).
        within(10.0, "ICE and DTLS", async {
            while !connected {
                let until = Instant::now() + Duration::from_millis(20);
                self.drive_until(until, |e| match e {
                    Event::Connected => connected = true,
                    Event::KeyframeRequest(_) => {
                        requests.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {}
                })
                .await;
            }
        })
        .await;
        let start = Instant::now();
        let mut avc = None;
        let mut annexb = Vec::new();
        'rounds: for round in 0u64.. {
            let frames = sample();
            let round_span = u64::from(frames.last().map_or(0, |f| f.timestamp)) + 40;
            for f in frames.iter().filter(|f| f.kind == FrameKind::Video) {
                let ts = round * round_span + u64::from(f.timestamp);
                let due = start + Duration::from_millis(ts);
                if due.duration_since(start) > span {
                    break 'rounds;
                }
                self.drive_until(due, |e| {
                    if matches!(e, Event::KeyframeRequest(_)) {
                        requests.fetch_add(1, Ordering::Relaxed);
                    }
                })
                .await;
                let tag = VideoTag::parse(&f.payload).unwrap();
                if tag.is_sequence_header() {
                    avc = Some(AvcConfig::parse(tag.data).unwrap());
                    continue;
                }
                let Some(avc) = &avc else { continue };
                annexb.clear();
                media::ts::annexb::write_access_unit(&mut annexb, tag.data, avc, tag.is_keyframe())
                    .unwrap();
                let writer = self.rtc.writer(self.video).unwrap();
                let pt = writer
                    .payload_params()
                    .find(|p| p.spec().codec == Codec::H264)
                    .map(|p| p.pt())
                    .unwrap();
                let time = MediaTime::new(ts * 90, Frequency::NINETY_KHZ);
                writer
                    .write(pt, Instant::now(), time, annexb.clone())
                    .unwrap();
            }
        }
    }
}

/// Whether Annex B `data` holds an IDR slice (NAL type 5).
pub fn annexb_has_idr(data: &[u8]) -> bool {
    data.windows(4)
        .any(|w| w[..3] == [0, 0, 1] && w[3] & 0x1F == 5)
}
