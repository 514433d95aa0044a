//! End to end: the `quorum` binary prints two join links; two headless
//! Chromium sessions open them and chat through the real NATS server.
//! Run with `scripts/test.sh`, or `cargo test -p quorum-e2e` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::{join, send_chat, texts, wait_for_text, Chromedriver, Quorum};

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
