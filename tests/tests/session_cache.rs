//! End to end, issue 6's acceptance (and issue 4's refresh after expiry):
//! the IndexedDB session cache in headless Chromium. A refresh restores
//! the chat and the notifications and rejoins as the same user, even after
//! the link's token expired; leaving or the end of the meeting deletes the
//! database; in an E2EE room the cache holds no plaintext.
//! Run with `cargo test -p quorum-e2e --test session_cache` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::{
    click, count_text, join, record_toasts, send_chat, settle, sleep_until_unix, texts,
    toasts_shown, token_exp, wait_for, wait_for_text, wait_gone, wait_toast_shown, Chromedriver,
    Quorum, CAUGHT_UP,
};
use serde_json::json;

const T: Duration = Duration::from_secs(40);
const MSG: &str = "#chat-list .chat-message .text";

/// Our databases (`quorum-session:…`) in this page's origin.
async fn our_databases(c: &Client) -> Vec<String> {
    let names = c
        .execute_async(
            "const done = arguments[0];
             indexedDB.databases().then((d) => done(d.map((x) => x.name)), (e) => done(['error ' + e]));",
            vec![],
        )
        .await
        .expect("list databases");
    names
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|n| n.as_str())
        .filter(|n| n.starts_with("quorum-session:") || n.starts_with("error"))
        .map(str::to_owned)
        .collect()
}

