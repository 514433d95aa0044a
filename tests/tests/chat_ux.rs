//! End to end, issue 14's chat items: private mode is obvious on both
//! sides, the integrator's texts are shown, and a reader scrolled up is
//! told what is new while the message box grows with its text, a
//! sender's run reads as one block, the limit counts characters, and what
//! stays in the list is never moved (so it keeps the focus). Run with
//! `cargo test -p quorum-e2e --test chat_ux` after `trunk build --release`
//! and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Locator;
use quorum_e2e::axe::ColorScheme;
use quorum_e2e::publisher::Publisher;
use quorum_e2e::screens::{capture, DESKTOP, PHONE};
use quorum_e2e::{
    click, join, send_chat, wait_for, wait_for_text, wait_gone, wait_js, Chromedriver, Quorum,
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_mode_is_plain_to_see_and_a_reply_is_one_click() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("pm", json!({ "room_title": "Private mode" }))
        .await;
    let mut driver = Chromedriver::start();
    let (ann, ben) = (driver.browser().await, driver.browser().await);
    join(&ann, &q.join_link("pm", "ann", true).await).await;
    join(&ben, &q.join_link("pm", "ben", false).await).await;

    // Ann chooses Ben: the bar says so above the message box.
    assert!(wait_for(&ann, "#chat-to option[value=ben]", T).await);
    ann.find(Locator::Css("#chat-to"))
        .await
        .expect("the picker")
        .select_by_value("ben")
        .await
        .expect("choose ben");
    assert!(wait_for_text(&ann, "#private-bar", "Private message to ben", T).await);
    send_chat(&ann, "psst-ben").await;
    let private = ".chat-message.private .private-tag";
    assert!(wait_for_text(&ann, private, "(private to ben)", T).await);
    assert!(
        wait_for_text(&ben, private, "(private to you)", T).await,
        "ben's copy is not marked private"
    );

    // Ben answers with one click on Ann's name.
    click(&ben, ".chat-message.private .sender-reply").await;
    assert!(wait_for_text(&ben, "#private-bar", "Private message to ann", T).await);
    let focused = ben
        .execute("return document.activeElement.id", vec![])
        .await
        .expect("focus");
    assert_eq!(
        focused,
        json!("chat-input"),
        "the reply is not ready to type"
    );
    capture(
        &ben,
        "private-mode",
        &[DESKTOP, PHONE],
        &[ColorScheme::Light],
        "",
    )
    .await;
    send_chat(&ben, "psst-ann").await;
    assert!(wait_for_text(&ann, private, "(private to you)", T).await);
    // × goes back to everyone.
    click(&ben, "#private-bar-close").await;
    assert!(wait_gone(&ben, "#private-bar", T).await);
    send_chat(&ben, "hello-all").await;
    assert!(wait_for_text(&ann, ".chat-message:not(.private) .text", "hello-all", T).await);
    for c in [ann, ben] {
        c.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_integrators_texts_are_shown_where_they_matter() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room(
        "wl",
        json!({ "room_title": "Planning",
            "welcome_message": "Welcome to planning. Agenda: https://example.org/agenda",
            "room_features": { "waiting_room_features": {
                "is_active": true, "waiting_room_msg": "We start at ten past." } } }),
    )
    .await;
    let mut driver = Chromedriver::start();
    let (m, p) = (driver.browser().await, driver.browser().await);
    join(&m, &q.join_link("wl", "host", true).await).await;
    let token = q.token_named("wl", "pat", "Pat Doe", false).await;
    p.goto(&q.link(&token)).await.expect("open");
    quorum_e2e::pass_prejoin(&p).await;
    // Waiting: the moderators' message, and the name Pat will join as.
    assert!(wait_for_text(&p, "#waiting-message", "We start at ten past.", T).await);
    assert!(wait_for_text(&p, "#waiting-as", "Pat Doe", T).await);
    click(&m, "#waiting-panel li[data-user=pat] .admit").await;
    // In the room: the welcome message tops the chat, its link a link.
    assert!(wait_for_text(&p, "#chat-welcome", "Welcome to planning.", T).await);
    assert!(wait_for(&p, "#chat-welcome a[href='https://example.org/agenda']", T).await);
    assert!(wait_for(&m, "#chat-welcome[open]", T).await);
    for c in [m, p] {
        c.close().await.ok();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_scrolled_up_is_told_how_many_are_new_and_the_box_grows() {
    let _turn = quorum_e2e::serial().await;
    let q = Quorum::start();
    q.create_room("rd", json!({ "room_title": "Reading" }))
        .await;
    let mut driver = Chromedriver::start();
    let (ann, ben) = (driver.browser().await, driver.browser().await);
    join(&ann, &q.join_link("rd", "ann", true).await).await;
    join(&ben, &q.join_link("rd", "ben", false).await).await;
    for i in 0..70 {
        send_chat(&ann, &format!("filler {i}")).await;
    }
    assert!(wait_for_text(&ben, "#chat-list", "filler 69", T).await);
    // The newest is drawn first; the window slides at the next frame.
    assert!(wait_gone(&ben, "#chat-list > li:nth-child(61)", T).await);
    // Ann's run reads as one block: her name over the first only, and
    // still there (hidden from sight) for screen readers on the rest. The
    // list draws the newest 60, all of them continuing her run, and the
    // first drawn shows her name although it continues one above.
    let runs = ben
        .execute(
            "const ms = [...document.querySelectorAll('#chat-list .chat-message')]
                 .filter(m => m.textContent.includes('filler'));
             return [ms.length,
                     ms.filter(m => m.classList.contains('continued')).length,
                     ms[0].classList.contains('continued'),
                     ms.filter(m => m.querySelector('.sender')).length,
                     ms.filter(m => m.querySelector('.sender').offsetWidth > 1).length];",
            vec![],
        )
        .await
        .expect("read the run");
    assert_eq!(runs, json!([60, 60, true, 60, 1]), "not grouped: {runs}");
    // Someone else speaking starts a new block, and so does Ann after.
    send_chat(&ben, "ben-between").await;
    send_chat(&ann, "ann-after").await;
    assert!(wait_for_text(&ben, "#chat-list", "ann-after", T).await);
    let after = ben
        .execute(
            "const last = [...document.querySelectorAll('#chat-list .chat-message')].slice(-2);
             return last.map(m => m.classList.contains('continued'));",
            vec![],
        )
        .await
        .expect("read the last two");
    assert_eq!(
        after,
        json!([false, false]),
        "a new speaker did not break the run"
    );
    // Ben goes back to the top with the keyboard.
    ben.find(Locator::Css("#chat-list"))
        .await
        .expect("list")
        .send_keys("\u{E011}")
        .await
        .expect("Home");
    assert!(wait_for(&ben, "#chat-list", T).await);
    // What a run hides (its repeated names and times) belongs to the list:
    // it scrolls and is clipped with it, and never makes the page scroll.
    let hidden = ben
        .execute(
            "const l = document.getElementById('chat-list');
             const hid = [...l.querySelectorAll('.chat-message.continued > .sender')];
             const root = document.scrollingElement;
             return [hid.length > 0 && hid.every(e => l.contains(e.offsetParent) || e.offsetParent === l),
                     root.scrollHeight <= root.clientHeight];",
            vec![],
        )
        .await
        .expect("find the hidden names");
    assert_eq!(
        hidden,
        json!([true, true]),
        "a run's hidden names hang outside the list"
    );
    for i in 0..3 {
        send_chat(&ann, &format!("while away {i}")).await;
    }
    assert!(
        wait_for_text(&ben, "#chat-jump", "3 new messages", T).await,
        "no count of new messages; page: {}",
        ben.source().await.unwrap_or_default()
    );
    click(&ben, "#chat-jump").await;
    assert!(wait_gone(&ben, "#chat-jump", T).await);
    // The button goes as the click is taken; the list scrolls at the
    // frame after, which a measure taken at once could come before.
    let at_bottom = wait_js(
        &ben,
        "const l = document.getElementById('chat-list');
         return l.scrollHeight - l.scrollTop - l.clientHeight < 50;",
        T,
    )
    .await;
    assert!(at_bottom, "the button did not bring the newest");
    // The message box grows with its text.
    let height = |c: &fantoccini::Client| {
        let c = c.clone();
        async move {
            c.execute(
                "return document.getElementById('chat-input').clientHeight",
                vec![],
            )
            .await
            .expect("height")
            .as_f64()
            .unwrap_or(0.0)
        }
    };
    let before = height(&ben).await;
    ben.find(Locator::Css("#chat-input"))
        .await
        .expect("input")
        .send_keys("one\u{E008}\u{E007}two\u{E008}\u{E007}three\u{E008}\u{E007}four")
        .await
        .expect("type");
    let after = height(&ben).await;
    assert!(after > before, "the box did not grow: {before} → {after}");

    // The limit counts characters, as people do: 4,100 emoji are over it
    // (and kept, not cut: a paste loses nothing), 4,096 are not, and go.
    let fill = |n: usize| {
        format!(
            "const el = document.getElementById('chat-input');
             el.value = '\\u{{1F600}}'.repeat({n});
             el.dispatchEvent(new Event('input', {{ bubbles: true }}));
             return Array.from(el.value).length;"
        )
    };
    let kept = ben.execute(&fill(4100), vec![]).await.expect("paste");
    assert_eq!(kept, json!(4100), "the paste was cut");
    assert!(wait_for_text(&ben, "#chat-count.over", "4100 / 4096", T).await);
    click(&ben, "#chat-send").await;
    assert!(
        wait_for_text(&ben, "#chat-notice", "4096 characters", T).await,
        "no clear error for a long message"
    );
    ben.execute(&fill(4096), vec![]).await.expect("paste");
    assert!(wait_for(&ben, "#chat-count:not(.over)", T).await);
    assert!(wait_for_text(&ben, "#chat-count", "4096 / 4096", T).await);
    click(&ben, "#chat-send").await;
    let arrived = "return [...document.querySelectorAll('#chat-list .chat-message .text')]
                       .some(t => Array.from(t.textContent).length === 4096)";
    let mut got = json!(false);
    for _ in 0..60 {
        got = ann.execute(arrived, vec![]).await.expect("read");
        if got == json!(true) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(got, json!(true), "4,096 emoji did not arrive whole");
    for c in [ann, ben] {
        c.close().await.ok();
    }
}

/// Counts, in `#chat-list`, the items put in again after they were there
/// (`window.__moved`): a kept item moved by the list.
const COUNT_MOVES: &str = "window.__moved = 0;
    const l = document.getElementById('chat-list');
    for (const li of l.children) { li.__seen = true; }
    new MutationObserver((rs) => {
      for (const r of rs) {
        for (const n of r.addedNodes) { if (n.__seen) { window.__moved++; } n.__seen = true; }
      }
    }).observe(l, { childList: true });";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_or_reading_back_never_moves_what_stays_so_the_focus_stays() {
    let _turn = quorum_e2e::serial().await;
    let unlimited = "100000".to_owned();
    let q = Quorum::start_env(&[
        ("QUORUM_LIMITS_CHAT_PER_SEC", unlimited.clone()),
        ("QUORUM_LIMITS_CHAT_BURST", unlimited),
    ]);
    let room = "keep";
    q.create_room_titled(room, "Keep", false).await;
    let mut driver = Chromedriver::start();
    let page = driver.browser().await;
    join(&page, &q.join_link(room, "reader", false).await).await;
    assert!(wait_for(&page, "#chat-list[aria-busy=false]", T).await);
    let mut writer = Publisher::join(&q, room, "writer", "Writer", false).await;
    // Publishes messages `m-{from}` on at once, then waits for the last
    // to be drawn and the window to slide back to 60.
    async fn burst(writer: &mut Publisher, page: &fantoccini::Client, from: u64, n: u64) {
        let payloads: Vec<Vec<u8>> = (from..from + n)
            .map(|i| writer.payload(i, &format!("m-{i}"), &format!("message {i}")))
            .collect();
        writer.publish_all(&payloads).await;
        let last = format!("li[data-id='m-{}']", from + n - 1);
        assert!(wait_for(page, &last, T).await);
        let settled =
            "return document.querySelectorAll('#chat-list > li.chat-message').length === 60;";
        assert!(wait_js(page, settled, T).await);
    }
    burst(&mut writer, &page, 0, 60).await;
    // Bursts that the list takes in over a frame or two, each taking as
    // many away above as it adds below.
    burst(&mut writer, &page, 60, 30).await;
    burst(&mut writer, &page, 90, 25).await;
    // A keyboard user is on the newest message's "Reply privately" when
    // another comes.
    page.execute(COUNT_MOVES, vec![])
        .await
        .expect("watch the list");
    page.execute(
        "document.querySelector(\"li[data-id='m-114'] .sender-reply\").focus();",
        vec![],
    )
    .await
    .expect("focus a reply button");
    burst(&mut writer, &page, 115, 50).await;
    let after = page
        .execute(
            "return [window.__moved, document.activeElement.closest('li')?.dataset.id ?? null];",
            vec![],
        )
        .await
        .expect("read the list");
    assert_eq!(after, json!([0, "m-114"]), "[moved, focus] after a burst");
    // Reading back with the keyboard: 60 older ones come in above.
    page.find(Locator::Css("#chat-list"))
        .await
        .expect("list")
        .send_keys("\u{E011}")
        .await
        .expect("Home");
    assert!(wait_for(&page, "li[data-id='m-50']", T).await);
    let moved = page
        .execute(
            "return [window.__moved, !!document.querySelector(\"li[data-id='m-164']\")];",
            vec![],
        )
        .await
        .expect("read the list");
    assert_eq!(
        moved,
        json!([0, true]),
        "[moved, the newest still drawn] after reading back"
    );
    writer.close().await;
    page.close().await.ok();
}
