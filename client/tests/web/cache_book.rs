//! The session cache's chat bookkeeping: a handle remembers the write
//! counter and an upper bound of the records from its own writes, and the
//! read position goes in the same transaction as the chat.

use quorum_client::cache::{ChatRecord, SessionCache, KEY_LAST_READ, MAX_CHAT_RECORDS};
use quorum_client::util::random_id;
use serde_json::json;
use wasm_bindgen_test::*;

fn record(id: &str, received_ms: u64) -> ChatRecord {
    ChatRecord {
        id: id.to_string(),
        seq: None,
        subject: format!("qr.r.chat.{id}"),
        payload: id.as_bytes().to_vec(),
        received_ms,
    }
}

fn ids(records: &[ChatRecord]) -> Vec<&str> {
    records.iter().map(|r| r.id.as_str()).collect()
}

#[wasm_bindgen_test]
async fn write_order_carries_on_across_handles_and_copies_do_not_fool_the_cap() {
    let room = format!("room-{}", random_id());
    let first = SessionCache::open(&room, "u").await.unwrap();
    // All in the same millisecond: only the write number orders them.
    first
        .put_chat(&[record("a", 5), record("b", 5)])
        .await
        .unwrap();
    drop(first);
    // A reload's handle reads the counter the first one left.
    let cache = SessionCache::open(&room, "u").await.unwrap();
    cache.put_chat(&[record("c", 5)]).await.unwrap();
    assert_eq!(ids(&cache.all_chat().await.unwrap()), ["a", "b", "c"]);

    // Copies replace, so the handle's bound runs ahead of the store: many
    // copies past the cap prune nothing that is not there.
    let copies: Vec<_> = (0..MAX_CHAT_RECORDS).map(|_| record("c", 5)).collect();
    cache.put_chat(&copies).await.unwrap();
    cache.put_chat(&[record("d", 5)]).await.unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), 4);

    // And the cap still holds when the store really fills, one at a time.
    let max = u64::from(MAX_CHAT_RECORDS);
    let filler: Vec<_> = (0..max - 4)
        .map(|n| record(&format!("f{n}"), 10 + n))
        .collect();
    cache.put_chat(&filler).await.unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), MAX_CHAT_RECORDS);
    cache.put_chat(&[record("last", 10 + max)]).await.unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), MAX_CHAT_RECORDS / 2);
    let kept = cache.all_chat().await.unwrap();
    assert_eq!(kept.last().map(|r| r.id.as_str()), Some("last"));
    cache.delete().await.unwrap();
}

#[wasm_bindgen_test]
async fn chat_and_session_values_are_written_together() {
    let room = format!("room-{}", random_id());
    let cache = SessionCache::open(&room, "u").await.unwrap();
    let read = json!({ "id": "m1" });
    cache
        .put_chat_and_session(&[record("m1", 1)], &[(KEY_LAST_READ, read.clone())])
        .await
        .unwrap();
    assert_eq!(ids(&cache.all_chat().await.unwrap()), ["m1"]);
    assert_eq!(cache.get_session(KEY_LAST_READ).await.unwrap(), Some(read));
    // Session values alone leave the chat as it is.
    let later = json!({ "id": "m2" });
    cache
        .put_chat_and_session(&[], &[(KEY_LAST_READ, later.clone()), ("cursor", json!(9))])
        .await
        .unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), 1);
    assert_eq!(cache.get_session(KEY_LAST_READ).await.unwrap(), Some(later));
    assert_eq!(cache.get_session("cursor").await.unwrap(), Some(json!(9)));
    cache.delete().await.unwrap();
}
