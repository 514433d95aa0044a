//! End to end, issue 14's small screens: on a phone (390×844) the room is
//! a compact header, one part at a time (chat, people or stage, full
//! height) and a bottom toolbar whose Chat tab counts what came while
//! another part was shown; everything a thumb presses is at least 44 px;
//! at 800 and 1024 px Leave stays on screen and the title keeps its width
//! beside a long name; and the connection's longest German words never
//! push the header's buttons off a 360 px screen. axe-core finds nothing
//! serious at either size.
//! Run with `cargo test -p quorum-e2e --test phone` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::axe::{assert_clean, ColorScheme};
use quorum_e2e::netcut::NetCut;
use quorum_e2e::screens::{capture, set_viewport, Viewport, PHONE};
use quorum_e2e::{click, join, send_chat, wait_for, wait_for_text, Chromedriver, Quorum};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(30);

/// A small laptop or a tablet held sideways.
const TABLET: Viewport = Viewport {
    name: "tablet",
    width: 1024,
    height: 768,
    mobile: false,
};

/// The narrowest phones in use.
const SMALL_PHONE: Viewport = Viewport {
    name: "small-phone",
    width: 360,
    height: 740,
    mobile: true,
};

/// A narrow desktop window.
const NARROW: Viewport = Viewport {
    name: "narrow",
    width: 800,
    height: 700,
    mobile: false,
};

/// Whether the element is drawn entirely inside the viewport, with its
/// rectangle and the page's sizes for the message.
const IN_VIEW: &str = "
    const el = document.querySelector(arguments[0]);
    if (!el) return [false, 'missing'];
    const r = el.getBoundingClientRect();
    const de = document.documentElement;
    const ok = r.width > 0 && r.height > 0 && r.left >= 0 && r.top >= 0
        && r.right <= innerWidth && r.bottom <= innerHeight
        && getComputedStyle(el).visibility === 'visible';
    return [ok, JSON.stringify({ r, innerWidth, innerHeight, sw: de.scrollWidth })];
";

async fn in_view(c: &Client, css: &str) -> Value {
    c.execute(IN_VIEW, vec![json!(css)])
        .await
        .expect("measure an element")
}

async fn assert_in_view(c: &Client, css: &str, at: &str) {
    let m = in_view(c, css).await;
    assert_eq!(
        m[0],
        json!(true),
        "{css} is not on screen at {at}: {}",
        m[1]
    );
}

