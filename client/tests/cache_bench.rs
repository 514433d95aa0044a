//! Browser benchmarks of the session cache: restoring a meeting after a
//! reload (1,000 cached chat messages read from IndexedDB and put into
//! the chat log the way the app does: validated, and in an E2EE room
//! decrypted first), and the writer's flush of one received message in a
//! long meeting's cache, against one bare write. Also run with the other
//! browser tests as smoke tests; `scripts/bench-browser.sh` prints the
//! figures.

use js_sys::{Function, Reflect};
use quorum_client::cache::{ChatRecord, SessionCache};
use quorum_client::crypto::RoomKey;
use quorum_client::state::chat::{accept_incoming, ChatLog};
use quorum_shared::e2ee::{aad, Kind};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::peer::ChatMessage;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

const MESSAGES: usize = 1000;
const ROOM_SID: &str = "bench-sid";

fn now_ms() -> f64 {
    let perf = Reflect::get(&js_sys::global(), &"performance".into()).unwrap();
    let now: Function = Reflect::get(&perf, &"now".into()).unwrap().unchecked_into();
    now.call0(&perf).unwrap().as_f64().unwrap()
}

fn say(line: &str) {
    web_sys::console::log_1(&JsValue::from_str(line));
}

fn message(i: usize) -> ChatMessage {
    ChatMessage {
        id: format!("m{i:05}"),
        name: "Bob".into(),
        text: format!("message number {i}, about as long as a chat line usually is"),
        sent_at_ms: 1_700_000_000_000 + i as u64,
    }
}

async fn fill(user: &str, key: Option<&RoomKey>) -> SessionCache {
    fill_with(user, key, MESSAGES).await
}

/// A fresh cache for `user` holding `count` chat records.
async fn fill_with(user: &str, key: Option<&RoomKey>, count: usize) -> SessionCache {
    let _ = quorum_client::cache::delete_session(ROOM_SID, user).await;
    let cache = SessionCache::open(ROOM_SID, user).await.expect("open");
    let mut records = Vec::with_capacity(count);
    for i in 0..count {
        let plain = message(i).encode();
        let payload = match key {
            Some(k) => k
                .seal(&plain, &aad(ROOM_SID, "bob", Kind::Chat))
                .await
                .unwrap(),
            None => plain,
        };
        records.push(ChatRecord {
            id: format!("m{i:05}"),
            seq: Some(i as u64 + 1),
            subject: "qr.r.chat.bob".into(),
            payload,
            received_ms: i as u64,
        });
    }
    cache.put_chat(&records).await.expect("write");
    cache
}

/// Reopens the cache and rebuilds the log as after a reload; returns ms.
async fn restore(user: &str, key: Option<&RoomKey>) -> f64 {
    let (room, me) = (RoomId::parse("r").unwrap(), UserId::parse(user).unwrap());
    let start = now_ms();
    let cache = SessionCache::open(ROOM_SID, user).await.expect("reopen");
    let records = cache.all_chat().await.expect("read");
    let mut log = ChatLog::new();
    for r in records {
        let plain = match key {
            Some(k) => k
                .open(&r.payload, &aad(ROOM_SID, "bob", Kind::Chat))
                .await
                .unwrap(),
            None => r.payload,
        };
        let entry = accept_incoming(&room, &me, &r.subject, &plain, 0).unwrap();
        log.insert(entry, r.seq);
    }
    let took = now_ms() - start;
    assert_eq!(log.len(), MESSAGES);
    cache.delete().await.expect("delete");
    took
}

#[wasm_bindgen_test]
async fn restore_1000_cached_messages() {
    drop(fill("plain", None).await);
    let plain = restore("plain", None).await;
    let key = RoomKey::derive("bench key", ROOM_SID, 1000).await.unwrap();
    drop(fill("sealed", Some(&key)).await);
    let sealed = restore("sealed", Some(&key)).await;
    say(&format!(
        "session cache: restoring {MESSAGES} cached messages took {plain:.1} ms (plain room), \
         {sealed:.1} ms (E2EE room, decrypted on restore)"
    ));
}

/// Records in the cache of a long meeting, just under the cap.
const LONG_MEETING: usize = 1_900;
/// Flushes timed.
const FLUSHES: usize = 50;

/// What the writer does for one live message with the reader following
/// (`state/persist/writer.rs`): the record and the read position.
async fn flush_one(cache: &SessionCache, i: usize) {
    let id = format!("live{i:05}");
    let record = ChatRecord {
        id: id.clone(),
        seq: None,
        subject: "qr.r.chat.bob".into(),
        payload: message(i).encode(),
        received_ms: 1_800_000_000_000 + i as u64,
    };
    let read = (
        quorum_client::cache::KEY_LAST_READ,
        serde_json::json!({ "id": id }),
    );
    cache
        .put_chat_and_session(&[record], &[read])
        .await
        .expect("write");
}

#[wasm_bindgen_test]
async fn flush_one_message_in_a_long_meeting() {
    let cache = fill_with("flush", None, LONG_MEETING).await;
    // The baseline first, on the same database: one write, one transaction.
    let start = now_ms();
    for i in 0..FLUSHES {
        cache
            .put_session("bench", &serde_json::json!(i))
            .await
            .expect("bare write");
    }
    let bare = (now_ms() - start) / FLUSHES as f64;
    let start = now_ms();
    for i in 0..FLUSHES {
        flush_one(&cache, i).await;
    }
    let flush = (now_ms() - start) / FLUSHES as f64;
    assert_eq!(
        cache.chat_count().await.expect("count") as usize,
        LONG_MEETING + FLUSHES
    );
    cache.delete().await.expect("delete");
    say(&format!(
        "session cache: one received message written in a cache of {LONG_MEETING} took \
         {flush:.2} ms (mean of {FLUSHES}); one bare write {bare:.2} ms: {:.1}x",
        flush / bare.max(1e-3)
    ));
}
