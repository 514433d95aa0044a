//! The browser client's pure logic: no DOM, no NATS socket, no JS. The
//! client (`quorum-client`, wasm32) builds on it; `cargo test` checks it
//! natively, fast, with the rest of the workspace.

pub mod chat_entry;
pub mod chat_log;
pub mod clock;
pub mod countdown;
pub mod grouping;
pub mod media_plan;
pub mod news;
pub mod outbox;
pub mod policy;
pub mod presence_lines;
pub mod recipients;
pub mod renewal;
pub mod roster;
