//! Media made into RTP once per stream and written to each viewer's send stream.
//!
//! A picture is packetized (FU-A / STAP-A) by the first viewer that needs it and the
//! payloads are kept with the hub's packet ([`crate::hub::Packet::rtp_payloads`]), so
//! every other viewer — and every viewer catching up on the cached GOP — shares them:
//! per viewer, str0m (in RTP mode) only writes the header (its SSRC, sequence number,
//! payload type and extensions), keeps the packet for NACKs, and encrypts it.

use std::sync::Arc;
use std::time::Instant;

use str0m::format::Codec;
use str0m::media::{Mid, Pt};
use str0m::rtp::{RtpWrite, SeqNo};
use str0m::unversioned::{H264Packetizer, Packetizer};
use str0m::Rtc;

use crate::flv::AvcConfig;

/// SRTP's authentication tag, which every packet carries.
const SRTP_TAG: usize = 16;

/// The largest RTP payload: str0m's datagram target less the SRTP tag, kept to the SRTP
/// block size — what str0m itself packetizes to, leaving room for the RTP header, its
/// extensions and a retransmission's 2 bytes.
pub const PAYLOAD_MTU: usize = {
    let rtp = str0m::DATAGRAM_MTU_TARGET - SRTP_TAG;
    rtp - rtp % 16
};

/// One access unit of AVCC `data` as H.264 RTP payloads (Annex B in between, parameter
/// sets before a keyframe; [`crate::ts::annexb::write_access_unit`]). `None` for a B
/// picture, which WebRTC viewers do not get (see [`super::play`]), or data that does
/// not parse.
pub fn h264_payloads(data: &[u8], avc: &AvcConfig, keyframe: bool) -> Option<Vec<Arc<[u8]>>> {
    if crate::flv::slice::is_b_picture(data, avc.nalu_length_size) {
        metrics::counter!("webrtc_b_frames_dropped_total").increment(1);
        return None;
    }
    let mut annexb = Vec::with_capacity(data.len() + 64);
    crate::ts::annexb::write_access_unit(&mut annexb, data, avc, keyframe).ok()?;
    let payloads = H264Packetizer::default()
        .packetize(PAYLOAD_MTU, &annexb)
        .ok()?;
    Some(payloads.into_iter().map(Arc::from).collect())
}

/// A viewer's m-line: where one kind of media goes, and its sequence numbers.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    pub mid: Mid,
    codec: Codec,
    /// The payload type `codec` goes out with, found once connected.
    pt: Option<Pt>,
    /// The next packet's sequence number (extended; starts at random within the first
    /// roll-over, as RTP asks).
    seq: u64,
}

impl Line {
    pub fn new(mid: Mid, codec: Codec) -> Line {
        Line {
            mid,
            codec,
            pt: None,
            seq: u64::from(rand::random::<u16>() >> 1),
        }
    }

    /// Writes one frame's `payloads` at RTP `time`, the last marked when `video` (the
    /// end of a picture); video packets are kept for retransmission. Whether they went.
    pub fn write(
        &mut self,
        rtc: &mut Rtc,
        time: u32,
        wallclock: Instant,
        payloads: &[Arc<[u8]>],
        video: bool,
    ) -> bool {
        if payloads.is_empty() {
            return false;
        }
        let Some(pt) = self.payload_type(rtc) else {
            return false;
        };
        let mut api = rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(self.mid, None) else {
            return false;
        };
        let last = payloads.len().saturating_sub(1);
        for (i, payload) in payloads.iter().enumerate() {
            let seq = SeqNo::from(self.seq);
            self.seq += 1;
            let write = RtpWrite::new(pt, seq, time, wallclock, payload.clone())
                .marker(video && i == last)
                .nackable(video);
            tx.write_rtp(write);
        }
        true
    }

    /// The payload type of the line's codec the peer takes (for H.264, packetization
    /// mode 1 — FU-A and STAP-A — when offered).
    fn payload_type(&mut self, rtc: &Rtc) -> Option<Pt> {
        if self.pt.is_none() {
            let remote = rtc.media(self.mid)?.remote_pts();
            self.pt = rtc
                .codec_config()
                .params()
                .iter()
                .filter(|p| remote.contains(&p.pt()) && p.spec().codec == self.codec)
                .max_by_key(|p| p.spec().format.packetization_mode == Some(1))
                .map(|p| p.pt());
        }
        self.pt
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flv::testdata::{avcc, baseline_record};

    fn config() -> AvcConfig {
        AvcConfig::parse(&baseline_record()).unwrap()
    }

    #[test]
    fn a_large_keyframe_is_fragments_within_the_mtu_after_its_parameter_sets() {
        let mut idr = vec![0x65];
        idr.extend((0..5_000u32).map(|i| i as u8));
        let payloads = h264_payloads(&avcc(&[&idr]), &config(), true).unwrap();
        assert!(payloads.len() >= 5, "{} payloads", payloads.len());
        assert!(payloads.iter().all(|p| p.len() <= PAYLOAD_MTU));
        // The parameter sets come first (aggregated or alone), then FU-A (type 28)
        // fragments of the IDR slice, the first with the start bit and the last with
        // the end bit.
        let types: Vec<u8> = payloads.iter().map(|p| p[0] & 0x1f).collect();
        assert!(matches!(types[0], 24 | 7 | 9), "{types:?}");
        let fus: Vec<&Arc<[u8]>> = payloads.iter().filter(|p| p[0] & 0x1f == 28).collect();
        assert!(fus.len() >= 5);
        assert_eq!(fus[0][1] & 0xc0, 0x80, "start bit");
        assert_eq!(fus.last().unwrap()[1] & 0xc0, 0x40, "end bit");
        assert!(fus.iter().all(|f| f[1] & 0x1f == 5), "IDR fragments");
        let carried: usize = fus.iter().map(|f| f.len() - 2).sum();
        assert_eq!(carried, idr.len() - 1, "every byte of the slice, once");
    }

    #[test]
    fn a_b_picture_and_garbage_give_nothing() {
        // A B slice: nal type 1, first_mb 0 (ue "1"), slice_type 1 (ue "010").
        let b = avcc(&[&[0x01, 0b1010_0000, 0x00]]);
        assert!(h264_payloads(&b, &config(), false).is_none());
        // A length that runs past the data.
        let garbage = [0, 0, 0, 99, 0x65, 1, 2];
        assert!(h264_payloads(&garbage, &config(), true).is_none());
    }

    #[test]
    fn a_small_p_picture_is_one_payload() {
        let p = avcc(&[&[0x41, 0b1000_1000, 1, 2, 3]]);
        let payloads = h264_payloads(&p, &config(), false).unwrap();
        assert!(!payloads.is_empty());
        assert!(
            payloads.iter().any(|p| p[0] & 0x1f == 1),
            "the slice itself"
        );
    }
}
