//! Outgoing webhooks: signed, ordered per room, retried with bounded
//! backoff, never blocking a request.
//!
//! [`Webhooks::send`] only enqueues. Each (room session, target URL) pair
//! has its own bounded queue drained by one tokio task, so a room's events
//! reach each target in order and one at a time, rooms proceed in
//! parallel, and a slow room target never holds up the global one. A task
//! exits and unregisters itself after [`IDLE_EXIT`] without work.
//!
//! Every attempt re-checks the target: `http`/`https` only, the host is
//! resolved here and refused if any address is not public (unless the
//! operator allows private targets), and the request then connects only
//! to those vetted addresses, so a second DNS answer cannot swap them
//! (DNS rebinding). No proxy, no redirects, TLS verified by rustls with the
//! webpki roots. The body is signed at send time with the server's
//! webhook secret (`webhook_secret` in `secrets.json`, or configured; never
//! the API secret, so a receiver holds nothing that signs API calls; see
//! [`quorum_shared::webhook`]); the secret itself is never sent or logged.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use quorum_shared::webhook::{EventName, WebhookEvent};
use tokio::sync::mpsc::{self, error::TrySendError};

mod delivery;
mod target;

use delivery::deliver;
#[cfg(test)]
use delivery::{backoff, MAX_BACKOFF};
pub use target::is_public_ip;
use target::redact;

/// Events waiting per (room, target); more are dropped with a warning.
const QUEUE_CAPACITY: usize = 1000;
/// A queue task with nothing to do for this long exits.
const IDLE_EXIT: Duration = Duration::from_secs(60);
/// Attempts per event and target, by default.
const DEFAULT_ATTEMPTS: u32 = 5;
/// First retry delay, doubled each time: 0.5 s, 1 s, 2 s, 4 s.
const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);

/// Webhook dispatcher. Cheap to clone; clones share the queues.
#[derive(Clone)]
pub struct Webhooks {
    settings: Arc<Settings>,
    queues: Arc<Mutex<Queues>>,
}

/// What every delivery needs. Cloned only by the builder methods.
#[derive(Clone)]
struct Settings {
    global_url: String,
    /// The server's webhook secret; only ever fed to the HMAC.
    secret: Vec<u8>,
    allow_private: bool,
    attempts: u32,
    backoff_base: Duration,
    idle_exit: Duration,
}

/// The live queue tasks.
#[derive(Default)]
struct Queues {
    map: HashMap<QueueKey, Queue>,
    /// Tells a task's own entry from a newer one under the same key.
    next_id: u64,
}

/// (room session id, target URL).
type QueueKey = (String, String);

struct Queue {
    id: u64,
    tx: mpsc::Sender<Delivery>,
}

/// One event, serialized once, for one target's queue.
struct Delivery {
    event_id: String,
    event: EventName,
    body: Bytes,
}

impl Default for Webhooks {
    /// No global target; only rooms with their own URL get webhooks.
    fn default() -> Self {
        Self::new("", "", false)
    }
}

impl fmt::Debug for Webhooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Webhooks")
            .field("global_url", &redact(&self.settings.global_url))
            .field("secret", &"<redacted>")
            .field("allow_private", &self.settings.allow_private)
            .field("attempts", &self.settings.attempts)
            .field("backoff_base", &self.settings.backoff_base)
            .finish()
    }
}

impl Webhooks {
    /// A dispatcher for the global `global_url` (may be empty), signing
    /// with the webhook secret `secret` (not the API secret);
    /// private/loopback targets only when `allow_private`.
    pub fn new(global_url: &str, secret: &str, allow_private: bool) -> Self {
        Self {
            settings: Arc::new(Settings {
                global_url: global_url.trim().to_owned(),
                secret: secret.as_bytes().to_vec(),
                allow_private,
                attempts: DEFAULT_ATTEMPTS,
                backoff_base: DEFAULT_BACKOFF_BASE,
                idle_exit: IDLE_EXIT,
            }),
            queues: Arc::default(),
        }
    }

