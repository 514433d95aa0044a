//! Media without LiveKit: the retry schedule and how the glue's events
//! read in Rust.

use quorum_client::livekit::MediaEvent;
use quorum_client::state::media::{retry_after, MAX_RETRY_SECS};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

#[wasm_bindgen_test]
fn retries_back_off_to_a_ceiling() {
    let waits: Vec<u32> = (1..=8).map(retry_after).collect();
    assert_eq!(waits, [2, 4, 8, 16, 32, 60, 60, 60]);
    assert_eq!(retry_after(u32::MAX), MAX_RETRY_SECS, "no overflow");
}

fn event(json: &str) -> Option<MediaEvent> {
    let v: JsValue = js_sys::JSON::parse(json).expect("JSON");
    MediaEvent::parse(&v)
}

#[wasm_bindgen_test]
fn glue_events_read_as_rust_and_unknown_ones_are_dropped() {
    assert!(matches!(
        event(r#"{"type":"connected"}"#),
        Some(MediaEvent::Connected)
    ));
    assert!(matches!(
        event(r#"{"type":"disconnected","reason":"SERVER_SHUTDOWN"}"#),
        Some(MediaEvent::Disconnected(r)) if r == "SERVER_SHUTDOWN"
    ));
    assert!(matches!(
        event(r#"{"type":"local","source":"camera","on":true}"#),
        Some(MediaEvent::Local(s, true)) if s == "camera"
    ));
    assert!(matches!(
        event(r#"{"type":"speakers","identities":["ann","bob"]}"#),
        Some(MediaEvent::Speakers(l)) if l == ["ann", "bob"]
    ));
    // A track without an element to show it in is not a track.
    assert!(event(r#"{"type":"track","sid":"TR_1"}"#).is_none());
    assert!(event(r#"{"type":"something_new"}"#).is_none());
    assert!(event(r#"{"no":"type"}"#).is_none());
}

#[wasm_bindgen_test]
fn the_level_meter_reads_silence_as_zero_and_a_full_swing_as_full() {
    use quorum_client::devices::level_of;
    assert_eq!(level_of(&[]), 0.0);
    assert_eq!(level_of(&[128; 64]), 0.0, "silence");
    let loud: Vec<u8> = (0..64).map(|i| if i % 2 == 0 { 0 } else { 255 }).collect();
    assert_eq!(level_of(&loud), 1.0, "clipped to full");
    let quiet: Vec<u8> = (0..64)
        .map(|i| if i % 2 == 0 { 120 } else { 136 })
        .collect();
    let l = level_of(&quiet);
    assert!(l > 0.0 && l < 0.5, "{l}");
}
