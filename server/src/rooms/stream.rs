//! The per-room JetStream stream: public chat and room-wide events are kept
//! there so a reconnecting client fetches what it missed and a late joiner
//! gets the history, through JetStream's read-only direct get. Participants
//! may not call JetStream themselves (it answers on any reply subject named,
//! so it would replay stored messages onto any subject): they send the
//! direct-get request on `subjects::history`, and the server forwards it
//! with their own reply inbox.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use quorum_shared::ids::RoomId;
use quorum_shared::subjects;

use super::RoomsError;

/// Creates the room's stream if it does not exist yet.
pub async fn ensure(js: &jetstream::Context, room: &RoomId) -> Result<(), RoomsError> {
    js.get_or_create_stream(stream::Config {
        name: subjects::room_stream(room),
        subjects: subjects::room_stream_subjects(room),
        storage: stream::StorageType::File,
        // Direct get lets clients read history without consumers.
        allow_direct: true,
        // Bounded like the room state: a day, and enough for a long meeting.
        // No max_bytes: JetStream would reserve it from the server budget.
        max_age: Duration::from_secs(24 * 3600),
        max_messages: 100_000,
        discard: stream::DiscardPolicy::Old,
        ..Default::default()
    })
    .await
    .map(drop)
    .map_err(|e| RoomsError::Kv(format!("room stream: {e}")))
}

/// Deletes the room's stream at the end of the session.
pub async fn remove(js: &jetstream::Context, room: &RoomId) {
    if let Err(e) = js.delete_stream(subjects::room_stream(room)).await {
        tracing::debug!(error = %e, %room, "room stream not deleted");
    }
}

/// Forwards history requests (`qr.{room}.history.{user}`) to the room
/// stream's direct get, answered by JetStream on the caller's own inbox;
/// requests naming any other reply subject are dropped. Queue group: one
/// instance forwards each.
pub async fn serve_history(nats: async_nats::Client) {
    let mut sub = match nats
        .queue_subscribe(subjects::HISTORY_ALL, "quorum-history".to_owned())
        .await
    {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, "cannot serve history requests"),
    };
    while let Some(msg) = sub.next().await {
        let Some((room, user)) = subjects::parse_history(msg.subject.as_str()) else {
            continue;
        };
        let Some(reply) = msg
            .reply
            .filter(|r| subjects::owns_inbox(&room, &user, r.as_str()))
        else {
            tracing::warn!(%room, %user, "history request without the caller's inbox dropped");
            continue;
        };
        if let Err(e) = nats
            .publish_with_reply(subjects::direct_get(&room), reply, msg.payload)
            .await
        {
            tracing::warn!(error = %e, %room, "cannot forward history request");
        }
    }
}
