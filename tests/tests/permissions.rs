//! End to end, moderators run the meeting by clicking the UI (issue 11's
//! acceptance), and the server enforces every decision: a lock set from a
//! participant's menu is refused by nats-server itself to a raw client
//! with that participant's identity; a demoted moderator's raw request is
//! refused by the server. Also: the token is renewed without a visible
//! reconnect, and a lock from the join token shows at once. Run with
//! `cargo test -p quorum-e2e --test permissions` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::raw_nats::RawNats;
use quorum_e2e::{
    click, join, pass_prejoin, send_chat, sleep_until_unix, token_exp, wait_for, wait_for_text,
    wait_gone, Chromedriver, Quorum,
};
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;
use quorum_shared::worker::{WorkerReply, WorkerRequest};
use serde_json::json;

const T: Duration = Duration::from_secs(30);
const LOCKED: &str = "Chat is locked by a moderator";
const CONNECTED: &str = "#room-page #conn-state[data-state=connected]";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_locked_participant_finds_the_composer_locked() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let res = quorum
        .api(
            "/auth/room/getJoinToken",
            json!({ "room_id": "demo", "user_info": {
                "user_id": "muted", "name": "Muted", "is_admin": false,
                "user_metadata": { "lock_settings": { "lock_chat": true } } } }),
        )
        .await;
    let token = res["token"].as_str().expect("a token").to_owned();
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    join(&c, &quorum.link(&token)).await;
    // The server's snapshot after connecting says so: locked at once.
    assert!(
        wait_for_text(&c, "#chat-notice", LOCKED, T).await,
        "no lock notice; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(wait_for(&c, "#chat-input[disabled]", T).await);
    c.close().await.ok();
}

/// Records every change of the connection badge's `data-state`.
const WATCH_BADGE: &str = r#"
    window.__states = [];
    const el = document.getElementById('conn-state');
    new MutationObserver(() => window.__states.push(el.dataset.state))
        .observe(el, { attributes: true, attributeFilter: ['data-state'] });
"#;

