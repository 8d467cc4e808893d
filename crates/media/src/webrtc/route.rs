//! Which peer a datagram on the shared UDP port is for, without asking every peer.
//!
//! A peer's first datagrams are STUN binding requests whose USERNAME attribute is
//! `{our ufrag}:{their ufrag}` (RFC 8445 §7.2.2): the part before the colon names the
//! session momo made for the offer. Once a peer's address has sent a valid request it
//! is known, and everything else from it (DTLS, SRTP, SRTCP) is routed by address.
//!
//! Sans-IO: bytes in, a name out; fuzzed (`webrtc_route`).

/// STUN's magic cookie (RFC 5389), at bytes 4..8 of every STUN message.
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
/// The USERNAME attribute.
const USERNAME: u16 = 0x0006;
/// A binding request.
const BINDING_REQUEST: u16 = 0x0001;

/// The local ICE username fragment a STUN binding request is addressed to, if
/// `datagram` is one; `None` for anything else (including malformed STUN).
pub fn stun_ufrag(datagram: &[u8]) -> Option<&str> {
    if datagram.len() < 20 || datagram[4..8] != MAGIC_COOKIE {
        return None;
    }
    let kind = u16::from_be_bytes([datagram[0], datagram[1]]);
    if kind != BINDING_REQUEST {
        return None;
    }
    let length = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let body = datagram.get(20..20 + length)?;
    let mut rest = body;
    while rest.len() >= 4 {
        let attr = u16::from_be_bytes([rest[0], rest[1]]);
        let len = usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let value = rest.get(4..4 + len)?;
        if attr == USERNAME {
            let name = std::str::from_utf8(value).ok()?;
            let (ours, _) = name.split_once(':')?;
            return (!ours.is_empty()).then_some(ours);
        }
        // Attributes are padded to four bytes.
        let padded = (len + 3) & !3;
        rest = rest.get(4 + padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(attrs: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (kind, value) in attrs {
            body.extend_from_slice(&kind.to_be_bytes());
            body.extend_from_slice(&(value.len() as u16).to_be_bytes());
            body.extend_from_slice(value);
            while body.len() % 4 != 0 {
                body.push(0);
            }
        }
        let mut out = vec![0x00, 0x01];
        out.extend_from_slice(&(body.len() as u16).to_be_bytes());
        out.extend_from_slice(&MAGIC_COOKIE);
        out.extend_from_slice(&[7; 12]);
        out.extend_from_slice(&body);
        out
    }

    #[test]
    fn a_binding_request_names_our_ufrag() {
        let d = request(&[(0x0024, &[0, 0, 0, 1]), (USERNAME, b"abcd:wxyz")]);
        assert_eq!(stun_ufrag(&d), Some("abcd"));
        // An odd-length attribute before it is padded.
        let d = request(&[(0x8022, b"abcde"), (USERNAME, b"q1:z")]);
        assert_eq!(stun_ufrag(&d), Some("q1"));
    }

    #[test]
    fn anything_else_names_nobody() {
        assert_eq!(stun_ufrag(b""), None);
        assert_eq!(stun_ufrag(&[0x16; 40]), None, "DTLS");
        assert_eq!(stun_ufrag(&[0x80; 40]), None, "RTP");
        assert_eq!(stun_ufrag(&request(&[])), None, "no USERNAME");
        assert_eq!(stun_ufrag(&request(&[(USERNAME, b"nocolon")])), None);
        assert_eq!(stun_ufrag(&request(&[(USERNAME, b":x")])), None);
        let mut truncated = request(&[(USERNAME, b"abcd:wxyz")]);
        truncated.truncate(26);
        assert_eq!(stun_ufrag(&truncated), None);
        let mut lying = request(&[(USERNAME, b"abcd:wxyz")]);
        lying[3] = 200; // longer than the datagram
        assert_eq!(stun_ufrag(&lying), None);
        let mut response = request(&[(USERNAME, b"abcd:wxyz")]);
        response[1] = 0x01;
        response[0] = 0x01; // a binding success response
        assert_eq!(stun_ufrag(&response), None);
    }
}