/// Waits until the page's session database is gone (deletion is async).
async fn wait_no_database(c: &Client) -> bool {
    for _ in 0..50 {
        if our_databases(c).await.is_empty() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_after_expiry_restores_the_meeting_and_leaving_erases_it() {
    let _turn = quorum_e2e::serial().await;
    // 20 s tokens: by the refresh, the link's token has expired and only
    // the renewed one in the cache can rejoin.
    let q = Quorum::start_env(&[("QUORUM_TOKEN_TTL_SECS", "20".into())]);
    let mut driver = Chromedriver::start();
    let (host, guest) = (driver.browser().await, driver.browser().await);
    join(&host, &q.moderator_link).await;
    join(&guest, &q.participant_link).await;
    send_chat(&host, "cache-marker-one").await;
    assert!(wait_for_text(&guest, MSG, "cache-marker-one", T).await);
    assert_eq!(our_databases(&guest).await.len(), 1, "one session database");
    // A notification, left unread in the notification centre.
    let res = q
        .api(
            "/auth/room/broadcastToRoom",
            json!({ "room_id": "demo", "notification_msg": { "text": "cache-note", "type": "INFO" } }),
        )
        .await;
    assert_eq!(res["status"], json!(true), "broadcast: {res}");
    assert!(wait_for_text(&guest, "#notices-unread", "1", T).await);

    // A real wait for the link's token to expire: only the renewed one in
    // the cache can rejoin now.
    sleep_until_unix(token_exp(&q.participant_link) + 1).await;
    guest.refresh().await.expect("refresh");
    // Before the app starts (it loads its wasm first): see every toast.
    record_toasts(&guest).await;
    assert!(
        wait_for(&guest, "#conn-state[data-state=connected]", T).await,
        "no rejoin after the refresh; page: {}",
        guest.source().await.unwrap_or_default()
    );
    assert!(
        wait_for_text(&guest, MSG, "cache-marker-one", T).await,
        "chat not restored"
    );
    // The notification too, still unread, and once.
    assert!(
        wait_for_text(&guest, "#notices-unread", "1", T).await,
        "unread notification not restored"
    );
    guest
        .find(Locator::Css("#notices-toggle"))
        .await
        .expect("bell")
        .click()
        .await
        .expect("open");
    assert!(wait_for_text(&guest, "#notices-list li.notice", "cache-note", T).await);
    assert!(
        wait_gone(&guest, "#notices-unread", T).await,
        "opened: read"
    );
    // Restored, not received again: it does not pop up a second time. A
    // later notification pops up once the catch-up is over; the restored
    // one would have popped up before it.
    assert!(wait_for(&guest, CAUGHT_UP, T).await, "never caught up");
    let res = q
        .api(
            "/auth/room/broadcastToRoom",
            json!({ "room_id": "demo", "notification_msg": { "text": "later-note", "type": "INFO" } }),
        )
        .await;
    assert_eq!(res["status"], json!(true), "broadcast: {res}");
    assert!(wait_toast_shown(&guest, "later-note", T).await);
    assert!(
        !toasts_shown(&guest).await.contains("cache-note"),
        "the notification popped up again after the reload"
    );
    // The same identity: our name, and one of us in the list.
    let name = guest.find(Locator::Css("#my-name")).await.expect("name");
    assert_eq!(name.text().await.unwrap_or_default(), "Guest");
    assert_eq!(texts(&guest, "li.participant.me").await.len(), 1);
    // The meeting goes on, and nothing shows twice.
    send_chat(&host, "cache-marker-two").await;
    assert!(wait_for_text(&guest, MSG, "cache-marker-two", T).await);
    settle(&host, &[&guest]).await;
    assert_eq!(count_text(&guest, MSG, "cache-marker-one").await, 1);
    assert_eq!(count_text(&guest, MSG, "cache-marker-two").await, 1);

    // Leave: the database is gone before the goodbye page shows.
    quorum_e2e::leave(&guest).await;
    assert!(wait_for(&guest, "#goodbye-page", T).await);
    assert!(
        wait_no_database(&guest).await,
        "database left after leaving"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ending_the_meeting_for_everyone_erases_every_cache() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    let mut driver = Chromedriver::start();
    let (host, guest) = (driver.browser().await, driver.browser().await);
    join(&host, &q.moderator_link).await;
    join(&guest, &q.participant_link).await;
    for c in [&host, &guest] {
        assert_eq!(our_databases(c).await.len(), 1);
    }
    // A moderator's Leave asks: leave alone, or end for everyone.
    click(&host, "#leave").await;
    assert!(wait_for(&host, "#leave-dialog", T).await, "no question");
    click(&host, "#leave-dialog-confirm").await;
    for c in [&host, &guest] {
        assert!(
            wait_for_text(
                c,
                "#goodbye-page .goodbye-reason",
                "ended by a moderator",
                T
            )
            .await,
            "no goodbye with the reason"
        );
        assert!(wait_no_database(c).await, "database left after the end");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_e2ee_room_caches_only_ciphertext() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    let res = q
        .api(
            "/auth/room/create",
            json!({ "room_id": "cx", "metadata": { "room_title": "Secret",
                "room_features": { "end_to_end_encryption_features": { "is_enabled": true } } } }),
        )
        .await;
    assert_eq!(res["status"], json!(true), "{res}");
    let res = q
        .api(
            "/auth/room/getJoinToken",
            json!({ "room_id": "cx", "user_info": { "user_id": "ann", "name": "Ann" } }),
        )
        .await;
    let link = format!(
        "{}/?access_token={}",
        q.base_url(),
        res["token"].as_str().unwrap()
    );
    let mut driver = Chromedriver::start();
    let page = driver.browser().await;
    join(&page, &link).await;
    assert!(wait_for(&page, "#e2ee-badge[data-state=ready]", T).await);
    send_chat(&page, "cx-marker-plaintext").await;
    assert!(wait_for_text(&page, MSG, "cx-marker-plaintext", T).await);
    // The cache writes once the message is confirmed, in batches.
    let deadline = std::time::Instant::now() + T;
    let dump = loop {
        let dump = quorum_e2e::cache_dump(&page).await;
        assert!(!dump.starts_with("failed"), "{dump}");
        if dump.contains("qr.cx.chat.ann") || std::time::Instant::now() > deadline {
            break dump;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert!(
        dump.contains("qr.cx.chat.ann"),
        "the message was not cached: {dump}"
    );
    assert!(
        !dump.contains("cx-marker"),
        "plaintext in IndexedDB: {dump}"
    );

    // And it is decrypted again on restore.
    page.refresh().await.expect("refresh");
    assert!(wait_for(&page, "#conn-state[data-state=connected]", T).await);
    assert!(wait_for_text(&page, MSG, "cx-marker-plaintext", T).await);
}
