//! The Quorum meeting app: a Leptos CSR client compiled to WebAssembly.
//!
//! Flow: read the join token from the link ([`verify`]), exchange it for a
//! session at `/api/verifyToken`, connect to NATS over WebSocket ([`nats`]),
//! then show the room with its chat. [`shell`] owns the pages up to Join,
//! [`app`] the room's from then on.
//!
//! Two wasm binaries share this library, so a first visit downloads only
//! what the pre-join page needs: the shell ([`shell`], binary
//! `quorum-client`) verifies the link and shows the pre-join page; the
//! room module (binary `quorum-room`, [`start_room`]) loads meanwhile and
//! takes over on Join ([`handoff`]).
//!
//! Modules are public so that `tests/web.rs` can drive them in a browser.

pub mod api;
pub mod app;
pub mod cache;
pub mod components;
pub mod crypto;
pub mod devices;
pub mod handoff;
pub mod i18n;
pub mod join;
pub mod livekit;
pub mod nats;
pub mod pages;
pub mod perf;
pub mod shell;
pub mod sound;
pub mod state;
pub mod util;
pub mod verify;
pub mod worker;

thread_local! {
    /// Whether the room app has been mounted (see [`prepare_room`]).
    static ENTERED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Opens the session's cache while the shell's pre-join page shows, for
/// the verified session in `handoff` (JSON); `start_room` takes it over.
/// Too late once the room has started: it opens its cache itself, and a
/// second opening would only hold a copy of the chat that nobody takes.
pub fn prepare_room(handoff: &str) {
    console_error_panic_hook::set_once();
    if ENTERED.get() {
        return;
    }
    if let Some(session) = handoff::Handoff::from_json(handoff).session() {
        state::persist::prepare(session);
    }
}

/// Mounts the room app on `<body>`, with the shell's `handoff` (JSON).
pub fn start_room(handoff: &str) {
    // Without the hook a panic shows up as an opaque "unreachable" trap.
    console_error_panic_hook::set_once();
    perf::mark("room-start");
    ENTERED.set(true);
    let handoff = handoff::Handoff::from_json(handoff);
    leptos::mount::mount_to_body(move || leptos::view! { <app::App handoff=handoff /> });
}
