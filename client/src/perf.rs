//! Named moments of the join path, as `performance.mark("quorum:<name>")`
//! (a handful per page load): the browser's performance panel shows them,
//! and the first-load bench (`tests/benches/first_load.rs`) prints its
//! breakdown from them.

/// Marks moment `name` now.
pub fn mark(name: &str) {
    if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
        let _ = p.mark(&format!("quorum:{name}"));
    }
}
