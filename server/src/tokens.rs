//! Join tokens (HS256 JWTs with plugNmeet's claims) and the short-lived
//! download tokens of `GET /download/analytics/{token}`.
//!
//! # Keys
//!
//! The API secret itself only ever keys the server-API HMAC, which
//! plugNmeet's SDKs compute with it. Were join tokens signed with it too,
//! a token's signed part `header.payload` with its signature hex-encoded
//! would pass as a signed API request, and a signed API request whose
//! body looked like a JWS would pass as a token. So each token kind has
//! its own key, derived from the API secret with HKDF-SHA256 (no salt,
//! 32 bytes) under a label of its own: [`join_token_key`]
//! (`quorum join-token v1`) and [`download_token_key`]
//! (`quorum download-token v1`). Webhooks use a separate secret altogether
//! (`secrets.rs`).

use std::time::{SystemTime, UNIX_EPOCH};

use hkdf::Hkdf;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::token::JoinClaims;
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// HKDF label of the join-token key.
pub const JOIN_TOKEN_LABEL: &str = "quorum join-token v1";

/// HKDF label of the download-token key.
pub const DOWNLOAD_TOKEN_LABEL: &str = "quorum download-token v1";

/// How long a download token is valid, in seconds.
pub const DOWNLOAD_TOKEN_TTL_SECS: u64 = 300;

/// `aud` of download tokens, so no other kind of token can stand in for one.
const DOWNLOAD_AUDIENCE: &str = "quorum-analytics-download";

/// 32 bytes of HKDF-SHA256 (no salt) from `api_secret` under `label`.
fn derive_key(api_secret: &str, label: &str) -> Vec<u8> {
    let mut okm = vec![0u8; 32];
    Hkdf::<Sha256>::new(None, api_secret.as_bytes())
        .expand(label.as_bytes(), &mut okm)
        .expect("32 bytes is a valid HKDF-SHA256 output length");
    okm
}

/// The HS256 key join tokens are signed with: HKDF-SHA256 of the API
/// secret with the label [`JOIN_TOKEN_LABEL`]. Never the API secret itself.
pub fn join_token_key(api_secret: &str) -> Vec<u8> {
    derive_key(api_secret, JOIN_TOKEN_LABEL)
}

/// The HS256 key download tokens are signed with: HKDF-SHA256 of the API
/// secret with the label [`DOWNLOAD_TOKEN_LABEL`].
pub fn download_token_key(api_secret: &str) -> Vec<u8> {
    derive_key(api_secret, DOWNLOAD_TOKEN_LABEL)
}

/// Why a join token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Past `exp`.
    #[error("the join token has expired")]
    Expired,
    /// Before `nbf`.
    #[error("the join token is not valid yet")]
    NotYetValid,
    /// Bad signature, wrong algorithm, wrong issuer or malformed.
    #[error("the join token is invalid")]
    Invalid,
    /// `sub` does not name the token's `user_id`.
    #[error("the join token's subject does not match its user")]
    SubjectMismatch,
}

/// Current unix time in seconds.
pub fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Who a token is for.
#[derive(Debug, Clone)]
pub struct TokenSubject<'a> {
    /// The room.
    pub room_id: &'a RoomId,
    /// The user.
    pub user_id: &'a UserId,
    /// Display name.
    pub name: &'a str,
    /// A moderator.
    pub is_admin: bool,
    /// Hidden.
    pub is_hidden: bool,
    /// The room session it admits to.
    pub sid: &'a str,
}

/// Issues and verifies join tokens.
#[derive(Clone)]
pub struct JoinTokens {
    api_key: String,
    enc: EncodingKey,
    dec: DecodingKey,
    ttl_secs: u64,
}

impl JoinTokens {
    /// A signer for `api_key` issuing tokens valid `ttl_secs`, keyed with
    /// [`join_token_key`]`(api_secret)`.
    pub fn new(api_key: &str, api_secret: &str, ttl_secs: u64) -> Self {
        let key = join_token_key(api_secret);
        Self {
            api_key: api_key.to_owned(),
            enc: EncodingKey::from_secret(&key),
            dec: DecodingKey::from_secret(&key),
            ttl_secs,
        }
    }

