//! The connection's timing policy (pure and natively tested, in
//! `quorum-client-core`) and this page's give-up time.

use std::time::Duration;

pub use quorum_client_core::policy::*;

/// The give-up time for this page.
pub fn give_up_after() -> Duration {
    let search = web_sys::window()
        .and_then(|w| w.location().search().ok())
        .unwrap_or_default();
    give_up_after_from(&search)
}
