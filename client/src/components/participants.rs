//! The participant list and the raise-hand toggle.

use std::time::Duration;

use leptos::prelude::*;
use quorum_shared::events::{NotificationType, PresenceState};
use quorum_shared::worker::{WorkerReply, WorkerRequest};

use crate::components::e2ee_badge::KeyMismatch;
use crate::nats::{use_nats, NatsClient};
use crate::state::chat::random_id;
use crate::state::participants::{state_key, use_roster, Participant, Roster};
use crate::state::session::use_session;
use crate::state::toasts::{use_toasts, Toast};

/// How long to wait for the server to confirm a hand change.
const HAND_TIMEOUT: Duration = Duration::from_secs(10);

/// `<aside id="participants">` with one `<li class="participant">` each.
#[component]
pub fn ParticipantsPanel() -> impl IntoView {
    let roster = use_roster().roster();
    view! {
        <aside id="participants" class="participants-panel" aria-labelledby="participants-heading">
            <h2 id="participants-heading" class="panel-title">
                "Participants "
                <span class="participant-count">{move || roster.with(Roster::present)}</span>
            </h2>
            <ParticipantList roster=roster />
        </aside>
    }
}

/// The list itself, for any roster.
#[component]
pub fn ParticipantList(#[prop(into)] roster: Signal<Roster>) -> impl IntoView {
    view! {
        <ul class="participant-list">
            <For
                each=move || roster.with(Roster::sorted)
                // Any change re-renders the row: rows are small.
                key=|p| (p.id.clone(), state_key(p.state), p.hand, p.name.clone(), p.is_admin)
                children=|p| view! { <ParticipantItem p=p /> }
            />
        </ul>
    }
}

/// `<li class="participant" data-user data-state data-hand>`: the name, a
/// moderator badge, a raised hand, and "(you)" for ourselves.
#[component]
fn ParticipantItem(p: Participant) -> impl IntoView {
    let hand = p.hand && p.state != PresenceState::Offline;
    view! {
        <li
            class="participant"
            class:me=p.me
            data-user=p.id.clone()
            data-state=state_key(p.state)
            data-hand=if hand { "raised" } else { "down" }
        >
            <span class="name">{p.name.clone()}</span>
            {p.me.then(|| view! { <span class="you">" (you)"</span> })}
            {p.is_admin.then(|| view! { <span class="badge badge-moderator">"moderator"</span> })}
            {hand.then(|| view! { <span class="hand" role="img" aria-label="Hand raised">"✋"</span> })}
            <KeyMismatch user=p.id.clone() />
        </li>
    }
}

/// `<button id="hand">`: "Raise hand" or "Lower hand" by what the server
/// last said about ours; disabled while a change is on its way.
#[component]
pub fn HandButton() -> impl IntoView {
    let session = use_session();
    let nats = use_nats();
    let toasts = use_toasts();
    let roster = use_roster().roster();
    let me = session.join.user_id.clone();
    let worker = StoredValue::new(session.join.subjects.worker.clone());

    // -- signals -- //
    let raised = Memo::new({
        let me = me.clone();
        move |_| roster.with(|r| r.hand_raised(me.as_str()))
    });
    let busy = RwSignal::new(false);
    let connected = Memo::new(move |_| nats.state().with(|s| s.is_connected()));

    // -- actions -- //
    let toggle = move |_| {
        let req = if raised.get_untracked() {
            WorkerRequest::LowerHand {
                user_id: me.clone(),
            }
        } else {
            WorkerRequest::RaiseHand
        };
        busy.set(true);
        wasm_bindgen_futures::spawn_local(async move {
            let result = send_request(nats, &worker.get_value(), &req).await;
            busy.try_set(false);
            if let Err(why) = result {
                web_sys::console::warn_1(&format!("hand: {why}").into());
                toasts.show(Toast {
                    id: random_id(),
                    text: "Could not change your hand. Please try again.".to_string(),
                    kind: NotificationType::Error,
                    with_sound: false,
                });
            }
        });
    };

    view! {
        <button
            id="hand"
            type="button"
            class="btn btn-secondary"
            aria-pressed=move || raised.get().to_string()
            disabled=move || busy.get() || !connected.get()
            on:click=toggle
        >
            {move || if raised.get() { "Lower hand" } else { "Raise hand" }}
        </button>
    }
}

/// Sends a worker request and reads the server's verdict.
async fn send_request(nats: NatsClient, worker: &str, req: &WorkerRequest) -> Result<(), String> {
    let body = serde_json::to_vec(req).map_err(|e| e.to_string())?;
    let reply = nats
        .request(worker, &body, HAND_TIMEOUT)
        .await
        .map_err(|e| e.to_string())?;
    match serde_json::from_slice::<WorkerReply>(&reply.payload) {
        Ok(r) if r.ok => Ok(()),
        Ok(r) => Err(r.error.unwrap_or_else(|| "refused".to_string())),
        Err(e) => Err(format!("bad reply: {e}")),
    }
}
