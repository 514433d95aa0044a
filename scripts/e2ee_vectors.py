#!/usr/bin/env python3
"""Computes shared/vectors/e2ee.json independently of our Rust and WebCrypto
code, from Python's hashlib/hmac and the `cryptography` package's AES-GCM.

    .tools/venv/bin/python scripts/e2ee_vectors.py > shared/vectors/e2ee.json

The key schedule it follows is the one documented in shared/src/e2ee.rs;
shared/tests/vectors_script.rs checks that the committed file is exactly
what this prints. Its own dependency: `cryptography` (scripts/setup.sh
--test installs a pinned version into .tools/venv).
"""

import hashlib
import hmac
import json
import sys

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PASSPHRASE = "correct horse battery staple"
ROOM_SID = "4f0c7c2e-9d1a-4b8e-a3f5-2c6d8e9f0a1b"
ITERATIONS = 600_000
SENDER = "alice"
KIND = "chat"
IV = bytes(range(12))
PLAINTEXT = "Hello, Bob! \u2713 end-to-end"
VERSION = b"\x01"


def hkdf_sha256(ikm: bytes, info: bytes, length: int = 32) -> bytes:
    """RFC 5869 with an empty salt (a string of HashLen zero bytes)."""
    prk = hmac.new(b"\x00" * 32, ikm, hashlib.sha256).digest()
    out, block, counter = b"", b"", 1
    while len(out) < length:
        block = hmac.new(prk, block + info + bytes([counter]), hashlib.sha256).digest()
        out += block
        counter += 1
    return out[:length]


def vectors() -> dict:
    ikm = hashlib.pbkdf2_hmac(
        "sha256", PASSPHRASE.encode(), ROOM_SID.encode(), ITERATIONS, 32
    )
    enc_key = hkdf_sha256(ikm, b"quorum e2ee v1 aes-gcm")
    check_key = hkdf_sha256(ikm, b"quorum e2ee v1 key check")
    check = hmac.new(check_key, b"quorum key check v1", hashlib.sha256).digest()[:8]
    media_key = hkdf_sha256(ikm, b"quorum e2ee v1 livekit media")
    aad = f"{ROOM_SID}|{SENDER}|{KIND}"
    sealed = AESGCM(enc_key).encrypt(IV, PLAINTEXT.encode(), aad.encode())
    return {
        "_comment": "Computed independently with Python's hashlib/cryptography"
        " (scripts/e2ee_vectors.py); checked natively"
        " (shared/src/e2ee/tests.rs) and in Chromium with WebCrypto"
        " (client/tests/web).",
        "passphrase": PASSPHRASE,
        "room_sid": ROOM_SID,
        "iterations": ITERATIONS,
        "key_check_hex": check.hex(),
        "fingerprint": " ".join(f"{b:02X}" for b in check),
        "media_key_hex": media_key.hex(),
        "envelope": {
            "sender": SENDER,
            "kind": KIND,
            "iv_hex": IV.hex(),
            "plaintext": PLAINTEXT,
            "aad": aad,
            "envelope_hex": (VERSION + IV + sealed).hex(),
        },
    }


if __name__ == "__main__":
    sys.stdout.reconfigure(encoding="utf-8")
    print(json.dumps(vectors(), indent=2, ensure_ascii=False))
