//! End to end: the client's language. A join link with `?lang=de` shows
//! the pre-join page, the room and the error page in German (and
//! `<html lang="de">`), and keeps the choice after the join token has left
//! the address bar; without it, a browser whose languages are English
//! gets English. Run with `cargo test -p quorum-e2e --test i18n` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::{Client, Locator};
use quorum_e2e::{pass_prejoin, wait_for, wait_for_text, Chromedriver, Quorum};
use serde_json::json;

const T: Duration = Duration::from_secs(40);

/// `<html lang>` of the current page.
async fn html_lang(c: &Client) -> String {
    c.execute("return document.documentElement.lang", vec![])
        .await
        .expect("read <html lang>")
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// The text of the first element `css` matches.
async fn text(c: &Client, css: &str) -> String {
    c.find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap_or_else(|e| panic!("text of {css}: {e}"))
}

/// Opens `link`, checks the pre-join page's Join button says `join`, joins
/// and waits for the connection.
async fn open_and_join(c: &Client, link: &str, join: &str) {
    c.goto(link).await.expect("open the link");
    assert!(
        wait_for(c, "#join-button", T).await,
        "no pre-join page; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert_eq!(text(c, "#join-button").await, join);
    pass_prejoin(c).await;
    assert!(
        wait_for(c, "#room-page #conn-state[data-state=connected]", T).await,
        "never in the room; page: {}",
        c.source().await.unwrap_or_default()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lang_de_shows_german_and_no_parameter_english() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let mut driver = Chromedriver::start();
    let german = driver.browser().await;
    let english = driver.browser().await;

    // The error page speaks it too, and `?lang=en` wins over German as
    // well. First, while this tab has no session it could resume instead.
    for (lang, title) in [
        ("de", "Dieser Link funktioniert nicht"),
        ("en", "This link doesn't work"),
    ] {
        let bad = format!(
            "{}/?access_token=not-a-token&lang={lang}",
            quorum.base_url()
        );
        german.goto(&bad).await.expect("open a bad link");
        assert!(
            wait_for_text(&german, "#error-page .error-title", title, T).await,
            "the error page is not in {lang}; page: {}",
            german.source().await.unwrap_or_default()
        );
    }
    assert_eq!(html_lang(&german).await, "en");

    // German, chosen by the link.
    let link = format!("{}&lang=de", quorum.participant_link);
    open_and_join(&german, &link, "Am Meeting teilnehmen").await;
    assert_eq!(html_lang(&german).await, "de");
    assert!(
        wait_for_text(&german, "#leave", "Verlassen", T).await,
        "Leave is not German: {}",
        text(&german, "#leave").await
    );
    assert_eq!(text(&german, "#conn-state").await, "Verbunden");
    assert_eq!(text(&german, "#hand").await, "Hand heben");
    assert_eq!(text(&german, "#chat-send").await, "Senden");
    // The token left the address bar; the language stayed in it.
    let search = german
        .execute("return location.search", vec![])
        .await
        .expect("read location.search");
    assert_eq!(search, json!("?lang=de"), "address bar after joining");

    // English: a browser that prefers English, and no parameter.
    let langs = english
        .execute("return navigator.languages", vec![])
        .await
        .expect("read navigator.languages");
    assert!(
        langs[0].as_str().is_some_and(|l| l.starts_with("en")),
        "the test browser does not prefer English: {langs}"
    );
    open_and_join(&english, &quorum.moderator_link, "Join the meeting").await;
    assert_eq!(html_lang(&english).await, "en");
    assert!(
        wait_for_text(&english, "#leave", "Leave", T).await,
        "Leave is not English: {}",
        text(&english, "#leave").await
    );
    assert_eq!(text(&english, "#conn-state").await, "Connected");
    assert_eq!(text(&english, "#hand").await, "Raise hand");

    german.close().await.ok();
    english.close().await.ok();
}
