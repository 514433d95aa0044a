//! Native checks of the key schedule and envelope against the shared test
//! vectors (`shared/vectors/e2ee.json`), which the browser checks too.

use super::*;

#[derive(serde::Deserialize)]
struct Vectors {
    passphrase: String,
    room_sid: String,
    iterations: u32,
    key_check_hex: String,
    fingerprint: String,
    media_key_hex: String,
    envelope: EnvelopeVector,
}

#[derive(serde::Deserialize)]
struct EnvelopeVector {
    sender: String,
    kind: String,
    iv_hex: String,
    plaintext: String,
    aad: String,
    envelope_hex: String,
}

fn vectors() -> Vectors {
    serde_json::from_str(include_str!("../../vectors/e2ee.json")).expect("vectors parse")
}

fn kind(s: &str) -> Kind {
    match s {
        "chat" => Kind::Chat,
        "private_chat" => Kind::PrivateChat,
        "reaction" => Kind::Reaction,
        "hand" => Kind::Hand,
        _ => Kind::Data,
    }
}

#[test]
fn vectors_match_natively() {
    let v = vectors();
    assert_eq!(v.iterations, PBKDF2_ITERATIONS);
    let keys = RoomKeys::derive(&v.passphrase, &v.room_sid, v.iterations);
    assert_eq!(hex::encode(keys.check_value()), v.key_check_hex);
    assert_eq!(fingerprint(&keys.check_value()), v.fingerprint);
    assert_eq!(hex::encode(keys.media_key()), v.media_key_hex);
    let e = &v.envelope;
    let a = aad(&v.room_sid, &e.sender, kind(&e.kind));
    assert_eq!(String::from_utf8(a.clone()).unwrap(), e.aad);
    let iv: [u8; IV_LEN] = hex::decode(&e.iv_hex).unwrap().try_into().unwrap();
    let sealed = keys.seal_with_iv(iv, e.plaintext.as_bytes(), &a);
    assert_eq!(hex::encode(&sealed), e.envelope_hex);
    assert_eq!(keys.open(&sealed, &a).unwrap(), e.plaintext.as_bytes());
}

#[test]
fn tampering_fails_authentication() {
    let keys = RoomKeys::derive("pass", "sid", 1000);
    let a = aad("sid", "alice", Kind::Chat);
    let sealed = keys.seal_with_iv([7; IV_LEN], b"hello", &a);
    // Any flipped bit in IV, ciphertext or tag.
    for i in 1..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 1;
        assert_eq!(
            keys.open(&bad, &a),
            Err(OpenError::Authentication),
            "byte {i}"
        );
    }
    // Swapped sender, room or kind in the AAD: a replay under another
    // user's subject fails.
    for other in [
        aad("sid", "bob", Kind::Chat),
        aad("sid2", "alice", Kind::Chat),
        aad("sid", "alice", Kind::PrivateChat),
    ] {
        assert_eq!(keys.open(&sealed, &other), Err(OpenError::Authentication));
    }
    // A different passphrase.
    let other = RoomKeys::derive("other", "sid", 1000);
    assert_eq!(other.open(&sealed, &a), Err(OpenError::Authentication));
    assert_ne!(other.check_value(), keys.check_value());
    // Structure.
    assert_eq!(keys.open(&sealed[..20], &a), Err(OpenError::TooShort));
    let mut v2 = sealed.clone();
    v2[0] = 2;
    assert_eq!(keys.open(&v2, &a), Err(OpenError::UnknownVersion(2)));
}

#[test]
fn salt_is_the_session_id() {
    let a = RoomKeys::derive("pass", "session-1", 1000);
    let b = RoomKeys::derive("pass", "session-2", 1000);
    assert_ne!(a.check_value(), b.check_value());
}

#[test]
fn a_private_message_cannot_be_rerouted() {
    let keys = RoomKeys::derive("k", "sid", 1);
    let to_bob = aad("sid", &dm_party("alice", "bob"), Kind::PrivateChat);
    let sealed = keys.seal_with_iv([7; IV_LEN], b"just for bob", &to_bob);
    assert_eq!(keys.open(&sealed, &to_bob).unwrap(), b"just for bob");
    // Relayed to carol as if alice had written to her, or passed off as
    // bob's own or as public chat: none of it opens.
    for other in [
        aad("sid", &dm_party("alice", "carol"), Kind::PrivateChat),
        aad("sid", &dm_party("bob", "alice"), Kind::PrivateChat),
        aad("sid", "alice", Kind::PrivateChat),
        aad("sid", "alice", Kind::Chat),
    ] {
        assert_eq!(keys.open(&sealed, &other), Err(OpenError::Authentication));
    }
}
