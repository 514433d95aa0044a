//! End to end, issue 14's "Use this tab instead": someone already in the
//! meeting opens their link elsewhere, is told so in words, and can take
//! the meeting over; the first tab says where the meeting went and stays
//! out (no reconnect taking it back), and can take it back the same way.
//! A tab that missed being told (cut off while the user joined elsewhere)
//! is refused when it comes back, says why, and offers the same choice.
//! Run with `cargo test -p quorum-e2e --test take_over` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::netcut::NetCut;
use quorum_e2e::raw_nats::RawNats;
use quorum_e2e::{
    click, join, send_chat, wait_for, wait_for_text, wait_gone, Chromedriver, Quorum,
};
use quorum_shared::api::nats_client_name;
use quorum_shared::ids::{RoomId, UserId};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

/// `c` shows the "already in this meeting" page with its button; pressing
/// it joins (through the pre-join page) and connects.
async fn take_over(c: &Client) {
    assert!(
        wait_for_text(c, "#error-page .error-title", "already in this meeting", T).await,
        "no 'already in' page; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(
        wait_for_text(c, "#take-over", "Use this tab instead", T).await,
        "no 'Use this tab instead'"
    );
    click(c, "#take-over").await;
    quorum_e2e::pass_prejoin(c).await;
    assert!(
        wait_for(c, "#room-page #conn-state[data-state=connected]", T).await,
        "the new tab never connected; page: {}",
        c.source().await.unwrap_or_default()
    );
}

/// `c` says the meeting moved, and offers to take it back.
async fn moved_away(c: &Client) {
    assert!(
        wait_for_text(c, "#goodbye-page", "moved to another tab", T).await,
        "the old tab did not say where the meeting went; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(wait_for(c, "#goodbye-page #rejoin", T).await, "no Rejoin");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn use_this_tab_instead_moves_the_meeting_and_back() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("mv", json!({ "room_title": "Moving" })).await;
    let mut driver = Chromedriver::start();
    let (first, second, host) = (
        driver.browser().await,
        driver.browser().await,
        driver.browser().await,
    );
    join(&host, &q.join_link("mv", "host", true).await).await;
    let link = q.join_link("mv", "tia", false).await;
    join(&first, &link).await;
    send_chat(&first, "from the first tab").await;
    assert!(wait_for_text(&host, "#chat-list", "from the first tab", T).await);

    // The same link elsewhere: take the meeting over.
    second.goto(&link).await.expect("open");
    take_over(&second).await;
    moved_away(&first).await;
    // The new tab is the one in the meeting: it is heard, and the list
    // counts Tia once, online.
    send_chat(&second, "from the second tab").await;
    assert!(wait_for_text(&host, "#chat-list", "from the second tab", T).await);
    assert!(
        wait_for_text(&host, "#participants .participant-count", "2", T).await,
        "the host does not count two people"
    );
    // The old tab stayed out: after all that, the new one is still
    // connected (a reconnect of the old one would have replaced it).
    assert!(wait_for(&second, "#conn-state[data-state=connected]", T).await);

    // And back: Rejoin in the first tab meets the same question.
    click(&first, "#rejoin").await;
    quorum_e2e::pass_prejoin(&first).await;
    take_over(&first).await;
    moved_away(&second).await;
    send_chat(&first, "back in the first tab").await;
    assert!(wait_for_text(&host, "#chat-list", "back in the first tab", T).await);
    for c in [first, second, host] {
        c.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tab_cut_off_while_the_meeting_moved_stays_out_and_can_come_back() {
    let _turn = quorum_e2e::serial().await;
    let net = NetCut::start().await;
    let q = net.start_quorum();
    q.create_room("cut", json!({ "room_title": "Cut off" }))
        .await;
    let mut driver = Chromedriver::start();
    let laptop = driver.browser().await;
    join(&laptop, &q.join_link("cut", "tia", false).await).await;

    // The laptop's network goes; Tia joins from her phone meanwhile (a
    // connection of its own, straight to the server), so the laptop never
    // hears that the meeting moved.
    net.cut();
    assert!(
        wait_gone(&laptop, "#conn-state[data-state=connected]", T).await,
        "the cut went unnoticed"
    );
    let (room, user) = (RoomId::parse("cut").unwrap(), UserId::parse("tia").unwrap());
    let token = q.token("cut", "tia", false).await;
    let mut phone = RawNats::connect_named(
        &net.direct_url(),
        Some(&token),
        &nats_client_name(&room, &user, "phone-tab-0001"),
    )
    .await
    .expect("the phone joins");

    // The network is back: the laptop is refused, and says why at once,
    // offering to take the meeting back.
    net.restore();
    assert!(
        wait_for_text(
            &laptop,
            "#error-page .error-title",
            "already in this meeting",
            T
        )
        .await,
        "the laptop did not say the meeting is elsewhere; page: {}",
        laptop.source().await.unwrap_or_default()
    );
    // Its reconnects never pushed the phone out.
    phone
        .ping()
        .await
        .expect("the phone was pushed out by the laptop's reconnect");

    // Tia chooses the laptop after all: it joins, and the phone is sent
    // away.
    take_over(&laptop).await;
    assert!(
        phone.closed_within(T).await.is_some(),
        "the phone was left connected"
    );
    send_chat(&laptop, "back on the laptop").await;
    assert!(wait_for(&laptop, "#conn-state[data-state=connected]", T).await);
    laptop.close().await.ok();
}