    /// How long a token lives.
    pub fn ttl(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.ttl_secs)
    }

    /// Signs a token for `who`.
    pub fn issue(&self, who: &TokenSubject<'_>) -> Result<String, jsonwebtoken::errors::Error> {
        let now = now_secs();
        let claims = JoinClaims {
            iss: self.api_key.clone(),
            sub: who.user_id.to_string(),
            nbf: now,
            exp: now + self.ttl_secs,
            name: who.name.to_owned(),
            user_id: who.user_id.clone(),
            room_id: who.room_id.clone(),
            is_admin: who.is_admin,
            is_hidden: who.is_hidden,
            sid: who.sid.to_owned(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
    }

    /// Verifies signature, algorithm, issuer, time window and subject.
    pub fn verify(&self, token: &str) -> Result<JoinClaims, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.api_key]);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        v.validate_nbf = true;
        v.leeway = 5;
        let data = decode::<JoinClaims>(token, &self.dec, &v).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind as K;
            match e.kind() {
                K::ExpiredSignature => TokenError::Expired,
                K::ImmatureSignature => TokenError::NotYetValid,
                _ => TokenError::Invalid,
            }
        })?;
        if data.claims.sub != data.claims.user_id.as_str() {
            return Err(TokenError::SubjectMismatch);
        }
        Ok(data.claims)
    }
}

impl JoinTokens {
    /// Verifies a token for renewal: everything as [`JoinTokens::verify`],
    /// except that it may have expired up to `grace_secs` ago.
    pub fn verify_for_renewal(
        &self,
        token: &str,
        grace_secs: u64,
    ) -> Result<JoinClaims, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.api_key]);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "sub"]);
        v.validate_exp = false;
        v.validate_nbf = true;
        v.leeway = 5;
        let claims = decode::<JoinClaims>(token, &self.dec, &v)
            .map_err(|_| TokenError::Invalid)?
            .claims;
        if claims.exp.saturating_add(grace_secs) < now_secs() {
            return Err(TokenError::Expired);
        }
        if claims.sub != claims.user_id.as_str() {
            return Err(TokenError::SubjectMismatch);
        }
        Ok(claims)
    }
}

/// Claims of a download token.
#[derive(Debug, Serialize, Deserialize)]
struct DownloadClaims {
    iss: String,
    aud: String,
    /// The analytics file id.
    sub: String,
    nbf: u64,
    exp: u64,
}

/// Issues and verifies the short-lived, signed tokens that let a plain
/// `GET /download/analytics/{token}` fetch one analytics file.
#[derive(Clone)]
pub struct DownloadTokens {
    api_key: String,
    enc: EncodingKey,
    dec: DecodingKey,
}

impl DownloadTokens {
    /// A signer for `api_key`, keyed with [`download_token_key`]`(api_secret)`.
    pub fn new(api_key: &str, api_secret: &str) -> Self {
        let key = download_token_key(api_secret);
        Self {
            api_key: api_key.to_owned(),
            enc: EncodingKey::from_secret(&key),
            dec: DecodingKey::from_secret(&key),
        }
    }

    /// A token for `file_id`, valid [`DOWNLOAD_TOKEN_TTL_SECS`] from now.
    pub fn issue(&self, file_id: &str) -> Result<String, jsonwebtoken::errors::Error> {
        self.issue_at(file_id, now_secs())
    }

    /// A token for `file_id` as if issued at `now` (unix seconds).
    pub fn issue_at(&self, file_id: &str, now: u64) -> Result<String, jsonwebtoken::errors::Error> {
        let claims = DownloadClaims {
            iss: self.api_key.clone(),
            aud: DOWNLOAD_AUDIENCE.to_owned(),
            sub: file_id.to_owned(),
            nbf: now,
            exp: now + DOWNLOAD_TOKEN_TTL_SECS,
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc)
    }

