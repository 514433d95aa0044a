//! WebCrypto end-to-end encryption against the shared test vectors and the
//! native implementation (compiled to wasm here as the reference).

use std::cell::RefCell;

use quorum_client::crypto::{Batcher, CryptoError, RoomKey};
use quorum_shared::e2ee::{aad, fingerprint, Kind, OpenError, RoomKeys, IV_LEN, TAG_LEN};
use serde_json::Value;
use wasm_bindgen_test::*;

const VECTORS: &str = include_str!("../../../shared/vectors/e2ee.json");

struct Vector {
    passphrase: String,
    room_sid: String,
    iterations: u32,
    key_check: Vec<u8>,
    media_key: Vec<u8>,
    fingerprint: String,
    sender: String,
    iv: [u8; IV_LEN],
    plaintext: String,
    aad: Vec<u8>,
    envelope: Vec<u8>,
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex length");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn vector() -> Vector {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap().to_string();
    assert_eq!(s("/envelope/kind"), Kind::Chat.as_str());
    Vector {
        passphrase: s("/passphrase"),
        room_sid: s("/room_sid"),
        iterations: v["iterations"].as_u64().unwrap().try_into().unwrap(),
        key_check: unhex(&s("/key_check_hex")),
        media_key: unhex(&s("/media_key_hex")),
        fingerprint: s("/fingerprint"),
        sender: s("/envelope/sender"),
        iv: unhex(&s("/envelope/iv_hex")).try_into().unwrap(),
        plaintext: s("/envelope/plaintext"),
        aad: s("/envelope/aad").into_bytes(),
        envelope: unhex(&s("/envelope/envelope_hex")),
    }
}

thread_local! {
    // 600k PBKDF2 rounds are ~1 s; derive the vector key once for all tests.
    static VECTOR_KEY: RefCell<Option<RoomKey>> = const { RefCell::new(None) };
}

async fn vector_key() -> RoomKey {
    if let Some(k) = VECTOR_KEY.with_borrow(Clone::clone) {
        return k;
    }
    let v = vector();
    let k = RoomKey::derive(&v.passphrase, &v.room_sid, v.iterations)
        .await
        .unwrap();
    VECTOR_KEY.set(Some(k.clone()));
    k
}

#[wasm_bindgen_test]
async fn derive_matches_the_vector_check_value_and_fingerprint() {
    let v = vector();
    let key = vector_key().await;
    assert_eq!(key.check_value().to_vec(), v.key_check);
    assert_eq!(key.media_key().to_vec(), v.media_key, "the media key");
    assert_eq!(key.fingerprint(), v.fingerprint);
    assert_eq!(fingerprint(&key.check_value()), v.fingerprint);
    assert!(
        format!("{key:?}").contains(&v.fingerprint),
        "Debug shows the check value"
    );
}

#[wasm_bindgen_test]
async fn seal_with_iv_matches_the_vector_and_open_reverses_it() {
    let v = vector();
    let key = vector_key().await;
    assert_eq!(aad(&v.room_sid, &v.sender, Kind::Chat), v.aad);

    let sealed = key
        .seal_with_iv(v.iv, v.plaintext.as_bytes(), &v.aad)
        .await
        .unwrap();
    assert_eq!(sealed, v.envelope, "byte for byte");

    let opened = key.open(&v.envelope, &v.aad).await.unwrap();
    assert_eq!(String::from_utf8(opened).unwrap(), v.plaintext);
}

#[wasm_bindgen_test]
async fn open_rejects_tampering_rerouting_and_bad_framing() {
    let v = vector();
    let key = vector_key().await;
    let auth = Err(OpenError::Authentication);

    // Every single-bit flip, anywhere past the version byte.
    for i in 1..v.envelope.len() {
        let mut bad = v.envelope.clone();
        bad[i] ^= 0x01;
        assert_eq!(key.open(&bad, &v.aad).await, auth, "flipped byte {i}");
    }

    // A relay can't re-attribute, re-route or re-kind the ciphertext.
    for other in [
        aad(&v.room_sid, "mallory", Kind::Chat),
        aad(&v.room_sid, &v.sender, Kind::PrivateChat),
        aad(&v.room_sid, &v.sender, Kind::Data),
        aad("another-room", &v.sender, Kind::Chat),
        Vec::new(),
    ] {
        assert_eq!(key.open(&v.envelope, &other).await, auth);
    }

    let min = 1 + IV_LEN + TAG_LEN;
    assert_eq!(key.open(&[], &v.aad).await, Err(OpenError::TooShort));
    assert_eq!(
        key.open(&v.envelope[..min - 1], &v.aad).await,
        Err(OpenError::TooShort)
    );
    // Long enough to parse but cut inside the ciphertext: the tag fails.
    assert_eq!(
        key.open(&v.envelope[..v.envelope.len() - 1], &v.aad).await,
        auth
    );
    assert_eq!(key.open(&v.envelope[..min], &v.aad).await, auth);

    for version in [0, 2, 0xff] {
        let mut bad = v.envelope.clone();
        bad[0] = version;
        assert_eq!(
            key.open(&bad, &v.aad).await,
            Err(OpenError::UnknownVersion(version))
        );
    }
}

#[wasm_bindgen_test]
async fn seal_uses_fresh_ivs_and_round_trips() {
    let key = vector_key().await;
    let ad = aad("sid", "bob", Kind::Reaction);
    for text in [&b""[..], b"x", &[0xAB; 1024], "👍 ✓".as_bytes()] {
        let a = key.seal(text, &ad).await.unwrap();
        let b = key.seal(text, &ad).await.unwrap();
        assert_ne!(a, b, "two seals of one plaintext must differ");
        assert_ne!(a[1..1 + IV_LEN], b[1..1 + IV_LEN], "fresh IVs");
        assert_eq!(a.len(), 1 + IV_LEN + text.len() + TAG_LEN);
        assert_eq!(key.open(&a, &ad).await.unwrap(), text);
        assert_eq!(key.open(&b, &ad).await.unwrap(), text);
    }
}

