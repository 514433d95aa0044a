//! Join tokens: HS256 JWTs signed with the API secret (plugNmeet's claims).

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::token::JoinClaims;

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
    /// A signer for `api_key`/`api_secret` issuing tokens valid `ttl_secs`.
    pub fn new(api_key: &str, api_secret: &str, ttl_secs: u64) -> Self {
        Self {
            api_key: api_key.to_owned(),
            enc: EncodingKey::from_secret(api_secret.as_bytes()),
            dec: DecodingKey::from_secret(api_secret.as_bytes()),
            ttl_secs,
        }
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
}
