//! The server side of the RTMP handshake.
//!
//! The client sends C0 (the version byte, 3) and C1 (1536 bytes); the server answers S0,
//! S1 and S2 together; the client then sends C2 (1536 bytes), which the server reads and
//! ignores. After that both sides speak chunks.
//!
//! Two flavours exist. In the *plain* handshake S2 echoes C1 and nothing is checked. In
//! the *digest* handshake (Flash Player 9 and later, and what FFmpeg and OBS send), C1
//! hides an HMAC-SHA256 digest at a position derived from its own bytes; a server that
//! finds it must answer with digests of its own, or some clients refuse the connection
//! (and Flash players refuse H.264/AAC). We look for the digest in both known layouts
//! and fall back to the plain answer when neither matches, which every client accepts.
//!
//! There is no socket here: [`Handshake::feed`] takes whatever bytes arrived and says how
//! many it used, [`Handshake::take_output`] gives the bytes to write. Bytes past C2
//! belong to the chunk stream and are left to the caller.

use bytes::{BufMut, Bytes, BytesMut};
use hmac::{Hmac, Mac};
use rand::{rngs::StdRng, RngCore, SeedableRng};
use sha2::Sha256;

/// Length of C1, C2, S1 and S2.
pub const PACKET_LEN: usize = 1536;

/// The only RTMP version momo speaks. 6 is RTMPE (encrypted, never standardised), and a
/// 0x16 is a TLS ClientHello sent to the plain port: both are refused.
pub const VERSION: u8 = 3;

const DIGEST_LEN: usize = 32;

/// The Flash Player key: its first 30 bytes ("Genuine Adobe Flash Player 001") sign a
/// client's C1.
pub(crate) const CLIENT_KEY: [u8; 62] = concat_key(*b"Genuine Adobe Flash Player 001");

/// The Flash Media Server key: its first 36 bytes ("Genuine Adobe Flash Media Server
/// 001") sign S1, and all 68 bytes derive the key that signs S2.
pub(crate) const SERVER_KEY: [u8; 68] = concat_key(*b"Genuine Adobe Flash Media Server 001");

const CLIENT_KEY_PUBLIC_LEN: usize = 30;
const SERVER_KEY_PUBLIC_LEN: usize = 36;

/// The 32 bytes that both keys share after their text.
const KEY_TAIL: [u8; 32] = [
    0xF0, 0xEE, 0xC2, 0x4A, 0x80, 0x68, 0xBE, 0xE8, 0x2E, 0x00, 0xD0, 0xD1, 0x02, 0x9E, 0x7E, 0x57,
    0x6E, 0xEC, 0x5D, 0x2D, 0x29, 0x80, 0x6F, 0xAB, 0x93, 0xB8, 0xE6, 0x36, 0xCF, 0xEB, 0x31, 0xAE,
];

const fn concat_key<const T: usize, const N: usize>(text: [u8; T]) -> [u8; N] {
    let mut key = [0u8; N];
    let mut i = 0;
    while i < T {
        key[i] = text[i];
        i += 1;
    }
    while i < N {
        key[i] = KEY_TAIL[i - T];
        i += 1;
    }
    key
}

/// The version this server reports in S1 bytes 4..8 of a digest answer; clients only
/// check that it is not zero.
const SERVER_VERSION: [u8; 4] = [0x04, 0x05, 0x00, 0x01];

/// Where a digest hides in a 1536-byte packet. C1 and S1 are a 4-byte time, a 4-byte
/// version and two 764-byte blocks, one holding a key and one a digest; the two layouts
/// differ in which block comes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigestLayout {
    /// Key block first (bytes 8..772), digest block second (772..1536).
    Schema0,
    /// Digest block first (bytes 8..772), key block second.
    Schema1,
}

impl DigestLayout {
    /// Where the digest block starts.
    fn block_start(self) -> usize {
        match self {
            DigestLayout::Schema0 => 772,
            DigestLayout::Schema1 => 8,
        }
    }

    /// The digest's offset in the packet: the block's first four bytes, summed, pick a
    /// place within the rest of the block.
    pub fn digest_offset(self, packet: &[u8; PACKET_LEN]) -> usize {
        let start = self.block_start();
        let sum: usize = packet[start..start + 4]
            .iter()
            .map(|&b| usize::from(b))
            .sum();
        start + 4 + sum % 728
    }
}

/// Which handshake the client asked for, known once C1 has been read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// No valid digest in C1: S2 echoes C1.
    Plain,
    /// C1 carried a valid digest in this layout: S1 and S2 carry digests too.
    Digest(DigestLayout),
}

/// Why the handshake failed; the connection should be closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HandshakeError {
    /// C0 was not 3: an RTMPE client, TLS on the plain port, or not RTMP at all.
    #[error("unsupported RTMP version byte 0x{0:02x} (only 3 is spoken)")]
    UnsupportedVersion(u8),
    /// `feed` was called after the handshake finished.
    #[error("handshake already finished")]
    AlreadyDone,
}

