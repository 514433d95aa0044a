//! The room module (binary `quorum-room`): everything after the pre-join
//! page. Trunk builds it beside the shell without starting it; the shell
//! imports it and calls [`enter`] (see `handoff.rs`).

use wasm_bindgen::prelude::wasm_bindgen;

/// Nothing runs on load: the shell decides when the room starts.
fn main() {}

/// Opens the session's cache behind the pre-join page (handoff JSON).
#[wasm_bindgen]
pub fn prepare(handoff: &str) {
    quorum_client::prepare_room(handoff);
}

/// Mounts the room app with the shell's handoff (JSON).
#[wasm_bindgen]
pub fn enter(handoff: &str) {
    quorum_client::start_room(handoff);
}
