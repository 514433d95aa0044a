//! The client's translations are complete: every locale file in
//! `client/locales/` has exactly the keys of `en.json`, each with the same
//! interpolation variables (`{{ count }}`), and no text is empty. Native
//! and quick: `cargo test -p quorum-e2e --test i18n_keys`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value;

fn locales_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../client/locales")
}

fn load(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// Every text of `v`, by its dotted key (`chat.send`); nested objects are
/// groups of keys.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&key, v, out);
            }
        }
        Value::String(s) => {
            out.insert(prefix.to_owned(), s.clone());
        }
        other => panic!("{prefix}: a text or a group of texts expected, got {other}"),
    }
}

/// The names of the `{{ var }}` placeholders in `text`.
fn variables(text: &str) -> BTreeSet<String> {
    let mut vars = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let end = after
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed {{{{ in {text:?}"));
        vars.insert(after[..end].trim().to_owned());
        rest = &after[end + 2..];
    }
    vars
}

fn texts(path: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    flatten("", &load(path), &mut out);
    out
}

#[test]
fn every_locale_has_the_keys_and_variables_of_english() {
    let dir = locales_dir();
    let english = texts(&dir.join("en.json"));
    assert!(
        english.len() > 100,
        "en.json looks truncated: {} keys",
        english.len()
    );
    let mut others = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("read client/locales") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_some_and(|e| e == "json") && !path.ends_with("en.json") {
            others.push(path);
        }
    }
    assert!(
        others.iter().any(|p| p.ends_with("de.json")),
        "no de.json in {}",
        dir.display()
    );
    for path in others {
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let other = texts(&path);
        let missing: Vec<_> = english.keys().filter(|k| !other.contains_key(*k)).collect();
        let extra: Vec<_> = other.keys().filter(|k| !english.contains_key(*k)).collect();
        assert!(missing.is_empty(), "{name} lacks {missing:?}");
        assert!(extra.is_empty(), "{name} has keys English lacks: {extra:?}");
        for (key, en) in &english {
            let text = &other[key];
            assert_eq!(
                variables(en),
                variables(text),
                "{name}: {key} has other variables than in English ({en:?} vs {text:?})"
            );
        }
    }
}

#[test]
fn no_text_is_empty_or_uses_three_dots() {
    let dir = locales_dir();
    for lang in ["en", "de"] {
        for (key, text) in texts(&dir.join(format!("{lang}.json"))) {
            assert!(!text.trim().is_empty(), "{lang}: {key} is empty");
            // The typographic ellipsis, as everywhere in the client.
            assert!(!text.contains("..."), "{lang}: {key} has \"...\": {text:?}");
        }
    }
}

#[test]
fn variables_are_found() {
    assert_eq!(
        variables("{{ a }} and {{b}}, {{ a }}"),
        BTreeSet::from(["a".to_owned(), "b".to_owned()])
    );
    assert!(variables("none").is_empty());
}
