//! The one translation layer: every user-facing string of the client is a
//! key in `client/locales/{en,de}.json`, compiled in by `leptos_i18n`
//! (`build.rs` generates the module included below, so a key used here but
//! missing from the files fails the build).
//!
//! The language is chosen once, at startup, and kept for the session: a
//! `?lang=de` or `?lang=en` in the link wins, otherwise the first of the
//! browser's languages (`navigator.languages`) that we have, otherwise
//! English. `<html lang>` follows it, for screen readers and spell checks.
//!
//! Views translate with [`use_i18n`] and `t!`/`t_string!`. Code that builds
//! text outside a view (toasts, error sentences) takes the [`Locale`] as an
//! argument, read once where it is set up ([`use_locale`]), and translates
//! with `td_string!`, so it stays a plain function of its inputs.

use leptos::prelude::*;
use leptos_i18n::context::init_i18n_subcontext;
use leptos_i18n::I18nContext;

// Generated: not every item it exports is used, nor documented.
#[allow(dead_code, unused_imports, unreachable_pub, missing_docs, clippy::all)]
mod generated {
    include!(concat!(env!("OUT_DIR"), "/i18n/mod.rs"));
}

pub use generated::i18n::{t, t_string, td, td_string, tu_string, I18nKeys, Locale};
use leptos_i18n::Locale as _;

/// Query parameter that overrides the browser's language: `?lang=de`.
pub const LANG_PARAM: &str = "lang";

/// The locale for a `?lang=` value (`de`, `de-AT`, `EN`), if we have it.
fn requested_locale(tag: &str) -> Option<Locale> {
    let primary = tag.trim().split(['-', '_']).next()?.to_ascii_lowercase();
    primary.parse().ok()
}

/// Which locale to show: `requested` (the `?lang=` value) when it names one
/// we have, else the first of the browser's `languages` we have (so
/// `["fr", "de-DE", "en"]` is German), else English. Pure.
pub fn choose_locale(requested: Option<&str>, languages: &[String]) -> Locale {
    requested
        .and_then(requested_locale)
        .unwrap_or_else(|| Locale::find_locale(languages))
}

/// Reads `?lang=` and `navigator.languages` and chooses. Called once at
/// startup, before anything rewrites the address bar.
pub fn locale_from_browser() -> Locale {
    let Some(window) = web_sys::window() else {
        return Locale::default();
    };
    let requested = window
        .location()
        .search()
        .ok()
        .and_then(|q| web_sys::UrlSearchParams::new_with_str(&q).ok())
        .and_then(|p| p.get(LANG_PARAM));
    let languages: Vec<String> = window
        .navigator()
        .languages()
        .iter()
        .filter_map(|l| l.as_string())
        .collect();
    choose_locale(requested.as_deref(), &languages)
}

fn set_html_lang(locale: Locale) {
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element());
    if let Some(root) = root {
        let _ = root.set_attribute("lang", locale.as_str());
    }
}

/// Provides the i18n context for the whole app, fixed to `locale`, and
/// sets `<html lang>` to it at once (and again should it ever change).
///
/// A sub-context with an initial locale, not `I18nContextProvider`: the
/// provider's own choice follows only the browser (or a cookie), which
/// would undo a `?lang=` override as soon as its effect runs.
pub fn provide_i18n_context(locale: Locale) -> I18nContext<Locale> {
    let i18n = init_i18n_subcontext(Some(Signal::stored(locale)));
    provide_context(i18n);
    set_html_lang(locale);
    Effect::new(move || set_html_lang(i18n.get_locale()));
    i18n
}

/// The app's i18n context. Widgets mounted on their own (the browser
/// tests) have none and get English, as other contexts fall back too.
pub fn use_i18n() -> I18nContext<Locale> {
    use_context::<I18nContext<Locale>>()
        .unwrap_or_else(|| init_i18n_subcontext(Some(Signal::stored(Locale::default()))))
}

/// The current locale, for code that builds text outside a view: read it
/// once where that code is set up and pass it on.
pub fn use_locale() -> Locale {
    use_i18n().get_locale_untracked()
}
