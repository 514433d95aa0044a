//! NATS JWTs (`alg: ed25519-nkey`): the user claims and authorization
//! response the auth callout returns, and decoding of the server's signed
//! authorization request. The claim shapes are small, so we type them here
//! rather than depend on an unmaintained crate.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// A JWT that could not be decoded or verified.
#[derive(Debug, thiserror::Error)]
pub enum JwtError {
    /// Not three base64url parts of JSON.
    #[error("malformed jwt: {0}")]
    Malformed(&'static str),
    /// The signature does not verify against the issuer.
    #[error("bad jwt signature")]
    Signature,
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
}

#[derive(Serialize, Deserialize)]
struct Header<'a> {
    typ: &'a str,
    alg: &'a str,
}

/// Publish or subscribe allow-list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Permission {
    /// Subjects allowed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<String>,
    /// Subjects denied.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<String>,
}

/// The `nats` section of user claims.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserNats {
    /// Publish permissions.
    #[serde(rename = "pub")]
    pub publish: Permission,
    /// Subscribe permissions.
    #[serde(rename = "sub")]
    pub subscribe: Permission,
    /// Max subscriptions (-1 = unlimited).
    pub subs: i64,
    /// Max data (-1 = unlimited).
    pub data: i64,
    /// Max payload (-1 = server limit).
    pub payload: i64,
    /// Always `user`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Claim format version (2).
    pub version: u8,
}

/// Registered claims plus a `nats` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims<N> {
    /// Unique id (hash of the claims).
    #[serde(default)]
    pub jti: String,
    /// Issued at.
    pub iat: u64,
    /// Issuer public key.
    pub iss: String,
    /// Name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// Subject public key.
    pub sub: String,
    /// Audience.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub aud: String,
    /// Expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<u64>,
    /// NATS-specific claims.
    pub nats: N,
}

/// The `nats` section of the callout's reply.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ResponseNats {
    /// The user JWT when authorized.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub jwt: String,
    /// The reason when refused.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub error: String,
    /// Always `authorization_response`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Claim format version (2).
    pub version: u8,
}

/// The server that asks (from the authorization request).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ServerId {
    /// Server id: the `aud` of our response.
    #[serde(default)]
    pub id: String,
    /// The server's curve key, when it seals requests.
    #[serde(default)]
    pub xkey: String,
}

/// What the connecting client sent in CONNECT.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ConnectOpts {
    /// The `auth_token`: our join token.
    #[serde(default)]
    pub auth_token: String,
    /// The client's name: a browser's says which tab it is
    /// (`quorum_shared::api::nats_client_name`).
    #[serde(default)]
    pub name: String,
}

/// The `nats` section of the authorization request.
#[derive(Debug, Clone, Deserialize)]
pub struct RequestNats {
    /// The asking server.
    pub server_id: ServerId,
    /// The one-off key the user JWT must be issued to.
    pub user_nkey: String,
    /// The client's CONNECT options.
    #[serde(default)]
    pub connect_opts: ConnectOpts,
}

fn jti_of<N: Serialize>(c: &Claims<N>) -> Result<String, JwtError> {
    let bytes = serde_json::to_vec(c).map_err(|e| JwtError::Sign(e.to_string()))?;
    Ok(hex::encode_upper(&Sha256::digest(bytes)[..20]))
}

/// Signs `claims` with `issuer`, filling `iss` and `jti`.
pub fn encode<N: Serialize>(
    mut claims: Claims<N>,
    issuer: &nkeys::KeyPair,
) -> Result<String, JwtError> {
    claims.iss = issuer.public_key();
    claims.jti = String::new();
    claims.jti = jti_of(&claims)?;
    let header = Header {
        typ: "JWT",
        alg: "ed25519-nkey",
    };
    let h = B64.encode(serde_json::to_vec(&header).map_err(|e| JwtError::Sign(e.to_string()))?);
    let p = B64.encode(serde_json::to_vec(&claims).map_err(|e| JwtError::Sign(e.to_string()))?);
    let signing_input = format!("{h}.{p}");
    let sig = issuer
        .sign(signing_input.as_bytes())
        .map_err(|e| JwtError::Sign(e.to_string()))?;
    Ok(format!("{signing_input}.{}", B64.encode(sig)))
}

/// Decodes a JWT and verifies it against its own `iss` key. The caller
/// decides whether that issuer is one it trusts.
pub fn decode_verified<N: serde::de::DeserializeOwned>(token: &str) -> Result<Claims<N>, JwtError> {
    let mut parts = token.split('.');
    let (h, p, s) = match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(h), Some(p), Some(s), None) => (h, p, s),
        _ => return Err(JwtError::Malformed("expected three parts")),
    };
    let header_bytes = B64.decode(h).map_err(|_| JwtError::Malformed("header"))?;
    let header: Header<'_> =
        serde_json::from_slice(&header_bytes).map_err(|_| JwtError::Malformed("header json"))?;
    if header.alg != "ed25519-nkey" && header.alg != "ed25519" {
        return Err(JwtError::Malformed("algorithm"));
    }
    let claims: Claims<N> =
        serde_json::from_slice(&B64.decode(p).map_err(|_| JwtError::Malformed("payload"))?)
            .map_err(|_| JwtError::Malformed("payload json"))?;
    let sig = B64
        .decode(s)
        .map_err(|_| JwtError::Malformed("signature"))?;
    let key = nkeys::KeyPair::from_public_key(&claims.iss).map_err(|_| JwtError::Signature)?;
    key.verify(format!("{h}.{p}").as_bytes(), &sig)
        .map_err(|_| JwtError::Signature)?;
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let kp = nkeys::KeyPair::new_account();
        let claims = Claims {
            jti: String::new(),
            iat: 1,
            iss: String::new(),
            name: "n".into(),
            sub: "U".into(),
            aud: "APP".into(),
            exp: Some(5),
            nats: ResponseNats {
                jwt: "x".into(),
                error: String::new(),
                kind: "authorization_response".into(),
                version: 2,
            },
        };
        let t = encode(claims, &kp).unwrap();
        let back: Claims<ResponseNats> = decode_verified(&t).unwrap();
        assert_eq!(back.iss, kp.public_key());
        assert_eq!(back.nats.jwt, "x");
        let mut parts: Vec<&str> = t.split('.').collect();
        let other = B64.encode(br#"{"iat":1,"iss":"x","sub":"y","nats":{}}"#);
        parts[1] = &other;
        assert!(decode_verified::<ResponseNats>(&parts.join(".")).is_err());
        assert!(decode_verified::<ResponseNats>("a.b").is_err());
    }
}
