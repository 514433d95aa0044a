//! The per-room JetStream stream: public chat and room-wide events are kept
//! there so a reconnecting client fetches what it missed and a late joiner
//! gets the history, through JetStream's read-only direct get. Participants
//! may not call JetStream themselves (it answers on any reply subject named,
//! so it would replay stored messages onto any subject): they send the
//! direct-get request on `subjects::history`, and the server forwards it
//! with their own reply inbox. Private events are kept apart, in a second
//! stream that only the server reads, each user's own subject at a time.

use std::time::Duration;

use async_nats::jetstream::{self, stream};
use futures::StreamExt;
use quorum_shared::ids::{RoomId, UserId};
use quorum_shared::subjects;

use super::meter::{Kind, Limits};
use super::service::RoomService;
use super::RoomsError;

/// Largest message a room stream stores: what a participant may publish,
/// plus room for the server's own events' headers.
const MAX_STORED_MESSAGE: i32 = quorum_shared::limits::MAX_PARTICIPANT_PAYLOAD as i32 + 1024;

/// Creates the room's streams (room-wide, and per-user private events) if
/// they do not exist yet. Each has a byte budget (oldest dropped first),
/// which JetStream reserves from its storage, and no message larger than a
/// participant may publish: one room can fill only its own budget.
pub async fn ensure(
    js: &jetstream::Context,
    room: &RoomId,
    limits: &Limits,
) -> Result<(), RoomsError> {
    // Private events only need to outlive a reconnect; they may carry a
    // join token (an approval), which should not sit at rest for long.
    const DAY: Duration = Duration::from_secs(24 * 3600);
    const HOUR: Duration = Duration::from_secs(3600);
    for (name, subjects, max_age, max_bytes) in [
        (
            subjects::room_stream(room),
            subjects::room_stream_subjects(room),
            DAY,
            limits.room_stream_bytes,
        ),
        (
            subjects::private_stream(room),
            vec![subjects::private_all(room)],
            HOUR,
            limits.private_stream_bytes,
        ),
    ] {
        js.get_or_create_stream(stream::Config {
            name,
            subjects,
            storage: stream::StorageType::File,
            // Direct get lets clients read history without consumers.
            allow_direct: true,
            // Bounded in age, count and bytes, enough for a long meeting.
            max_age,
            max_messages: 100_000,
            max_bytes,
            max_message_size: MAX_STORED_MESSAGE,
            discard: stream::DiscardPolicy::Old,
            ..Default::default()
        })
        .await
        .map_err(|e| RoomsError::Kv(format!("room stream: {e}")))?;
    }
    Ok(())
}

/// Deletes the room's streams at the end of the session. A stream that is
/// not there is fine; any other failure is returned.
pub async fn remove(js: &jetstream::Context, room: &RoomId) -> Result<(), RoomsError> {
    for name in [subjects::room_stream(room), subjects::private_stream(room)] {
        if let Err(e) = js.delete_stream(&name).await {
            let missing = matches!(
                e.kind(),
                jetstream::context::DeleteStreamErrorKind::JetStream(ref j)
                    if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND
            );
            if !missing {
                return Err(RoomsError::Kv(format!("delete stream {name}: {e}")));
            }
        }
    }
    Ok(())
}

/// Empties the room's streams (a new session starts with no history).
pub async fn purge(js: &jetstream::Context, room: &RoomId) -> Result<(), RoomsError> {
    for name in [subjects::room_stream(room), subjects::private_stream(room)] {
        let stream = js
            .get_stream(&name)
            .await
            .map_err(|e| RoomsError::Kv(format!("stream {name}: {e}")))?;
        stream
            .purge()
            .await
            .map_err(|e| RoomsError::Kv(format!("purge {name}: {e}")))?;
    }
    Ok(())
}

/// Forwards history requests (`qr.{room}.history.{user}`) to the room
/// stream's direct get, answered by JetStream on the caller's own inbox;
/// requests naming any other reply subject are dropped. Queue group: one
/// instance forwards each.
pub async fn serve_history(svc: RoomService) {
    forward(
        svc,
        subjects::HISTORY_ALL,
        "quorum-history",
        subjects::parse_history,
        |room, _, body| Some((subjects::direct_get(room), body.to_vec())),
    )
    .await
}

