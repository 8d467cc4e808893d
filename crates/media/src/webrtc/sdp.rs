//! Answering offers: an ICE-lite str0m session with momo's ICE credentials and this
//! node's host candidates, H.264 and Opus only, and the refusals of offers momo cannot
//! serve — for WHEP, no H.264 to receive; for WHIP, no H.264 to send (HEVC named as
//! such), or audio in another codec than Opus.

use std::net::SocketAddr;
use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::net::TcpType;
use str0m::rtp::{Extension, ExtensionMap};
use str0m::{Candidate, IceCreds, Rtc};

use super::session::install_crypto;
use super::OfferError;

/// Video packets each peer keeps for retransmission.
const SEND_BUFFER_VIDEO: usize = 400;

/// What the offer is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// WHEP: the client receives.
    Play,
    /// WHIP: the client sends.
    Publish,
}

/// The host candidates a session is answered with.
#[derive(Debug, Clone, Default)]
pub struct Candidates {
    pub udp: Vec<SocketAddr>,
    /// Passive TCP candidates (RFC 6544), when the node serves ICE over TCP.
    pub tcp: Vec<SocketAddr>,
}

/// Answers `offer` as momo does, without the network: an ICE-lite session with
/// `creds` and host `candidates`, and its SDP answer.
pub fn answer_offer(
    offer: &str,
    purpose: Purpose,
    creds: IceCreds,
    candidates: &Candidates,
) -> Result<(Rtc, String), OfferError> {
    install_crypto();
    let parsed = SdpOffer::from_sdp_string(offer).map_err(|e| OfferError::BadSdp(e.to_string()))?;
    let upper = offer.to_ascii_uppercase();
    if purpose == Purpose::Publish {
        check_publish_codecs(&upper)?;
    }
    if !names_h264(&upper) {
        return Err(OfferError::NoH264);
    }
    let mut builder = Rtc::builder()
        .set_ice_lite(true)
        .set_local_ice_credentials(creds)
        .clear_codecs()
        .enable_h264(true)
        .enable_opus(true)
        // Enough for NACKs over a few round trips and a whole keyframe at 2.5 Mbit/s,
        // at a third of the default's memory per viewer.
        .set_send_buffer_video(SEND_BUFFER_VIDEO);
    if purpose == Purpose::Play {
        // momo sends every viewer the one stream it has: transport-wide congestion
        // feedback (what a sender adapts its bit rate by) would only cost both sides.
        // A publisher keeps it: browsers adapt what they send by it.
        let mut exts = ExtensionMap::empty();
        for (id, ext) in ExtensionMap::standard().iter() {
            let congestion = matches!(
                ext,
                Extension::TransportSequenceNumber | Extension::AbsoluteSendTime
            );
            if !congestion {
                exts.set(id, ext.clone());
            }
        }
        // Pictures are packetized once per stream (`webrtc::rtp`): each viewer's
        // session only writes headers and encrypts.
        builder = builder.set_extension_map(exts).set_rtp_mode(true);
    }
    let mut rtc = builder.build(Instant::now());
    for addr in &candidates.udp {
        let c =
            Candidate::host(*addr, "udp").map_err(|e| OfferError::Unavailable(e.to_string()))?;
        rtc.add_local_candidate(c);
    }
    for addr in &candidates.tcp {
        let c = Candidate::builder()
            .tcp()
            .host(*addr)
            .tcptype(TcpType::Passive)
            .build()
            .map_err(|e| OfferError::Unavailable(e.to_string()))?;
        rtc.add_local_candidate(c);
    }
    let answer = rtc
        .sdp_api()
        .accept_offer(parsed)
        .map_err(|e| OfferError::BadSdp(e.to_string()))?
        .to_sdp_string();
    if !names_h264(&answer.to_ascii_uppercase()) {
        return Err(OfferError::NoH264);
    }
    Ok((rtc, answer))
}

/// Whether upper-cased SDP text names H.264 on the 90 kHz clock
/// (`a=rtpmap:N H264/90000`).
fn names_h264(upper: &str) -> bool {
    upper.contains("H264/90000")
}

/// A publisher's offer (upper-cased) must send H.264 (HEVC is refused by name) and, if
/// it sends audio, Opus.
fn check_publish_codecs(upper: &str) -> Result<(), OfferError> {
    if !names_h264(upper) && (upper.contains("H265/90000") || upper.contains("HEVC/90000")) {
        return Err(OfferError::Hevc);
    }
    let audio = upper.lines().any(|l| l.starts_with("M=AUDIO"));
    if audio && !upper.contains("OPUS/48000") {
        return Err(OfferError::NoOpus);
    }
    Ok(())
}

