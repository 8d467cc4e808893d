//! Payment providers: where a recharge order is paid, and how the provider's word that it
//! was paid is checked.
//!
//! [`PaymentProvider`] is what a real provider (Alipay, WeChat Pay, Stripe) implements.
//! momo ships [`DevProvider`] for development: its checkout pays at once, and its
//! callback is signed like a real provider's, `X-Momo-Signature: t={unix},v1={hex}` with
//! `hex = HMAC-SHA256(secret, "{t}.{body}")`, so the verifying path is the one a real
//! provider's callbacks take: bad signatures and stale timestamps are refused.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use kit::ApiError;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::rooms::errors::LiveError;

/// What a provider says happened to an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentNotice {
    pub order_no: String,
    /// The provider's own id of the payment; each is credited once.
    pub provider_txn: String,
    /// What was paid, in the order's currency's cents.
    pub amount_cents: i64,
    pub currency: String,
}

/// A payment provider.
pub trait PaymentProvider: Send + Sync + std::fmt::Debug {
    /// Its name in orders and URLs (`dev`).
    fn name(&self) -> &'static str;
    /// Where the buyer goes to pay `order_no`, given the API's public base URL.
    fn pay_url(&self, base: &str, order_no: &str) -> String;
    /// Checks a callback and says what it reports; refuses forged or stale ones.
    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_secs: i64,
    ) -> Result<PaymentNotice, ApiError>;
}

/// The name of the signature header.
pub const SIGNATURE_HEADER: &str = "x-momo-signature";

/// The built-in development provider.
pub struct DevProvider {
    secret: Vec<u8>,
    max_age_secs: i64,
}

impl std::fmt::Debug for DevProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevProvider").finish_non_exhaustive()
    }
}

impl DevProvider {
    pub fn new(secret: &[u8], max_age_secs: u64) -> DevProvider {
        DevProvider {
            secret: secret.to_vec(),
            max_age_secs: max_age_secs as i64,
        }
    }

    fn mac(&self, t: i64, body: &[u8]) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.secret).expect("any key length");
        mac.update(t.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac
    }

    /// The signature header value for `body` sent at `t` (what the provider sends).
    pub fn sign(&self, t: i64, body: &[u8]) -> String {
        let tag = self.mac(t, body).finalize().into_bytes();
        let hex = hex::encode(tag);
        format!("t={t},v1={hex}")
    }
}

impl PaymentProvider for DevProvider {
    fn name(&self) -> &'static str {
        "dev"
    }

    fn pay_url(&self, base: &str, order_no: &str) -> String {
        format!("{base}/api/v1/payments/dev/checkout/{order_no}")
    }

    fn verify(
        &self,
        headers: &HeaderMap,
        body: &[u8],
        now_secs: i64,
    ) -> Result<PaymentNotice, ApiError> {
        let forged = || ApiError::from(LiveError::BadSignature);
        let header = headers
            .get(SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| LiveError::BadSignature.with_message("the callback is not signed"))?;
        let (mut t, mut v1) = (None, None);
        for part in header.split(',') {
            match part.trim().split_once('=') {
                Some(("t", v)) => t = v.parse::<i64>().ok(),
                Some(("v1", v)) => v1 = hex::decode(v).ok(),
                _ => {}
            }
        }
        let (t, v1) = (t.ok_or_else(forged)?, v1.ok_or_else(forged)?);
        self.mac(t, body).verify_slice(&v1).map_err(|_| forged())?;
        if now_secs.abs_diff(t) > self.max_age_secs.max(0) as u64 {
            return Err(ApiError::from(LiveError::CallbackExpired));
        }
        serde_json::from_slice(body).map_err(|e| {
            LiveError::InvalidCallback
                .with_message(format!("the callback body is not a payment notice: {e}"))
        })
    }
}

/// The secret the development provider signs with: configured, or derived from the
/// access-token secret (so every node of a cluster agrees without another setting).
pub fn dev_secret(configured: Option<&str>, jwt_secret: &[u8]) -> Vec<u8> {
    match configured.filter(|s| !s.is_empty()) {
        Some(s) => s.as_bytes().to_vec(),
        None => {
            let mut mac = Hmac::<Sha256>::new_from_slice(jwt_secret).expect("any key length");
            mac.update(b"momo dev payments");
            mac.finalize().into_bytes().to_vec()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn notice() -> Vec<u8> {
        serde_json::to_vec(&PaymentNotice {
            order_no: "R1".into(),
            provider_txn: "dev_1".into(),
            amount_cents: 600,
            currency: "CNY".into(),
        })
        .unwrap()
    }

    fn headers(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(SIGNATURE_HEADER, value.parse().unwrap());
        h
    }

    #[test]
    fn signed_callbacks_verify_and_forged_or_stale_ones_do_not() {
        let p = DevProvider::new(b"secret", 300);
        let body = notice();
        let good = p.sign(1000, &body);
        assert_eq!(
            p.verify(&headers(&good), &body, 1010).unwrap().order_no,
            "R1"
        );
        // Stale.
        assert_eq!(
            p.verify(&headers(&good), &body, 2000).unwrap_err().code,
            "callback_expired"
        );
        // Another key.
        let other = DevProvider::new(b"other", 300).sign(1000, &body);
        assert_eq!(
            p.verify(&headers(&other), &body, 1000).unwrap_err().code,
            "bad_signature"
        );
        // Body changed after signing.
        let mut tampered = body.clone();
        tampered[5] ^= 1;
        assert!(p.verify(&headers(&good), &tampered, 1000).is_err());
        // Garbage headers.
        for h in ["", "t=x,v1=zz", "v1=00", "t=1000", "t=1000,v1=0"] {
            assert!(p.verify(&headers(h), &body, 1000).is_err(), "{h}");
        }
        assert!(p.verify(&HeaderMap::new(), &body, 1000).is_err());
    }
}
