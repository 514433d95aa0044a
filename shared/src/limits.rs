//! What one participant may send and hold, enforced by nats-server (the
//! user JWT the callout signs, the room streams' limits) and shown by the
//! client, so one participant can't fill the disk or flood a room.

/// Largest payload a participant may publish, in bytes. A chat message
/// ([`crate::peer::MAX_CHAT_LEN`] of text, JSON-escaped and sealed) fits
/// with room to spare; nats-server closes a connection that sends more.
pub const MAX_PARTICIPANT_PAYLOAD: usize = 32 * 1024;

/// Most subscriptions one participant's connection may hold (the client
/// needs about ten).
pub const MAX_SUBSCRIPTIONS: i64 = 64;

/// How often a browser pings nats-server (seconds). Every ping costs
/// nats-server a wake-up per connection: at 10 s, 2,000 idle participants
/// took about 10 % of a core; at 20 s about half that. A dead path is
/// still noticed within a minute (two missed pongs), and a closed socket
/// or an offline browser at once.
pub const CLIENT_PING_SECS: u64 = 20;
