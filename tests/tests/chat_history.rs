//! End to end, the whole meeting's chat (issue 13): a late joiner gets the
//! newest 200 messages, and reading back past the oldest of them brings
//! the earlier ones from the room's stream, a page at a time (by keyboard
//! with the "Load earlier messages" button, or by scrolling to the top),
//! in order and each once, until the start of the chat is said; in a plain
//! and in an E2EE room, with an integrator's message from before all of it
//! held from the start. A load the server doesn't answer says so, and Try
//! again works once it is back. The page never holds more than the reading span.
//! Run with `cargo test -p quorum-e2e --test chat_history` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::browser::cdp;
use quorum_e2e::publisher::Publisher;
use quorum_e2e::{click, join, leave, send_chat, wait_for, wait_for_text, Chromedriver, Quorum};
use serde_json::{json, Value};

const T: Duration = Duration::from_secs(40);
/// Messages in the room before the reader joins: more than a late joiner
/// gets (200) plus two pages of earlier ones (100 each), and a part page.
const STORED: u64 = 450;
/// The stored message whose payload claims another sender's name.
const IMPOSTOR: u64 = STORED - 1;
/// What the list holds as well: the integrator's message and the
/// reader's own.
const EXTRA: u64 = 2;

/// The list holding `n` of the stored messages (and the system one).
fn holding(n: u64) -> String {
    format!("#chat-list[data-kept='{}']", n + EXTRA)
}
/// What the list holds at most while someone reads back.
const READ_SPAN: usize = 180;

/// The list's state: messages held, the rendered ids, and the line above
/// the oldest (if shown).
async fn list_state(c: &Client) -> Value {
    c.execute(
        "const ul = document.getElementById('chat-list');
         const e = ul.querySelector('li.chat-earlier');
         return { kept: +ul.dataset.kept,
                  ids: [...ul.querySelectorAll('li.chat-message')].map(li => li.dataset.id),
                  earlier: e ? e.textContent : null,
                  button: !!(e && e.querySelector('button')) };",
        vec![],
    )
    .await
    .expect("read the list")
}

/// Scrolls the list to its top, as the reader (`by_reader`: a wheel
/// first) or as a script would.
async fn scroll_top(c: &Client, by_reader: bool) {
    c.execute(
        "const ul = document.getElementById('chat-list');
         if (arguments[0]) ul.dispatchEvent(new Event('wheel'));
         ul.scrollTop = 0;
         ul.dispatchEvent(new Event('scroll'));",
        vec![json!(by_reader)],
    )
    .await
    .expect("scroll");
}