#[wasm_bindgen_test]
async fn a_wrong_passphrase_has_another_check_value_and_cannot_open() {
    let v = vector();
    let right = vector_key().await;
    let wrong = RoomKey::derive("correct horse battery stapler", &v.room_sid, v.iterations)
        .await
        .unwrap();
    assert_ne!(wrong.check_value(), right.check_value());
    assert_eq!(
        wrong.open(&v.envelope, &v.aad).await,
        Err(OpenError::Authentication)
    );
    let sealed = wrong.seal(b"hi", &v.aad).await.unwrap();
    assert_eq!(
        right.open(&sealed, &v.aad).await,
        Err(OpenError::Authentication)
    );
}

#[wasm_bindgen_test]
async fn agrees_with_the_native_implementation() {
    // Few rounds so the wasm-compiled reference stays quick; the schedule is
    // the same at any count. The room sid is the salt, so it matters too.
    let iv = [7u8; IV_LEN];
    for (pass, sid, iterations) in [
        ("", "sid-0", 1),
        ("pass", "sid-1", 1),
        ("pass", "sid-2", 1000),
        ("pässwörd ✓ 🔑", "4f0c7c2e-9d1a-4b8e", 2000),
        (&"long ".repeat(40)[..], "s", 10),
    ] {
        let ours = RoomKey::derive(pass, sid, iterations).await.unwrap();
        let native = RoomKeys::derive(pass, sid, iterations);
        assert_eq!(ours.check_value(), native.check_value(), "{pass} {sid}");
        assert_eq!(ours.media_key(), native.media_key(), "{pass} {sid}");

        let ad = aad(sid, "alice", Kind::Hand);
        let sealed = ours.seal_with_iv(iv, b"raised", &ad).await.unwrap();
        assert_eq!(sealed, native.seal_with_iv(iv, b"raised", &ad));
        let theirs = native.seal_with_iv([9; IV_LEN], b"from native", &ad);
        assert_eq!(ours.open(&theirs, &ad).await.unwrap(), b"from native");
        let sealed = ours.seal(b"from browser", &ad).await.unwrap();
        assert_eq!(native.open(&sealed, &ad).unwrap(), b"from browser");
    }
}

#[wasm_bindgen_test]
async fn invalid_parameters_are_errors_not_panics() {
    // WebCrypto refuses zero PBKDF2 rounds; that must surface as an error.
    let err = RoomKey::derive("p", "s", 0).await.unwrap_err();
    assert!(
        matches!(err, CryptoError::Failed(ref m) if m.contains("PBKDF2")),
        "{err}"
    );
}

#[wasm_bindgen_test]
async fn open_many_matches_open_in_the_worker_and_on_the_main_thread() {
    let v = vector();
    let key = vector_key().await;
    let ad = aad("sid", "bob", Kind::Chat);
    let texts: Vec<Vec<u8>> = (0..70).map(|n| format!("batch {n}").into_bytes()).collect();
    let mut sealed = Vec::new();
    for t in &texts {
        sealed.push(key.seal(t, &ad).await.unwrap());
    }
    let mut flipped = v.envelope.clone();
    flipped[5] ^= 0x01;
    let mut versioned = v.envelope.clone();
    versioned[0] = 2;
    // The vector, then each way of not opening, between good ones.
    let mut items: Vec<(&[u8], &[u8])> = vec![(&v.envelope, &v.aad)];
    items.push((&flipped, &v.aad));
    items.push((&sealed[0], &v.aad)); // another sender's AAD
    items.push((&[], &ad));
    items.push((&versioned, &v.aad));
    items.extend(sealed.iter().map(|s| (s.as_slice(), ad.as_slice())));
    let auth = Err(OpenError::Authentication);

    for (batcher, offloads) in [(Batcher::new(), true), (Batcher::on_main_thread(), false)] {
        assert_eq!(batcher.offloads(), offloads);
        let out = key.open_many(&batcher, &items).await;
        assert_eq!(out.len(), items.len());
        assert_eq!(out[0].as_deref(), Ok(v.plaintext.as_bytes()));
        assert_eq!(out[1], auth);
        assert_eq!(out[2], auth);
        assert_eq!(out[3], Err(OpenError::TooShort));
        assert_eq!(out[4], Err(OpenError::UnknownVersion(2)));
        for (got, want) in out[5..].iter().zip(&texts) {
            assert_eq!(got.as_ref(), Ok(want));
        }
        // Nothing that can be opened: no call at all.
        assert_eq!(key.open_many(&batcher, &items[3..5]).await.len(), 2);
        assert!(key.open_many(&batcher, &[]).await.is_empty());
        assert_eq!(
            batcher.offloads(),
            offloads,
            "the worker answered every batch"
        );
    }

    // A key the worker has not seen yet: it takes it before the batch.
    let other = RoomKey::derive("another passphrase", &v.room_sid, 1000)
        .await
        .unwrap();
    let theirs = other.seal(b"other key", &ad).await.unwrap();
    let batcher = Batcher::new();
    for _ in 0..2 {
        let out = key
            .open_many(&batcher, &[(&sealed[1], &ad), (&sealed[2], &ad)])
            .await;
        assert_eq!(out[0].as_ref(), Ok(&texts[1]));
        let out = other
            .open_many(&batcher, &[(&theirs, &ad), (&sealed[1], &ad)])
            .await;
        assert_eq!(out[0].as_deref(), Ok(&b"other key"[..]));
        assert_eq!(out[1], auth, "the old key's message under the new key");
    }
}
