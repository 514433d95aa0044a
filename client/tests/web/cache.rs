//! The IndexedDB session cache in real Chromium: writes and reads, the
//! `lastAccessed` stamp, chat round trips, deletion, and ageing out with
//! an injected clock. Run with the rest of `tests/web.rs`, e.g.
//! `cargo test -p quorum-client --target wasm32-unknown-unknown --test web cache`.

use std::cell::Cell;
use std::rc::Rc;

use quorum_client::cache::{
    cleanup_stale, database_names, db_name, delete_session, is_ours, CacheError, ChatRecord,
    SessionCache, KEY_DISPLAY, KEY_LAST_READ, MAX_CHAT_RECORDS, SCHEMA_VERSION,
};
use quorum_client::join::JoinToken;
use quorum_client::util::random_id;
use rexie::{ObjectStore, Rexie, TransactionMode};
use serde_json::json;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

// ---------- helpers ---------- //

/// A room id no other test uses, so tests never see each other's data.
fn room() -> String {
    format!("room-{}", random_id())
}

/// A clock the test moves by hand.
fn clock(start: u64) -> (Rc<Cell<u64>>, impl Fn() -> u64 + 'static) {
    let now = Rc::new(Cell::new(start));
    let reader = now.clone();
    (now, move || reader.get())
}

async fn names() -> Vec<String> {
    database_names().await.unwrap()
}

fn record(id: &str, seq: Option<u64>, received_ms: u64) -> ChatRecord {
    ChatRecord {
        id: id.to_string(),
        seq,
        subject: format!("qr.r.chat.{id}"),
        payload: format!("payload {id}").into_bytes(),
        received_ms,
    }
}

/// A database not made by the cache: version 1 with empty `stores`.
async fn raw_db(name: &str, stores: &[&str]) -> Rexie {
    let mut builder = Rexie::builder(name).version(1);
    for s in stores {
        builder = builder.add_object_store(ObjectStore::new(s));
    }
    builder.build().await.unwrap()
}

/// A session database of ours last written at `at`.
async fn session_at(room: &str, at: u64) -> SessionCache {
    let (_, clock) = clock(at);
    SessionCache::open_with_clock(room, "u", clock)
        .await
        .unwrap()
}

// ---------- tests ---------- //

#[wasm_bindgen_test]
fn names_carry_our_prefix() {
    assert_eq!(db_name("sid1", "alice"), "quorum-session:sid1:alice");
    assert!(is_ours("quorum-session:sid1:alice"));
    assert!(!is_ours("x-quorum-session:sid1:alice"));
    assert!(!is_ours("Quorum-Session:sid1:alice"));
}

#[wasm_bindgen_test]
async fn session_values_are_written_read_and_deleted() {
    let room = room();
    let cache = SessionCache::open(&room, "alice").await.unwrap();
    assert_eq!(cache.name(), db_name(&room, "alice"));
    assert!(names().await.contains(&db_name(&room, "alice")));

    assert_eq!(cache.token().await.unwrap(), None);
    assert_eq!(cache.get_session(KEY_DISPLAY).await.unwrap(), None);
    let token = JoinToken::new("head.claims.sig").unwrap();
    cache.put_token(&token).await.unwrap();
    let display = json!({"grid": true, "volume": 0.5, "names": ["a", "b"], "x": null});
    cache.put_session(KEY_DISPLAY, &display).await.unwrap();
    cache.put_session(KEY_LAST_READ, &json!(42)).await.unwrap();
    cache
        .put_notification("n2", &json!({"t": "b"}))
        .await
        .unwrap();
    cache.put_notification("n1", &json!("a")).await.unwrap();
    cache.delete_notification("n2").await.unwrap();
    cache.put_notification("n3", &json!([1])).await.unwrap();
    drop(cache);

    // A reload: a new connection sees everything.
    let cache = SessionCache::open(&room, "alice").await.unwrap();
    assert_eq!(cache.token().await.unwrap(), Some(token.clone()));
    assert_eq!(cache.get_session(KEY_DISPLAY).await.unwrap(), Some(display));
    assert_eq!(
        cache.get_session(KEY_LAST_READ).await.unwrap(),
        Some(json!(42))
    );
    assert_eq!(
        cache.notifications().await.unwrap(),
        [
            ("n1".to_string(), json!("a")),
            ("n3".to_string(), json!([1]))
        ]
    );
    // Another user in the same room has a database of their own.
    let bob = SessionCache::open(&room, "bob").await.unwrap();
    assert_eq!(bob.token().await.unwrap(), None);

    cache.delete().await.unwrap();
    delete_session(&room, "bob").await.unwrap();
    drop(bob);
    let all = names().await;
    assert!(!all.contains(&db_name(&room, "alice")), "{all:?}");
    assert!(!all.contains(&db_name(&room, "bob")), "{all:?}");

    let cache = SessionCache::open(&room, "alice").await.unwrap();
    assert_eq!(cache.token().await.unwrap(), None, "a fresh database");
    cache.delete().await.unwrap();
}

