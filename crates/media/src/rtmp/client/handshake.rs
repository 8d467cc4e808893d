//! The client side of the RTMP handshake, plain flavour.
//!
//! The client speaks first: C0 (the version byte) and C1 (1536 bytes: a zero time, a
//! zero version, random bytes). The server answers S0, S1 and S2; the client then sends
//! C2, a copy of S1, and may start sending chunks right behind it.
//!
//! A zero version in C1 asks for the plain handshake, which every server accepts and
//! momo's [`Handshake`](crate::rtmp::handshake::Handshake) answers without digests.
//! The digest flavour only matters to Flash-era servers that refuse H.264 to players
//! that do not sign; momo's clients publish and play against servers that do not care.
//! S2 is not checked either: servers disagree on what to put there.

use bytes::{BufMut, Bytes, BytesMut};
use rand::RngCore;

use crate::rtmp::handshake::{PACKET_LEN, VERSION};

/// S0 + S1 + S2.
const ANSWER_LEN: usize = 1 + 2 * PACKET_LEN;

/// Why the handshake failed; close the connection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientHandshakeError {
    /// S0 was not 3: the server wants RTMPE, or this is not an RTMP server.
    #[error("server answered with RTMP version byte 0x{0:02x} (only 3 is spoken)")]
    UnsupportedVersion(u8),
}

/// The client side of one connection's handshake.
#[derive(Debug)]
pub struct ClientHandshake {
    /// S0+S1+S2 as they arrive; only S1 is kept beyond the version check.
    answer: Vec<u8>,
}

/// What [`ClientHandshake::feed`] did once the server's answer is complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    /// How many bytes of the input were used; the rest are the server's first chunks.
    pub consumed: usize,
    /// C2, to write before anything else.
    pub c2: Bytes,
}

impl Default for ClientHandshake {
    fn default() -> Self {
        Self::new()
    }
}

impl ClientHandshake {
    /// A handshake waiting for the server's answer.
    pub fn new() -> Self {
        ClientHandshake {
            answer: Vec::with_capacity(ANSWER_LEN),
        }
    }

    /// C0+C1: what the client writes first, before reading anything.
    pub fn hello() -> Bytes {
        let mut out = BytesMut::with_capacity(1 + PACKET_LEN);
        out.put_u8(VERSION);
        // Time and version: zero, which asks for the plain handshake.
        out.put_bytes(0, 8);
        let mut random = [0u8; PACKET_LEN - 8];
        rand::thread_rng().fill_bytes(&mut random);
        out.put_slice(&random);
        out.freeze()
    }

    /// Takes what it needs of `input`; `Some` once S0+S1+S2 are complete.
    pub fn feed(&mut self, input: &[u8]) -> Result<Option<Finished>, ClientHandshakeError> {
        if self.answer.is_empty() {
            match input.first() {
                None => return Ok(None),
                Some(&VERSION) => {}
                // Refuse at once rather than wait for 3072 bytes that may never come.
                Some(&other) => return Err(ClientHandshakeError::UnsupportedVersion(other)),
            }
        }
        let consumed = (ANSWER_LEN - self.answer.len()).min(input.len());
        self.answer.extend_from_slice(&input[..consumed]);
        if self.answer.len() < ANSWER_LEN {
            return Ok(None);
        }
        let c2 = Bytes::copy_from_slice(&self.answer[1..1 + PACKET_LEN]);
        self.answer = Vec::new();
        Ok(Some(Finished { consumed, c2 }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rtmp::handshake::{Handshake, Kind};

    #[test]
    fn hello_asks_for_the_plain_handshake_and_c2_echoes_s1() {
        let hello = ClientHandshake::hello();
        assert_eq!(hello.len(), 1 + PACKET_LEN);
        assert_eq!(hello[0], VERSION);

        let mut server = Handshake::with_seed(5);
        assert!(server.feed(&hello).unwrap().output_ready);
        assert_eq!(server.kind(), Some(Kind::Plain));
        let answer = server.take_output();

        let mut client = ClientHandshake::new();
        let mut input = answer.to_vec();
        input.extend_from_slice(b"chunks");
        let finished = client.feed(&input).unwrap().unwrap();
        assert_eq!(finished.consumed, ANSWER_LEN);
        assert_eq!(finished.c2, answer.slice(1..1 + PACKET_LEN));
        assert!(server.feed(&finished.c2).unwrap().done);
    }

    #[test]
    fn answer_in_pieces_completes_once() {
        let mut server = Handshake::with_seed(6);
        server.feed(&ClientHandshake::hello()).unwrap();
        let answer = server.take_output();
        let mut client = ClientHandshake::new();
        let mut done = 0;
        for piece in answer.chunks(100) {
            if let Some(finished) = client.feed(piece).unwrap() {
                assert_eq!(finished.consumed, piece.len());
                done += 1;
            }
        }
        assert_eq!(done, 1);
    }

    #[test]
    fn a_server_that_is_not_rtmp_is_refused_at_the_first_byte() {
        let mut client = ClientHandshake::new();
        assert_eq!(
            client.feed(b"HTTP/1.1 400 Bad Request\r\n"),
            Err(ClientHandshakeError::UnsupportedVersion(b'H'))
        );
    }
}
