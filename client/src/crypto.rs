//! End-to-end encryption in the browser: the WebCrypto twin of
//! [`quorum_shared::e2ee`], which defines the key schedule and envelope.
//!
//! The keys are derived and used by the browser's own crypto (`SubtleCrypto`)
//! rather than a Rust KDF compiled to wasm: its 600k PBKDF2 rounds run as
//! native code without blocking the page, and the keys it yields are
//! non-extractable handles, so no script on the page (ours included) can
//! read them back out.
//!
//! The schedule is the shared one, step for step:
//! 1. `ikm = PBKDF2-HMAC-SHA256(passphrase, salt = UTF-8(room_sid), iterations, 256 bits)`
//! 2. `enc_key = HKDF-SHA256(ikm, salt = "", info = INFO_ENC)` as AES-256-GCM
//! 3. `check_key = HKDF-SHA256(ikm, salt = "", info = INFO_CHECK)` as HMAC-SHA256
//! 4. key check value = first 8 bytes of `HMAC(check_key, CHECK_LABEL)`
//! 5. `media_key = HKDF-SHA256(ikm, salt = "", info = INFO_MEDIA)`, 32 bytes
//!    for LiveKit's frame encryption
//!
//! The test vectors in `shared/vectors/e2ee.json` hold both implementations
//! to the same bytes (`client/tests/web/crypto.rs`).

mod batch;
mod subtle;

use js_sys::Uint8Array;
use quorum_shared::e2ee::{
    fingerprint, OpenError, CHECK_LABEL, CHECK_LEN, INFO_CHECK, INFO_ENC, INFO_MEDIA, IV_LEN,
    TAG_LEN, VERSION,
};
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

use subtle::{await_bytes, await_key, bytes, dict, failed, import_raw, usages};

/// Why WebCrypto could not derive a key or seal a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// `crypto.subtle` is missing: browsers only offer it in secure contexts
    /// (HTTPS or localhost), so the page was most likely served over HTTP.
    #[error("encryption is unavailable here (the page must be served over HTTPS)")]
    Unavailable,
    /// A WebCrypto call threw or rejected; the text names the step and the
    /// browser's exception.
    #[error("browser crypto failed: {0}")]
    Failed(String),
}

/// The keys for one room session, derived from its passphrase.
///
/// The AES-GCM key is a non-extractable `CryptoKey`, so cloning copies a
/// handle, never key bytes; the check value is not secret (it is shown).
#[derive(Clone)]
pub struct RoomKey {
    crypto: Crypto,
    subtle: SubtleCrypto,
    key: CryptoKey,
    check: [u8; CHECK_LEN],
    /// The media key's bytes: LiveKit's key provider takes them as an
    /// `ArrayBuffer` (it imports them itself).
    media: [u8; 32],
}

// Only the check value: the key is opaque anyway, and logs stay short.
impl std::fmt::Debug for RoomKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RoomKey")
            .field("check", &fingerprint(&self.check))
            .finish_non_exhaustive()
    }
}

/// An HKDF-SHA256 step with the empty salt of the shared schedule.
fn hkdf_params(info: &[u8]) -> js_sys::Object {
    dict(&[
        ("name", "HKDF".into()),
        ("hash", "SHA-256".into()),
        ("salt", Uint8Array::new_with_length(0).into()),
        ("info", bytes(info).into()),
    ])
}

impl RoomKey {
    /// Derives the room keys from a key someone typed, taken as its bytes
    /// so that our copies are zeroed as soon as WebCrypto has the key
    /// material (it keeps only the derived keys).
    pub async fn derive_typed(mut typed: Vec<u8>, room_sid: &str) -> Result<RoomKey, CryptoError> {
        let text = String::from_utf8_lossy(&typed).into_owned();
        let derived = Self::derive(&text, room_sid, quorum_shared::e2ee::PBKDF2_ITERATIONS).await;
        let mut text = text.into_bytes();
        text.fill(0);
        typed.fill(0);
        std::hint::black_box((&text, &typed));
        derived
    }