/// What one call to [`Handshake::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// How many bytes of the input were used. The rest, if `done`, is chunk data.
    pub consumed: usize,
    /// S0+S1+S2 are ready: call [`Handshake::take_output`] and write them.
    pub output_ready: bool,
    /// C2 has been read; the connection now speaks chunks.
    pub done: bool,
}

#[derive(Debug)]
enum State {
    /// Collecting C0+C1.
    ReadingC0C1,
    /// Answered; collecting C2.
    ReadingC2,
    Done,
}

/// The server side of one connection's handshake.
#[derive(Debug)]
pub struct Handshake {
    state: State,
    /// Bytes of the packet being collected (C0+C1, then C2).
    buf: Vec<u8>,
    output: BytesMut,
    kind: Option<Kind>,
    rng: StdRng,
}

impl Default for Handshake {
    fn default() -> Self {
        Self::new()
    }
}

impl Handshake {
    /// A handshake whose random bytes come from the operating system's generator.
    pub fn new() -> Self {
        Self::with_rng(StdRng::from_entropy())
    }

    /// A handshake whose random bytes follow `seed`, so tests and fuzzers are repeatable.
    pub fn with_seed(seed: u64) -> Self {
        Self::with_rng(StdRng::seed_from_u64(seed))
    }

    fn with_rng(rng: StdRng) -> Self {
        Handshake {
            state: State::ReadingC0C1,
            buf: Vec::with_capacity(1 + PACKET_LEN),
            output: BytesMut::new(),
            kind: None,
            rng,
        }
    }

    /// Which handshake the client used, once C1 has been read.
    pub fn kind(&self) -> Option<Kind> {
        self.kind
    }

    /// Whether C2 has been read.
    pub fn is_done(&self) -> bool {
        matches!(self.state, State::Done)
    }

    /// Takes what it needs from `input`. Bytes beyond C2 are not consumed: they are the
    /// first chunks and belong to the chunk decoder.
    pub fn feed(&mut self, input: &[u8]) -> Result<Progress, HandshakeError> {
        let mut consumed = 0;
        let mut output_ready = false;
        loop {
            let rest = &input[consumed..];
            match self.state {
                State::ReadingC0C1 => {
                    // Refuse a wrong version at once rather than wait for 1536 bytes that
                    // a TLS client will never send.
                    if self.buf.is_empty() {
                        match rest.first() {
                            None => break,
                            Some(&VERSION) => {}
                            Some(&other) => return Err(HandshakeError::UnsupportedVersion(other)),
                        }
                    }
                    consumed += self.fill(rest, 1 + PACKET_LEN);
                    if self.buf.len() < 1 + PACKET_LEN {
                        break;
                    }
                    let mut c1 = [0u8; PACKET_LEN];
                    c1.copy_from_slice(&self.buf[1..]);
                    self.answer(&c1);
                    self.buf.clear();
                    self.state = State::ReadingC2;
                    output_ready = true;
                }
                State::ReadingC2 => {
                    consumed += self.fill(rest, PACKET_LEN);
                    if self.buf.len() < PACKET_LEN {
                        break;
                    }
                    // C2 should echo S1 (or carry a digest of it); clients differ so much
                    // here that servers do not check it, and neither do we.
                    self.buf = Vec::new();
                    self.state = State::Done;
                }
                State::Done => {
                    if consumed == 0 && !output_ready {
                        return Err(HandshakeError::AlreadyDone);
                    }
                    break;
                }
            }
        }
        Ok(Progress {
            consumed,
            output_ready,
            done: self.is_done(),
        })
    }

    /// The bytes to send (S0+S1+S2), empty if there are none yet or they were taken.
    pub fn take_output(&mut self) -> Bytes {
        self.output.split().freeze()
    }

    fn fill(&mut self, input: &[u8], want: usize) -> usize {
        let n = (want - self.buf.len()).min(input.len());
        self.buf.extend_from_slice(&input[..n]);
        n
    }

    fn answer(&mut self, c1: &[u8; PACKET_LEN]) {
        let layout = find_client_digest(c1);
        self.kind = Some(layout.map_or(Kind::Plain, Kind::Digest));
        self.output.reserve(1 + 2 * PACKET_LEN);
        self.output.put_u8(VERSION);
        match layout {
            None => {
                let mut s1 = [0u8; PACKET_LEN];
                self.rng.fill_bytes(&mut s1[8..]);
                // Time and zero fields: no clock here, and peers do not use them.
                s1[..8].fill(0);
                self.output.put_slice(&s1);
                self.output.put_slice(c1);
            }
            Some(layout) => {
                let s1 = self.digest_s1(layout);
                let client_digest = &c1[layout.digest_offset(c1)..][..DIGEST_LEN];
                let s2 = self.digest_s2(client_digest);
                self.output.put_slice(&s1);
                self.output.put_slice(&s2);
            }
        }
    }

