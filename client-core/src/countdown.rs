//! The meeting's countdown: how time left is written, and which warning
//! is due.

/// Seconds left as `H:MM:SS` or `M:SS`.
pub fn format_left(secs: i64) -> String {
    let s = secs.max(0);
    let (h, m, s) = (s / 3600, (s % 3600) / 60, s % 60);
    if h > 0 {
        format!("{h}:{m:02}:{s:02}")
    } else {
        format!("{m}:{s:02}")
    }
}

/// The warning due with `left` seconds to go, after `given` (the last
/// one given): 10 minutes, then 1.
pub fn warning_due(left: i64, given: Option<u32>) -> Option<u32> {
    let due = if left <= 60 {
        1
    } else if left <= 600 {
        10
    } else {
        return None;
    };
    (given.is_none_or(|g| due < g)).then_some(due)
}