#[wasm_bindgen_test]
async fn every_write_refreshes_last_accessed() {
    let room = room();
    let (now, clock) = clock(1_000);
    let cache = SessionCache::open_with_clock(&room, "u", clock)
        .await
        .unwrap();
    assert_eq!(
        cache.last_accessed().await.unwrap(),
        Some(1_000),
        "open marks it"
    );

    now.set(2_000);
    cache.get_session("k").await.unwrap();
    cache.all_chat().await.unwrap();
    cache.notifications().await.unwrap();
    assert_eq!(
        cache.last_accessed().await.unwrap(),
        Some(1_000),
        "reads do not"
    );

    let writes: [(u64, &str); 6] = [
        (3_000, "put_session"),
        (4_000, "put_token"),
        (5_000, "put_chat"),
        (6_000, "put_notification"),
        (7_000, "delete_notification"),
        (8_000, "touch"),
    ];
    for (at, what) in writes {
        now.set(at);
        match what {
            "put_session" => cache.put_session("k", &json!(1)).await,
            "put_token" => cache.put_token(&JoinToken::new("t").unwrap()).await,
            "put_chat" => cache.put_chat(&[record("m", None, 1)]).await,
            "put_notification" => cache.put_notification("n", &json!(1)).await,
            "delete_notification" => cache.delete_notification("n").await,
            _ => cache.touch().await,
        }
        .unwrap();
        assert_eq!(cache.last_accessed().await.unwrap(), Some(at), "{what}");
    }
    cache.delete().await.unwrap();
}

#[wasm_bindgen_test]
async fn chat_records_round_trip_with_binary_payloads_in_order() {
    let room = room();
    let cache = SessionCache::open(&room, "u").await.unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), 0);
    assert_eq!(cache.all_chat().await.unwrap(), []);

    let mut binary = record("bin", None, 50);
    binary.payload = (0..=255u8).chain([0, 0, 255]).collect();
    let mut empty = record("empty", Some(7), 1);
    empty.payload = Vec::new();
    // Live ones (no sequence) in two batches, out of id order; two in the
    // same millisecond keep the order they were written in.
    cache
        .put_chat(&[record("z-live", None, 20), binary.clone()])
        .await
        .unwrap();
    cache
        .put_chat(&[
            record("h3", Some(3), 60),
            record("b-live", None, 20),
            empty.clone(),
            record("h1", Some(1), 70),
            record("a-live", None, 10),
        ])
        .await
        .unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), 7);

    let all = cache.all_chat().await.unwrap();
    let ids: Vec<_> = all.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(
        ids,
        ["h1", "h3", "empty", "a-live", "z-live", "b-live", "bin"]
    );
    assert_eq!(all[2], empty);
    assert_eq!(all[6], binary);
    assert_eq!(all[0], record("h1", Some(1), 70));

    // A copy replaces: history later tells the live message's sequence.
    cache
        .put_chat(&[record("a-live", Some(2), 10)])
        .await
        .unwrap();
    let all = cache.all_chat().await.unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), 7);
    assert_eq!(all[1], record("a-live", Some(2), 10));

    // An empty batch is fine (and still a write).
    cache.put_chat(&[]).await.unwrap();
    cache.delete().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_long_meeting_keeps_the_newest_chat_only() {
    let cache = SessionCache::open(&room(), "u").await.unwrap();
    let max = MAX_CHAT_RECORDS as u64;
    // Up to the limit, everything stays.
    for batch in 0..max / 100 {
        let records: Vec<_> = (0..100)
            .map(|i| {
                let n = batch * 100 + i;
                record(&format!("m{n}"), Some(n + 1), 1_000 + n)
            })
            .collect();
        cache.put_chat(&records).await.unwrap();
    }
    assert_eq!(cache.chat_count().await.unwrap(), MAX_CHAT_RECORDS);
    // One past it: the oldest received go, down to half.
    cache
        .put_chat(&[record("newest", None, 1_000 + max)])
        .await
        .unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), MAX_CHAT_RECORDS / 2);
    let all = cache.all_chat().await.unwrap();
    let first_kept = max / 2 + 1;
    assert_eq!(all[0].id, format!("m{first_kept}"));
    assert_eq!(all.last().unwrap().id, "newest");
    cache.delete().await.unwrap();
}

