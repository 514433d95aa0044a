//! End to end, issue 5's acceptance: end-to-end encryption in headless
//! Chromium. In a self-key room two pages that type the same key chat and
//! show the same fingerprint ("Key check", explained on a focusable
//! button), and a third with another key sees a placeholder naming each
//! sender instead of garbage (private messages too), a notice kept in the
//! notification centre, and a banner saying its key may differ; typing the
//! key again in the room brings the messages back in place. In a server-key room, a privileged
//! NATS subscriber on `>` and the server's log never see a plaintext marker
//! (chat, private chat, a reaction) during a whole meeting.
//! Run with `cargo test -p quorum-e2e --test e2ee` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::axe::ColorScheme;
use quorum_e2e::cluster::ExternalNats;
use quorum_e2e::screens::{capture, DESKTOP, PHONE};
use quorum_e2e::{
    click, join, record_toasts, send_chat, texts, wait_for, wait_for_text, wait_gone,
    wait_toast_shown, Chromedriver, Quorum,
};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const T: Duration = Duration::from_secs(40);
const MSG: &str = "#chat-list .chat-message .text";

/// Creates `room` with E2EE on (self-key or server key) and returns a join
/// link per `(user, moderator)`.
async fn e2ee_room(q: &Quorum, room: &str, self_key: bool, users: &[(&str, bool)]) -> Vec<String> {
    q.create_room(
        room,
        json!({ "room_title": "Secret",
            "room_features": { "end_to_end_encryption_features": {
                "is_enabled": true, "enabled_self_insert_encryption_key": self_key } } }),
    )
    .await;
    let mut links = Vec::new();
    for (user, admin) in users {
        links.push(q.join_link(room, user, *admin).await);
    }
    links
}

/// Opens `link`, types `key` at the key prompt and waits until connected.
async fn join_with_key(c: &Client, link: &str, key: &str) {
    c.goto(link).await.expect("open link");
    quorum_e2e::pass_prejoin(c).await;
    assert!(
        wait_for(c, "#key-page #e2ee-key", T).await,
        "no key prompt; page: {}",
        c.source().await.unwrap_or_default()
    );
    let input = c.find(Locator::Css("#e2ee-key")).await.expect("key input");
    assert_eq!(
        input.attr("type").await.ok().flatten().as_deref(),
        Some("password")
    );
    input.send_keys(key).await.expect("type the key");
    // Show, then hide again: the field really switches.
    let toggle = c
        .find(Locator::Css("#e2ee-key-toggle"))
        .await
        .expect("toggle");
    toggle.click().await.expect("show");
    assert_eq!(
        input.attr("type").await.ok().flatten().as_deref(),
        Some("text")
    );
    toggle.click().await.expect("hide");
    assert_eq!(
        input.attr("type").await.ok().flatten().as_deref(),
        Some("password")
    );
    c.find(Locator::Css("#e2ee-key-submit"))
        .await
        .expect("submit")
        .click()
        .await
        .expect("submit the key");
    assert!(
        wait_for(c, "#conn-state[data-state=connected]", T).await,
        "never connected after the key; page: {}",
        c.source().await.unwrap_or_default()
    );
}

async fn fingerprint(c: &Client) -> String {
    assert!(
        wait_for(c, "#e2ee-badge[data-state=ready] #e2ee-fingerprint", T).await,
        "no fingerprint; page: {}",
        c.source().await.unwrap_or_default()
    );
    let fp = c
        .find(Locator::Css("#e2ee-fingerprint"))
        .await
        .expect("fingerprint")
        .text()
        .await
        .expect("its text");
    // Eight hex pairs.
    assert_eq!(fp.split(' ').count(), 8, "{fp}");
    fp
}

/// Picks `to` as the recipient and sends `text` privately.
async fn send_private(c: &Client, to: &str, text: &str) {
    c.find(Locator::Css(&format!("#chat-to option[value='{to}']")))
        .await
        .expect("recipient listed")
        .click()
        .await
        .expect("pick recipient");
    send_chat(c, text).await;
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.map_or(0, |v| v.len())
}