    /// Derives the room keys from `passphrase` for `room_sid`. Slow on
    /// purpose: `iterations` PBKDF2 rounds (use
    /// [`quorum_shared::e2ee::PBKDF2_ITERATIONS`]; tests may use fewer).
    pub async fn derive(
        passphrase: &str,
        room_sid: &str,
        iterations: u32,
    ) -> Result<RoomKey, CryptoError> {
        let (crypto, subtle) = subtle::get()?;

        let pbkdf2 = dict(&[("name", "PBKDF2".into())]);
        let pass = bytes(passphrase.as_bytes());
        let pbkdf2 =
            import_raw(&subtle, &pass, &pbkdf2, &["deriveBits"], "importKey PBKDF2").await?;

        let params = dict(&[
            ("name", "PBKDF2".into()),
            ("hash", "SHA-256".into()),
            ("salt", bytes(room_sid.as_bytes()).into()),
            ("iterations", iterations.into()),
        ]);
        let ikm = subtle
            .derive_bits_with_object(&params, &pbkdf2, 256)
            .map_err(|e| failed("deriveBits PBKDF2", &e))?;
        // PBKDF2 can't feed HKDF directly (deriveKey wants a length, which
        // HKDF keys don't have), so the ikm passes through this JS buffer;
        // `import_raw` zeroes it. It never enters wasm memory.
        let ikm = await_bytes(ikm, "deriveBits PBKDF2").await?;
        let hkdf = dict(&[("name", "HKDF".into())]);
        let hkdf = import_raw(
            &subtle,
            &ikm,
            &hkdf,
            &["deriveKey", "deriveBits"],
            "importKey HKDF",
        )
        .await?;

        // Both HKDF outputs are derived straight into non-extractable keys,
        // so neither exists as bytes outside WebCrypto. Started together, as
        // each await is a round trip to the browser's crypto thread.
        let aes = dict(&[("name", "AES-GCM".into()), ("length", 256.into())]);
        let key = subtle
            .derive_key_with_object_and_object(
                &hkdf_params(INFO_ENC),
                &hkdf,
                &aes,
                false,
                &usages(&["encrypt", "decrypt"]),
            )
            .map_err(|e| failed("deriveKey AES-GCM", &e))?;
        // The length must be explicit: HMAC's default is the hash's block
        // size (512 bits), not the 32 bytes the shared schedule expands to.
        let hmac = dict(&[
            ("name", "HMAC".into()),
            ("hash", "SHA-256".into()),
            ("length", 256.into()),
        ]);
        let check_key = subtle
            .derive_key_with_object_and_object(
                &hkdf_params(INFO_CHECK),
                &hkdf,
                &hmac,
                false,
                &usages(&["sign"]),
            )
            .map_err(|e| failed("deriveKey HMAC", &e))?;

        // The media key leaves WebCrypto as bytes by design: LiveKit's SDK
        // imports it into its own worker.
        let media = subtle
            .derive_bits_with_object(&hkdf_params(INFO_MEDIA), &hkdf, 256)
            .map_err(|e| failed("deriveBits HKDF media", &e))?;

        let check_key = await_key(check_key, "deriveKey HMAC").await?;
        let mac = subtle
            .sign_with_str_and_buffer_source("HMAC", &check_key, &bytes(CHECK_LABEL))
            .map_err(|e| failed("sign HMAC", &e))?;
        let key = await_key(key, "deriveKey AES-GCM").await?;
        let mac = await_bytes(mac, "sign HMAC").await?;
        let mut check = [0u8; CHECK_LEN];
        if (mac.length() as usize) < CHECK_LEN {
            return Err(CryptoError::Failed("sign HMAC: short MAC".into()));
        }
        mac.subarray(0, CHECK_LEN as u32).copy_to(&mut check);
        let media_bits = await_bytes(media, "deriveBits HKDF media").await?;
        let mut media = [0u8; 32];
        if media_bits.length() != 32 {
            return Err(CryptoError::Failed(
                "deriveBits HKDF media: wrong length".into(),
            ));
        }
        media_bits.copy_to(&mut media);
        media_bits.fill(0, 0, 32);

        Ok(RoomKey {
            crypto,
            subtle,
            key,
            check,
            media,
        })
    }

    /// The media key (`INFO_MEDIA`), for LiveKit's `ExternalE2EEKeyProvider`.
    pub fn media_key(&self) -> [u8; 32] {
        self.media
    }

    /// The key check value: equal for equal passphrases in one room session.
    pub fn check_value(&self) -> [u8; CHECK_LEN] {
        self.check
    }

