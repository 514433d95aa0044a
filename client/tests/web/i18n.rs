//! The language: which locale a browser gets, and a page in German.

use leptos::prelude::*;
use leptos::task::tick;
use quorum_client::components::conn_badge::ConnBadge;
use quorum_client::i18n::{choose_locale, provide_i18n_context, td_string, Locale};
use quorum_client::nats::ConnState;
use quorum_client::pages::error::{ErrorPage, PageError};
use quorum_client::verify::JoinError;
use wasm_bindgen_test::*;

use super::container;
use super::events::text;

fn langs(l: &[&str]) -> Vec<String> {
    l.iter().map(|s| s.to_string()).collect()
}

#[wasm_bindgen_test]
fn the_first_language_we_have_wins_and_lang_overrides_it() {
    assert_eq!(choose_locale(None, &langs(&["de-DE", "en"])), Locale::de);
    assert_eq!(
        choose_locale(None, &langs(&["fr", "de-AT", "en"])),
        Locale::de
    );
    assert_eq!(choose_locale(None, &langs(&["en-US", "de"])), Locale::en);
    assert_eq!(choose_locale(None, &langs(&["fr"])), Locale::en);
    assert_eq!(choose_locale(None, &[]), Locale::en);
    assert_eq!(choose_locale(Some("de"), &langs(&["en"])), Locale::de);
    assert_eq!(choose_locale(Some("DE-ch"), &langs(&["en"])), Locale::de);
    assert_eq!(choose_locale(Some("en"), &langs(&["de"])), Locale::en);
    // A language we don't have is no override.
    assert_eq!(choose_locale(Some("fr"), &langs(&["de"])), Locale::de);
    assert_eq!(choose_locale(Some(""), &langs(&["de"])), Locale::de);
}

#[wasm_bindgen_test]
fn both_locales_fill_in_variables() {
    assert_eq!(
        td_string!(Locale::en, chat.too_long, max = 4096),
        "Messages are limited to 4096 characters; please shorten it."
    );
    assert_eq!(
        td_string!(Locale::de, chat.too_long, max = 4096),
        "Nachrichten sind auf 4096 Zeichen begrenzt; bitte kürzen Sie Ihre Nachricht."
    );
}

#[wasm_bindgen_test]
async fn a_german_context_shows_german_and_sets_html_lang() {
    let root = container();
    let _app = mount_to(root.clone(), move || {
        provide_i18n_context(Locale::de);
        let error = PageError::from(&JoinError::Network("offline".into()));
        view! {
            <ErrorPage error=error on_retry=|()| {} />
            <ConnBadge state=Signal::stored(ConnState::Connected) />
        }
    });
    tick().await;
    let root: web_sys::Element = root.into();
    assert_eq!(
        text(&root, ".error-title").as_deref(),
        Some("Server nicht erreichbar")
    );
    assert_eq!(text(&root, "#retry").as_deref(), Some("Erneut versuchen"));
    assert_eq!(text(&root, "#conn-state").as_deref(), Some("Verbunden"));
    let html = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
        .expect("<html>");
    assert_eq!(html.get_attribute("lang").as_deref(), Some("de"));
    // The other tests' pages are English.
    let _ = html.set_attribute("lang", "en");
}
