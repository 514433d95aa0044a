//! The end-to-end encryption envelope and key schedule, defined once.
//!
//! Key schedule (the browser does the same with WebCrypto):
//! 1. `ikm = PBKDF2-HMAC-SHA256(passphrase, salt = UTF-8(room_sid), 600_000, 32 bytes)`
//! 2. `enc_key = HKDF-SHA256(ikm, salt = "", info = "quorum e2ee v1 aes-gcm", 32 bytes)`
//! 3. `check_key = HKDF-SHA256(ikm, salt = "", info = "quorum e2ee v1 key check", 32 bytes)`
//! 4. key check value = first 8 bytes of `HMAC-SHA256(check_key, "quorum key check v1")`.
//!
//! The check value is shown as a fingerprint so participants can compare
//! keys aloud; it is derived apart from the encryption key, never from it.
//!
//! Envelope: `version (1) || IV (12) || ciphertext || tag (16)`, AES-256-GCM
//! with AAD = `room_sid "|" sender "|" kind` (for a private message the
//! sender field is `from ">" to`, see [`dm_party`]). The receiver rebuilds the AAD
//! from the authenticated subject, so a relay can neither re-attribute nor
//! re-route a ciphertext. Ids can't contain `|`, so the AAD is unambiguous.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// PBKDF2 iterations (OWASP 2023 for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Envelope format version.
pub const VERSION: u8 = 1;
/// IV length.
pub const IV_LEN: usize = 12;
/// GCM tag length.
pub const TAG_LEN: usize = 16;
/// HKDF info for the encryption key.
pub const INFO_ENC: &[u8] = b"quorum e2ee v1 aes-gcm";
/// HKDF info for the key-check key.
pub const INFO_CHECK: &[u8] = b"quorum e2ee v1 key check";
/// HKDF info of the media key: 32 bytes handed to LiveKit's key provider,
/// which derives its frame keys from them with HKDF (no second PBKDF2).
/// Its own label, so knowing the media key tells nothing of the chat key.
pub const INFO_MEDIA: &[u8] = b"quorum e2ee v1 livekit media";
/// The label the key check value authenticates.
pub const CHECK_LABEL: &[u8] = b"quorum key check v1";
/// Length of the key check value.
pub const CHECK_LEN: usize = 8;

/// What a payload is, bound into the AAD so one kind can't pass as another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Public chat.
    Chat,
    /// Private chat.
    PrivateChat,
    /// A reaction.
    Reaction,
    /// Raised-hand text.
    Hand,
    /// Any other data message.
    Data,
}

impl Kind {
    /// The AAD token.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Chat => "chat",
            Self::PrivateChat => "private_chat",
            Self::Reaction => "reaction",
            Self::Hand => "hand",
            Self::Data => "data",
        }
    }
}

/// Why an envelope could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// Too short to hold version, IV and tag.
    #[error("envelope too short")]
    TooShort,
    /// A format version we don't know.
    #[error("unknown envelope version {0}")]
    UnknownVersion(u8),
    /// Wrong key, tampered bytes, or a different sender/room/kind.
    #[error("message can't be decrypted (different key, or altered)")]
    Authentication,
}

/// The associated data binding a ciphertext to its room session, sender
/// and kind.
pub fn aad(room_sid: &str, sender: &str, kind: Kind) -> Vec<u8> {
    format!("{room_sid}|{sender}|{}", kind.as_str()).into_bytes()
}

/// The AAD's sender field for a private message: sender and recipient,
/// both from the subject, so a relay can't re-route a private message to
/// someone else either. Ids can't contain `>`.
pub fn dm_party(from: &str, to: &str) -> String {
    format!("{from}>{to}")
}

/// Keys derived from a passphrase for one room session.
pub struct RoomKeys {
    cipher: Aes256Gcm,
    check: [u8; CHECK_LEN],
    media: [u8; 32],
}

impl std::fmt::Debug for RoomKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomKeys")
            .field("check", &hex::encode(self.check))
            .finish_non_exhaustive()
    }
}

fn hkdf32(ikm: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<Sha256>::new(Some(&[]), ikm)
        .expand(info, &mut out)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    out
}

impl RoomKeys {
    /// Derives the keys (slow on purpose: `iterations` PBKDF2 rounds).
    pub fn derive(passphrase: &str, room_sid: &str, iterations: u32) -> Self {
        let mut ikm = [0u8; 32];
        pbkdf2::pbkdf2_hmac::<Sha256>(
            passphrase.as_bytes(),
            room_sid.as_bytes(),
            iterations,
            &mut ikm,
        );
        let mut enc = hkdf32(&ikm, INFO_ENC);
        let mut check_key = hkdf32(&ikm, INFO_CHECK);
        let media = hkdf32(&ikm, INFO_MEDIA);
        let cipher = Aes256Gcm::new_from_slice(&enc).expect("32-byte key");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&check_key).expect("any key length");
        mac.update(CHECK_LABEL);
        let mut check = [0u8; CHECK_LEN];
        check.copy_from_slice(&mac.finalize().into_bytes()[..CHECK_LEN]);
        // Drop key material from the stack copies we own.
        ikm.fill(0);
        enc.fill(0);
        check_key.fill(0);
        Self {
            cipher,
            check,
            media,
        }
    }

    /// The media key (for LiveKit's frame encryption).
    pub fn media_key(&self) -> [u8; 32] {
        self.media
    }

    /// The key check value.
    pub fn check_value(&self) -> [u8; CHECK_LEN] {
        self.check
    }

    /// Seals `plaintext` with a caller-chosen IV. Use only with a fresh
    /// random IV (or in test vectors): reusing an IV under one key breaks GCM.
    pub fn seal_with_iv(&self, iv: [u8; IV_LEN], plaintext: &[u8], aad: &[u8]) -> Vec<u8> {
        let ct = self
            .cipher
            .encrypt(
                Nonce::from_slice(&iv),
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .expect("AES-GCM encryption of in-memory data cannot fail");
        let mut out = Vec::with_capacity(1 + IV_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&iv);
        out.extend_from_slice(&ct);
        out
    }

    /// Opens an envelope, checking it against `aad`.
    pub fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        if envelope.len() < 1 + IV_LEN + TAG_LEN {
            return Err(OpenError::TooShort);
        }
        if envelope[0] != VERSION {
            return Err(OpenError::UnknownVersion(envelope[0]));
        }
        let (iv, ct) = envelope[1..].split_at(IV_LEN);
        self.cipher
            .decrypt(Nonce::from_slice(iv), Payload { msg: ct, aad })
            .map_err(|_| OpenError::Authentication)
    }
}

/// A key check value as a fingerprint people can read aloud: 8 hex pairs.
pub fn fingerprint(check: &[u8]) -> String {
    check
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests;
