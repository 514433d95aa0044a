//! End to end, issue 14's first two items: locks are known at join, and a
//! message refused by a lock is never lost.
//!
//! - A room locked before anyone came shows the locked composer in the
//!   very first frame of the room (the lock comes with the verified
//!   join, not with a state that arrives after connecting).
//! - Messages typed while the network is cut, and refused once it is back
//!   because a moderator locked the chat meanwhile, show "Not sent"; a
//!   reload keeps them (the session cache holds them); once unlocked,
//!   Retry delivers one exactly once and Discard forgets the other. The
//!   same in an E2EE room, where what is kept is the sealed message.
//! - A participant whose private chat is locked can't pick a recipient,
//!   and nats-server refuses its private messages; people waiting to be
//!   let in are never offered as recipients.
//!
//! Run with `cargo test -p quorum-e2e --test unsent_chat` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::netcut::NetCut;
use quorum_e2e::raw_nats::RawNats;
use quorum_e2e::screens::{capture, DESKTOP, PHONE};
use quorum_e2e::{
    axe::ColorScheme, click, join, pass_prejoin, send_chat, texts, wait_for, wait_for_text,
    wait_gone, Chromedriver, Quorum,
};
use quorum_shared::api::LockSettings;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;
use quorum_shared::worker::{WorkerReply, WorkerRequest};
use serde_json::json;

const T: Duration = Duration::from_secs(30);
const LOCKED: &str = "Chat is locked by a moderator";
const CONNECTED: &str = "#room-page #conn-state[data-state=connected]";
const NOT_SENT: &str = "#chat-list .chat-message.mine.not-sent";

/// Records whether the composer was disabled when it first appeared.
const WATCH_FIRST_COMPOSER: &str = r#"
    window.__firstComposer = null;
    new MutationObserver((_, o) => {
        const i = document.getElementById('chat-input');
        if (i) { window.__firstComposer = { disabled: i.disabled }; o.disconnect(); }
    }).observe(document.body, { childList: true, subtree: true });
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_room_locked_before_joining_shows_the_lock_in_the_first_frame() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    // Only sending locked: plugNmeet's other way of locking chat.
    q.create_room(
        "quiet",
        json!({ "room_title": "Quiet",
            "default_lock_settings": { "lock_chat_send_message": true } }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    c.goto(&q.join_link("quiet", "ann", false).await)
        .await
        .expect("open");
    assert!(wait_for(&c, "#join-button", T).await, "no pre-join page");
    c.execute(WATCH_FIRST_COMPOSER, vec![])
        .await
        .expect("watch");
    click(&c, "#join-button").await;
    assert!(wait_for(&c, "#chat-input", T).await);
    let first = c
        .execute("return window.__firstComposer", vec![])
        .await
        .expect("read");
    assert_eq!(
        first,
        json!({ "disabled": true }),
        "the composer was open when it appeared"
    );
    assert!(wait_for_text(&c, "#chat-notice", LOCKED, T).await);
    assert!(wait_for(&c, CONNECTED, T).await);
    // Still locked once the server's own state arrived.
    assert!(wait_for(&c, "#chat-input[disabled]", T).await);
    assert!(wait_for(&c, "#chat-send[disabled]", T).await);
    capture(
        &c,
        "locked-composer-at-join",
        &[DESKTOP, PHONE],
        &[ColorScheme::Light],
        "",
    )
    .await;
    c.close().await.ok();
}

/// Sends `req` to the worker as `user` on `raw`; panics unless accepted.
async fn ask(raw: &mut RawNats, room: &str, user: &str, req: WorkerRequest) {
    let subject = subjects::worker(&RoomId::parse(room).unwrap(), &UserId::parse(user).unwrap());
    let body = serde_json::to_vec(&req).expect("request JSON");
    let reply = raw
        .request(&subject, &body, T)
        .await
        .unwrap_or_else(|e| panic!("worker request: {e}"));
    let reply: WorkerReply = serde_json::from_slice(&reply.payload).expect("a worker reply");
    assert!(reply.ok, "refused: {reply:?}");
}

/// Sets `user`'s chat lock to `on`, as moderator `by`.
async fn lock_chat(raw: &mut RawNats, room: &str, by: &str, user: &str, on: bool) {
    let locks = LockSettings {
        lock_chat: Some(on),
        ..LockSettings::default()
    };
    let user_id = UserId::parse(user).unwrap();
    ask(raw, room, by, WorkerRequest::SetLocks { user_id, locks }).await;
}

/// Chat texts `raw` received until one containing `until`, inclusive.
async fn chat_until(raw: &mut RawNats, until: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let m = raw
            .next_msg(T)
            .await
            .unwrap_or_else(|e| panic!("raw: {e}"))
            .unwrap_or_else(|| panic!("no {until:?} within {T:?}; got {seen:?}"));
        let text = String::from_utf8_lossy(&m.payload).into_owned();
        let done = text.contains(until);
        seen.push(text);
        if done {
            return seen;
        }
    }
}

