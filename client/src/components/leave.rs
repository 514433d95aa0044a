//! The Leave button, the same in the room and the waiting room.

use leptos::prelude::*;

use crate::pages::goodbye::Goodbye;
use crate::state::session::use_session_end;

/// `<button id="leave">`: ends our session for good (the session cache is
/// deleted, then the goodbye page shows).
#[component]
pub fn LeaveButton() -> impl IntoView {
    let end = use_session_end();
    view! {
        <button id="leave" type="button" class="btn btn-danger" on:click=move |_| end.end(Goodbye::left())>
            "Leave"
        </button>
    }
}
