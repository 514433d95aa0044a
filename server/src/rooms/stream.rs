//! The per-room JetStream stream: public chat and room-wide events are kept
//! there so a reconnecting client fetches what it missed and a late joiner
//! gets the history, through JetStream's read-only direct get (the only
//! JetStream API participants may call, and only on their own room's stream).

use std::time::Duration;

use async_nats::jetstream::{self, stream};
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
