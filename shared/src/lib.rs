//! Types and pure logic shared by the Quorum server and browser client.
//!
//! Everything here is plain Rust with no I/O, so it compiles for both the
//! native server and `wasm32-unknown-unknown`, and is tested natively.

pub mod api;
pub mod e2ee;
pub mod events;
pub mod ids;
pub mod limits;
pub mod moderation;
pub mod nats_proto;
pub mod peer;
pub mod subjects;
pub mod token;
pub mod webhook;
pub mod worker;