    /// Makes at most `attempts` tries per event and target (at least one),
    /// waiting `base`, `2·base`, `4·base`… (each capped at a minute) between
    /// them. Meant for tests and tuning; the default is 5 tries from 0.5 s.
    pub fn with_retry(mut self, attempts: u32, base: Duration) -> Self {
        let settings = Arc::make_mut(&mut self.settings);
        settings.attempts = attempts.max(1);
        settings.backoff_base = base;
        self
    }

    /// Lets queue tasks exit sooner, so tests can watch them go.
    #[cfg(test)]
    fn with_idle_exit(mut self, idle: Duration) -> Self {
        Arc::make_mut(&mut self.settings).idle_exit = idle;
        self
    }

    /// Queues `event` for the global target and the room's own target.
    /// Never blocks and never fails the caller.
    pub fn send(&self, room_url: Option<&str>, event: WebhookEvent) {
        let targets = self.targets(room_url);
        if targets.is_empty() {
            return;
        }
        // The queue tasks need a runtime; without one (a sync caller in a
        // test or tool) the event is dropped rather than panicking.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(
                room_sid = %event.room.sid,
                event_id = %event.id,
                "webhook dropped: no tokio runtime to deliver it"
            );
            return;
        };
        let body = match serde_json::to_vec(&event) {
            Ok(body) => Bytes::from(body),
            Err(e) => {
                tracing::warn!(event_id = %event.id, error = %e, "webhook dropped: cannot serialize");
                return;
            }
        };
        for target in targets {
            let delivery = Delivery {
                event_id: event.id.clone(),
                event: event.event,
                body: body.clone(),
            };
            self.enqueue(&runtime, &event.room.sid, target, delivery);
        }
    }

    /// The global URL, then the room's own when set and different.
    fn targets(&self, room_url: Option<&str>) -> Vec<String> {
        let global = self.settings.global_url.as_str();
        let mut targets = Vec::with_capacity(2);
        if !global.is_empty() {
            targets.push(global.to_owned());
        }
        if let Some(room) = room_url.map(str::trim) {
            if !room.is_empty() && room != global {
                targets.push(room.to_owned());
            }
        }
        targets
    }

    /// Hands `delivery` to the queue task for (`sid`, `target`), starting
    /// one if there is none. Sending happens under the map lock, and a task
    /// unregisters itself under the same lock only once its queue is empty,
    /// so no event is ever left in a queue nobody drains.
    fn enqueue(
        &self,
        runtime: &tokio::runtime::Handle,
        sid: &str,
        target: String,
        delivery: Delivery,
    ) {
        let key = (sid.to_owned(), target);
        let mut queues = lock(&self.queues);
        let delivery = match queues.map.get(&key) {
            None => delivery,
            Some(queue) => match queue.tx.try_send(delivery) {
                Ok(()) => return crate::metrics::webhook_queued(),
                Err(TrySendError::Full(dropped)) => {
                    tracing::warn!(
                        room_sid = %sid,
                        target = %redact(&key.1),
                        event_id = %dropped.event_id,
                        event = ?dropped.event,
                        capacity = QUEUE_CAPACITY,
                        "webhook dropped: the room's queue is full"
                    );
                    crate::metrics::webhook_failed();
                    return;
                }
                // The task is gone without unregistering (it can only have
                // panicked): replace it.
                Err(TrySendError::Closed(delivery)) => delivery,
            },
        };

        let (tx, rx) = mpsc::channel(QUEUE_CAPACITY);
        if tx.try_send(delivery).is_err() {
            // Unreachable: a fresh channel has room and a live receiver.
            return;
        }
        crate::metrics::webhook_queued();
        let id = queues.next_id;
        queues.next_id = queues.next_id.wrapping_add(1);
        queues.map.insert(key.clone(), Queue { id, tx });
        drop(queues);

        runtime.spawn(run_queue(
            Arc::clone(&self.settings),
            Arc::clone(&self.queues),
            key,
            id,
            rx,
        ));
    }

    /// How many queue tasks are alive (for tests).
    #[cfg(test)]
    fn live_queues(&self) -> usize {
        lock(&self.queues).map.len()
    }
}

