//! End to end: accessibility. axe-core (`quorum_e2e::axe`) checks every
//! page a user can reach (the pre-join page, the room as a participant
//! and as a moderator, the waiting room, the goodbye page and the error
//! page, the key prompt) in the light and the dark theme, in English (the
//! test browser's language) and in German (`?lang=de`), and the room
//! must fit a phone's width in both. Run with
//! `cargo test -p quorum-e2e --test a11y` after `trunk build --release`
//! and `cargo build -p quorum-server` (`scripts/setup.sh` installs
//! axe-core from package.json).

use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::axe::{assert_clean, emulate_color_scheme, ColorScheme};
use quorum_e2e::{
    click, join, send_chat, settle, wait_for, wait_for_text, wait_gone, Chromedriver, Quorum,
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

fn assert_ok(res: &serde_json::Value, what: &str) {
    assert_eq!(res["status"], json!(true), "{what} failed: {res}");
}

/// `link` shown in `lang` (`None`: the browser's language, English here).
fn in_lang(link: &str, lang: Option<&str>) -> String {
    match lang {
        Some(l) => format!("{link}&lang={l}"),
        None => link.to_owned(),
    }
}

/// `page`, named with its language for the failure message.
fn named(page: &str, lang: Option<&str>) -> String {
    match lang {
        Some(l) => format!("{page} [lang={l}]"),
        None => page.to_owned(),
    }
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
    room_passes_axe(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_passes_axe_in_german() {
    room_passes_axe(Some("de")).await;
}

async fn room_passes_axe(lang: Option<&str>) {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    let (host_link, guest_link) = (
        in_lang(&quorum.moderator_link, lang),
        in_lang(&quorum.participant_link, lang),
    );
    join(&host, &host_link).await;
    // The pre-join page comes first in a fresh browser.
    guest.goto(&guest_link).await.expect("open link");
    assert!(
        wait_for(&guest, "#join-button", T).await,
        "no pre-join page; page: {}",
        guest.source().await.unwrap_or_default()
    );
    assert_clean(&guest, &named("the pre-join page", lang)).await;
    join(&guest, &guest_link).await;
    fill_room(&quorum, &host, &guest).await;

    assert_clean(&guest, &named("the room (participant)", lang)).await;
    assert_clean(&host, &named("the room (moderator)", lang)).await;
    click(&host, "#notices-toggle").await;
    assert!(wait_for(&host, "#notices-panel:not([hidden])", T).await);
    assert_clean(
        &host,
        &named("the room (moderator, notifications open)", lang),
    )
    .await;

    // Once more without the toast: an empty toast region is a case of
    // its own (a name on an empty <div> was one of axe's findings).
    assert!(
        wait_gone(&guest, "#toasts .toast", T).await,
        "the toast never went away"
    );
    for c in [&host, &guest] {
        emulate_color_scheme(c, ColorScheme::Dark).await;
    }
    assert_clean(&guest, &named("the room (participant, dark)", lang)).await;
    assert_clean(
        &host,
        &named("the room (moderator, notifications open, dark)", lang),
    )
    .await;

    quorum_e2e::leave(&guest).await;
    assert!(
        wait_for(&guest, "#goodbye-page", T).await,
        "no goodbye page; page: {}",
        guest.source().await.unwrap_or_default()
    );
    assert_clean(&guest, &named("the goodbye page (dark)", lang)).await;
    emulate_color_scheme(&guest, ColorScheme::Light).await;
    assert_clean(&guest, &named("the goodbye page", lang)).await;

    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_error_and_key_pages_pass_axe() {
    waiting_error_and_key_pages_pass_axe(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_error_and_key_pages_pass_axe_in_german() {
    waiting_error_and_key_pages_pass_axe(Some("de")).await;
}

async fn waiting_error_and_key_pages_pass_axe(lang: Option<&str>) {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    quorum
        .create_room(
            "w",
            json!({ "room_title": "W",
                "room_features": { "waiting_room_features": { "is_active": true } } }),
        )
        .await;
    let waiting = in_lang(&quorum.join_link("w", "guest", false).await, lang);
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;

    c.goto(&waiting).await.expect("open");
    quorum_e2e::pass_prejoin(&c).await;
    assert!(
        wait_for(&c, "#waiting-page #conn-state[data-state=connected]", T).await,
        "no waiting page; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert_clean(&c, &named("the waiting page", lang)).await;
    emulate_color_scheme(&c, ColorScheme::Dark).await;
    assert_clean(&c, &named("the waiting page (dark)", lang)).await;

    // A fresh page load keeps the emulated scheme (it is the session's).
    let bad = format!("{}/?access_token=not-a-token", quorum.base_url());
    c.goto(&in_lang(&bad, lang)).await.expect("open");
    assert!(
        wait_for(&c, "#error-page .error-title", T).await,
        "no error page; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert_clean(&c, &named("the error page (dark)", lang)).await;
    emulate_color_scheme(&c, ColorScheme::Light).await;
    assert_clean(&c, &named("the error page", lang)).await;

    // The key prompt of a room whose participants type the key.
    quorum
        .create_room(
            "k",
            json!({ "room_title": "K",
                "room_features": { "end_to_end_encryption_features": {
                    "is_enabled": true, "enabled_self_insert_encryption_key": true } } }),
        )
        .await;
    c.goto(&in_lang(&quorum.join_link("k", "keyed", false).await, lang))
        .await
        .expect("open");
    quorum_e2e::pass_prejoin(&c).await;
    assert!(
        wait_for(&c, "#key-page #e2ee-key", T).await,
        "no key prompt; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert_clean(&c, &named("the key prompt", lang)).await;
    emulate_color_scheme(&c, ColorScheme::Dark).await;
    assert_clean(&c, &named("the key prompt (dark)", lang)).await;
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
    room_fits_a_phone(None).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_room_fits_a_phone_in_german() {
    room_fits_a_phone(Some("de")).await;
}

async fn room_fits_a_phone(lang: Option<&str>) {
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
    join(&host, &in_lang(&quorum.moderator_link, lang)).await;
    join(&guest, &in_lang(&quorum.participant_link, lang)).await;
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
    assert_clean(&host, &named("the room on a phone (moderator)", lang)).await;
    // The narrowest phones in use.
    host.set_window_size(360, 740)
        .await
        .expect("a narrower window");
    let (ok, m) = fits(&host).await;
    assert!(ok, "the room overflows 360 px: {m}");
    host.close().await.ok();
    guest.close().await.ok();
}
