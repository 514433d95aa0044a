//! End to end: losing the connection loses nothing. nats-server is killed
//! (and killed again as the supervisor restarts it, for a few seconds)
//! while two browsers chat; both show "Reconnecting…", the host's messages
//! typed meanwhile wait (marked pending) and then appear exactly once, in
//! order, on both sides. Also: a late joiner gets the earlier chat and the
//! participant list, hands go up and down, and a dead server ends in
//! "Connection lost".
//! Run with `cargo test -p quorum-e2e --test reconnect` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::{
    join, send_chat, settle, texts, wait_for, wait_for_text, wait_gone, Chromedriver, Quorum,
};

const T: Duration = Duration::from_secs(30);

/// The texts of the chat list, in order.
async fn chat_texts(c: &Client) -> Vec<String> {
    texts(c, "#chat-list .chat-message .text").await
}

async fn count(c: &Client, css: &str) -> usize {
    c.find_all(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("looking up {css}: {e}"))
        .len()
}

/// The parent of `pid` (quorum, for its nats-server).
fn parent_of(pid: u32) -> u32 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("proc stat");
    // "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
    let rest = &stat[stat.rfind(')').expect("comm") + 1..];
    rest.split_whitespace()
        .nth(1)
        .expect("ppid")
        .parse()
        .expect("number")
}

/// Kills `parent`'s children (nats-server) every 50 ms until `stop`, so the
/// outage lasts as long as the test needs, however fast the supervisor
/// restarts it.
fn keep_killing(parent: u32, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        while !stop.load(Ordering::SeqCst) {
            let out = Command::new("pgrep")
                .args(["-P", &parent.to_string()])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_default();
            for pid in out.split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_loses_nothing_and_sends_queued_chat_once() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    join(&host, &quorum.moderator_link).await;
    join(&guest, &quorum.participant_link).await;

    send_chat(&host, "before-outage").await;
    assert!(wait_for_text(&guest, "#chat-list .text", "before-outage", T).await);
    // Confirmed on the host too, so the pending count below is only what
    // is typed during the outage.
    assert!(wait_gone(&host, "#chat-list .chat-message.pending", T).await);

    let nats = quorum.children();
    assert_eq!(nats.len(), 1, "one nats-server: {nats:?}");
    let stop = Arc::new(AtomicBool::new(false));
    let killer = keep_killing(parent_of(nats[0]), stop.clone());

    // The socket closes at once and the badge says so. (How fast is not
    // timed here: a busy machine may be slow to look.)
    for (who, c) in [("host", &host), ("guest", &guest)] {
        assert!(
            wait_for(c, "#conn-state[data-state=reconnecting]", T).await,
            "{who} did not show reconnecting"
        );
    }
    send_chat(&host, "during-outage-1").await;
    send_chat(&host, "during-outage-2").await;
    // Ours are drawn at the next frame: the count is for once both are in.
    assert!(wait_for_text(&host, "#chat-list .text", "during-outage-2", T).await);
    assert_eq!(
        count(&host, "#chat-list .chat-message.mine.pending").await,
        2,
        "queued messages are shown, marked pending"
    );
    stop.store(true, Ordering::SeqCst);
    killer.join().expect("killer thread");

    // The supervisor's restart delay doubled with every kill, and each
    // browser backs off too: allow for both.
    let recovery = Duration::from_secs(90);
    for (who, c) in [("host", &host), ("guest", &guest)] {
        assert!(
            wait_for(c, "#conn-state[data-state=connected]", recovery).await,
            "{who} never reconnected; page: {}",
            c.source().await.unwrap_or_default()
        );
    }
    send_chat(&host, "after-outage").await;
    let want = [
        "before-outage",
        "during-outage-1",
        "during-outage-2",
        "after-outage",
    ];
    for (who, c) in [("host", &host), ("guest", &guest)] {
        assert!(
            wait_for_text(c, "#chat-list .text", "after-outage", T).await,
            "{who} never got the message sent after the outage"
        );
    }
    assert!(
        wait_gone(&host, "#chat-list .chat-message.pending", T).await,
        "the host's messages stayed pending"
    );
    // Nothing sent before this marker is still on its way once it shows.
    settle(&host, &[&host, &guest]).await;
    for (who, c) in [("host", &host), ("guest", &guest)] {
        let texts = chat_texts(c).await;
        let ours: Vec<&str> = texts
            .iter()
            .map(String::as_str)
            .filter(|t| want.contains(t))
            .collect();
        assert_eq!(ours, want, "{who}: each exactly once, in order");
    }

    host.close().await.ok();
    guest.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_joiner_gets_the_chat_and_the_people() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    join(&host, &quorum.moderator_link).await;
    for m in ["early-1", "early-2", "early-3"] {
        send_chat(&host, m).await;
        assert!(wait_for_text(&host, "#chat-list .chat-message.mine .text", m, T).await);
    }
    assert!(wait_gone(&host, "#chat-list .pending", T).await);

    let guest = driver.browser().await;
    join(&guest, &quorum.participant_link).await;
    assert!(
        wait_for_text(&guest, "#chat-list .text", "early-3", T).await,
        "the late joiner got no history; page: {}",
        guest.source().await.unwrap_or_default()
    );
    let texts = chat_texts(&guest).await;
    assert_eq!(texts, ["early-1", "early-2", "early-3"]);

    // Each sees the other, online, with the moderator marked.
    let host_row = "#participants li.participant[data-user=host]";
    let guest_row = "#participants li.participant[data-user=guest]";
    assert!(wait_for(&host, &format!("{guest_row}[data-state=online]"), T).await);
    assert!(wait_for(&guest, &format!("{host_row}[data-state=online]"), T).await);
    assert!(wait_for(&guest, &format!("{host_row} .badge-moderator"), T).await);

    // A raised hand shows on both sides, and goes down again.
    guest
        .find(Locator::Css("#hand"))
        .await
        .expect("hand button")
        .click()
        .await
        .expect("raise");
    assert!(wait_for(&host, &format!("{guest_row}[data-hand=raised]"), T).await);
    assert!(wait_for_text(&guest, "#hand", "Lower hand", T).await);
    guest
        .find(Locator::Css("#hand"))
        .await
        .expect("hand button")
        .click()
        .await
        .expect("lower");
    assert!(wait_for(&host, &format!("{guest_row}[data-hand=down]"), T).await);

    // Leaving shows on the other side.
    guest.close().await.ok();
    assert!(
        wait_for(&host, &format!("{guest_row}:not([data-state=online])"), T).await,
        "the host still lists the guest as online"
    );
    host.close().await.ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_server_ends_in_connection_lost() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    join(&c, &format!("{}&give_up_secs=3", quorum.participant_link)).await;

    let nats = quorum.children();
    let parent = parent_of(nats[0]);
    // Freeze the supervisor so nats-server stays dead.
    let _ = Command::new("kill")
        .args(["-STOP", &parent.to_string()])
        .status();
    let _ = Command::new("kill")
        .args(["-9", &nats[0].to_string()])
        .status();
    let shown = wait_for_text(&c, "#error-page .error-title", "Connection lost", T).await;
    let reload = wait_for(&c, "#error-page button#reload", Duration::from_secs(2)).await;
    let _ = Command::new("kill")
        .args(["-CONT", &parent.to_string()])
        .status();
    assert!(
        shown,
        "no Connection lost page; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(reload, "no Reload button");
    c.close().await.ok();
}
