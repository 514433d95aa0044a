//! A browser benchmark of the WebCrypto E2EE layer ([`RoomKey`]): key
//! derivation at the production 600k PBKDF2 rounds against a bare
//! `crypto.subtle.deriveBits` on the same page (our overhead should stay
//! within 1.2×), and seal/open throughput for 1 KB messages.
//!
//! It takes about a second, so it also runs with the other browser tests
//! (as a smoke test; the runner hides its output there). For figures, run
//! `scripts/bench-browser.sh`: release mode, printed in the terminal.

use js_sys::{Array, Function, Object, Reflect, Uint8Array};
use quorum_client::crypto::RoomKey;
use quorum_shared::e2ee::{aad, Kind, PBKDF2_ITERATIONS};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;
use web_sys::{CryptoKey, SubtleCrypto};

wasm_bindgen_test_configure!(run_in_browser);

const RUNS: usize = 3;
const MESSAGES: usize = 2000;
const MESSAGE_LEN: usize = 1024;
const PASSPHRASE: &str = "correct horse battery staple";
const ROOM_SID: &str = "4f0c7c2e-9d1a-4b8e-a3f5-2c6d8e9f0a1b";

fn global(name: &str) -> JsValue {
    Reflect::get(&js_sys::global(), &name.into()).unwrap()
}

/// `performance.now()`, from the global so that no window is needed.
fn now_ms() -> f64 {
    let perf = global("performance");
    let now: Function = Reflect::get(&perf, &"now".into()).unwrap().unchecked_into();
    now.call0(&perf).unwrap().as_f64().unwrap()
}

/// To the page's console, which wasm-bindgen-test-runner copies to the
/// terminal when given `--nocapture` (and otherwise only for a failure).
fn say(line: &str) {
    web_sys::console::log_1(&line.into());
}

fn obj(entries: &[(&str, JsValue)]) -> Object {
    let o = Object::new();
    for (k, v) in entries {
        Reflect::set(&o, &(*k).into(), v).unwrap();
    }
    o
}

/// The baseline: PBKDF2 straight through WebCrypto, import included, as a
/// page without our wrapper would do it.
async fn raw_pbkdf2(subtle: &SubtleCrypto) -> Uint8Array {
    let usages = Array::of1(&"deriveBits".into());
    let algo = obj(&[("name", "PBKDF2".into())]);
    let pass = Uint8Array::from(PASSPHRASE.as_bytes());
    let key = subtle
        .import_key_with_object("raw", &pass, &algo, false, &usages)
        .unwrap();
    let key: CryptoKey = JsFuture::from(key).await.unwrap().unchecked_into();
    let params = obj(&[
        ("name", "PBKDF2".into()),
        ("hash", "SHA-256".into()),
        ("salt", Uint8Array::from(ROOM_SID.as_bytes()).into()),
        ("iterations", PBKDF2_ITERATIONS.into()),
    ]);
    let bits = subtle.derive_bits_with_object(&params, &key, 256).unwrap();
    Uint8Array::new(&JsFuture::from(bits).await.unwrap())
}

fn median(xs: &[f64]) -> f64 {
    let mut xs = xs.to_vec();
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

#[wasm_bindgen_test]
async fn bench_derive_seal_open() {
    let crypto = global("crypto");
    let subtle: SubtleCrypto = Reflect::get(&crypto, &"subtle".into())
        .unwrap()
        .unchecked_into();

    // Warm up both paths once, so neither pays for first use.
    let key = RoomKey::derive(PASSPHRASE, ROOM_SID, 1).await.unwrap();
    raw_pbkdf2(&subtle).await;

    // Interleaved, first one then the other, so neither gains from going
    // first and a slow spell on the machine hits both alike.
    let (mut ours, mut raw) = (Vec::new(), Vec::new());
    for run in 0..RUNS {
        for ours_now in [run % 2 == 0, run % 2 == 1] {
            let t = now_ms();
            if ours_now {
                RoomKey::derive(PASSPHRASE, ROOM_SID, PBKDF2_ITERATIONS)
                    .await
                    .unwrap();
                ours.push(now_ms() - t);
            } else {
                raw_pbkdf2(&subtle).await;
                raw.push(now_ms() - t);
            }
        }
    }
    let (ours_ms, raw_ms) = (median(&ours), median(&raw));
    let ratio = ours_ms / raw_ms;
    // The best runs too: on a busy machine they are the steadier estimate
    // of what each path costs by itself.
    let best = |xs: &[f64]| xs.iter().copied().fold(f64::INFINITY, f64::min);
    say(&format!(
        "derive @ {PBKDF2_ITERATIONS} PBKDF2 rounds, {RUNS} runs each: \
         RoomKey::derive median {ours_ms:.1} ms {ours:.1?}, \
         raw deriveBits median {raw_ms:.1} ms {raw:.1?}; \
         ratio {ratio:.3}x median ({}), {:.3}x best",
        if ratio <= 1.2 {
            "within the 1.2x target"
        } else {
            "OVER the 1.2x target"
        },
        best(&ours) / best(&raw),
    ));

    let ad = aad(ROOM_SID, "alice", Kind::Chat);
    let msg: Vec<u8> = (0..MESSAGE_LEN).map(|i| i as u8).collect();
    let mb = (MESSAGES * MESSAGE_LEN) as f64 / 1e6;

    let mut sealed = Vec::with_capacity(MESSAGES);
    let t = now_ms();
    for _ in 0..MESSAGES {
        sealed.push(key.seal(&msg, &ad).await.unwrap());
    }
    let secs = (now_ms() - t) / 1000.0;
    say(&format!(
        "seal {MESSAGES} x {MESSAGE_LEN} B: {:.0} msg/s, {:.2} MB/s ({:.1} ms)",
        MESSAGES as f64 / secs,
        mb / secs,
        secs * 1000.0
    ));

    let t = now_ms();
    for env in &sealed {
        let pt = key.open(env, &ad).await.unwrap();
        assert_eq!(pt.len(), MESSAGE_LEN);
    }
    let secs = (now_ms() - t) / 1000.0;
    say(&format!(
        "open {MESSAGES} x {MESSAGE_LEN} B: {:.0} msg/s, {:.2} MB/s ({:.1} ms)",
        MESSAGES as f64 / secs,
        mb / secs,
        secs * 1000.0
    ));
}
