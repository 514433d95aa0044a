//! End to end: system events reach the room. The integrator broadcasts a
//! chat message and a notification, ends the room, and a participant
//! leaves, all through the real server, nats-server and headless Chromium.
//! Run with `cargo test -p quorum-e2e --test room_events` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use quorum_e2e::{
    join, record_toasts, wait_for, wait_for_text, wait_gone, wait_toast_shown, Chromedriver, Quorum,
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

/// Whether `css` matches an element now; a WebDriver error fails the test
/// rather than reading as "not there".
async fn present(c: &Client, css: &str) -> bool {
    !quorum_e2e::texts(c, css).await.is_empty()
}

fn assert_ok(res: &serde_json::Value, what: &str) {
    assert_eq!(res["status"], json!(true), "{what} failed: {res}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broadcast_shows_system_chat_and_toasts() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    join(&host, &quorum.moderator_link).await;
    join(&guest, &quorum.participant_link).await;

    let res = quorum
        .api(
            "/auth/room/broadcastToRoom",
            json!({ "room_id": "demo", "chat_msg": { "message": "broadcast-xyz" } }),
        )
        .await;
    assert_ok(&res, "broadcastToRoom (chat)");
    for (who, c) in [("host", &host), ("guest", &guest)] {
        assert!(
            wait_for_text(
                c,
                "#chat-list .chat-message.system .text",
                "broadcast-xyz",
                T
            )
            .await,
            "{who} never saw the system message; page: {}",
            c.source().await.unwrap_or_default()
        );
        assert!(
            wait_for_text(c, "#chat-list .chat-message.system .sender", "System", T).await,
            "{who}: system message without the System sender"
        );
    }

    record_toasts(&host).await;
    let res = quorum
        .api(
            "/auth/room/broadcastToRoom",
            json!({ "room_id": "demo", "notification_msg": { "text": "note-xyz", "type": "WARNING" } }),
        )
        .await;
    assert_ok(&res, "broadcastToRoom (notification)");
    let toast = "#toasts .toast.toast-warning";
    // Closed by hand on one side, as soon as it shows (before it would go
    // away by itself); gone by itself (~6 s) on the other.
    assert!(
        wait_for_text(&guest, toast, "note-xyz", T).await,
        "the guest never showed the toast; page: {}",
        guest.source().await.unwrap_or_default()
    );
    guest
        .find(Locator::Css(&format!("{toast} .toast-close")))
        .await
        .expect("close button")
        .click()
        .await
        .expect("click close");
    assert!(
        wait_gone(&guest, toast, Duration::from_secs(3)).await,
        "the close button did not dismiss the toast"
    );
    assert!(
        wait_toast_shown(&host, "note-xyz", T).await,
        "the host never showed the toast; page: {}",
        host.source().await.unwrap_or_default()
    );
    assert!(
        wait_gone(&host, toast, Duration::from_secs(15)).await,
        "the toast never went away by itself"
    );

    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn end_room_says_goodbye_to_everybody() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    join(&host, &quorum.moderator_link).await;
    join(&guest, &quorum.participant_link).await;

    let res = quorum
        .api("/auth/room/endRoom", json!({ "room_id": "demo" }))
        .await;
    assert_ok(&res, "endRoom");
    for (who, c) in [("host", &host), ("guest", &guest)] {
        assert!(
            wait_for_text(
                c,
                "#goodbye-page .goodbye-title",
                "The meeting has ended",
                T
            )
            .await,
            "{who} got no goodbye page; page: {}",
            c.source().await.unwrap_or_default()
        );
        assert!(
            wait_for_text(
                c,
                "#goodbye-page .goodbye-reason",
                "ended by a moderator",
                T
            )
            .await,
            "{who}: goodbye without the reason"
        );
    }
    // It stays: no error page replaces it. Nothing can reconnect later:
    // ending a session releases every socket, timer and listener of the
    // connection, which `client/tests/web/session.rs` checks directly
    // (`NatsClient::is_released`) instead of waiting here to see nothing.
    for c in [&host, &guest] {
        assert!(
            present(c, "#goodbye-page").await,
            "the goodbye page went away"
        );
        assert!(
            !present(c, "#error-page").await,
            "an error replaced goodbye"
        );
    }

    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leave_button_says_goodbye_and_frees_the_seat() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let guest = driver.browser().await;
    join(&guest, &quorum.participant_link).await;

    // By keyboard: focus the button and press Enter.
    guest
        .find(Locator::Css("button#leave"))
        .await
        .expect("leave button")
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("press Enter on Leave");
    // Leave asks first; the confirm button is reachable by keyboard too.
    assert!(
        wait_for(&guest, "#leave-confirm", T).await,
        "Leave did not ask"
    );
    guest
        .find(Locator::Css("#leave-confirm-confirm"))
        .await
        .expect("confirm button")
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("press Enter on confirm");
    assert!(
        wait_for_text(&guest, "#goodbye-page .goodbye-title", "You left", T).await,
        "no goodbye page after Leave; page: {}",
        guest.source().await.unwrap_or_default()
    );
    assert!(
        wait_for_text(&guest, "#goodbye-page .goodbye-reason", "close this tab", T).await,
        "goodbye without the reason"
    );

    // The socket really closed: the server sees the user offline, so the
    // same link works again elsewhere (a second live session is refused).
    let again = driver.browser().await;
    let mut rejoined = false;
    for _ in 0..20 {
        again.goto(&quorum.participant_link).await.expect("open");
        quorum_e2e::pass_prejoin(&again).await;
        let settled = "#conn-state[data-state=connected], #error-page";
        wait_for(&again, settled, T).await;
        if present(&again, "#conn-state[data-state=connected]").await {
            rejoined = true;
            break;
        }
        // A retry until the positive outcome, not evidence: the server
        // frees the seat once nats-server reports the disconnect.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        rejoined,
        "the seat was never freed after Leave; page: {}",
        again.source().await.unwrap_or_default()
    );

    guest.close().await.ok();
    again.close().await.ok();
}
