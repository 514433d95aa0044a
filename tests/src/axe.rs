//! axe-core as the accessibility referee of the end-to-end tests: the
//! pinned `node_modules/axe-core/axe.min.js` (package.json, installed by
//! `scripts/setup.sh`) is injected into the page under test and run there.
//!
//! The script goes in through WebDriver's Execute Script, which Chromium
//! evaluates outside the page's Content-Security-Policy, so the app's CSP
//! needs no exception for it; axe itself evaluates no strings.

use std::fmt;
use std::sync::OnceLock;

use fantoccini::Client;
use serde_json::{json, Value};

/// One rule that the page breaks, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The rule id, e.g. `color-contrast`.
    pub id: String,
    /// `minor`, `moderate`, `serious` or `critical`.
    pub impact: String,
    /// What the rule checks.
    pub description: String,
    /// The offending nodes, as CSS selectors.
    pub targets: Vec<String>,
    /// axe's explanation for the first node (e.g. the contrast it measured).
    pub summary: String,
}

impl Violation {
    /// Serious or critical: what the tests refuse.
    pub fn is_blocking(&self) -> bool {
        matches!(self.impact.as_str(), "serious" | "critical")
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}, {} node(s)): {}\n    at {}",
            self.id,
            self.impact,
            self.targets.len(),
            self.description,
            self.targets.join(", ")
        )?;
        if !self.summary.is_empty() {
            write!(f, "\n    {}", self.summary.replace('\n', "\n    "))?;
        }
        Ok(())
    }
}

/// The source of axe-core, read once per test binary.
fn axe_source() -> &'static str {
    static SOURCE: OnceLock<String> = OnceLock::new();
    SOURCE.get_or_init(|| {
        let path = crate::root().join("node_modules/axe-core/axe.min.js");
        std::fs::read_to_string(&path).unwrap_or_else(|e| {
            panic!(
                "cannot read {} ({e}): run scripts/setup.sh (npm ci)",
                path.display()
            )
        })
    })
}

/// Runs axe on the whole current page once, and returns what it found
/// (all impacts). Injects axe first unless the page already has it.
pub async fn violations(c: &Client) -> Vec<Violation> {
    let loaded = c
        .execute("return typeof window.axe === 'object'", vec![])
        .await
        .expect("ask the page for axe");
    if loaded != Value::Bool(true) {
        // Concatenated, not passed as an argument and eval'd: eval would
        // be subject to the page's CSP.
        let inject = format!("{}\n;return typeof window.axe;", axe_source());
        let kind = c.execute(&inject, vec![]).await.expect("inject axe-core");
        assert_eq!(kind, json!("object"), "axe-core did not load in the page");
    }
    const RUN: &str = r#"
        const done = arguments[arguments.length - 1];
        window.axe
            .run(document, { resultTypes: ['violations'] })
            .then(
                (r) => done({ violations: r.violations.map((v) => ({
                    id: v.id,
                    impact: v.impact || '',
                    description: v.description,
                    targets: v.nodes.map((n) => n.target.map(String).join(' ')),
                    summary: (v.nodes[0] && v.nodes[0].failureSummary) || '',
                })) }),
                (e) => done({ error: String(e && e.stack || e) }),
            );
    "#;
    let answer = c.execute_async(RUN, vec![]).await.expect("run axe-core");
    if let Some(e) = answer.get("error") {
        panic!("axe-core failed: {e}");
    }
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    answer["violations"]
        .as_array()
        .expect("axe-core returned its violations")
        .iter()
        .map(|v| Violation {
            id: text(v, "id"),
            impact: text(v, "impact"),
            description: text(v, "description"),
            targets: v["targets"]
                .as_array()
                .map(|t| {
                    t.iter()
                        .filter_map(|s| s.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default(),
            summary: text(v, "summary"),
        })
        .collect()
}

/// Fails the test, listing them, if the current page has any serious or
/// critical violation; lesser ones are printed only. `page` names the page
/// in the message.
pub async fn assert_clean(c: &Client, page: &str) {
    let found = violations(c).await;
    let (blocking, other): (Vec<_>, Vec<_>) = found.iter().partition(|v| v.is_blocking());
    for v in &other {
        eprintln!("axe, {page} (not blocking): {v}");
    }
    assert!(
        blocking.is_empty(),
        "axe-core found {} serious or critical violation(s) on {page}:\n{}",
        blocking.len(),
        blocking
            .iter()
            .map(|v| format!("  {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// Which `prefers-color-scheme` the page sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorScheme {
    Light,
    Dark,
}

/// Makes `c` report `prefers-color-scheme: <scheme>` to its pages (until
/// the session ends), through chromedriver's Chrome DevTools endpoint
/// (`Emulation.setEmulatedMedia`), so colour contrast can be checked in
/// both themes with the same browser.
pub async fn emulate_color_scheme(c: &Client, scheme: ColorScheme) {
    let value = match scheme {
        ColorScheme::Light => "light",
        ColorScheme::Dark => "dark",
    };
    crate::browser::cdp(
        c,
        "Emulation.setEmulatedMedia",
        json!({ "features": [{ "name": "prefers-color-scheme", "value": value }] }),
    )
    .await;
    let seen = c
        .execute(
            "return matchMedia(`(prefers-color-scheme: ${arguments[0]})`).matches",
            vec![json!(value)],
        )
        .await
        .expect("read prefers-color-scheme");
    assert_eq!(seen, json!(true), "the page does not see {value} mode");
    // Colours that have a transition (buttons) move to the new theme over
    // a moment; axe must measure where they end, not halfway.
    const SETTLED: &str = r#"
        const done = arguments[arguments.length - 1];
        const transitions = document.getAnimations()
            .filter((a) => a instanceof CSSTransition)
            .map((a) => a.finished.catch(() => {}));
        Promise.all(transitions).then(() => done(true));
    "#;
    c.execute_async(SETTLED, vec![])
        .await
        .expect("wait for colour transitions");
}