/// [`answer_offer`] with throwaway credentials and a loopback candidate: what the
/// fuzzer drives.
pub fn parse_offer(offer: &str, purpose: Purpose) -> Result<String, OfferError> {
    let creds = IceCreds {
        ufrag: "fuzz".into(),
        pass: "fuzzfuzzfuzzfuzzfuzzfuzz".into(),
    };
    let local = SocketAddr::from(([127, 0, 0, 1], 9));
    let candidates = Candidates {
        udp: vec![local],
        tcp: vec![local],
    };
    answer_offer(offer, purpose, creds, &candidates).map(|(_, answer)| answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What aiortc offers to receive video and audio (recorded once from aiortc 1.16).
    const AIORTC_OFFER: &str = include_str!("../../tests/fixtures/aiortc_whep_offer.sdp");

    /// The same offer turned into a publisher's: sending, not receiving.
    fn publish_offer() -> String {
        AIORTC_OFFER.replace("a=recvonly", "a=sendonly")
    }

    #[test]
    fn an_offer_is_answered_ice_lite_with_h264_our_ufrag_and_our_candidates() {
        let creds = IceCreds {
            ufrag: "momoufrag".into(),
            pass: "momopassmomopassmomopass".into(),
        };
        let candidates = Candidates {
            udp: vec!["127.0.0.1:8189".parse().unwrap()],
            tcp: vec!["127.0.0.1:8190".parse().unwrap()],
        };
        let (_, answer) = answer_offer(AIORTC_OFFER, Purpose::Play, creds, &candidates).unwrap();
        assert!(answer.contains("a=ice-lite"), "{answer}");
        assert!(answer.contains("a=ice-ufrag:momoufrag"), "{answer}");
        assert!(
            answer.to_ascii_uppercase().contains("H264/90000"),
            "{answer}"
        );
        assert!(
            answer.contains("udp 2130706431 127.0.0.1 8189 typ host")
                || answer.contains("127.0.0.1 8189 typ host"),
            "{answer}"
        );
        assert!(
            answer.contains("127.0.0.1 8190 typ host tcptype passive"),
            "{answer}"
        );
    }

    #[test]
    fn viewers_get_no_congestion_feedback_and_publishers_keep_it() {
        let offer = |direction| {
            let mut rtc = Rtc::builder().build(Instant::now());
            let local = "127.0.0.1:9".parse().unwrap();
            rtc.add_local_candidate(Candidate::host(local, "udp").unwrap());
            let mut change = rtc.sdp_api();
            change.add_media(str0m::media::MediaKind::Video, direction, None, None, None);
            change.apply().unwrap().0.to_sdp_string()
        };
        let play = offer(str0m::media::Direction::RecvOnly);
        assert!(play.contains("transport-wide-cc"), "{play}");
        let answer = parse_offer(&play, Purpose::Play).unwrap();
        assert!(!answer.contains("transport-wide-cc"), "{answer}");
        let publish = offer(str0m::media::Direction::SendOnly);
        let answer = parse_offer(&publish, Purpose::Publish).unwrap();
        assert!(answer.contains("transport-wide-cc"), "{answer}");
    }

    #[test]
    fn a_publishers_offer_is_answered_receiving() {
        let answer = parse_offer(&publish_offer(), Purpose::Publish).unwrap();
        assert!(answer.contains("a=recvonly"), "{answer}");
        assert!(
            answer.to_ascii_uppercase().contains("OPUS/48000"),
            "{answer}"
        );
    }

    #[test]
    fn offers_momo_cannot_serve_are_refused_by_name() {
        for purpose in [Purpose::Play, Purpose::Publish] {
            assert!(matches!(
                parse_offer("", purpose),
                Err(OfferError::BadSdp(_))
            ));
            assert!(matches!(
                parse_offer("v=0\r\nnonsense", purpose),
                Err(OfferError::BadSdp(_))
            ));
        }
        let vp8 = AIORTC_OFFER
            .lines()
            .filter(|l| !l.to_ascii_uppercase().contains("H264"))
            .collect::<Vec<_>>()
            .join("\r\n");
        assert!(
            parse_offer(&vp8, Purpose::Play).is_err(),
            "no H.264 left to receive"
        );
        assert!(parse_offer(AIORTC_OFFER, Purpose::Play).is_ok());

        let hevc = publish_offer()
            .replace("H264/90000", "H265/90000")
            .replace("VP8/90000", "H265/90000");
        assert_eq!(parse_offer(&hevc, Purpose::Publish), Err(OfferError::Hevc));
        let no_opus = publish_offer().replace("opus/48000", "G722/8000");
        assert_eq!(
            parse_offer(&no_opus, Purpose::Publish),
            Err(OfferError::NoOpus)
        );
    }
}
