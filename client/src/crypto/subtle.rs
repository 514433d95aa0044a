//! Thin glue to `SubtleCrypto`: finding it, building algorithm
//! dictionaries, and awaiting its promises into typed results.

use js_sys::{Array, ArrayBuffer, Object, Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, SubtleCrypto};

use super::CryptoError;

/// `crypto` and `crypto.subtle` of whatever global we run in.
///
/// Read from `globalThis` rather than `window` so that this works in
/// workers too; `crypto.subtle` is undefined in insecure contexts (plain
/// HTTP), which is [`CryptoError::Unavailable`] rather than a panic.
pub(super) fn get() -> Result<(Crypto, SubtleCrypto), CryptoError> {
    let crypto =
        Reflect::get(&js_sys::global(), &"crypto".into()).map_err(|_| CryptoError::Unavailable)?;
    if !crypto.is_object() {
        return Err(CryptoError::Unavailable);
    }
    let subtle = Reflect::get(&crypto, &"subtle".into()).map_err(|_| CryptoError::Unavailable)?;
    if !subtle.is_object() {
        return Err(CryptoError::Unavailable);
    }
    // Unchecked: an `instanceof` test would reject polyfills and other
    // realms for no gain, and every call through these handles is fallible.
    Ok((crypto.unchecked_into(), subtle.unchecked_into()))
}

// One call per decryption instead of a dozen: a busy E2EE room opens
// thousands of messages a second, and building the parameters from Rust
// crossed into JS for every field and string. The envelope and AAD are
// views into wasm memory, valid only during the call: WebCrypto copies its
// inputs before `decrypt` returns.
#[wasm_bindgen(
    inline_js = "export function gcm_open(subtle, key, envelope, aad, head, tag_bits) {
  return subtle.decrypt({ name: 'AES-GCM', iv: envelope.subarray(1, head),
    additionalData: aad, tagLength: tag_bits }, key, envelope.subarray(head));
}"
)]
extern "C" {
    /// `subtle.decrypt` of `envelope` (`VERSION || IV || ct || tag`, the
    /// IV ending at `head`) under `key`, bound to `aad`.
    #[wasm_bindgen(catch)]
    pub(super) fn gcm_open(
        subtle: &SubtleCrypto,
        key: &CryptoKey,
        envelope: &[u8],
        aad: &[u8],
        head: u32,
        tag_bits: u32,
    ) -> Result<Promise, JsValue>;
}

/// A plain JS object from key/value pairs. WebCrypto takes its parameters as
/// dictionaries; building them by hand keeps us off web-sys's per-algorithm
/// dictionary types and their shifting constructors.
pub(super) fn dict(entries: &[(&str, JsValue)]) -> Object {
    let obj = Object::new();
    for (k, v) in entries {
        // Setting a property on a fresh plain object cannot throw.
        let _ = Reflect::set(&obj, &JsValue::from_str(k), v);
    }
    obj
}

/// Key usages, as WebCrypto wants them: an array of strings.
pub(super) fn usages(names: &[&str]) -> Array {
    names.iter().map(|n| JsValue::from_str(n)).collect()
}

/// A JS copy of `data`, to hand to WebCrypto as a `BufferSource`.
pub(super) fn bytes(data: &[u8]) -> Uint8Array {
    Uint8Array::from(data)
}

/// A JS exception as `"step: Name: message"`, for [`CryptoError::Failed`].
pub(super) fn failed(step: &str, err: &JsValue) -> CryptoError {
    let field = |name: &str| {
        Reflect::get(err, &name.into())
            .ok()
            .and_then(|v| v.as_string())
    };
    let detail = match (field("name"), field("message")) {
        (Some(n), Some(m)) if !m.is_empty() => format!("{n}: {m}"),
        (Some(n), _) => n,
        _ => err.as_string().unwrap_or_else(|| format!("{err:?}")),
    };
    CryptoError::Failed(format!("{step}: {detail}"))
}

async fn settle(promise: Promise, step: &str) -> Result<JsValue, CryptoError> {
    JsFuture::from(promise).await.map_err(|e| failed(step, &e))
}

/// Awaits a promise that resolves to bytes (deriveBits, sign, encrypt…),
/// as a view on the buffer WebCrypto returned.
pub(super) async fn await_bytes(promise: Promise, step: &str) -> Result<Uint8Array, CryptoError> {
    let buf: ArrayBuffer = settle(promise, step)
        .await?
        .dyn_into()
        .map_err(|_| CryptoError::Failed(format!("{step}: not an ArrayBuffer")))?;
    Ok(Uint8Array::new(&buf))
}

/// Awaits a promise that resolves to a key (importKey, deriveKey).
pub(super) async fn await_key(promise: Promise, step: &str) -> Result<CryptoKey, CryptoError> {
    let key = settle(promise, step).await?;
    if !key.is_object() {
        return Err(CryptoError::Failed(format!("{step}: not a CryptoKey")));
    }
    Ok(key.unchecked_into())
}

/// Imports `data` as a non-extractable raw key, then zeroes `data`.
///
/// Zeroing right after the call is safe: WebCrypto copies the bytes before
/// it returns the promise (the first step of `importKey` in the spec), and
/// the test vectors would catch a browser that didn't.
pub(super) async fn import_raw(
    subtle: &SubtleCrypto,
    data: &Uint8Array,
    algorithm: &Object,
    key_usages: &[&str],
    step: &str,
) -> Result<CryptoKey, CryptoError> {
    let promise = subtle.import_key_with_object("raw", data, algorithm, false, &usages(key_usages));
    data.fill(0, 0, data.length());
    await_key(promise.map_err(|e| failed(step, &e))?, step).await
}
