//! Fuzzes the E2EE envelope: `RoomKeys::open` on arbitrary bytes, and the
//! seal/open contract on fuzzer-chosen IV, AAD and plaintext.
//!
//! Envelopes arrive from other participants through the relay, so `open`
//! must reject anything malformed with an error, never a panic, and must
//! reject every alteration of a genuine envelope or of its AAD.
//!
//! Input layout: `iv (12) || flip (2) || aad_len (1) || aad || plaintext`.
//! The whole input is also fed to `open` as a raw envelope.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use quorum_shared::e2ee::{self, Kind, OpenError, RoomKeys, IV_LEN, TAG_LEN, VERSION};

/// Key derivation is deliberately slow (PBKDF2); with one iteration and a
/// single derivation per process, every execution is spent on the envelope
/// code instead. The iteration count does not affect the envelope format.
static KEYS: LazyLock<RoomKeys> =
    LazyLock::new(|| RoomKeys::derive("fuzz passphrase", "RM_fuzz", 1));
/// Same room, different passphrase: must never open `KEYS`' envelopes.
static OTHER: LazyLock<RoomKeys> =
    LazyLock::new(|| RoomKeys::derive("other passphrase", "RM_fuzz", 1));

const MIN_LEN: usize = 1 + IV_LEN + TAG_LEN;

/// `open` on bytes we did not seal: only the documented errors may come out,
/// each for its documented reason.
fn check_raw(envelope: &[u8], aad: &[u8]) {
    match KEYS.open(envelope, aad) {
        Err(OpenError::TooShort) => assert!(envelope.len() < MIN_LEN),
        Err(OpenError::UnknownVersion(v)) => {
            assert!(envelope.len() >= MIN_LEN);
            assert_eq!(v, envelope[0]);
            assert_ne!(v, VERSION);
        }
        Err(OpenError::Authentication) => {
            assert!(envelope.len() >= MIN_LEN && envelope[0] == VERSION)
        }
        // Forging a tag is not expected, but if bytes do open they must be
        // exactly what sealing the plaintext under the same IV produces.
        Ok(pt) => {
            let iv: [u8; IV_LEN] = envelope[1..1 + IV_LEN].try_into().unwrap();
            assert_eq!(KEYS.seal_with_iv(iv, &pt, aad), envelope);
        }
    }
}

fn flip_bit(bytes: &mut [u8], bit: usize) {
    bytes[bit / 8] ^= 1 << (bit % 8);
}

fuzz_target!(|data: &[u8]| {
    // A realistic AAD as well as fuzzer-chosen ones below.
    let real_aad = e2ee::aad("RM_fuzz", "PA_alice", Kind::Chat);
    check_raw(data, &real_aad);

    if data.len() < IV_LEN + 3 {
        return;
    }
    let (iv, rest) = data.split_at(IV_LEN);
    let iv: [u8; IV_LEN] = iv.try_into().unwrap();
    let flip = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
    let aad_len = usize::from(rest[2]);
    let rest = &rest[3..];
    let (aad, plaintext) = rest.split_at(aad_len.min(rest.len()));
    check_raw(data, aad);

    // Round trip: the documented layout, and open returns the plaintext.
    let sealed = KEYS.seal_with_iv(iv, plaintext, aad);
    assert_eq!(sealed.len(), MIN_LEN + plaintext.len());
    assert_eq!(sealed[0], VERSION);
    assert_eq!(&sealed[1..1 + IV_LEN], &iv);
    assert_eq!(KEYS.open(&sealed, aad).as_deref(), Ok(plaintext));

    // Another key must not open it.
    assert_eq!(OTHER.open(&sealed, aad), Err(OpenError::Authentication));

    // Any single flipped bit is caught: in the version byte as an unknown
    // version, anywhere else (IV, ciphertext, tag) as a failed tag.
    let bit = flip % (sealed.len() * 8);
    let mut tampered = sealed.clone();
    flip_bit(&mut tampered, bit);
    let expected = if bit < 8 {
        OpenError::UnknownVersion(tampered[0])
    } else {
        OpenError::Authentication
    };
    assert_eq!(KEYS.open(&tampered, aad), Err(expected));

    // The AAD is bound too: a flipped bit in it, or an extra byte, fails.
    if !aad.is_empty() {
        let mut bad_aad = aad.to_vec();
        flip_bit(&mut bad_aad, flip % (aad.len() * 8));
        assert_eq!(KEYS.open(&sealed, &bad_aad), Err(OpenError::Authentication));
    }
    let mut longer_aad = aad.to_vec();
    longer_aad.push(0);
    assert_eq!(
        KEYS.open(&sealed, &longer_aad),
        Err(OpenError::Authentication)
    );

    // Cutting the envelope short loses (part of) the tag.
    let truncated = &sealed[..sealed.len() - 1];
    let expected = if truncated.len() < MIN_LEN {
        OpenError::TooShort
    } else {
        OpenError::Authentication
    };
    assert_eq!(KEYS.open(truncated, aad), Err(expected));
});