    /// Verifies signature, algorithm, issuer, audience and time window;
    /// returns the file id the token is for.
    pub fn verify(&self, token: &str) -> Result<String, TokenError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.set_issuer(&[&self.api_key]);
        v.set_audience(&[DOWNLOAD_AUDIENCE]);
        v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
        v.validate_nbf = true;
        v.leeway = 5;
        decode::<DownloadClaims>(token, &self.dec, &v)
            .map(|d| d.claims.sub)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::ExpiredSignature => TokenError::Expired,
                    K::ImmatureSignature => TokenError::NotYetValid,
                    _ => TokenError::Invalid,
                }
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who<'a>(r: &'a RoomId, u: &'a UserId) -> TokenSubject<'a> {
        TokenSubject {
            room_id: r,
            user_id: u,
            name: "Alice",
            is_admin: false,
            is_hidden: false,
            sid: "s1",
        }
    }

    #[test]
    fn issue_verify_and_refuse() {
        let (r, u) = (RoomId::parse("r").unwrap(), UserId::parse("u").unwrap());
        let t = JoinTokens::new("key", "secret", 600);
        let tok = t.issue(&who(&r, &u)).unwrap();
        let c = t.verify(&tok).unwrap();
        assert_eq!(
            (c.room_id, c.user_id, c.iss.as_str()),
            (r.clone(), u.clone(), "key")
        );
        assert!(c.exp - c.nbf == 600);

        let other_secret = JoinTokens::new("key", "other", 600);
        assert_eq!(other_secret.verify(&tok), Err(TokenError::Invalid));
        let other_key = JoinTokens::new("other", "secret", 600);
        assert_eq!(other_key.verify(&tok), Err(TokenError::Invalid));
        let mut tampered = tok.clone();
        tampered.insert(tok.len() - 3, 'A');
        assert_eq!(t.verify(&tampered), Err(TokenError::Invalid));

        // Expired well beyond the leeway.
        let mut c = t.verify(&tok).unwrap();
        c.exp = now_secs() - 60;
        c.nbf = now_secs() - 120;
        let old = encode(&Header::new(Algorithm::HS256), &c, &t.enc).unwrap();
        assert_eq!(t.verify(&old), Err(TokenError::Expired));
        // Renewal accepts it within the grace period only.
        assert!(t.verify_for_renewal(&old, 3600).is_ok());
        assert_eq!(t.verify_for_renewal(&old, 10), Err(TokenError::Expired));
        assert_eq!(
            t.verify_for_renewal(&tampered, 3600),
            Err(TokenError::Invalid)
        );
        // Only HS256.
        let hs512 = encode(&Header::new(Algorithm::HS512), &c, &t.enc).unwrap();
        assert_eq!(t.verify(&hs512), Err(TokenError::Invalid));
    }

    #[test]
    fn keys_are_derived_and_distinct() {
        let join = join_token_key("secret");
        let download = download_token_key("secret");
        assert_eq!(join.len(), 32);
        assert_ne!(join, b"secret".to_vec());
        assert_ne!(join, download);
        assert_eq!(join, join_token_key("secret"));
        assert_ne!(join, join_token_key("other"));
        // HKDF-SHA256 (RFC 5869), no salt, computed independently with
        // Python's hmac module: PRK = HMAC(0^32, ikm); OKM = HMAC(PRK, info || 0x01).
        assert_eq!(
            hex::encode(join_token_key("secret")),
            "b2e7b0fae6e60099c7aea894d53d810a5e6748f390c34e66d5178cb69d651125"
        );

        // A token signed with the raw secret is refused.
        let (r, u) = (RoomId::parse("r").unwrap(), UserId::parse("u").unwrap());
        let t = JoinTokens::new("key", "secret", 600);
        let mut c = t.verify(&t.issue(&who(&r, &u)).unwrap()).unwrap();
        c.exp = now_secs() + 600;
        let raw = encode(
            &Header::new(Algorithm::HS256),
            &c,
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        assert_eq!(t.verify(&raw), Err(TokenError::Invalid));
    }

    #[test]
    fn download_tokens_are_their_own_kind() {
        let d = DownloadTokens::new("key", "secret");
        let tok = d.issue("analytics-x").unwrap();
        assert_eq!(d.verify(&tok).unwrap(), "analytics-x");
        // Expired beyond the leeway.
        let old = d
            .issue_at("analytics-x", now_secs() - DOWNLOAD_TOKEN_TTL_SECS - 60)
            .unwrap();
        assert_eq!(d.verify(&old), Err(TokenError::Expired));
        // Another secret, another key.
        assert_eq!(
            DownloadTokens::new("key", "other").verify(&tok),
            Err(TokenError::Invalid)
        );
        // A join token is not a download token, and the other way round.
        let (r, u) = (RoomId::parse("r").unwrap(), UserId::parse("u").unwrap());
        let j = JoinTokens::new("key", "secret", 600);
        let join = j.issue(&who(&r, &u)).unwrap();
        assert_eq!(d.verify(&join), Err(TokenError::Invalid));
        assert!(j.verify(&tok).is_err());
    }
}