/// Join-token lifetime for the renewal test, seconds.
const TTL: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_renewed_without_a_visible_reconnect() {
    let turn = quorum_e2e::serial().await;
    // nats-server drops a connection when its token expires: with 20 s
    // tokens, renewed every few seconds, several swaps happen within the
    // test.
    let quorum = Quorum::start_env(&[("QUORUM_TOKEN_TTL_SECS", TTL.to_string())]);
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    join(&host, &quorum.moderator_link).await;
    join(&guest, &quorum.participant_link).await;
    for c in [&host, &guest] {
        c.execute(WATCH_BADGE, vec![])
            .await
            .expect("watch the badge");
    }

    // A real wait for real expiry (the link tokens' end), and the server
    // saying that each page moved to a renewed token at least twice. The
    // others take their turns meanwhile: renewing goes on under load.
    let first = token_exp(&quorum.moderator_link).max(token_exp(&quorum.participant_link));
    let (_turn, ()) = quorum_e2e::while_waiting(turn, sleep_until_unix(first + 1)).await;
    let renewed = |who: &str| {
        let user = format!("user={who}");
        let out = quorum.output();
        let authorized = out.lines().filter(|l| {
            l.contains("nats connection authorized") && l.split_whitespace().any(|w| w == user)
        });
        authorized.count() >= 3
    };
    let deadline = std::time::Instant::now() + T;
    while !(renewed("host") && renewed("guest")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no renewals seen: {}",
            quorum.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (who, c) in [("host", &host), ("guest", &guest)] {
        let states = c
            .execute("return window.__states", vec![])
            .await
            .expect("read states");
        assert_eq!(states, json!([]), "{who}'s badge changed: {states}");
    }
    send_chat(&host, "still-here").await;
    assert!(
        wait_for_text(&guest, "#chat-list .text", "still-here", T).await,
        "chat stopped working after the token swaps"
    );
    host.close().await.ok();
    guest.close().await.ok();
}

/// The NATS WebSocket address browsers are given, from verifying `token`
/// (of someone not yet in the meeting: verification refuses those who are).
async fn ws_url(q: &Quorum, token: &str) -> String {
    let v = q.verify(token).await;
    v["session"]["nats_ws_urls"][0]
        .as_str()
        .unwrap_or_else(|| panic!("no NATS address in {v}"))
        .to_owned()
}

/// A raw NATS connection as the holder of a fresh token for `user`.
async fn raw_as(q: &Quorum, url: &str, room: &str, user: &str) -> RawNats {
    let token = q.token(room, user, false).await;
    RawNats::connect(url, Some(&token))
        .await
        .unwrap_or_else(|e| panic!("{user} could not connect: {e}"))
}

/// What nats-server answers `user` of `room` publishing `payload` on
/// `subject`, as a second login of a user whose page is in the room. That login replaces
/// the page's, and the page's reconnect replaces it back: when that comes
/// first, the publish meets a closed socket, which is no answer, so it is
/// asked again on a new login (the server's answer, allowed or refused,
/// ends it).
async fn publish_as(
    q: &Quorum,
    url: &str,
    room: &str,
    user: &str,
    subject: &str,
    payload: &[u8],
) -> Result<(), String> {
    let mut last = String::new();
    for _ in 0..5 {
        let mut raw = raw_as(q, url, room, user).await;
        let answer = raw.publish(subject, payload).await;
        raw.close().await;
        match answer {
            Err(e) if e == "websocket closed by the server" => last = e,
            answer => return answer,
        }
    }
    panic!("{user}'s publish never got an answer: {last}")
}

/// Opens `user`'s menu on the moderator's page and clicks `item` in it
/// (e.g. `lock-chat`, `role`, `block`).
async fn menu(c: &Client, user: &str, item: &str) {
    click(c, &format!("#menu-button-{user}")).await;
    let css = format!("#menu-{user}:not([hidden]) #{item}-{user}");
    assert!(wait_for(c, &css, T).await, "no {item} in {user}'s menu");
    click(c, &css).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locks_from_the_menu_and_the_room_panel_hold_at_the_server() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("lk", json!({ "room_title": "Locks" })).await;
    let p1_token = q.token("lk", "p1", false).await;
    let url = ws_url(&q, &p1_token).await;
    let mut driver = Chromedriver::start();
    let (m, p1) = (driver.browser().await, driver.browser().await);
    join(&m, &q.join_link("lk", "mod", true).await).await;
    join(&p1, &q.link(&p1_token)).await;
    assert!(wait_for(&m, "#participants li[data-user=p1]", T).await);

    // Locked for one participant from the menu: the page says so, and
    // nats-server refuses that identity's chat.
    menu(&m, "p1", "lock-chat").await;
    assert!(
        wait_for_text(&p1, "#chat-notice", LOCKED, T).await,
        "the lock did not reach p1"
    );
    assert!(wait_for(&p1, "#chat-input[disabled]", T).await);
    let chat = subjects::chat(&RoomId::parse("lk").unwrap(), &UserId::parse("p1").unwrap());
    let refused = publish_as(&q, &url, "lk", "p1", &chat, b"raw while locked").await;
    assert_eq!(
        refused,
        Err(format!("Permissions Violation for Publish to \"{chat}\"")),
        "nats-server let a locked identity chat"
    );
    // The menu shows the lock as on; the same item lifts it.
    assert!(wait_for(&m, "#lock-chat-p1[aria-checked=true]", T).await);
    menu(&m, "p1", "lock-chat").await;
    assert!(wait_for(&p1, "#chat-input:not([disabled])", T).await);
    assert!(wait_for(&p1, CONNECTED, T).await);
    publish_as(&q, &url, "lk", "p1", &chat, b"raw-after-unlock")
        .await
        .expect("unlocked: nats-server accepts the publish");

    // Room-wide: everyone who is not a moderator, including a later
    // joiner; the moderator still chats.
    click(&m, "#room-lock-chat").await;
    assert!(
        wait_for_text(&p1, "#chat-notice", LOCKED, T).await,
        "the room lock did not reach p1"
    );
    let p2 = driver.browser().await;
    join(&p2, &q.join_link("lk", "p2", false).await).await;
    assert!(
        wait_for(&p2, "#chat-input[disabled]", T).await,
        "a later joiner is not locked"
    );
    assert!(wait_for(&m, "#chat-input:not([disabled])", T).await);
    send_chat(&m, "the moderator still speaks").await;
    assert!(wait_for_text(&p2, "#chat-list .text", "the moderator still speaks", T).await);
    click(&m, "#room-lock-chat").await;
    for c in [&p1, &p2] {
        assert!(wait_for(c, "#chat-input:not([disabled])", T).await);
    }

    // Remove and block, confirmed in a dialog: p2 is told why, a token
    // issued before (unused so far) is refused at verifyToken, and no new
    // one is issued.
    let fresh = q.token("lk", "p2", false).await;
    menu(&m, "p2", "block").await;
    // The dialog, drawn inside p2's row of the participant list, covers
    // the whole window: nothing in the list may become the box it is
    // fixed to (see `assets/participants.css`).
    assert!(wait_for(&m, "#confirm-block-p2", T).await);
    let covers = m
        .execute(
            "const b = document.getElementById('confirm-block-p2').closest('.dialog-backdrop')
                 .getBoundingClientRect();
             return [b.left, b.top, b.width, b.height, innerWidth, innerHeight];",
            vec![],
        )
        .await
        .expect("the dialog's box");
    let v: Vec<f64> = serde_json::from_value(covers).expect("numbers");
    assert_eq!(
        (v[0], v[1], v[2], v[3]),
        (0.0, 0.0, v[4], v[5]),
        "the dialog's backdrop: {v:?}"
    );
    click(&m, "#confirm-block-p2-confirm").await;
    assert!(
        wait_for_text(&p2, "#goodbye-page .goodbye-reason", "can't rejoin", T).await,
        "p2 was not told; page: {}",
        p2.source().await.unwrap_or_default()
    );
    assert!(wait_gone(&m, "#participants li[data-user=p2][data-state=online]", T).await);
    let v = q.verify(&fresh).await;
    assert_eq!(v["status"], json!(false), "a blocked user verified: {v}");
    assert!(
        v["msg"].as_str().unwrap_or_default().contains("blocked"),
        "not refused as blocked: {v}"
    );
    let res = q
        .api(
            "/auth/room/getJoinToken",
            json!({ "room_id": "lk", "user_info": { "user_id": "p2", "name": "p2" } }),
        )
        .await;
    assert_eq!(res["status_code"], json!("USER_BLOCKED"), "{res}");
    p2.goto(&q.link(&fresh)).await.expect("open");
    assert!(
        wait_for_text(&p2, "#error-page .error-title", "blocked", T).await,
        "the page does not say blocked"
    );
    for c in [m, p1, p2] {
        c.close().await.ok();
    }
}

/// Asks `ask` of the worker as the holder of a fresh token for `user`.
async fn raw_request(
    q: &Quorum,
    url: &str,
    room: &str,
    user: &str,
    ask: WorkerRequest,
) -> WorkerReply {
    let mut raw = raw_as(q, url, room, user).await;
    let subject = subjects::worker(&RoomId::parse(room).unwrap(), &UserId::parse(user).unwrap());
    let body = serde_json::to_vec(&ask).expect("request JSON");
    let reply = raw
        .request(&subject, &body, T)
        .await
        .unwrap_or_else(|e| panic!("worker request: {e}"));
    raw.close().await;
    serde_json::from_slice(&reply.payload).expect("a worker reply")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_room_and_roles_are_run_from_the_panel() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room(
        "wr",
        json!({ "room_title": "Waiting",
            "room_features": { "waiting_room_features": { "is_active": true } } }),
    )
    .await;
    let g1_token = q.token("wr", "g1", false).await;
    let url = ws_url(&q, &g1_token).await;
    let g2_link = q.join_link("wr", "g2", false).await;
    let mut driver = Chromedriver::start();
    let m = driver.browser().await;
    join(&m, &q.join_link("wr", "mod", true).await).await;
    let (g1, g2) = (driver.browser().await, driver.browser().await);
    for (c, link) in [(&g1, q.link(&g1_token)), (&g2, g2_link)] {
        c.goto(&link).await.expect("open");
        pass_prejoin(c).await;
        assert!(wait_for(c, "#waiting-page", T).await, "not waiting");
    }

    // Both show in the panel and the header's badge.
    assert!(wait_for(&m, "#waiting-panel li[data-user=g2]", T).await);
    assert!(wait_for(&m, "#waiting-panel li[data-user=g1]", T).await);
    assert!(wait_for_text(&m, "#waiting-badge .count", "2", T).await);
    // The waiting message changes live for those who wait.
    let input = m
        .find(fantoccini::Locator::Css("#waiting-message-input"))
        .await
        .expect("message box");
    input.clear().await.expect("clear");
    input.send_keys("Back in five minutes").await.expect("type");
    click(&m, "#waiting-message-save").await;
    for c in [&g1, &g2] {
        assert!(
            wait_for_text(c, "#waiting-message", "Back in five minutes", T).await,
            "the waiting message did not arrive"
        );
    }

    // Admit one, deny the other.
    click(&m, "#waiting-panel li[data-user=g1] .admit").await;
    click(&m, "#waiting-panel li[data-user=g2] .deny").await;
    assert!(wait_for(&g1, CONNECTED, T).await, "g1 was not let in");
    assert!(wait_for(&g1, "#chat-input:not([disabled])", T).await);
    assert!(
        wait_for_text(
            &g2,
            "#goodbye-page .goodbye-reason",
            "did not let you in",
            T
        )
        .await,
        "g2 was not told they were turned away"
    );
    assert!(wait_for_text(&m, "#waiting-panel .waiting-count", "0", T).await);
    assert!(wait_gone(&m, "#waiting-badge", T).await);

    // Promoted from the menu: g1's page gains the controls, and g1 lets in
    // someone new (g2, back with a new link: denied is not blocked).
    menu(&m, "g1", "role").await;
    assert!(
        wait_for(&g1, "#room-page #waiting-panel", T).await,
        "no moderator panel after promotion"
    );
    assert!(wait_for(&g1, "#my-role", T).await);
    g2.goto(&q.join_link("wr", "g2", false).await)
        .await
        .expect("open again");
    pass_prejoin(&g2).await;
    assert!(wait_for(&g2, "#waiting-page", T).await);
    assert!(wait_for(&g1, "#waiting-panel li[data-user=g2] .admit", T).await);
    click(&g1, "#waiting-panel li[data-user=g2] .admit").await;
    assert!(wait_for(&g2, CONNECTED, T).await, "g1 could not admit g2");

    // Demoted: the controls go, and the server refuses g1's moderator
    // requests.
    assert!(wait_for(&m, "#menu-button-g1", T).await);
    menu(&m, "g1", "role").await;
    assert!(
        wait_gone(&g1, "#waiting-panel, #room-controls, #my-role", T).await,
        "the controls stayed after demotion"
    );
    let reply = raw_request(
        &q,
        &url,
        "wr",
        "g1",
        WorkerRequest::Remove {
            user_id: UserId::parse("g2").unwrap(),
            block: false,
        },
    )
    .await;
    assert!(!reply.ok, "a demoted moderator removed someone: {reply:?}");
    assert!(wait_for(&g2, CONNECTED, T).await, "g2 was removed");
    for c in [m, g1, g2] {
        c.close().await.ok();
    }
}