    /// S1 with the server's digest in the client's layout, signed with the public part
    /// of the server key.
    fn digest_s1(&mut self, layout: DigestLayout) -> [u8; PACKET_LEN] {
        let mut s1 = [0u8; PACKET_LEN];
        self.rng.fill_bytes(&mut s1[8..]);
        s1[..4].fill(0);
        s1[4..8].copy_from_slice(&SERVER_VERSION);
        let at = layout.digest_offset(&s1);
        let digest = packet_digest(&s1, at, &SERVER_KEY[..SERVER_KEY_PUBLIC_LEN]);
        s1[at..at + DIGEST_LEN].copy_from_slice(&digest);
        s1
    }

    /// S2: random bytes whose last 32 are signed with a key derived from the client's
    /// digest and the whole server key, which proves to the client that we read its C1.
    fn digest_s2(&mut self, client_digest: &[u8]) -> [u8; PACKET_LEN] {
        let mut s2 = [0u8; PACKET_LEN];
        self.rng.fill_bytes(&mut s2);
        let key = hmac_sha256(&SERVER_KEY, &[client_digest]);
        let body = PACKET_LEN - DIGEST_LEN;
        let digest = hmac_sha256(&key, &[&s2[..body]]);
        s2[body..].copy_from_slice(&digest);
        s2
    }
}

/// The layout in which C1 carries a valid client digest, if any.
fn find_client_digest(c1: &[u8; PACKET_LEN]) -> Option<DigestLayout> {
    // A client with version 0 in bytes 4..8 speaks the plain handshake by convention.
    if c1[4..8] == [0, 0, 0, 0] {
        return None;
    }
    [DigestLayout::Schema0, DigestLayout::Schema1]
        .into_iter()
        .find(|&layout| {
            let at = layout.digest_offset(c1);
            let expected = packet_digest(c1, at, &CLIENT_KEY[..CLIENT_KEY_PUBLIC_LEN]);
            // Not secret material: a plain comparison is fine.
            c1[at..at + DIGEST_LEN] == expected
        })
}

/// HMAC-SHA256 of `packet` without the 32 bytes at `at`, the way C1 and S1 are signed.
pub(crate) fn packet_digest(packet: &[u8; PACKET_LEN], at: usize, key: &[u8]) -> [u8; 32] {
    hmac_sha256(key, &[&packet[..at], &packet[at + DIGEST_LEN..]])
}

pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts any key length");
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain_c0c1() -> Vec<u8> {
        let mut bytes = vec![VERSION];
        bytes.extend((0..PACKET_LEN).map(|i| if (4..8).contains(&i) { 0 } else { i as u8 }));
        bytes
    }

    /// A C1 as FFmpeg builds it: non-zero version, digest in `layout`, signed with the
    /// public part of the Flash Player key.
    fn digest_c1(layout: DigestLayout) -> [u8; PACKET_LEN] {
        let mut c1 = [0u8; PACKET_LEN];
        for (i, b) in c1.iter_mut().enumerate() {
            *b = (i * 7 + 3) as u8;
        }
        c1[4..8].copy_from_slice(&[9, 0, 124, 2]);
        let at = layout.digest_offset(&c1);
        let digest = packet_digest(&c1, at, &CLIENT_KEY[..CLIENT_KEY_PUBLIC_LEN]);
        c1[at..at + DIGEST_LEN].copy_from_slice(&digest);
        c1
    }

    fn run_to_answer(c0c1: &[u8]) -> (Handshake, Bytes) {
        let mut hs = Handshake::with_seed(1);
        let progress = hs.feed(c0c1).unwrap();
        assert_eq!(progress.consumed, c0c1.len());
        assert!(progress.output_ready);
        assert!(!progress.done);
        let out = hs.take_output();
        assert_eq!(out.len(), 1 + 2 * PACKET_LEN);
        (hs, out)
    }

    #[test]
    fn plain_handshake_echoes_c1_in_s2() {
        let c0c1 = plain_c0c1();
        let (hs, out) = run_to_answer(&c0c1);
        assert_eq!(hs.kind(), Some(Kind::Plain));
        assert_eq!(out[0], VERSION);
        assert_eq!(&out[1 + PACKET_LEN..], &c0c1[1..]);
    }

    #[test]
    fn digest_handshake_answers_so_a_client_can_verify_s1_and_s2() {
        for layout in [DigestLayout::Schema0, DigestLayout::Schema1] {
            let c1 = digest_c1(layout);
            let mut c0c1 = vec![VERSION];
            c0c1.extend_from_slice(&c1);
            let (hs, out) = run_to_answer(&c0c1);
            assert_eq!(hs.kind(), Some(Kind::Digest(layout)));

            // The client's check of S1: a digest signed with the 36-byte public server
            // key, found in one of the two layouts.
            let s1: [u8; PACKET_LEN] = out[1..1 + PACKET_LEN].try_into().unwrap();
            assert_ne!(&s1[4..8], &[0, 0, 0, 0]);
            let at = layout.digest_offset(&s1);
            let expected = packet_digest(&s1, at, &SERVER_KEY[..SERVER_KEY_PUBLIC_LEN]);
            assert_eq!(&s1[at..at + DIGEST_LEN], &expected);

            // The client's check of S2: its last 32 bytes are the HMAC of the rest,
            // keyed by HMAC(full server key, the client's own C1 digest).
            let s2 = &out[1 + PACKET_LEN..];
            let client_digest = &c1[layout.digest_offset(&c1)..][..DIGEST_LEN];
            let key = hmac_sha256(&SERVER_KEY, &[client_digest]);
            let expected = hmac_sha256(&key, &[&s2[..PACKET_LEN - DIGEST_LEN]]);
            assert_eq!(&s2[PACKET_LEN - DIGEST_LEN..], &expected);
        }
    }

    #[test]
    fn c1_with_a_version_but_a_wrong_digest_falls_back_to_plain() {
        let mut c1 = digest_c1(DigestLayout::Schema1);
        let at = DigestLayout::Schema1.digest_offset(&c1);
        c1[at] ^= 1;
        let mut c0c1 = vec![VERSION];
        c0c1.extend_from_slice(&c1);
        let (hs, out) = run_to_answer(&c0c1);
        assert_eq!(hs.kind(), Some(Kind::Plain));
        assert_eq!(&out[1 + PACKET_LEN..], &c1[..]);
    }

    #[test]
    fn keys_start_with_their_published_text() {
        assert_eq!(&CLIENT_KEY[..30], b"Genuine Adobe Flash Player 001");
        assert_eq!(&SERVER_KEY[..36], b"Genuine Adobe Flash Media Server 001");
        assert_eq!(&SERVER_KEY[36..], &KEY_TAIL);
    }

    #[test]
    fn byte_at_a_time_input_completes_and_leaves_chunk_bytes_alone() {
        let mut all = plain_c0c1();
        all.extend(std::iter::repeat_n(0xAB, PACKET_LEN)); // C2
        all.extend_from_slice(&[1, 2, 3]); // first chunk bytes
        let mut hs = Handshake::with_seed(2);
        let mut pos = 0;
        let mut answered = false;
        while !hs.is_done() {
            let p = hs.feed(&all[pos..pos + 1]).unwrap();
            pos += p.consumed;
            answered |= p.output_ready;
        }
        assert!(answered);
        assert_eq!(pos, 1 + 2 * PACKET_LEN);
        assert_eq!(hs.take_output().len(), 1 + 2 * PACKET_LEN);
    }

    #[test]
    fn everything_in_one_read_stops_at_the_end_of_c2() {
        let mut all = plain_c0c1();
        all.extend(std::iter::repeat_n(0, PACKET_LEN));
        all.extend_from_slice(&[0x03, 0, 0]);
        let mut hs = Handshake::with_seed(3);
        let p = hs.feed(&all).unwrap();
        assert_eq!(
            p,
            Progress {
                consumed: 1 + 2 * PACKET_LEN,
                output_ready: true,
                done: true
            }
        );
    }

    #[test]
    fn version_six_and_tls_are_refused_at_the_first_byte() {
        for version in [6u8, 0x16] {
            let mut hs = Handshake::new();
            assert_eq!(
                hs.feed(&[version]),
                Err(HandshakeError::UnsupportedVersion(version))
            );
        }
    }

    #[test]
    fn http_garbage_instead_of_a_handshake_is_refused() {
        let mut hs = Handshake::new();
        assert_eq!(
            hs.feed(b"GET / HTTP/1.1\r\n\r\n"),
            Err(HandshakeError::UnsupportedVersion(b'G'))
        );
    }

    #[test]
    fn partial_c1_waits_for_more() {
        let mut hs = Handshake::new();
        let p = hs.feed(&plain_c0c1()[..100]).unwrap();
        assert_eq!(p.consumed, 100);
        assert!(!p.output_ready && !p.done);
        assert!(hs.take_output().is_empty());
    }

    #[test]
    fn feeding_after_done_is_an_error() {
        let mut all = plain_c0c1();
        all.extend(std::iter::repeat_n(0, PACKET_LEN));
        let mut hs = Handshake::new();
        assert!(hs.feed(&all).unwrap().done);
        assert_eq!(hs.feed(&[1]), Err(HandshakeError::AlreadyDone));
    }
}