/// The Retry or Discard button of our not-sent message reading `text`.
fn unsent_button(text: &str, which: &str) -> Locator<'static> {
    let xpath = format!(
        "//li[contains(@class,'not-sent')][.//*[contains(@class,'text') and contains(.,'{text}')]]\
         //button[contains(@class,'unsent-{which}')]"
    );
    Locator::XPath(Box::leak(xpath.into_boxed_str()))
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css)).await.map_or(0, |v| v.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_by_a_lock_is_kept_across_a_reload_until_retried() {
    let _turn = quorum_e2e::serial().await;
    let net = NetCut::start().await;
    let q = net.start_quorum();
    q.create_room("away", json!({ "room_title": "Away" })).await;
    // The moderator is connected directly: the cut is the participant's.
    let token = q.token("away", "mod", true).await;
    let mut m = RawNats::connect(&net.direct_url(), Some(&token))
        .await
        .expect("moderator connects");
    let chat_all = subjects::UserSubjects::new(
        &RoomId::parse("away").unwrap(),
        &UserId::parse("mod").unwrap(),
    )
    .chat_subscribe;
    m.sub(&chat_all).await.expect("subscribe");
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    join(&c, &q.join_link("away", "bob", false).await).await;
    send_chat(&c, "before-the-cut").await;
    chat_until(&mut m, "before-the-cut").await;

    // Typed while the network is gone: shown, waiting.
    net.cut();
    assert!(wait_gone(&c, CONNECTED, T).await, "the cut went unnoticed");
    send_chat(&c, "typed-while-away").await;
    send_chat(&c, "to-be-discarded").await;
    assert!(wait_for(&c, "#chat-list .chat-message.mine.pending", T).await);
    // Meanwhile a moderator locks the chat.
    lock_chat(&mut m, "away", "mod", "bob", true).await;
    net.restore();
    assert!(wait_for(&c, CONNECTED, T).await, "never came back");
    assert!(wait_for(&c, "#chat-input[disabled]", T).await);
    assert!(wait_for_text(&c, "#chat-notice", LOCKED, T).await);
    // Refused, and said so: never left "Sending…".
    assert!(
        wait_for(&c, &format!("{NOT_SENT}:nth-last-child(1)"), T).await,
        "not marked Not sent; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(wait_gone(&c, "#chat-list .chat-message.pending", T).await);
    assert_eq!(count(&c, NOT_SENT).await, 2);
    assert!(
        wait_for(&c, &format!("{NOT_SENT} .unsent-retry[disabled]"), T).await,
        "Retry is offered while locked"
    );
    capture(&c, "not-sent", &[DESKTOP, PHONE], &[ColorScheme::Light], "").await;

    // A reload keeps them, still refused, with the lock known at once.
    c.refresh().await.expect("reload");
    pass_prejoin(&c).await;
    assert!(wait_for(&c, CONNECTED, T).await);
    assert!(wait_for(&c, "#chat-input[disabled]", T).await);
    assert!(wait_for(&c, NOT_SENT, T).await, "lost on reload");
    assert_eq!(count(&c, NOT_SENT).await, 2);

    // Unlocked: Retry sends one, Discard forgets the other.
    lock_chat(&mut m, "away", "mod", "bob", false).await;
    assert!(wait_for(&c, "#chat-input:not([disabled])", T).await);
    assert!(wait_for(&c, CONNECTED, T).await);
    let discard = unsent_button("to-be-discarded", "discard");
    c.find(discard)
        .await
        .expect("Discard")
        .click()
        .await
        .expect("click");
    let retry = unsent_button("typed-while-away", "retry");
    assert!(
        wait_for(&c, &format!("{NOT_SENT} .unsent-retry:not([disabled])"), T).await,
        "Retry stayed disabled after the unlock"
    );
    c.find(retry)
        .await
        .expect("Retry")
        .click()
        .await
        .expect("click");
    assert!(wait_gone(&c, NOT_SENT, T).await);
    assert!(wait_for(&c, "#chat-list[data-pending='0']", T).await);
    send_chat(&c, "after-the-retry").await;
    let got = chat_until(&mut m, "after-the-retry").await;
    let n = |s: &str| got.iter().filter(|t| t.contains(s)).count();
    assert_eq!(
        (n("typed-while-away"), n("to-be-discarded")),
        (1, 0),
        "{got:?}"
    );

    // And so it stays after another reload.
    c.refresh().await.expect("reload");
    pass_prejoin(&c).await;
    assert!(wait_for_text(&c, "#chat-list .text", "after-the-retry", T).await);
    let shown = texts(&c, "#chat-list .chat-message .text").await;
    let k = |s: &str| shown.iter().filter(|t| t.contains(s)).count();
    assert_eq!(
        (k("typed-while-away"), k("to-be-discarded")),
        (1, 0),
        "{shown:?}"
    );
    assert_eq!(count(&c, NOT_SENT).await, 0);
    m.close().await;
    c.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_chat_is_offered_only_to_those_it_can_reach() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room(
        "pv",
        json!({ "room_title": "Private",
            "default_lock_settings": { "lock_private_chat": true } }),
    )
    .await;
    q.create_room(
        "wr",
        json!({ "room_title": "Waiting",
            "room_features": { "waiting_room_features": { "is_active": true } } }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let (m, p) = (driver.browser().await, driver.browser().await);
    join(&m, &q.join_link("pv", "mod", true).await).await;
    join(&p, &q.join_link("pv", "pat", false).await).await;
    // Pat sees the moderator listed, but can't pick anyone privately.
    assert!(wait_for(&p, "#chat-to option[value=mod][disabled]", T).await);
    assert!(wait_for(&m, "#chat-to option[value=pat]:not([disabled])", T).await);
    // nats-server agrees: public chat yes, private no.
    let token = q.token("pv", "pia", false).await;
    let url = q.verify(&token).await["session"]["nats_ws_urls"][0]
        .as_str()
        .expect("a NATS address")
        .to_owned();
    let mut raw = RawNats::connect(&url, Some(&token)).await.expect("raw");
    let (room, pia) = (RoomId::parse("pv").unwrap(), UserId::parse("pia").unwrap());
    let dm = subjects::dm(&room, &UserId::parse("mod").unwrap(), &pia);
    let refused = raw.publish(&dm, b"{}").await;
    assert!(
        refused.is_err_and(|e| e.contains("Permissions Violation")),
        "nats-server let a private-locked identity send privately"
    );
    let public = raw.publish(&subjects::chat(&room, &pia), b"{}").await;
    assert!(
        public.is_ok(),
        "the private lock locked public chat: {public:?}"
    );
    raw.close().await;

    // Someone waiting is not offered to the moderator; someone let in is.
    let m2 = driver.browser().await;
    join(&m2, &q.join_link("wr", "host", true).await).await;
    let mut people = Vec::new();
    for user in ["sue", "wes"] {
        let token = q.token("wr", user, false).await;
        people.push(RawNats::connect(&url, Some(&token)).await.expect("raw"));
        let css = format!("#waiting-panel li[data-user={user}]");
        assert!(wait_for(&m2, &css, T).await, "{user} is not shown waiting");
    }
    click(&m2, "#waiting-panel li[data-user=sue] .admit").await;
    assert!(wait_for(&m2, "#chat-to option[value=sue]", T).await);
    assert_eq!(count(&m2, "#chat-to option[value=wes]").await, 0);
    for raw in people {
        raw.close().await;
    }
    for c in [m, p, m2] {
        c.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sealed_message_refused_by_a_lock_survives_a_reload_and_retries_once() {
    let _turn = quorum_e2e::serial().await;
    let net = NetCut::start().await;
    let q = net.start_quorum();
    q.create_room(
        "sealed",
        json!({ "room_title": "Sealed", "room_features":
            { "end_to_end_encryption_features": { "is_enabled": true } } }),
    )
    .await;
    let token = q.token("sealed", "mod", true).await;
    let mut m = RawNats::connect(&net.direct_url(), Some(&token))
        .await
        .expect("moderator connects");
    let mut driver = Chromedriver::start();
    let (bob, ann) = (driver.browser().await, driver.browser().await);
    join(&bob, &q.join_link("sealed", "bob", false).await).await;
    join(&ann, &q.join_link("sealed", "ann", false).await).await;
    send_chat(&bob, "sealed-before").await;
    assert!(wait_for_text(&ann, "#chat-list", "sealed-before", T).await);

    // Typed while away, refused on return: a moderator locked the chat.
    net.cut();
    assert!(
        wait_gone(&bob, CONNECTED, T).await,
        "the cut went unnoticed"
    );
    send_chat(&bob, "sealed-away").await;
    assert!(wait_for(&bob, "#chat-list .chat-message.mine.pending", T).await);
    lock_chat(&mut m, "sealed", "mod", "bob", true).await;
    net.restore();
    assert!(wait_for(&bob, CONNECTED, T).await, "never came back");
    assert!(wait_for(&bob, NOT_SENT, T).await, "not marked Not sent");

    // The cache keeps the sealed bytes: a reload shows it, still refused.
    bob.refresh().await.expect("reload");
    pass_prejoin(&bob).await;
    assert!(wait_for(&bob, CONNECTED, T).await);
    assert!(wait_for(&bob, NOT_SENT, T).await, "lost on reload");
    assert!(wait_for_text(&bob, NOT_SENT, "sealed-away", T).await);

    // Unlocked: Retry delivers it, readable, exactly once.
    lock_chat(&mut m, "sealed", "mod", "bob", false).await;
    assert!(
        wait_for(
            &bob,
            &format!("{NOT_SENT} .unsent-retry:not([disabled])"),
            T
        )
        .await,
        "Retry stayed disabled after the unlock"
    );
    bob.find(unsent_button("sealed-away", "retry"))
        .await
        .expect("Retry")
        .click()
        .await
        .expect("click");
    assert!(wait_gone(&bob, NOT_SENT, T).await);
    send_chat(&bob, "sealed-after").await;
    assert!(wait_for_text(&ann, "#chat-list", "sealed-after", T).await);
    assert_eq!(
        quorum_e2e::count_text(&ann, "#chat-list .chat-message .text", "sealed-away").await,
        1,
        "the retried message did not arrive exactly once, decrypted"
    );
    m.close().await;
    for c in [bob, ann] {
        c.close().await.ok();
    }
}