/// The map lock; a panic elsewhere must not stop webhooks, so poisoning is
/// ignored (the map stays consistent: every update is a single insert or
/// remove).
fn lock(queues: &Mutex<Queues>) -> MutexGuard<'_, Queues> {
    queues.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One queue task: delivers its events in order, then exits once idle.
async fn run_queue(
    settings: Arc<Settings>,
    queues: Arc<Mutex<Queues>>,
    key: QueueKey,
    id: u64,
    mut rx: mpsc::Receiver<Delivery>,
) {
    let (sid, target) = &key;
    let shown = redact(target);
    loop {
        match tokio::time::timeout(settings.idle_exit, rx.recv()).await {
            Ok(Some(delivery)) => {
                deliver(&settings, sid, target, &shown, &delivery).await;
                crate::metrics::webhook_dequeued();
            }
            // Every sender is gone (cannot happen while the entry is
            // registered, but nothing more could arrive).
            Ok(None) => return,
            Err(_idle) => {
                let mut queues = lock(&queues);
                if !rx.is_empty() {
                    // Something arrived just now: keep going.
                    continue;
                }
                if queues.map.get(&key).is_some_and(|q| q.id == id) {
                    queues.map.remove(&key);
                }
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quorum_shared::webhook::WebhookRoom;

    #[test]
    fn backoff_doubles_and_is_bounded() {
        let base = Duration::from_millis(500);
        let waits: Vec<_> = (1..=4).map(|n| backoff(base, n)).collect();
        assert_eq!(
            waits,
            [500, 1000, 2000, 4000].map(Duration::from_millis).to_vec()
        );
        assert_eq!(backoff(base, 40), MAX_BACKOFF);
        assert_eq!(backoff(Duration::from_secs(3600), 1), MAX_BACKOFF);
    }

    #[test]
    fn targets_skip_empty_and_duplicate() {
        let hooks = Webhooks::new(" https://hooks.example/all ", "s", false);
        assert_eq!(hooks.targets(None), ["https://hooks.example/all"]);
        assert_eq!(hooks.targets(Some("")), ["https://hooks.example/all"]);
        assert_eq!(
            hooks.targets(Some("https://hooks.example/all")),
            ["https://hooks.example/all"]
        );
        assert_eq!(
            hooks.targets(Some("https://room.example/x")),
            ["https://hooks.example/all", "https://room.example/x"]
        );
        let none = Webhooks::default();
        assert!(none.targets(None).is_empty());
        assert_eq!(
            none.targets(Some("https://r.example/")),
            ["https://r.example/"]
        );
    }

    fn event(sid: &str, id: &str) -> WebhookEvent {
        let room = WebhookRoom {
            sid: sid.into(),
            room_id: "room".into(),
            room_title: "Room".into(),
            creation_time: 0,
            num_participants: 0,
        };
        WebhookEvent::new(EventName::RoomStarted, room, None, None, id.into(), 0)
    }

    #[test]
    fn send_without_runtime_does_not_panic() {
        let hooks = Webhooks::new("http://127.0.0.1:9/", "s", false);
        hooks.send(None, event("s1", "e1"));
        assert_eq!(hooks.live_queues(), 0);
    }

    #[tokio::test]
    async fn queue_tasks_exit_when_idle() {
        // Refused targets need no network; the tasks still start and stop.
        let hooks = Webhooks::new("http://127.0.0.1:9/", "s", false)
            .with_idle_exit(Duration::from_millis(100));
        hooks.send(Some("http://10.0.0.1/"), event("s1", "e1"));
        hooks.send(None, event("s2", "e1"));
        hooks.send(None, event("s2", "e2"));
        assert_eq!(hooks.live_queues(), 3);
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert_eq!(hooks.live_queues(), 0);
        // A later event starts a fresh task.
        hooks.send(None, event("s1", "e2"));
        assert_eq!(hooks.live_queues(), 1);
    }

    #[tokio::test]
    async fn full_queue_drops_without_blocking() {
        let hooks = Webhooks::new("http://127.0.0.1:9/", "s", false);
        for i in 0..(QUEUE_CAPACITY + 50) {
            hooks.send(None, event("s1", &format!("e{i}")));
        }
        assert_eq!(hooks.live_queues(), 1);
    }
}
