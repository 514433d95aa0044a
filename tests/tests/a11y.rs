//! End to end: accessibility. axe-core (`quorum_e2e::axe`) checks every
//! page a user can reach (the pre-join page, the room as a participant
//! and as a moderator, the waiting room, the goodbye page and the error
//! page, the key prompt) in the light and the dark theme, and the room
//! must fit a phone's width. Run with
//! `cargo test -p quorum-e2e --test a11y` after `trunk build --release`
//! and `cargo build -p quorum-server` (`scripts/setup.sh` installs
//! axe-core from package.json).

use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::axe::{assert_clean, emulate_color_scheme, ColorScheme};
use quorum_e2e::{
    join, send_chat, settle, wait_for, wait_for_text, wait_gone, Chromedriver, Quorum,
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn assert_ok(res: &serde_json::Value, what: &str) {
    assert_eq!(res["status"], json!(true), "{what} failed: {res}");
}

/// A join link for `user` in `room`.
async fn link(q: &Quorum, room: &str, user: &str, admin: bool) -> String {
    let res = q
        .api(
            "/auth/room/getJoinToken",
            json!({ "room_id": room, "user_info":
                { "user_id": user, "name": user, "is_admin": admin } }),
        )
        .await;
    let token = res["token"].as_str().expect("a token");
    format!("{}/?access_token={token}", q.base_url())
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .click()
        .await
        .unwrap_or_else(|e| panic!("click {css}: {e}"));
}

/// Fills the room with what it shows in use: messages from us, from
/// others and from the system, a raised hand, the notification panel
/// open, a toast.
async fn fill_room(q: &Quorum, host: &Client, guest: &Client) {
    send_chat(host, "Welcome, everyone").await;
    send_chat(guest, "Hello from the guest").await;
    let res = q
        .api(
            "/auth/room/broadcastToRoom",
            json!({ "room_id": "demo", "chat_msg": { "message": "The meeting is recorded" } }),
        )
        .await;
    assert_ok(&res, "broadcastToRoom (chat)");
    click(guest, "#hand").await;
    assert!(
        wait_for(host, "#participants .participant[data-hand=raised]", T).await,
        "the host never saw the raised hand"
    );
    let res = q
        .api(
            "/auth/room/broadcastToRoom",
            json!({ "room_id": "demo", "notification_msg": { "text": "Break in five minutes", "type": "INFO" } }),
        )
        .await;
    assert_ok(&res, "broadcastToRoom (notification)");
    settle(host, &[host, guest]).await;
    for c in [host, guest] {
        assert!(
            wait_for_text(c, "#chat-list .chat-message.system", "recorded", T).await,
            "no system message"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_passes_axe_in_both_themes() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    join(&host, &quorum.moderator_link).await;
    // The pre-join page comes first in a fresh browser.
    guest
        .goto(&quorum.participant_link)
        .await
        .expect("open link");
    assert!(
        wait_for(&guest, "#join-button", T).await,
        "no pre-join page; page: {}",
        guest.source().await.unwrap_or_default()
    );
    assert_clean(&guest, "the pre-join page").await;
    join(&guest, &quorum.participant_link).await;
    fill_room(&quorum, &host, &guest).await;

    assert_clean(&guest, "the room (participant)").await;
    assert_clean(&host, "the room (moderator)").await;
    click(&host, "#notices-toggle").await;
    assert!(wait_for(&host, "#notices-panel:not([hidden])", T).await);
    assert_clean(&host, "the room (moderator, notifications open)").await;

    // Once more without the toast: an empty toast region is a case of
    // its own (a name on an empty <div> was one of axe's findings).
    assert!(
        wait_gone(&guest, "#toasts .toast", T).await,
        "the toast never went away"
    );
    for c in [&host, &guest] {
        emulate_color_scheme(c, ColorScheme::Dark).await;
    }
    assert_clean(&guest, "the room (participant, dark)").await;
    assert_clean(&host, "the room (moderator, notifications open, dark)").await;

    click(&guest, "#leave").await;
    assert!(
        wait_for(&guest, "#goodbye-page", T).await,
        "no goodbye page; page: {}",
        guest.source().await.unwrap_or_default()
    );
    assert_clean(&guest, "the goodbye page (dark)").await;
    emulate_color_scheme(&guest, ColorScheme::Light).await;
    assert_clean(&guest, "the goodbye page").await;

    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_error_and_key_pages_pass_axe() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let res = quorum
        .api(
            "/auth/room/create",
            json!({ "room_id": "w", "metadata": { "room_title": "W",
                "room_features": { "waiting_room_features": { "is_active": true } } } }),
        )
        .await;
    assert_ok(&res, "create");
    let waiting = link(&quorum, "w", "guest", false).await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;

    c.goto(&waiting).await.expect("open");
    quorum_e2e::pass_prejoin(&c).await;
    assert!(
        wait_for(&c, "#waiting-page #conn-state[data-state=connected]", T).await,
        "no waiting page; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert_clean(&c, "the waiting page").await;
    emulate_color_scheme(&c, ColorScheme::Dark).await;
    assert_clean(&c, "the waiting page (dark)").await;

    // A fresh page load keeps the emulated scheme (it is the session's).
    c.goto(&format!("{}/?access_token=not-a-token", quorum.base_url()))
        .await
        .expect("open");
    assert!(
        wait_for(&c, "#error-page .error-title", T).await,
        "no error page; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert_clean(&c, "the error page (dark)").await;
    emulate_color_scheme(&c, ColorScheme::Light).await;
    assert_clean(&c, "the error page").await;

    // The key prompt of a room whose participants type the key.
    let res = quorum
        .api(
            "/auth/room/create",
            json!({ "room_id": "k", "metadata": { "room_title": "K",
                "room_features": { "end_to_end_encryption_features": {
                    "is_enabled": true, "enabled_self_insert_encryption_key": true } } } }),
        )
        .await;
    assert_ok(&res, "create (E2EE)");
    c.goto(&link(&quorum, "k", "keyed", false).await)
        .await
        .expect("open");
    quorum_e2e::pass_prejoin(&c).await;
    assert!(
        wait_for(&c, "#key-page #e2ee-key", T).await,
        "no key prompt; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert_clean(&c, "the key prompt").await;
    emulate_color_scheme(&c, ColorScheme::Dark).await;
    assert_clean(&c, "the key prompt (dark)").await;
    c.close().await.ok();
}

/// `document.documentElement.scrollWidth <= window.innerWidth`, with both.
async fn fits(c: &Client) -> (bool, serde_json::Value) {
    let m = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth]",
            vec![],
        )
        .await
        .expect("measure the page");
    let fits = m[0].as_f64().unwrap_or(f64::MAX) <= m[1].as_f64().unwrap_or(0.0);
    (fits, m)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_fits_a_phone() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    for c in [&host, &guest] {
        c.set_window_size(390, 844)
            .await
            .expect("phone-sized window");
    }
    join(&host, &quorum.moderator_link).await;
    join(&guest, &quorum.participant_link).await;
    fill_room(&quorum, &host, &guest).await;
    let width = host
        .execute("return window.innerWidth", vec![])
        .await
        .expect("innerWidth");
    assert!(
        width.as_f64().is_some_and(|w| w <= 400.0),
        "the window is not phone-sized: innerWidth {width}"
    );
    for (who, c) in [("moderator", &host), ("participant", &guest)] {
        let (ok, m) = fits(c).await;
        assert!(
            ok,
            "the room ({who}) overflows a phone: [scrollWidth, innerWidth] = {m}"
        );
    }
    click(&host, "#notices-toggle").await;
    assert!(wait_for(&host, "#notices-panel:not([hidden])", T).await);
    let (ok, m) = fits(&host).await;
    assert!(ok, "the notification panel overflows a phone: {m}");
    assert_clean(&host, "the room on a phone (moderator)").await;
    // The narrowest phones in use.
    host.set_window_size(360, 740)
        .await
        .expect("a narrower window");
    let (ok, m) = fits(&host).await;
    assert!(ok, "the room overflows 360 px: {m}");
    host.close().await.ok();
    guest.close().await.ok();
}
