//! End to end, issue 4's acceptance: a meeting survives a NATS restart, an
//! app-server restart and the loss of one of two app servers, without
//! losing or duplicating a chat message. Uses an operator-run nats-server
//! (external mode) so NATS and the app servers can fail independently.
//! Run with `cargo test -p quorum-e2e --test resilience` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::sync::Arc;
use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::cluster::ExternalNats;
use quorum_e2e::{count_text, join, send_chat, settle, wait_for, Chromedriver, Quorum};
use serde_json::json;

const T: Duration = Duration::from_secs(40);
const MSG: &str = "#chat-list .chat-message .text";

/// Every page shows every marker exactly once.
async fn exactly_once(pages: &[&Client], markers: &[&str]) {
    // A late duplicate (a re-send, a history replay) would have arrived
    // by the time a fresh marker shows on a page that has caught up.
    settle(pages[0], pages).await;
    for p in pages {
        for m in markers {
            assert_eq!(count_text(p, MSG, m).await, 1, "{m} not shown exactly once");
        }
    }
}

fn data() -> Arc<tempfile::TempDir> {
    Arc::new(tempfile::tempdir().expect("data dir"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_survives_a_nats_restart() {
    let _one = quorum_e2e::serial().await;
    let data = data();
    let mut nats = ExternalNats::bootstrap(data.clone());
    let q = Quorum::start_with(data.clone(), &nats.env);
    let mut driver = Chromedriver::start();
    let (host, guest) = (driver.browser().await, driver.browser().await);
    join(&host, &q.moderator_link).await;
    join(&guest, &q.participant_link).await;

    send_chat(&host, "before-host").await;
    send_chat(&guest, "before-guest").await;
    exactly_once(&[&host, &guest], &["before-host", "before-guest"]).await;

    nats.kill();
    for p in [&host, &guest] {
        assert!(
            wait_for(
                p,
                "#conn-state[data-state=reconnecting]",
                Duration::from_secs(3)
            )
            .await,
            "no 'reconnecting' within ~2 s of losing NATS"
        );
    }
    // Typed during the outage: queued, then delivered once.
    send_chat(&host, "during-host").await;
    send_chat(&guest, "during-guest").await;
    for p in [&host, &guest] {
        assert!(
            wait_for(p, "#chat-list .chat-message.mine.pending", T).await,
            "a message typed during the outage was not shown as pending"
        );
    }
    // Not evidence of anything: the outage goes on for a while so that
    // both pages fail several reconnect attempts (their backoff grows)
    // before NATS is back.
    tokio::time::sleep(Duration::from_secs(5)).await;
    nats.start();
    for p in [&host, &guest] {
        assert!(
            wait_for(p, "#conn-state[data-state=connected]", T).await,
            "no recovery"
        );
    }
    send_chat(&host, "after-host").await;
    send_chat(&guest, "after-guest").await;
    exactly_once(
        &[&host, &guest],
        &[
            "before-host",
            "before-guest",
            "during-host",
            "during-guest",
            "after-host",
            "after-guest",
        ],
    )
    .await;
    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meeting_survives_an_app_server_restart() {
    let _one = quorum_e2e::serial().await;
    let data = data();
    let nats = ExternalNats::bootstrap(data.clone());
    let mut q = Quorum::start_with(data.clone(), &nats.env);
    let mut driver = Chromedriver::start();
    let (host, guest) = (driver.browser().await, driver.browser().await);
    join(&host, &q.moderator_link).await;
    join(&guest, &q.participant_link).await;
    send_chat(&host, "one").await;
    exactly_once(&[&host, &guest], &["one"]).await;

    assert!(q.signal_and_wait("TERM"), "server did not stop");
    // Chat flows through NATS, not the app server.
    send_chat(&guest, "while-down").await;
    exactly_once(&[&host, &guest], &["while-down"]).await;
    let q2 = Quorum::start_with(data.clone(), &nats.env);
    send_chat(&host, "after-restart").await;
    exactly_once(&[&host, &guest], &["one", "while-down", "after-restart"]).await;

    // Presence and room state are intact.
    let info = q2
        .api("/auth/room/getActiveRoomInfo", json!({ "room_id": "demo" }))
        .await;
    assert_eq!(info["status"], true, "{info}");
    let states: Vec<(String, String)> = info["room"]["participants_info"]
        .as_array()
        .expect("participants")
        .iter()
        .map(|p| {
            (
                p["identity"].as_str().unwrap_or_default().to_owned(),
                p["state"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    for who in ["host", "guest"] {
        assert!(
            states.contains(&(who.to_owned(), "ACTIVE".to_owned())),
            "{who} not active after restart: {states:?}"
        );
    }
    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_app_servers_act_as_one() {
    let _one = quorum_e2e::serial().await;
    let data = data();
    let nats = ExternalNats::bootstrap(data.clone());
    let mut a = Quorum::start_with(data.clone(), &nats.env);
    let b = Quorum::start_with(data.clone(), &nats.env);
    let mut driver = Chromedriver::start();
    let (host, guest) = (driver.browser().await, driver.browser().await);
    // Joins spread over both servers.
    join(&host, &a.moderator_link).await;
    join(&guest, &b.participant_link).await;
    send_chat(&host, "spread").await;
    exactly_once(&[&host, &guest], &["spread"]).await;

    // Losing one server does not disturb the meeting.
    assert!(a.signal_and_wait("TERM"), "server a did not stop");
    send_chat(&guest, "after-a-died").await;
    exactly_once(&[&host, &guest], &["spread", "after-a-died"]).await;
    // And the survivor admits newcomers, who get the chat history.
    let t = b
        .api(
            "/auth/room/getJoinToken",
            json!({ "room_id": "demo", "user_info": { "user_id": "late", "name": "Late" } }),
        )
        .await;
    let token = t["token"].as_str().expect("token");
    let late = driver.browser().await;
    join(&late, &format!("{}/?access_token={token}", b.base_url())).await;
    exactly_once(&[&late], &["spread", "after-a-died"]).await;
    for c in [host, guest, late] {
        c.close().await.ok();
    }
}
