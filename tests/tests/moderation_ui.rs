//! End to end: the moderator's room as people see it. With two people in
//! the waiting room (raw NATS clients: waiting needs no browser) and one
//! participant with a raised hand, the moderator's page passes axe-core
//! with the waiting panel and a participant's menu open (in English and
//! in German), and the run
//! writes screenshots of it (desktop 1280×800 and phone 390×844, light and
//! dark) under `target/screenshots/`. A reaction shows on the other page.
//! Run with `cargo test -p quorum-e2e --test moderation_ui` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use quorum_e2e::axe::{assert_clean, emulate_color_scheme, ColorScheme};
use quorum_e2e::raw_nats::RawNats;
use quorum_e2e::screens::{capture, set_viewport, DESKTOP, PHONE};
use quorum_e2e::{click, join, send_chat, wait_for, wait_for_text, Chromedriver, Quorum};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

/// Brings the waiting panel to the top: the stage scrolls on a desktop,
/// the whole page on a phone.
const SHOW_PANEL: &str = r#"
    // A phone shows one part at a time: the stage, where the panel is.
    const tab = document.getElementById('tab-stage');
    if (tab && tab.offsetParent !== null) tab.click();
    const stage = document.querySelector('.stage-main');
    if (getComputedStyle(stage).overflowY === 'auto') {
        stage.scrollTop = 0;
    } else {
        document.getElementById('waiting-panel').scrollIntoView();
    }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_moderators_room_with_people_waiting() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room(
        "team",
        json!({ "room_title": "Weekly planning",
            "room_features": { "waiting_room_features": { "is_active": true } } }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let (m, p) = (driver.browser().await, driver.browser().await);
    let host = q.token_named("team", "alex", "Alex Moderator", true).await;
    join(&m, &q.link(&host)).await;
    // Sam is let in; Robin and Kim wait (raw clients with their tokens).
    let sam = q.token_named("team", "sam", "Sam Participant", false).await;
    let url = q.verify(&sam).await["session"]["nats_ws_urls"][0]
        .as_str()
        .expect("a NATS address")
        .to_owned();
    p.goto(&q.link(&sam)).await.expect("open");
    quorum_e2e::pass_prejoin(&p).await;
    assert!(wait_for(&m, "#waiting-panel li[data-user=sam] .admit", T).await);
    click(&m, "#waiting-panel li[data-user=sam] .admit").await;
    assert!(wait_for(&p, "#room-page #conn-state[data-state=connected]", T).await);
    let mut waiting = Vec::new();
    for (user, name) in [("robin", "Robin Waiting"), ("kim", "Kim Waiting")] {
        let token = q.token_named("team", user, name, false).await;
        let raw = RawNats::connect(&url, Some(&token))
            .await
            .unwrap_or_else(|e| panic!("{user} could not connect: {e}"));
        waiting.push(raw);
        let css = format!("#waiting-panel li[data-user={user}]");
        assert!(wait_for(&m, &css, T).await, "{user} is not shown waiting");
    }
    assert!(wait_for_text(&m, "#waiting-badge .count", "2", T).await);

    // Some life in the room: chat, a raised hand, a reaction.
    send_chat(&m, "Welcome! Agenda: https://example.org/agenda").await;
    send_chat(&p, "Hello, happy to be here").await;
    click(&p, "#hand").await;
    assert!(wait_for(&m, "li.participant[data-user=sam][data-hand=raised]", T).await);
    click(&p, "#react-clap").await;
    assert!(
        wait_for_text(
            &m,
            "#reactions .reaction[data-reaction=clap]",
            "Sam Participant",
            T
        )
        .await,
        "the reaction did not show on the moderator's page"
    );
    assert!(
        wait_for(
            &m,
            "#chat-list a[href='https://example.org/agenda'][rel~=noopener]",
            T
        )
        .await,
        "the link is not a safe link"
    );

    // axe with the waiting panel and Sam's menu open, in both themes.
    click(&m, "#menu-button-sam").await;
    assert!(wait_for(&m, "#menu-sam:not([hidden])", T).await);
    for scheme in [ColorScheme::Light, ColorScheme::Dark] {
        emulate_color_scheme(&m, scheme).await;
        assert_clean(&m, &format!("the moderator's room, menu open ({scheme:?})")).await;
    }
    // The same page in German: a second moderator with `&lang=de`.
    let de = driver.browser().await;
    let lea = q.token_named("team", "lea", "Lea Moderatorin", true).await;
    join(&de, &format!("{}&lang=de", q.link(&lea))).await;
    assert!(wait_for(&de, "html[lang=de] #waiting-panel li[data-user=kim]", T).await);
    click(&de, "#menu-button-sam").await;
    assert!(wait_for(&de, "#menu-sam:not([hidden])", T).await);
    for scheme in [ColorScheme::Light, ColorScheme::Dark] {
        emulate_color_scheme(&de, scheme).await;
        assert_clean(
            &de,
            &format!("the moderator's room in German, menu open ({scheme:?})"),
        )
        .await;
    }
    de.close().await.ok();

    // Escape closes the menu and gives the focus back to its button.
    // (Opening it put the focus on its first item.)
    m.active_element()
        .await
        .expect("the focused item")
        .send_keys("\u{e00c}")
        .await
        .expect("press Escape");
    assert!(wait_for(&m, "#menu-sam[hidden]", T).await);
    let focused = m
        .execute("return document.activeElement.id", vec![])
        .await
        .expect("focus");
    assert_eq!(focused, json!("menu-button-sam"), "focus not restored");

    // The pictures show the panel and no passing notices.
    for close in m
        .find_all(fantoccini::Locator::Css("#toasts .toast button"))
        .await
        .expect("toasts")
    {
        close.click().await.ok();
    }
    assert!(quorum_e2e::wait_gone(&m, "#toasts .toast", T).await);
    let shots = capture(
        &m,
        "moderator-waiting",
        &[DESKTOP, PHONE],
        &[ColorScheme::Light, ColorScheme::Dark],
        SHOW_PANEL,
    )
    .await;
    assert_eq!(shots.len(), 4);
    // On a phone nothing is wider than the screen.
    set_viewport(&m, PHONE).await;
    // Nor taller: the room's column scrolls, the header stays in view.
    let overflow = m
        .execute(
            "const de = document.documentElement;
             return [de.scrollWidth > innerWidth, de.scrollHeight > innerHeight]",
            vec![],
        )
        .await
        .expect("measure");
    assert_eq!(
        overflow[0],
        json!(false),
        "the room scrolls sideways on a phone"
    );
    assert_eq!(
        overflow[1],
        json!(false),
        "the page itself scrolls on a phone"
    );
    for raw in waiting {
        raw.close().await;
    }
    m.close().await.ok();
    p.close().await.ok();
}
