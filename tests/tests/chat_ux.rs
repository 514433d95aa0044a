//! End to end, issue 14's chat items: private mode is obvious on both
//! sides, and the integrator's texts are shown. Run with
//! `cargo test -p quorum-e2e --test chat_ux` after `trunk build --release`
//! and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Locator;
use quorum_e2e::axe::ColorScheme;
use quorum_e2e::screens::{capture, DESKTOP, PHONE};
use quorum_e2e::{
    click, join, send_chat, wait_for, wait_for_text, wait_gone, Chromedriver, Quorum,
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
