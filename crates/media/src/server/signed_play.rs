//! Signed play URLs: when an operator turns them on, a viewer needs
//! `?expires=UNIX_SECONDS&sign=HEX` on the play URL, where `sign` is
//! HMAC-SHA256(secret, "{room}:{expires}"). The app hands out such URLs; the media
//! server checks them on every output (403 / `NetStream.Play.Failed` when wrong).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Why a play URL was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PlayRefusal {
    #[error("this stream needs a signed play URL")]
    Unsigned,
    #[error("the play URL has expired")]
    Expired,
    #[error("the play URL's signature is wrong")]
    BadSignature,
}

/// The signing secret; `None` in [`PlaySigning::check`]'s caller means "off".
#[derive(Clone)]
pub struct PlaySigning {
    secret: Vec<u8>,
}

impl std::fmt::Debug for PlaySigning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlaySigning(..)")
    }
}

impl PlaySigning {
    pub fn new(secret: &[u8]) -> Self {
        Self {
            secret: secret.to_vec(),
        }
    }

    fn mac(&self, room: &str, expires: i64) -> Hmac<Sha256> {
        // HMAC accepts keys of any length.
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(format!("{room}:{expires}").as_bytes());
        mac
    }

    /// The query string (`expires=…&sign=…`) that lets `room` be played until `expires`.
    pub fn sign(&self, room: &str, expires: i64) -> String {
        let tag = self.mac(room, expires).finalize().into_bytes();
        let hex = hex::encode(tag);
        format!("expires={expires}&sign={hex}")
    }

    /// Checks `query` (the part after `?`, possibly empty) for `room` at time `now`.
    pub fn check(&self, room: &str, query: &str, now: i64) -> Result<(), PlayRefusal> {
        let mut expires = None;
        let mut sign = None;
        for pair in query.split('&') {
            match pair.split_once('=') {
                Some(("expires", v)) => expires = v.parse::<i64>().ok(),
                Some(("sign", v)) => sign = Some(v),
                _ => {}
            }
        }
        let (Some(expires), Some(sign)) = (expires, sign) else {
            return Err(PlayRefusal::Unsigned);
        };
        if expires < now {
            return Err(PlayRefusal::Expired);
        }
        let Some(tag) = hex::decode(sign).ok().filter(|t| t.len() <= 64) else {
            return Err(PlayRefusal::BadSignature);
        };
        self.mac(room, expires)
            .verify_slice(&tag)
            .map_err(|_| PlayRefusal::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signed_urls_pass_until_they_expire() {
        let s = PlaySigning::new(b"secret");
        let q = s.sign("42", 1_000);
        assert_eq!(s.check("42", &q, 999), Ok(()));
        assert_eq!(s.check("42", &q, 1_001), Err(PlayRefusal::Expired));
        assert_eq!(s.check("43", &q, 999), Err(PlayRefusal::BadSignature));
        assert_eq!(s.check("42", "", 0), Err(PlayRefusal::Unsigned));
        assert_eq!(
            s.check("42", "expires=1000&sign=zz", 0),
            Err(PlayRefusal::BadSignature)
        );
        let other = PlaySigning::new(b"other");
        assert_eq!(other.check("42", &q, 999), Err(PlayRefusal::BadSignature));
    }
}