/// The page never scrolls sideways.
async fn assert_no_sideways(c: &Client, at: &str) {
    let m = c
        .execute(
            "return [document.documentElement.scrollWidth, innerWidth]",
            vec![],
        )
        .await
        .expect("measure the page");
    assert!(
        m[0].as_f64() <= m[1].as_f64(),
        "the page scrolls sideways at {at}: [scrollWidth, innerWidth] = {m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_phone_shows_one_part_at_a_time_with_a_toolbar() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("ph", json!({ "room_title": "Phone check-in" }))
        .await;
    let mut driver = Chromedriver::start();
    let (pia, ann) = (driver.browser().await, driver.browser().await);
    set_viewport(&pia, PHONE).await;
    join(&pia, &q.join_link("ph", "pia", false).await).await;
    join(&ann, &q.join_link("ph", "ann", true).await).await;
    // More people than fit a short list: the list is the whole screen.
    let mut others = Vec::new();
    for who in ["bo", "cy", "di", "ed", "fa"] {
        let c = driver.browser().await;
        join(&c, &q.join_link("ph", who, false).await).await;
        others.push(c);
    }
    assert!(wait_for_text(&pia, "#tab-people .room-tab-badge", "7", T).await);

    // The chat first: the composer, Leave and the toolbar on screen, the
    // header one row, and the chat most of the screen.
    assert_no_sideways(&pia, "390 px").await;
    for css in [
        "#chat-input",
        "#chat-send",
        "#leave",
        "#hand",
        "#notices-toggle",
        "#tab-chat",
    ] {
        assert_in_view(&pia, css, "390 px").await;
    }
    let sizes = pia
        .execute(
            "return [document.querySelector('.room-header').offsetHeight,
                     document.querySelector('.chat-panel').offsetHeight, innerHeight]",
            vec![],
        )
        .await
        .expect("measure");
    let (header, chat, screen) = (
        sizes[0].as_f64().unwrap_or(f64::MAX),
        sizes[1].as_f64().unwrap_or(0.0),
        sizes[2].as_f64().unwrap_or(0.0),
    );
    assert!(header <= 64.0, "the header is not one compact row: {sizes}");
    assert!(chat >= screen * 0.7, "the chat is squeezed: {sizes}");

    // Every control a thumb presses: at least 44 × 44 px.
    let small = pia
        .execute(
            "return [...document.querySelectorAll('#room-page button:not(.sender-reply), \
                  #room-page select, #room-page textarea, #room-page a.badge')]
               .filter(e => e.offsetParent !== null)
               .map(e => [e.id || e.className, e.getBoundingClientRect()])
               .filter(([_, r]) => r.width < 44 || r.height < 44)
               .map(([n, r]) => `${n} ${Math.round(r.width)}×${Math.round(r.height)}`)",
            vec![],
        )
        .await
        .expect("measure the controls");
    assert_eq!(small, json!([]), "tap targets under 44 px");

    // Chat that comes while Pia looks at the people is counted on the tab.
    click(&pia, "#tab-people").await;
    assert!(wait_for(&pia, "#tab-people[aria-pressed=true]", T).await);
    assert_in_view(&pia, "#participants", "390 px (people)").await;
    let chat_hidden = in_view(&pia, "#chat-input").await;
    assert_eq!(
        chat_hidden[0],
        json!(false),
        "the chat still shows over the people"
    );
    // Everybody is listed, down to the last, by scrolling the list.
    let names = pia
        .execute(
            "const rows = [...document.querySelectorAll('#participants .participant')];
             const last = rows[rows.length - 1];
             last.scrollIntoView();
             const r = last.getBoundingClientRect();
             return [rows.length, r.bottom <= document.querySelector('.room-tabs')
                 .getBoundingClientRect().top + 1];",
            vec![],
        )
        .await
        .expect("read the list");
    assert_eq!(names, json!([7, true]), "the list is cut off: {names}");
    for i in 0..3 {
        send_chat(&ann, &format!("while on people {i}")).await;
    }
    assert!(
        wait_for_text(&pia, "#tab-chat .room-tab-badge", "3", T).await,
        "no count on the Chat tab; page: {}",
        pia.source().await.unwrap_or_default()
    );
    assert!(
        wait_for_text(&pia, "#tab-chat", "3 new", T).await,
        "the count has no words"
    );
    // Someone leaving is a line in the chat, but not news: still 3.
    let fa = others.pop().expect("fa");
    quorum_e2e::leave(&fa).await;
    fa.close().await.ok();
    assert!(
        quorum_e2e::wait_for_content(&pia, "#chat-list .presence", "fa left", T).await,
        "no line for fa leaving"
    );
    // Drawn in the same update as the line: read once, exactly.
    let badge = pia
        .execute(
            "return document.querySelector('#tab-chat .room-tab-badge').textContent.trim()",
            vec![],
        )
        .await
        .expect("read the badge");
    assert_eq!(
        badge,
        json!("3"),
        "a presence line counted as a new message"
    );
    capture(&pia, "phone-people", &[PHONE], &[ColorScheme::Light], "").await;
    click(&pia, "#tab-chat").await;
    assert!(quorum_e2e::wait_gone(&pia, "#tab-chat .room-tab-badge", T).await);
    assert!(wait_for_text(&pia, "#chat-list", "while on people 2", T).await);
    assert_in_view(&pia, "#chat-input", "390 px (back to chat)").await;

    // The stage, and the bell's panel inside the screen.
    click(&pia, "#tab-stage").await;
    assert_in_view(&pia, "#stage", "390 px (stage)").await;
    click(&pia, "#notices-toggle").await;
    assert!(wait_for(&pia, "#notices-panel:not([hidden])", T).await);
    assert_in_view(&pia, "#notices-panel", "390 px (notifications)").await;
    click(&pia, "#notices-toggle").await;
    click(&pia, "#tab-chat").await;
    assert_clean(&pia, "the room on a phone (390×844)").await;
    capture(
        &pia,
        "phone-chat",
        &[PHONE],
        &[ColorScheme::Light, ColorScheme::Dark],
        "",
    )
    .await;

    // The narrowest phones in use.
    set_viewport(&pia, SMALL_PHONE).await;
    assert_no_sideways(&pia, "360 px").await;
    for css in ["#chat-input", "#leave", "#tab-stage"] {
        assert_in_view(&pia, css, "360 px").await;
    }
    for c in others.into_iter().chain([pia, ann]) {
        c.close().await.ok();
    }
}