async fn shown(c: &Client, text: &str) -> bool {
    texts(c, MSG).await.iter().any(|t| t.contains(text))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_key_pages_agree_and_a_wrong_key_is_named() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    let links = e2ee_room(
        &q,
        "sk",
        true,
        &[("alice", true), ("bob", false), ("carol", false)],
    )
    .await;
    let mut driver = Chromedriver::start();
    let (a, b, c) = (
        driver.browser().await,
        driver.browser().await,
        driver.browser().await,
    );
    join_with_key(&a, &links[0], "purple elephant 42").await;
    join_with_key(&b, &links[1], "purple elephant 42").await;
    join_with_key(&c, &links[2], "a different key").await;

    let (fa, fb, fc) = (
        fingerprint(&a).await,
        fingerprint(&b).await,
        fingerprint(&c).await,
    );
    assert_eq!(fa, fb, "same key, same fingerprint");
    assert_ne!(fa, fc, "another key, another fingerprint");

    record_toasts(&c).await;
    send_chat(&a, "sk-marker-from-alice").await;
    assert!(
        wait_for_text(&b, MSG, "sk-marker-from-alice", T).await,
        "bob can't read alice"
    );
    send_chat(&b, "sk-marker-from-bob").await;
    assert!(
        wait_for_text(&a, MSG, "sk-marker-from-bob", T).await,
        "alice can't read bob"
    );

    // Carol holds another key: a notice naming alice, never her text.
    assert!(
        wait_toast_shown(&c, "Messages from alice can't be decrypted", T).await,
        "no notice naming alice; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(
        wait_for(&c, "li.participant[data-user=alice] .key-mismatch", T).await,
        "alice not marked in carol's list"
    );
    assert!(
        !shown(&c, "sk-marker").await,
        "carol sees text she can't decrypt"
    );
    // Each of their messages leaves a trace that says whose it was.
    assert!(
        wait_for_text(
            &c,
            "#chat-list .chat-message.unreadable .text",
            "Message from alice can't be read: different key?",
            T
        )
        .await,
        "no placeholder for alice's message"
    );
    assert!(wait_for_text(&c, "#chat-list .unreadable .text", "from bob", T).await);
    // A private one leaves its trace too, marked private, so nobody
    // answers it in public.
    assert!(wait_for(&a, "#chat-to option[value=carol]", T).await);
    send_private(&a, "carol", "sk-marker-private-to-carol").await;
    assert!(
        wait_for(&c, "#chat-list .chat-message.unreadable.private", T).await,
        "no placeholder for alice's private message; page: {}",
        c.source().await.unwrap_or_default()
    );
    click(&a, "#private-bar-close").await;
    assert!(wait_gone(&a, "#private-bar", T).await);
    // Both people carol hears from fail: her key is the odd one.
    assert!(
        wait_for_text(&c, "#key-banner", "Your key may differ", T).await,
        "no wrong-key banner"
    );
    assert_eq!(count(&a, "#key-banner").await, 0, "alice's key is fine");
    // The notices are kept in the notification centre.
    click(&c, "#notices-toggle").await;
    assert!(
        wait_for_text(
            &c,
            "#notices-list",
            "Messages from alice can't be decrypted",
            T
        )
        .await,
        "the decrypt warning is not kept"
    );
    click(&c, "#notices-toggle").await;
    // The fingerprint is labelled, and its explanation opens by keyboard.
    // (Badges are set in capitals.)
    assert!(wait_for_text(&c, "#e2ee-badge", "KEY CHECK", T).await);
    assert!(wait_for(&c, "#e2ee-explain[hidden]", T).await);
    c.find(Locator::Css("#e2ee-help"))
        .await
        .expect("the explanation's button")
        .send_keys("\u{E007}")
        .await
        .expect("press Enter");
    assert!(wait_for(&c, "#e2ee-help[aria-expanded=true]", T).await);
    assert!(wait_for_text(&c, "#e2ee-explain:not([hidden])", "same fingerprint", T).await);
    click(&c, "#e2ee-help").await;
    // ...and what carol sends is unreadable for the others likewise.
    send_chat(&c, "sk-marker-from-carol").await;
    assert!(
        wait_for_text(&a, "#toasts", "Messages from carol can't be decrypted", T).await,
        "no notice naming carol"
    );
    assert!(!shown(&a, "sk-marker-from-carol").await);
    capture(
        &c,
        "wrong-key-banner",
        &[DESKTOP, PHONE],
        &[ColorScheme::Light],
        "",
    )
    .await;

    // Carol types the key again, in the room: the messages come back in
    // place, the banner goes, and she reads and is read like the others.
    click(&c, "#key-reenter").await;
    let input = c
        .find(Locator::Css("#key-reenter-input"))
        .await
        .expect("the key field");
    input.send_keys("purple elephant 42").await.expect("type");
    click(&c, "#key-reenter-submit").await;
    assert!(
        wait_for_text(&c, MSG, "sk-marker-from-alice", T).await,
        "alice's message did not come back; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(wait_for_text(&c, MSG, "sk-marker-from-bob", T).await);
    assert!(
        wait_for_text(
            &c,
            "#chat-list .chat-message.private .text",
            "sk-marker-private-to-carol",
            T
        )
        .await,
        "alice's private message did not come back"
    );
    assert!(wait_gone(&c, "#key-banner", T).await);
    assert_eq!(fingerprint(&c).await, fa);
    assert_eq!(
        count(&c, "#chat-list .chat-message.unreadable").await,
        0,
        "placeholders left: {:?}",
        texts(&c, "#chat-list .unreadable .text").await
    );
    send_chat(&c, "sk-marker-carol-again").await;
    assert!(wait_for_text(&a, MSG, "sk-marker-carol-again", T).await);
    q.sync_log().await;
    assert!(
        !q.output().contains("sk-marker"),
        "a marker reached the server log"
    );
}

/// Connects to nats-server as the app account's service user and records
/// every message on `>` until dropped.
async fn observe_everything(port: u16, password: &str) -> Arc<Mutex<Vec<u8>>> {
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to nats-server");
    let connect =
        json!({ "user": "quorum", "pass": password, "verbose": false, "pedantic": false });
    s.write_all(format!("CONNECT {connect}\r\nSUB > 1\r\nPING\r\n").as_bytes())
        .await
        .expect("subscribe to everything");
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    let chunk = &buf[..n];
                    if chunk.starts_with(b"PING") {
                        let _ = s.write_all(b"PONG\r\n").await;
                    }
                    sink.lock().unwrap().extend_from_slice(chunk);
                }
            }
        }
    });
    // The subscription is live once the PONG is back.
    for _ in 0..100 {
        if seen.lock().unwrap().windows(4).any(|w| w == b"PONG") {
            return seen;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "observer never subscribed: {}",
        String::from_utf8_lossy(&seen.lock().unwrap())
    );
}