#[wasm_bindgen_test]
async fn a_session_stored_by_the_first_schema_is_upgraded_in_place() {
    // Version 1 as an earlier release made it: the four stores, chat keyed
    // by `id`, no index, and a token worth keeping.
    let room = room();
    let name = db_name(&room, "u");
    let v1 = Rexie::builder(&name)
        .version(1)
        .add_object_store(ObjectStore::new("metadata"))
        .add_object_store(ObjectStore::new("session"))
        .add_object_store(ObjectStore::new("chat").key_path("id"))
        .add_object_store(ObjectStore::new("notifications"))
        .build()
        .await
        .unwrap();
    let tx = v1
        .transaction(&["session"], TransactionMode::ReadWrite)
        .unwrap();
    tx.store("session")
        .unwrap()
        .put(
            &JsValue::from_str("t.kept.t"),
            Some(&JsValue::from_str("token")),
        )
        .await
        .unwrap();
    tx.done().await.unwrap();
    v1.close();

    const { assert!(SCHEMA_VERSION > 1) };
    let cache = SessionCache::open(&room, "u").await.unwrap();
    assert_eq!(
        cache.token().await.unwrap().map(|t| t.expose().to_string()),
        Some("t.kept.t".to_string())
    );
    // The new index works on the upgraded store: past the limit, the
    // oldest written go.
    let max = MAX_CHAT_RECORDS as u64;
    let records: Vec<_> = (0..=max)
        .map(|n| record(&format!("m{n}"), None, 1_000 + n))
        .collect();
    cache.put_chat(&records).await.unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), MAX_CHAT_RECORDS / 2);
    let all = cache.all_chat().await.unwrap();
    assert_eq!(all[0].id, format!("m{}", max / 2 + 1));
    cache.delete().await.unwrap();
}

