//! End to end: the `quorum` binary prints two join links; two headless
//! Chromium sessions open them and chat through the real NATS server; in
//! a big room a private message finds its reader through "Send to"'s
//! search.
//! Run with `scripts/test.sh`, or `cargo test -p quorum-e2e` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::axe::{assert_clean, ColorScheme};
use quorum_e2e::publisher::Publisher;
use quorum_e2e::screens::{capture, DESKTOP, PHONE};
use quorum_e2e::{join, send_chat, texts, wait_for, wait_for_text, wait_js, Chromedriver, Quorum};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

/// Joins, and checks the token left the address bar.
async fn join_clean(c: &Client, link: &str) {
    join(c, link).await;
    let url = c.current_url().await.expect("url");
    assert!(
        !url.as_str().contains("access_token"),
        "token left in the address bar: {url}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_browsers_chat_through_nats() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;

    join_clean(&host, &quorum.moderator_link).await;
    join_clean(&guest, &quorum.participant_link).await;

    let marker = "hello-from-host-7f3a9c";
    send_chat(&host, marker).await;
    assert!(
        wait_for_text(&guest, "#chat-list .chat-message .text", marker, T).await,
        "guest never saw the host's message"
    );
    assert!(
        wait_for_text(&guest, "#chat-list .chat-message .sender", "Host", T).await,
        "sender name missing"
    );
    assert!(
        wait_for_text(&host, "#chat-list .chat-message.mine .text", marker, T).await,
        "host's own message not shown as mine"
    );

    let reply = "reply-from-guest-51be2d";
    send_chat(&guest, reply).await;
    assert!(
        wait_for_text(&host, "#chat-list .chat-message .text", reply, T).await,
        "host never saw the guest's reply"
    );

    // The app server only routes: chat never passes through it or its log.
    let log = quorum.output();
    assert!(
        !log.contains(marker) && !log.contains(reply),
        "chat leaked into the server log"
    );

    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_links_show_a_clear_error() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;

    c.goto(&format!("{}/?access_token=not-a-token", quorum.base_url()))
        .await
        .expect("open");
    assert!(
        wait_for_text(&c, "#error-page .error-title", "This link doesn't work", T).await,
        "no invalid-link error; page: {}",
        c.source().await.unwrap_or_default()
    );

    c.goto(&format!("{}/", quorum.base_url()))
        .await
        .expect("open");
    assert!(
        wait_for_text(&c, "#error-page .error-title", "No join token", T).await,
        "no missing-token error"
    );

    // The same participant may not join twice at once.
    let other = driver.browser().await;
    join(&c, &quorum.participant_link).await;
    other.goto(&quorum.participant_link).await.expect("open");
    assert!(
        wait_for_text(
            &other,
            "#error-page .error-title",
            "already in this meeting",
            T
        )
        .await,
        "duplicate join was not refused"
    );
    // In words, with what to do, never the server's own text.
    assert!(
        wait_for_text(
            &other,
            "#error-page .error-reason",
            "Close the meeting there",
            T
        )
        .await,
        "no next step for a duplicate join"
    );
    let reason = texts(&other, "#error-page .error-reason").await.join(" ");
    assert!(!reason.contains("is already in this meeting"), "{reason}");
    c.close().await.ok();
    other.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_a_big_room_a_private_message_finds_its_one_reader_by_name() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("big", json!({ "room_title": "Town hall" }))
        .await;
    // More people than "Send to" lists without a search (20,
    // `SEARCH_FROM` in `client/src/components/participants.rs`).
    let mut crowd = Vec::new();
    for n in 0..24 {
        let (user, name) = (format!("guest{n:02}"), format!("Guest {n:02}"));
        crowd.push(Publisher::join(&q, "big", &user, &name, false).await);
    }
    let mut driver = Chromedriver::start();
    let (ann, zoe) = (driver.browser().await, driver.browser().await);
    join(&ann, &q.join_link("big", "ann", true).await).await;
    let zoe_link = q.link(&q.token_named("big", "zoe", "Zoe Quiet", false).await);
    join(&zoe, &zoe_link).await;

    // Ann types part of Zoe's name and picks her from what is left.
    assert!(
        wait_for(&ann, "#chat-to-find", T).await,
        "no search in Send to"
    );
    ann.find(Locator::Css("#chat-to-find"))
        .await
        .expect("the search")
        .send_keys("quiet")
        .await
        .expect("type");
    assert!(
        wait_js(
            &ann,
            "return document.querySelectorAll('#chat-to option').length === 2",
            T
        )
        .await
    );
    ann.find(Locator::Css("#chat-to"))
        .await
        .expect("the picker")
        .select_by_value("zoe")
        .await
        .expect("choose zoe");
    assert!(wait_for_text(&ann, "#private-bar", "Zoe Quiet", T).await);
    assert_clean(&ann, "the chat's Send to, searched").await;
    capture(
        &ann,
        "send-to-search",
        &[DESKTOP, PHONE],
        &[ColorScheme::Light],
        "",
    )
    .await;
    send_chat(&ann, "just-for-zoe").await;
    assert!(
        wait_for_text(&zoe, ".chat-message.private .text", "just-for-zoe", T).await,
        "zoe did not get it"
    );
    for c in [ann, zoe] {
        c.close().await.ok();
    }
    for p in crowd {
        p.close().await;
    }
}