/// Publishes a marker from a second connection and waits until the
/// observer has it: nats-server routed everything before it by then.
async fn observed_marker(observed: &Mutex<Vec<u8>>, port: u16, password: &str) {
    const MARKER: &[u8] = b"observer.marker.end";
    let mut s = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect to nats-server");
    let connect =
        json!({ "user": "quorum", "pass": password, "verbose": false, "pedantic": false });
    s.write_all(
        format!("CONNECT {connect}\r\nPUB observer.marker.end 0\r\n\r\nPING\r\n").as_bytes(),
    )
    .await
    .expect("publish the marker");
    for _ in 0..400 {
        if observed
            .lock()
            .unwrap()
            .windows(MARKER.len())
            .any(|w| w == MARKER)
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the observer never got the marker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_meeting_leaves_no_plaintext_on_nats_or_in_the_log() {
    let _turn = quorum_e2e::serial().await;
    let data = Arc::new(tempfile::tempdir().expect("data dir"));
    let nats = ExternalNats::bootstrap(data.clone());
    let q = Quorum::start_with(data.clone(), &nats.env);
    let secrets: serde_json::Value =
        serde_json::from_slice(&std::fs::read(data.path().join("secrets.json")).unwrap()).unwrap();
    let observed = observe_everything(
        nats.client_port,
        secrets["service_password"]
            .as_str()
            .expect("service password"),
    )
    .await;

    let links = e2ee_room(&q, "pv", false, &[("host", true), ("guest", false)]).await;
    let mut driver = Chromedriver::start();
    let (host, guest) = (driver.browser().await, driver.browser().await);
    join(&host, &links[0]).await;
    join(&guest, &links[1]).await;
    // The server-generated key reached both, and it is the same one.
    assert_eq!(fingerprint(&host).await, fingerprint(&guest).await);

    send_chat(&host, "pv-marker-one from the host").await;
    send_chat(&guest, "pv-marker-two from the guest").await;
    for c in [&host, &guest] {
        for m in ["pv-marker-one", "pv-marker-two"] {
            assert!(wait_for_text(c, MSG, m, T).await, "{m} not shown");
        }
    }
    // Private chat, both ways.
    send_private(&host, "guest", "pv-marker-three privately").await;
    assert!(
        wait_for_text(
            &guest,
            "#chat-list .chat-message.private .text",
            "pv-marker-three",
            T
        )
        .await,
        "private message not shown"
    );
    send_private(&guest, "host", "pv-marker-four privately back").await;
    assert!(
        wait_for_text(
            &host,
            "#chat-list .chat-message.private .text",
            "pv-marker-four",
            T
        )
        .await
    );
    // A reaction, sealed like chat: shown on the other page, opaque on
    // the wire (checked below with everything else).
    host.find(Locator::Css("#react-heart"))
        .await
        .expect("reaction button")
        .click()
        .await
        .expect("react");
    assert!(
        wait_for(&guest, "#reactions .reaction[data-reaction=heart]", T).await,
        "the sealed reaction did not show"
    );
    // A raised hand, and a late joiner reading the history (stored
    // ciphertext, decrypted in the browser).
    host.find(Locator::Css("#hand"))
        .await
        .expect("hand")
        .click()
        .await
        .expect("raise");
    assert!(
        wait_for(
            &guest,
            "li.participant[data-user=host][data-hand=raised]",
            T
        )
        .await
    );
    let late = driver.browser().await;
    let res = q
        .api(
            "/auth/room/getJoinToken",
            json!({ "room_id": "pv", "user_info": { "user_id": "late", "name": "Late" } }),
        )
        .await;
    join(
        &late,
        &format!(
            "{}/?access_token={}",
            q.base_url(),
            res["token"].as_str().unwrap()
        ),
    )
    .await;
    assert!(
        wait_for_text(&late, MSG, "pv-marker-one", T).await,
        "history not readable"
    );

    // Everything nats-server routed before this marker has reached the
    // observer once the marker itself has; the server log likewise.
    observed_marker(
        &observed,
        nats.client_port,
        secrets["service_password"].as_str().unwrap(),
    )
    .await;
    q.sync_log().await;
    let wire = String::from_utf8_lossy(&observed.lock().unwrap()).into_owned();
    // The observer did see the meeting: the chat subjects went by.
    assert!(wire.contains("qr.pv.chat.host"), "observer saw nothing");
    assert!(!wire.contains("pv-marker"), "plaintext on NATS");
    // The reaction went by, as an envelope only.
    assert!(wire.contains("\"type\":\"reaction\""), "no reaction seen");
    assert!(!wire.contains("heart"), "a reaction in plaintext on NATS");
    assert!(
        !q.output().contains("pv-marker"),
        "plaintext in the server log"
    );
}