#[wasm_bindgen_test]
async fn cleanup_ages_out_our_stale_databases_and_nothing_else() {
    let day = 86_400_000;
    // Real time as the base, so databases other tests leave behind are not
    // swept by the first run; the clock is still ours to move.
    let now = js_sys::Date::now() as u64;
    let max_age = 7 * day;

    let fresh = session_at(&room(), now - day).await;
    let fresh_name = fresh.name().to_string();
    drop(fresh);
    // Exactly at the cut-off is still kept.
    let edge = session_at(&room(), now - max_age).await;
    let edge_name = edge.name().to_string();
    drop(edge);
    // Kept open, as if by a forgotten component: cleanup must not hang on it.
    let stale = session_at(&room(), now - max_age - 1).await;
    let stale_name = stale.name().to_string();
    // Ours by name but never marked: a crash before the first write, or a
    // database left by an old version.
    let unmarked_name = db_name(&room(), "u");
    raw_db(&unmarked_name, &["chat"]).await.close();
    let empty_meta_name = db_name(&room(), "u");
    raw_db(&empty_meta_name, &["metadata"]).await.close();
    // Not ours, however old or empty: someone else's data. One of them is
    // even open while cleanup runs.
    let foreign_name = format!("other-app:{}", random_id());
    let foreign = raw_db(&foreign_name, &["metadata"]).await;
    let tx = foreign
        .transaction(&["metadata"], TransactionMode::ReadWrite)
        .unwrap();
    let store = tx.store("metadata").unwrap();
    store
        .put(&JsValue::from_f64(0.0), Some(&"lastAccessed".into()))
        .await
        .unwrap();
    tx.done().await.unwrap();
    let lookalike_name = format!("x-quorum-session:{}:u", random_id());
    raw_db(&lookalike_name, &[]).await.close();

    let report = cleanup_stale(now, max_age).await.unwrap();

    for name in [&stale_name, &unmarked_name, &empty_meta_name] {
        assert!(report.deleted.contains(name), "{name} {report:?}");
    }
    for name in [&fresh_name, &edge_name] {
        assert!(report.kept.contains(name), "{name} {report:?}");
    }
    for name in [&foreign_name, &lookalike_name] {
        assert!(!report.kept.contains(name) && !report.deleted.contains(name));
    }
    assert!(report.failed.is_empty(), "{report:?}");
    let all = names().await;
    for name in [&fresh_name, &edge_name, &foreign_name, &lookalike_name] {
        assert!(all.contains(name), "{name} should be kept: {all:?}");
    }
    for name in [&stale_name, &unmarked_name, &empty_meta_name] {
        assert!(!all.contains(name), "{name} should be gone: {all:?}");
    }

    // The foreign database still holds its data, on the same connection.
    let tx = foreign
        .transaction(&["metadata"], TransactionMode::ReadOnly)
        .unwrap();
    let v = tx
        .store("metadata")
        .unwrap()
        .get("lastAccessed".into())
        .await
        .unwrap();
    assert_eq!(v.and_then(|v| v.as_f64()), Some(0.0));
    foreign.close();

    // The handle whose database went fails softly.
    assert!(matches!(
        stale.put_session("k", &json!(1)).await,
        Err(CacheError::Failed(_))
    ));
    drop(stale);

    // Later, everything of ours has aged out.
    let report = cleanup_stale(now + max_age + day, max_age).await.unwrap();
    for name in [&fresh_name, &edge_name] {
        assert!(report.deleted.contains(name), "{name} {report:?}");
    }
    let all = names().await;
    assert!(all.contains(&foreign_name) && all.contains(&lookalike_name));
    Rexie::delete(&foreign_name).await.unwrap();
    Rexie::delete(&lookalike_name).await.unwrap();
}

#[wasm_bindgen_test]
async fn deleting_a_session_does_not_wait_for_handles_in_this_page() {
    let room = room();
    let a = SessionCache::open(&room, "u").await.unwrap();
    let b = SessionCache::open(&room, "u").await.unwrap();
    a.put_session("k", &json!("v")).await.unwrap();

    delete_session(&room, "u").await.unwrap();

    assert!(!names().await.contains(&db_name(&room, "u")));
    for cache in [&a, &b] {
        assert!(matches!(
            cache.get_session("k").await,
            Err(CacheError::Failed(_))
        ));
    }
    // Deleting what is not there is not an error.
    delete_session(&room, "u").await.unwrap();
}

#[wasm_bindgen_test]
async fn a_session_database_without_its_stores_is_started_over() {
    // What cleanup's version-less open leaves when it races a deletion.
    let room = room();
    let name = db_name(&room, "u");
    raw_db(&name, &[]).await.close();

    let cache = SessionCache::open(&room, "u").await.unwrap();
    cache.put_chat(&[record("m", None, 1)]).await.unwrap();
    assert_eq!(cache.chat_count().await.unwrap(), 1);
    cache.delete().await.unwrap();

    // A database of a newer app version is reported, not destroyed.
    let newer = Rexie::builder(&name)
        .version(SCHEMA_VERSION + 1)
        .build()
        .await
        .unwrap();
    newer.close();
    let err = SessionCache::open(&room, "u").await.unwrap_err();
    assert!(
        matches!(&err, CacheError::Failed(m) if m.contains("newer")),
        "{err}"
    );
    assert!(names().await.contains(&name));
    Rexie::delete(&name).await.unwrap();
}