    /// The check value as people read it aloud, e.g. `C4 CB 82 49 51 C4 EC DB`.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.check)
    }

    /// Seals `plaintext` under a fresh random IV into
    /// `VERSION || IV || ciphertext || tag`, bound to `aad` (build it with
    /// [`quorum_shared::e2ee::aad`]).
    pub async fn seal(&self, plaintext: &[u8], aad: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let mut iv = [0u8; IV_LEN];
        self.crypto
            .get_random_values_with_u8_array(&mut iv)
            .map_err(|e| failed("getRandomValues", &e))?;
        self.seal_with_iv(iv, plaintext, aad).await
    }

    /// Seals with a caller-chosen IV. For test vectors only: reusing an IV
    /// under one key breaks GCM, so real messages go through [`Self::seal`].
    pub async fn seal_with_iv(
        &self,
        iv: [u8; IV_LEN],
        plaintext: &[u8],
        aad: &[u8],
    ) -> Result<Vec<u8>, CryptoError> {
        let ct = self
            .subtle
            .encrypt_with_object_and_buffer_source(&gcm(&iv, aad), &self.key, &bytes(plaintext))
            .map_err(|e| failed("encrypt", &e))?;
        // WebCrypto returns ciphertext || tag, exactly the envelope's tail.
        let ct = await_bytes(ct, "encrypt").await?;
        let head = 1 + IV_LEN;
        let mut out = vec![0u8; head + ct.length() as usize];
        out[0] = VERSION;
        out[1..head].copy_from_slice(&iv);
        ct.copy_to(&mut out[head..]);
        Ok(out)
    }

    /// Opens an envelope, checking it against `aad` rebuilt from what the
    /// receiver trusts (the subject), never from the payload.
    ///
    /// Any failure of the decryption itself is [`OpenError::Authentication`]:
    /// to the caller a wrong key, altered bytes and a browser refusal all
    /// mean the same thing, a message that can't be shown.
    pub async fn open(&self, envelope: &[u8], aad: &[u8]) -> Result<Vec<u8>, OpenError> {
        framed(envelope)?;
        let pt = subtle::gcm_open(&self.subtle, &self.key, envelope, aad, HEAD, TAG_BITS)
            .map_err(|_| OpenError::Authentication)?;
        let pt = await_bytes(pt, "decrypt")
            .await
            .map_err(|_| OpenError::Authentication)?;
        Ok(pt.to_vec())
    }

    /// Opens each `(envelope, aad)` of `items` like [`Self::open`], all in
    /// one go through `batcher` (off the main thread where it can be):
    /// the results are in the order of `items`.
    pub async fn open_many(
        &self,
        batcher: &Batcher,
        items: &[(&[u8], &[u8])],
    ) -> Vec<Result<Vec<u8>, OpenError>> {
        let mut out: Vec<Result<Vec<u8>, OpenError>> = items
            .iter()
            .map(|(env, _)| framed(env).map(|()| Vec::new()))
            .collect();
        let (envs, aads) = batch::arrays(
            items
                .iter()
                .zip(&out)
                .filter(|(_, r)| r.is_ok())
                .map(|(&(env, aad), _)| (env, aad)),
        );
        if envs.length() == 0 {
            return out;
        }
        let answer = batcher
            .0
            .open(&self.subtle, &self.key, &envs, &aads, HEAD, TAG_BITS);
        let plain = match wasm_bindgen_futures::JsFuture::from(answer).await {
            Ok(v) => batch::plaintexts(&v),
            Err(_) => Vec::new(),
        };
        let mut plain = plain.into_iter();
        for r in out.iter_mut().filter(|r| r.is_ok()) {
            *r = plain.next().flatten().ok_or(OpenError::Authentication);
        }
        out
    }
}

/// Where an envelope's IV ends and its ciphertext begins.
const HEAD: u32 = (1 + IV_LEN) as u32;
/// The GCM tag's length in bits, as WebCrypto takes it.
const TAG_BITS: u32 = (TAG_LEN * 8) as u32;

/// Whether `envelope` can be one: long enough, and of our version.
fn framed(envelope: &[u8]) -> Result<(), OpenError> {
    if envelope.len() < 1 + IV_LEN + TAG_LEN {
        return Err(OpenError::TooShort);
    }
    if envelope[0] != VERSION {
        return Err(OpenError::UnknownVersion(envelope[0]));
    }
    Ok(())
}

/// Opens batches of envelopes for [`RoomKey::open_many`]: in a worker of
/// its own, ended when this is dropped (see `crypto/batch.rs`).
pub struct Batcher(batch::GcmBatcher);

impl Batcher {
    /// Opens batches in a worker, started at the first (or on the main
    /// thread, if it can't be).
    pub fn new() -> Self {
        Self(batch::GcmBatcher::new(true))
    }

    /// Opens on the main thread: what a page without the worker does.
    pub fn on_main_thread() -> Self {
        Self(batch::GcmBatcher::new(false))
    }

    /// Whether batches are opened off the main thread.
    pub fn offloads(&self) -> bool {
        self.0.offloads()
    }
}

impl Default for Batcher {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for Batcher {
    fn drop(&mut self) {
        self.0.close();
    }
}

/// AES-GCM parameters; the tag length is WebCrypto's default, spelled out
/// because the envelope depends on it.
fn gcm(iv: &[u8], aad: &[u8]) -> js_sys::Object {
    dict(&[
        ("name", "AES-GCM".into()),
        ("iv", bytes(iv).into()),
        ("additionalData", bytes(aad).into()),
        ("tagLength", TAG_BITS.into()),
    ])
}