/// Waits until the list's state differs from `before`.
async fn changed(c: &Client, before: &Value) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        let now = list_state(c).await;
        if &now != before || tokio::time::Instant::now() > deadline {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Scrolls up (as `by_reader` says) until `done` holds, or gives up.
async fn scroll_up_until(c: &Client, by_reader: bool, done: impl Fn(&Value) -> bool) -> Value {
    let mut state = list_state(c).await;
    for _ in 0..40 {
        if done(&state) {
            return state;
        }
        scroll_top(c, by_reader).await;
        state = changed(c, &state).await;
    }
    panic!("never got there: {state:#}");
}

/// Waits for two animation frames in `c`'s page: by then the browser has
/// sent the scroll events of what was scrolled before.
async fn two_frames(c: &Client) {
    c.execute_async(
        "const done = arguments[arguments.length - 1];
         requestAnimationFrame(() => requestAnimationFrame(() => done()));",
        vec![],
    )
    .await
    .expect("two frames");
}

/// The number in each rendered `old-<n>` id.
fn numbers(state: &Value) -> Vec<u64> {
    state["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|id| id.as_str()?.strip_prefix("old-")?.parse().ok())
        .collect()
}

/// The E2EE batch workers running for `c`'s page (`crypto/batch.rs`).
async fn opening_workers(c: &Client) -> usize {
    let t = cdp(c, "Target.getTargets", json!({})).await;
    t["targetInfos"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["type"] == json!("worker") && t["title"] == json!("quorum-e2ee-open"))
        .count()
}

async fn reads_back_to_the_start(room: &str, e2ee: bool) {
    let _turn = quorum_e2e::serial().await;
    let unlimited = "1000000".to_owned();
    let q = Quorum::start_env(&[
        ("QUORUM_LIMITS_CHAT_PER_SEC", unlimited.clone()),
        ("QUORUM_LIMITS_CHAT_BURST", unlimited),
    ]);
    q.create_room_titled(room, "History", e2ee).await;
    // An integrator's message first: every late joiner gets it, and it
    // must not pass for where the chat begins.
    let res = q
        .api(
            "/auth/room/broadcastToRoom",
            json!({ "room_id": room, "chat_msg": { "message": "Welcome to the history" } }),
        )
        .await;
    assert_eq!(res["status"], json!(true), "broadcastToRoom: {res}");
    let mut writer = Publisher::join(&q, room, "writer", "Writer", e2ee).await;
    // The newest claims another name: the late joiner names it as the
    // server knows its sender, from the room's events, which load at the
    // same time as the chat.
    let payloads: Vec<Vec<u8>> = (0..STORED)
        .map(|n| {
            let (id, text) = (format!("old-{n}"), format!("old message {n}"));
            match n {
                IMPOSTOR => writer.payload_claiming(n, &id, &text, "Impostor"),
                _ => writer.payload(n, &id, &text),
            }
        })
        .collect();
    writer.publish_all(&payloads).await;

    let mut driver = Chromedriver::start();
    let page = driver.browser().await;
    join(&page, &q.join_link(room, "reader", false).await).await;
    assert!(wait_for(&page, "#chat-list[aria-busy=false]", T).await);
    // The reader says something: the newest message is theirs, which
    // must not take them back down when older pages come in above.
    send_chat(&page, "mine").await;
    assert!(wait_for(&page, "#chat-list[data-pending='0']", T).await);
    assert!(
        wait_for(&page, &holding(200), T).await,
        "the late joiner did not get the newest 200: {:#}",
        list_state(&page).await
    );
    let sender = page
        .execute(
            "return document.querySelector(`li[data-id='${arguments[0]}'] .sender`)?.textContent;",
            vec![json!(format!("old-{IMPOSTOR}"))],
        )
        .await
        .expect("read the sender");
    assert_eq!(sender, json!("Writer"), "named as the message claims");

    if e2ee {
        // The history came in batches, opened in the page's own worker:
        // the page's CSP let it start, and it answered (a failed one is
        // ended, and batches fall back to the main thread).
        assert_eq!(
            opening_workers(&page).await,
            1,
            "no worker opened the batches"
        );
    }
    // The reader scrolls to the top: the window widens to the oldest
    // held, and that scroll brings nothing more, however soon after the
    // reader's touch the browser's own scroll events come.
    let loading = json!("Loading earlier messages…");
    let idle = json!("Load earlier messages");
    scroll_up_until(&page, true, |s| {
        s["kept"].as_u64() > Some(200 + EXTRA) || s["earlier"] != Value::Null
    })
    .await;
    two_frames(&page).await;
    let state = list_state(&page).await;
    assert_eq!(
        (&state["earlier"], &state["kept"]),
        (&idle, &json!(200 + EXTRA)),
        "the scroll that widened the window loaded a page too: {state:#}"
    );
    // One scroll more: a page of earlier ones comes.
    scroll_up_until(&page, true, |s| {
        s["kept"].as_u64() > Some(200 + EXTRA) || s["earlier"] == loading
    })
    .await;
    assert!(
        wait_for(&page, &holding(300), T).await,
        "one page, of 100: {:#}",
        list_state(&page).await
    );
    let kept = 300;
    let state = list_state(&page).await;
    let first = numbers(&state).first().copied();
    assert!(
        first < Some(STORED - 100),
        "the reader was taken away from what they read: {state:#}"
    );
    // A scroll more than a second (`READER_SCROLL_MS` in
    // client/src/components/chat_list.rs) after the reader's last touch is
    // not theirs: a script's, like the list's own.
    tokio::time::sleep(Duration::from_millis(1200)).await;

    // Scrolled there by a script, the window widens to the oldest held,
    // where the button waits: by keyboard, one page more.
    let state = scroll_up_until(&page, false, |s| s["button"] == json!(true)).await;
    assert_eq!(numbers(&state).first(), Some(&(STORED - kept)), "{state:#}");
    let button = page
        .find(Locator::Css("li.chat-earlier button"))
        .await
        .expect("the button");
    assert_eq!(
        button.text().await.expect("its name"),
        "Load earlier messages"
    );
    button.send_keys("\u{E007}").await.expect("Enter");
    let more = holding((kept + 100).min(STORED));
    assert!(
        wait_for(&page, &more, T).await,
        "Enter on the button loaded no page: {:#}",
        list_state(&page).await
    );

    if !e2ee {
        // The server doesn't answer: the load fails, says so, and Try
        // again works once it is back.
        q.set_paused(true);
        let failed = json!("Earlier messages couldn't be loaded. Try again");
        let state = scroll_up_until(&page, true, |s| {
            s["earlier"] == loading || s["earlier"] == failed
        })
        .await;
        let shown = wait_for_text(&page, "li.chat-earlier", "couldn't be loaded", T).await;
        q.set_paused(false);
        assert!(shown, "no failure said: {state:#}");
        click(&page, "li.chat-earlier button").await;
        assert!(
            wait_for(&page, &holding(STORED), T).await,
            "Try again loaded nothing: {:#}",
            list_state(&page).await
        );
    }

    // The reader scrolls on to the top: the rest, until the start.
    let start = "This is the start of the chat.";
    let state = scroll_up_until(&page, true, |s| {
        s["earlier"] == json!(start) && s["kept"] == json!(STORED + EXTRA)
    })
    .await;
    let shown = numbers(&state);
    assert!(shown.len() <= READ_SPAN, "{} in the page", shown.len());
    let expect: Vec<u64> = (0..shown.len() as u64).collect();
    assert_eq!(shown, expect, "the oldest, in order, each once");

    // Each message was taken in once: none twice, none lost.
    let total = page
        .execute(
            "const ul = document.getElementById('chat-list');
             return +ul.dataset.total;",
            vec![],
        )
        .await
        .expect("total");
    assert_eq!(total, json!(STORED + EXTRA), "each message once");
    if e2ee {
        // Leaving ends the session, and its worker with it.
        leave(&page).await;
        let deadline = tokio::time::Instant::now() + T;
        while opening_workers(&page).await > 0 {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the worker outlived the session"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    writer.close().await;
    page.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_reads_back_to_the_start_of_the_chat() {
    reads_back_to_the_start("history", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_reads_back_to_the_start_in_an_e2ee_room() {
    reads_back_to_the_start("sealed", true).await;
}