/// The rectangles' right and left edges, in order: where one ends and the
/// next begins along the header's first row.
const ROW_EDGES: &str = "
    return arguments[0].map(css => {
        const r = document.querySelector(css).getBoundingClientRect();
        return [css, Math.round(r.left), Math.round(r.right), Math.round(r.top)];
    });
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_connection_words_leave_the_phone_header_whole() {
    let _turn = quorum_e2e::serial().await;
    let net = NetCut::start().await;
    let q = net.start_quorum();
    q.create_room(
        "de",
        json!({ "room_title": "Wochenbesprechung", "room_features": {
            "room_duration": 60, "end_to_end_encryption_features": { "is_enabled": true } } }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    set_viewport(&c, SMALL_PHONE).await;
    join(
        &c,
        &format!("{}&lang=de", q.join_link("de", "mod", true).await),
    )
    .await;
    // The network goes: "Verbindung wird wiederhergestellt…", the longest
    // words the badge has.
    net.cut();
    assert!(
        wait_for(&c, "#conn-state[data-state=reconnecting]", T).await,
        "the cut went unnoticed"
    );
    assert!(wait_for_text(&c, "#conn-state", "Verbindung wird wiederhergestellt", T).await);
    assert_no_sideways(&c, "360 px, reconnecting").await;
    // A phone zooms out to show a page wider than its screen, so the page
    // may fit its own width: it must fit the screen's.
    let width = c.execute("return innerWidth", vec![]).await.expect("width");
    assert_eq!(width, json!(360), "the page is wider than a 360 px phone");
    let row = [
        "#room-title",
        "#conn-state",
        "#notices-toggle",
        "#hand",
        "#leave",
    ];
    for css in row {
        assert_in_view(&c, css, "360 px, reconnecting").await;
    }
    // One row, in order, nothing over anything else, and the title still
    // a few letters wide.
    let edges = c
        .execute(ROW_EDGES, vec![json!(row)])
        .await
        .expect("measure the header");
    let edges: Vec<(String, f64, f64, f64)> = serde_json::from_value(edges).expect("edges");
    for pair in edges.windows(2) {
        let ((a, _, a_right, a_top), (b, b_left, _, b_top)) = (&pair[0], &pair[1]);
        assert!(
            a_right <= b_left && (a_top - b_top).abs() < 24.0,
            "{a} and {b} overlap or wrap at 360 px: {edges:?}"
        );
    }
    assert!(
        edges[0].2 - edges[0].1 >= 60.0,
        "the title was squeezed away: {edges:?}"
    );
    capture(
        &c,
        "phone-reconnecting-de",
        &[SMALL_PHONE],
        &[ColorScheme::Light],
        "",
    )
    .await;
    net.restore();
    assert!(wait_for(&c, "#conn-state[data-state=connected]", T).await);
    c.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_tablet_widths_leave_and_the_title_stay_beside_a_long_name() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room(
        "tb",
        json!({ "room_title": "Quarterly review", "room_features": {
            "room_duration": 60, "end_to_end_encryption_features": { "is_enabled": true } } }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    let name = "Maximiliane Schmidt-Oberhauser von Hohenberg-Wittelsbach";
    let link = q.link(&q.token_named("tb", "maxi", name, true).await);
    set_viewport(&c, TABLET).await;
    join(&c, &link).await;
    assert!(wait_for(&c, "#countdown", T).await, "no countdown");
    for view in [TABLET, NARROW] {
        set_viewport(&c, view).await;
        let at = format!("{}×{}", view.width, view.height);
        assert_no_sideways(&c, &at).await;
        for css in ["#leave", "#chat-input", "#room-title", "#my-name"] {
            assert_in_view(&c, css, &at).await;
        }
        let title = c
            .execute(
                "return document.getElementById('room-title').getBoundingClientRect().width",
                vec![],
            )
            .await
            .expect("measure the title");
        assert!(
            title.as_f64().is_some_and(|w| w >= 120.0),
            "the title vanished at {at}: {title} px"
        );
        assert_clean(&c, &format!("the room at {at}")).await;
    }
    capture(&c, "tablet-room", &[TABLET], &[ColorScheme::Light], "").await;
    c.close().await.ok();
}
