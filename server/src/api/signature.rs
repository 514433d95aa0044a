//! Server-API authentication: `API-KEY` plus `HASH-SIGNATURE`, the lowercase
//! hex HMAC-SHA256 of the raw body under the API secret. As an extractor, a
//! handler that takes [`Signed`] cannot run unauthenticated.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::AppState;

/// The verified raw body of a signed server-API request.
pub struct Signed(pub Bytes);

/// Checks a request's key and signature against ours.
pub fn check(
    api_key: &str,
    api_secret: &str,
    got_key: Option<&str>,
    got_sig: Option<&str>,
    body: &[u8],
) -> Result<(), ApiError> {
    let got_key = got_key.ok_or(ApiError::MissingHeader("API-KEY"))?;
    let got_sig = got_sig.ok_or(ApiError::MissingHeader("HASH-SIGNATURE"))?;
    // Constant time even for the key, so it can't be guessed byte by byte.
    if !bool::from(got_key.as_bytes().ct_eq(api_key.as_bytes())) {
        return Err(ApiError::InvalidApiKey);
    }
    // The SDKs send lowercase hex; anything else is not a signature we made.
    if got_sig.len() != 64
        || !got_sig
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(ApiError::InvalidSignature);
    }
    let sig = hex::decode(got_sig).map_err(|_| ApiError::InvalidSignature)?;
    let mut mac =
        Hmac::<Sha256>::new_from_slice(api_secret.as_bytes()).map_err(ApiError::internal)?;
    mac.update(body);
    mac.verify_slice(&sig)
        .map_err(|_| ApiError::InvalidSignature)
}

/// Lowercase hex HMAC-SHA256 of `body` under `secret`, as a caller signs.
pub fn sign(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac accepts any key length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

impl FromRequest<AppState> for Signed {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, ApiError> {
        let (key, sig) = {
            let header = |name: &str| {
                req.headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            (header("API-KEY"), header("HASH-SIGNATURE"))
        };
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::InvalidParameters(format!("cannot read body: {e}")))?;
        let s = &state.secrets;
        check(
            &s.api_key,
            &s.api_secret,
            key.as_deref(),
            sig.as_deref(),
            &body,
        )?;
        Ok(Signed(body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_only_exact_lowercase_signature() {
        let body = br#"{"room_id":"r"}"#;
        let sig = sign("s", body);
        assert!(check("k", "s", Some("k"), Some(&sig), body).is_ok());
        assert!(matches!(
            check("k", "s", Some("x"), Some(&sig), body),
            Err(ApiError::InvalidApiKey)
        ));
        assert!(matches!(
            check("k", "s", Some("k"), Some(&sig.to_uppercase()), body),
            Err(ApiError::InvalidSignature)
        ));
        assert!(matches!(
            check("k", "s", Some("k"), Some(&sig), b"{}"),
            Err(ApiError::InvalidSignature)
        ));
        assert!(matches!(
            check("k", "s", None, Some(&sig), body),
            Err(ApiError::MissingHeader("API-KEY"))
        ));
        assert!(matches!(
            check("k", "s", Some("k"), None, body),
            Err(ApiError::MissingHeader("HASH-SIGNATURE"))
        ));
    }
}
