//! Access tokens: short-lived HS256 JWTs naming the user and their role.
//!
//! Only HS256 is accepted; a token whose header names another algorithm (including
//! `none`) is refused before its signature is even looked at.

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use kit::ApiError;
use serde::{Deserialize, Serialize};

use crate::accounts::errors::IdentityError;
use crate::accounts::Role;

/// What an access token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string (JWT convention).
    pub sub: String,
    pub role: Role,
    pub iat: i64,
    pub exp: i64,
    /// Always `"access"`, so no other kind of token signed with the key passes.
    pub typ: String,
    /// The account's token generation when it was issued; a token of an older one has
    /// been revoked (sign-out, password change). Absent in tokens from before it existed.
    #[serde(default)]
    pub gen: i64,
}

/// Signs and checks access tokens.
pub struct Tokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    access_ttl_secs: i64,
}

impl std::fmt::Debug for Tokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokens")
            .field("access_ttl_secs", &self.access_ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Tokens {
    pub fn new(secret: &[u8], access_ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            access_ttl_secs: access_ttl_secs as i64,
        }
    }

    pub fn access_ttl_secs(&self) -> i64 {
        self.access_ttl_secs
    }

    /// A new access token for `user_id`, of the account's token generation `gen`.
    pub fn issue(&self, user_id: i64, role: Role, gen: i64) -> Result<String, ApiError> {
        let now = kit::time::now_secs();
        let claims = Claims {
            sub: user_id.to_string(),
            role,
            iat: now,
            exp: now + self.access_ttl_secs,
            typ: "access".into(),
            gen,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(|e| {
            tracing::error!("cannot sign a token: {e}");
            ApiError::internal()
        })
    }

    /// Checks a token's algorithm, signature, expiry and kind.
    pub fn verify(&self, token: &str) -> Result<(i64, Claims), ApiError> {
        use jsonwebtoken::errors::ErrorKind;
        let data =
            decode::<Claims>(token, &self.decoding, &self.validation).map_err(|e| {
                match e.kind() {
                    ErrorKind::ExpiredSignature => ApiError::from(IdentityError::TokenExpired),
                    _ => ApiError::from(IdentityError::InvalidToken),
                }
            })?;
        let claims = data.claims;
        let id = claims
            .sub
            .parse::<i64>()
            .ok()
            .filter(|_| claims.typ == "access");
        match id {
            Some(id) => Ok((id, claims)),
            None => Err(ApiError::from(IdentityError::InvalidToken)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;

    #[test]
    fn issued_token_verifies() {
        let t = Tokens::new(b"secret", 60);
        let tok = t.issue(7, Role::Admin, 0).unwrap();
        let (id, claims) = t.verify(&tok).unwrap();
        assert_eq!(id, 7);
        assert_eq!(claims.role, Role::Admin);
    }

    #[test]
    fn forged_expired_and_alg_none_are_refused() {
        let t = Tokens::new(b"secret", 60);
        let other = Tokens::new(b"other", 60);
        let forged = other.issue(1, Role::Admin, 0).unwrap();
        assert_eq!(t.verify(&forged).unwrap_err().code, "invalid_token");

        let expired = Tokens::new(b"secret", 0);
        let mut claims = t.verify(&t.issue(1, Role::User, 0).unwrap()).unwrap().1;
        claims.exp = kit::time::now_secs() - 3600;
        let tok = encode(&Header::default(), &claims, &expired.encoding).unwrap();
        assert_eq!(t.verify(&tok).unwrap_err().code, "token_expired");

        let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
        let body = URL_SAFE_NO_PAD.encode(
            serde_json::json!({"sub":"1","role":"admin","iat":0,"exp":9999999999i64,"typ":"access"})
                .to_string(),
        );
        let none = format!("{header}.{body}.");
        assert_eq!(t.verify(&none).unwrap_err().code, "invalid_token");
    }
}
