//! The Quorum meeting app: a Leptos CSR client compiled to WebAssembly.
//!
//! Flow: read the join token from the link ([`verify`]), exchange it for a
//! session at `/api/verifyToken`, connect to NATS over WebSocket ([`nats`]),
//! then show the room with its chat. [`app`] owns the page state machine.
//!
//! Modules are public so that `tests/web.rs` can drive them in a browser.

pub mod api;
pub mod app;
pub mod cache;
pub mod components;
pub mod crypto;
pub mod devices;
pub mod i18n;
pub mod join;
pub mod livekit;
pub mod nats;
pub mod pages;
pub mod perf;
pub mod sound;
pub mod state;
pub mod util;
pub mod verify;
pub mod worker;

/// Mounts the app on `<body>`.
pub fn start() {
    // Without the hook a panic shows up as an opaque "unreachable" trap.
    console_error_panic_hook::set_once();
    perf::mark("start");
    leptos::mount::mount_to_body(app::App);
}