/// Relays each request on `wildcard` (parsed into room and caller by
/// `parse`) to what `build` makes of it, with the reply going to the
/// caller's own inbox only, for admitted participants of the room's
/// current session, within their request budget.
async fn forward(
    svc: RoomService,
    wildcard: &str,
    queue: &str,
    parse: fn(&str) -> Option<(RoomId, UserId)>,
    build: impl Fn(&RoomId, &UserId, &[u8]) -> Option<(String, Vec<u8>)>,
) {
    let nats = svc.nats.clone();
    let mut sub = match nats
        .queue_subscribe(wildcard.to_owned(), queue.to_owned())
        .await
    {
        Ok(s) => s,
        Err(e) => return tracing::error!(error = %e, wildcard, "cannot serve requests"),
    };
    while let Some(msg) = sub.next().await {
        let Some((room, user)) = parse(msg.subject.as_str()) else {
            continue;
        };
        let Some(reply) = msg
            .reply
            .filter(|r| subjects::owns_inbox(&room, &user, r.as_str()))
        else {
            tracing::warn!(%room, %user, wildcard, "request without the caller's inbox dropped");
            continue;
        };
        // The index knows this session's participants: a connection left
        // over from an earlier session, or still waiting, reads nothing.
        if !svc.allow(&room, &user, Kind::History) {
            tracing::debug!(%room, %user, wildcard, "history request over budget dropped");
            continue;
        }
        let p = match svc.index().participant(&room, &user) {
            Some(p) => Some(p),
            // Not seen yet (another instance wrote it a moment ago).
            None => svc.kv.participant(&room, &user).await.ok().flatten(),
        };
        let admitted = p.is_some_and(|p| !p.wait_for_approval);
        if !admitted {
            tracing::debug!(%room, %user, wildcard, "request from a non-participant dropped");
            continue;
        }
        let Some((subject, body)) = build(&room, &user, &msg.payload) else {
            tracing::debug!(%room, %user, wildcard, "malformed request dropped");
            continue;
        };
        if let Err(e) = nats.publish_with_reply(subject, reply, body.into()).await {
            tracing::warn!(error = %e, %room, wildcard, "cannot forward request");
        }
    }
}

/// Most messages one private-history batch returns.
const PRIVATE_BATCH: u64 = 256;

/// The direct get a private-history request becomes: built here from the
/// few fields that make sense, always filtered to the caller's own private
/// subject, so no request can read another user's events. `None` for a
/// body that is not a JSON object.
pub fn private_request(room: &RoomId, user: &UserId, body: &[u8]) -> Option<Vec<u8>> {
    let req: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(body).ok()?;
    let own = subjects::private(room, user);
    let out = if req.contains_key("last_by_subj") {
        serde_json::json!({ "last_by_subj": own })
    } else {
        let seq = req.get("seq").and_then(|v| v.as_u64()).unwrap_or(1).max(1);
        let batch = req
            .get("batch")
            .and_then(|v| v.as_u64())
            .unwrap_or(1)
            .clamp(1, PRIVATE_BATCH);
        serde_json::json!({ "seq": seq, "batch": batch, "next_by_subj": own })
    };
    Some(out.to_string().into_bytes())
}

/// Answers private-history requests (`qr.{room}.mine.{user}`): each becomes
/// a direct get on the private stream, see [`private_request`], answered on
/// the caller's own inbox. Queue group: one instance answers each.
pub async fn serve_private_history(svc: RoomService) {
    forward(
        svc,
        subjects::PRIVATE_HISTORY_ALL,
        "quorum-private-history",
        subjects::parse_private_history,
        |room, user, body| {
            private_request(room, user, body).map(|b| (subjects::private_direct_get(room), b))
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_requests_only_ever_read_the_callers_subject() {
        let (r, u) = (RoomId::parse("r1").unwrap(), UserId::parse("u1").unwrap());
        let parse = |b: &str| -> serde_json::Value {
            serde_json::from_slice(&private_request(&r, &u, b.as_bytes()).unwrap()).unwrap()
        };
        let v = parse(r#"{"seq":5,"batch":100000,"next_by_subj":"qr.r1.private.u2"}"#);
        assert_eq!(
            v,
            serde_json::json!({"seq":5,"batch":PRIVATE_BATCH,"next_by_subj":"qr.r1.private.u1"})
        );
        let v = parse(r#"{"last_by_subj":"qr.r1.private.*"}"#);
        assert_eq!(v, serde_json::json!({"last_by_subj":"qr.r1.private.u1"}));
        // Other direct-get forms are reduced to a filtered batch.
        let v = parse(r#"{"multi_last":["qr.r1.private.u2"],"seq":0}"#);
        assert_eq!(v["next_by_subj"], "qr.r1.private.u1");
        assert_eq!(v["seq"], 1);
        assert!(private_request(&r, &u, b"not json").is_none());
        assert!(private_request(&r, &u, b"[1]").is_none());
    }
}
