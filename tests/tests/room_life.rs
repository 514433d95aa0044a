//! End to end, issue 14's items about the meeting around the chat: Leave
//! asks and the goodbye page offers Rejoin, toasts cover nothing, a timed
//! meeting counts down and its chat outlives the end, and comings and
//! goings are said in words. Run with
//! `cargo test -p quorum-e2e --test room_life` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Locator;
use quorum_e2e::axe::ColorScheme;
use quorum_e2e::screens::{capture, DESKTOP, PHONE};
use quorum_e2e::{
    click, join, send_chat, visible_text, wait_for, wait_for_text, wait_gone, Chromedriver, Quorum,
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaving_asks_first_and_the_goodbye_page_offers_rejoin() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room(
        "lv",
        json!({ "room_title": "Leaving", "logout_url": "https://lms.example.org/course/7" }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    join(&c, &q.join_link("lv", "lee", false).await).await;
    // Leave asks; Cancel keeps the meeting.
    click(&c, "#leave").await;
    assert!(wait_for(&c, "#leave-confirm", T).await, "Leave did not ask");
    click(&c, "#leave-confirm .dialog-cancel").await;
    assert!(wait_gone(&c, "#leave-confirm", T).await);
    assert!(wait_for(&c, "#room-page #conn-state[data-state=connected]", T).await);
    click(&c, "#leave").await;
    click(&c, "#leave-confirm-confirm").await;
    assert!(wait_for_text(&c, "#goodbye-page", "You left the meeting", T).await);
    assert!(wait_for(&c, "#goodbye-page #rejoin", T).await, "no Rejoin");
    assert!(
        wait_for(
            &c,
            "#logout-link[href='https://lms.example.org/course/7']",
            T
        )
        .await,
        "no way back to the course"
    );
    capture(
        &c,
        "goodbye-rejoin",
        &[DESKTOP, PHONE],
        &[ColorScheme::Light],
        "",
    )
    .await;
    // A reload says goodbye again, not "No join token in the link".
    c.refresh().await.expect("reload");
    assert!(
        wait_for(&c, "#goodbye-page #rejoin", T).await,
        "the reload lost the goodbye; page: {}",
        c.source().await.unwrap_or_default()
    );
    // Rejoin goes back through the pre-join page, the token never in the
    // address bar.
    click(&c, "#rejoin").await;
    quorum_e2e::pass_prejoin(&c).await;
    assert!(wait_for(&c, "#room-page #conn-state[data-state=connected]", T).await);
    let url = c.current_url().await.expect("url");
    assert!(!url.as_str().contains("access_token"), "{url}");
    c.close().await.ok();
}

/// The rectangles of the toasts that overlap a visible control (outside
/// the toasts) or the newest chat line, as "what: where" strings.
const TOAST_OVERLAPS: &str = r#"
    const boxes = [...document.querySelectorAll('#toasts .toast')].map(t => t.getBoundingClientRect());
    const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
    const targets = [...document.querySelectorAll(
        'button, a[href], input, select, textarea, #chat-list li.chat-message:last-of-type')]
        .filter(el => !el.closest('#toasts') && el.getClientRects().length > 0);
    const out = [];
    for (const el of targets) {
        const r = el.getBoundingClientRect();
        if (r.width === 0 || r.height === 0) continue;
        if (boxes.some(b => hit(b, r))) out.push((el.id || el.className || el.tagName) + ': ' + JSON.stringify(r));
    }
    return [boxes.length, out];
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn toasts_never_cover_controls_and_say_their_kind_in_words() {
    use quorum_e2e::screens::set_viewport;
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("ts", json!({ "room_title": "Toasts" })).await;
    let mut driver = Chromedriver::start();
    let (m, p) = (driver.browser().await, driver.browser().await);
    join(&m, &q.join_link("ts", "mod", true).await).await;
    join(&p, &q.join_link("ts", "pip", false).await).await;
    send_chat(&m, "the newest line").await;
    assert!(wait_for_text(&p, "#chat-list", "the newest line", T).await);
    for view in [
        DESKTOP,
        PHONE,
        quorum_e2e::screens::Viewport {
            name: "tablet",
            width: 1024,
            height: 768,
            mobile: false,
        },
    ] {
        set_viewport(&p, view).await;
        // A change of role (made, then unmade): pip hears of it in a toast.
        click(&m, "#menu-button-pip").await;
        assert!(wait_for(&m, "#menu-pip:not([hidden]) #role-pip", T).await);
        click(&m, "#role-pip").await;
        assert!(
            wait_for(&p, "#toasts .toast .toast-kind", T).await,
            "no toast at {}",
            view.name
        );
        // The toast fades in from nothing over 160 ms: its word, once seen.
        let kind = visible_text(&p, "#toasts .toast .toast-kind", T)
            .await
            .unwrap_or_default();
        assert!(
            ["Info", "Warning", "Done", "Error"].contains(&kind.trim()),
            "{kind:?}"
        );
        let found = p.execute(TOAST_OVERLAPS, vec![]).await.expect("measure");
        assert_eq!(
            found[1],
            json!([]),
            "a toast covers something at {}: {found}",
            view.name
        );
        // Dismissed, for the next size.
        for close in p
            .find_all(Locator::Css("#toasts .toast-close"))
            .await
            .unwrap_or_default()
        {
            let _ = close.click().await;
        }
        assert!(wait_gone(&p, "#toasts .toast", T).await);
    }
    // The bell's panel closes on a press outside, and stays on screen.
    set_viewport(&p, PHONE).await;
    click(&p, "#notices-toggle").await;
    assert!(wait_for(&p, "#notices-panel:not([hidden])", T).await);
    let inside = p
        .execute(
            "const r = document.getElementById('notices-panel').getBoundingClientRect();
             return r.left >= 0 && r.right <= window.innerWidth;",
            vec![],
        )
        .await
        .expect("measure");
    assert_eq!(inside, json!(true), "the bell's panel leaves the screen");
    click(&p, "#room-title").await;
    assert!(
        wait_for(&p, "#notices-panel[hidden]", T).await,
        "a press outside left it open"
    );
    for c in [m, p] {
        c.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_meeting_counts_down_and_its_chat_outlives_the_end() {
    let turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    // One minute: the last minute's warning is due at once.
    q.create_room(
        "tm",
        json!({ "room_title": "Timed", "room_features": { "room_duration": 1 } }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let (m, p) = (driver.browser().await, driver.browser().await);
    join(&m, &q.join_link("tm", "mod", true).await).await;
    join(&p, &q.join_link("tm", "pia", false).await).await;
    assert!(
        wait_for(&p, "#countdown[role=timer]", T).await,
        "no countdown"
    );
    let left: i64 = p
        .find(Locator::Css("#countdown"))
        .await
        .expect("countdown")
        .attr("data-left")
        .await
        .expect("attr")
        .and_then(|v| v.parse().ok())
        .expect("seconds left");
    assert!((1..=60).contains(&left), "{left} s left");
    assert!(
        wait_for_text(&p, "#toasts", "1 minute left", T).await,
        "no last-minute warning"
    );
    send_chat(&m, "before-the-end").await;
    assert!(wait_for_text(&p, "#chat-list", "before-the-end", T).await);
    capture(
        &p,
        "countdown",
        &[DESKTOP, PHONE],
        &[ColorScheme::Light],
        "",
    )
    .await;
    // The end, most of a minute away (the others take their turns
    // meanwhile): the goodbye says why, and the chat is still there to
    // read and to save.
    let end = Duration::from_secs(120);
    let waiting = wait_for_text(&p, "#goodbye-page", "maximum duration", end);
    let (_turn, ended) = quorum_e2e::while_waiting(turn, waiting).await;
    assert!(ended, "the meeting did not end");
    assert!(wait_for_text(&p, "#ended-chat", "before-the-end", T).await);
    p.execute(
        "window.__saved = null;
         const make = URL.createObjectURL;
         URL.createObjectURL = b => { b.text().then(t => window.__saved = t); return make(b); };",
        vec![],
    )
    .await
    .expect("watch downloads");
    click(&p, "#save-chat").await;
    let deadline = std::time::Instant::now() + T;
    let saved = loop {
        let v = p
            .execute("return window.__saved", vec![])
            .await
            .expect("read");
        if let Some(s) = v.as_str() {
            break s.to_owned();
        }
        assert!(std::time::Instant::now() < deadline, "nothing saved");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(saved.contains("mod: before-the-end"), "{saved}");
    for c in [m, p] {
        c.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn comings_and_goings_are_said_in_words() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("cg", json!({ "room_title": "Comings" }))
        .await;
    let mut driver = Chromedriver::start();
    let (ann, ben) = (driver.browser().await, driver.browser().await);
    join(&ann, &q.join_link("cg", "ann", true).await).await;
    join(&ben, &q.join_link("cg", "ben", false).await).await;
    let line = "#chat-list .chat-message.presence";
    assert!(
        wait_for_text(&ann, line, "ben joined", T).await,
        "no join line"
    );
    // The list says presence in words too (read out when online).
    assert!(wait_for_text(&ann, "li.participant[data-user=ben] .presence-word", "", T).await);
    quorum_e2e::leave(&ben).await;
    assert!(
        wait_for_text(&ann, line, "ben left", T).await,
        "no leave line"
    );
    assert!(
        wait_for_text(&ann, "li.participant[data-user=ben]", "(left)", T).await,
        "the list shows leaving only as a colour"
    );
    // A burst is one line.
    let token = q.token("cg", "cy", false).await;
    let url = q.verify(&token).await["session"]["nats_ws_urls"][0]
        .as_str()
        .expect("a NATS address")
        .to_owned();
    let mut raws = vec![quorum_e2e::raw_nats::RawNats::connect(&url, Some(&token))
        .await
        .expect("cy")];
    for who in ["di", "ed", "fay"] {
        let token = q.token("cg", who, false).await;
        raws.push(
            quorum_e2e::raw_nats::RawNats::connect(&url, Some(&token))
                .await
                .expect(who),
        );
    }
    let listed = wait_for(&ann, "li.participant[data-user=fay]", T).await;
    assert!(
        listed && wait_for_text(&ann, line, "cy, di and 2 others joined", T).await,
        "the burst was not one line (fay listed: {listed}): {:?}",
        quorum_e2e::texts(&ann, line).await
    );
    for r in raws {
        r.close().await;
    }
    for c in [ann, ben] {
        c.close().await.ok();
    }
}
