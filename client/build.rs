//! Generates the `i18n` module (the `Locale` enum, the keys and the `t!`
//! family's lookups) from `locales/*.json` into `OUT_DIR`, where
//! `src/i18n.rs` includes it. Every file there is a locale (`de.json` is
//! `Locale::de`); English is the default. A key the code uses that
//! English lacks fails the build; one another locale lacks is a warning
//! here (it would show in English) and a failure of
//! `tests/tests/i18n_keys.rs`.

use std::path::PathBuf;

use leptos_i18n_build::{Config, ParseOptions, TranslationsInfos};

/// The locales other than English: the names of `locales/*.json`.
fn other_locales() -> Vec<String> {
    let dir = std::fs::read_dir("locales").expect("read locales/");
    let mut names: Vec<String> = dir
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| n.strip_suffix(".json").map(str::to_owned))
        .filter(|n| n != "en")
        .collect();
    names.sort();
    names
}

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    // A new file is a new locale.
    println!("cargo::rerun-if-changed=locales");
    // English first: it is the default, and the locale a key falls back to.
    let config = Config::new("en")
        .and_then(|c| c.add_locales(other_locales()))
        .expect("valid locale names")
        // `t_string!` with variables, for attributes and toasts.
        .parse_options(ParseOptions::new().interpolate_display(true));
    let infos = TranslationsInfos::parse(config).expect("parse locales/*.json");
    infos.rerun_if_locales_changed();
    infos.emit_diagnostics();
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR is set by cargo"));
    infos
        .generate_i18n_module(out.join("i18n"))
        .expect("write the i18n module");
}
