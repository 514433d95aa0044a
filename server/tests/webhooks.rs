//! Integration tests of outgoing webhooks: real HTTP to small axum receivers
//! on 127.0.0.1:0 that check every signature with the shared `verify`.
//! Run: `cargo test -p quorum-server --test webhooks`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use quorum_server::webhooks::{is_public_ip, Webhooks};
use quorum_shared::webhook::{
    verify, EventName, WebhookEvent, WebhookParticipant, WebhookRoom, WebhookVerifyError,
    SIGNATURE_HEADER, TOLERANCE_SECS,
};
use tokio::net::TcpListener;
use tracing_subscriber::layer::SubscriberExt;

const SECRET: &str = "the-api-secret-integrators-hold";

/// Fast retries, so failure tests take milliseconds.
const QUICK: Duration = Duration::from_millis(20);
/// The id of the marker event a test queues behind the events it checks.
const MARKER: &str = "marker";
/// How long a positive condition (a marker, a log line) may take to show.
const WITHIN: Duration = Duration::from_secs(10);

// -- receiver -- //

/// One request as the receiver saw it.
#[derive(Clone)]
struct Hit {
    headers: HeaderMap,
    body: Bytes,
    /// `verify` at arrival time.
    verified: Result<(), WebhookVerifyError>,
}

impl Hit {
    fn event(&self) -> WebhookEvent {
        serde_json::from_slice(&self.body).expect("body is a WebhookEvent")
    }
    fn signature(&self) -> &str {
        self.headers[SIGNATURE_HEADER].to_str().unwrap()
    }
}

/// How the receiver answers.
#[derive(Clone, Copy)]
enum Behaviour {
    /// 500 for the first `n` requests, then 204.
    FailFirst(u32),
    /// A 307 to the given receiver's URL, always.
    Redirect,
}

struct ReceiverState {
    hits: Mutex<Vec<Hit>>,
    served: AtomicU32,
    behaviour: Behaviour,
    redirect_to: String,
}

/// A webhook receiver on a random local port.
struct Receiver {
    url: String,
    port: u16,
    state: Arc<ReceiverState>,
}

impl Receiver {
    async fn start(behaviour: Behaviour) -> Self {
        Self::start_with(behaviour, String::new()).await
    }

    async fn start_with(behaviour: Behaviour, redirect_to: String) -> Self {
        let state = Arc::new(ReceiverState {
            hits: Mutex::default(),
            served: AtomicU32::new(0),
            behaviour,
            redirect_to,
        });
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(Arc::clone(&state));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            url: format!("http://127.0.0.1:{port}/hook"),
            port,
            state,
        }
    }

    fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Waits until the marker event of every queue in `sids` has arrived
    /// (one entry per (session, target) queue that feeds this receiver, so
    /// a session id may be listed twice), then returns every other request
    /// that arrived before the last of those markers, in order.
    ///
    /// A queue delivers its events one at a time and in order, retries
    /// included, so once its marker arrives every event queued before it
    /// has had its last attempt: the list is complete, not a sample.
    async fn until_markers(&self, sids: &[&str]) -> Vec<Hit> {
        let deadline = Instant::now() + WITHIN;
        loop {
            let hits = self.hits();
            let mut missing = sids.to_vec();
            for (i, hit) in hits.iter().enumerate() {
                let ev = hit.event();
                if ev.id != MARKER {
                    continue;
                }
                if let Some(at) = missing.iter().position(|s| *s == ev.room.sid) {
                    missing.swap_remove(at);
                }
                if missing.is_empty() {
                    return hits[..i]
                        .iter()
                        .filter(|h| h.event().id != MARKER)
                        .cloned()
                        .collect();
                }
            }
            assert!(
                Instant::now() < deadline,
                "markers of {missing:?} never arrived; got {:?}",
                hits.iter().map(|h| h.event().id).collect::<Vec<_>>()
            );
            // Polling for the markers to show up, not waiting for silence.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn receive(
    State(state): State<Arc<ReceiverState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let verified = match headers.get(SIGNATURE_HEADER).map(|h| h.to_str()) {
        Some(Ok(signature)) => verify(SECRET.as_bytes(), signature, &body, now()),
        _ => Err(WebhookVerifyError::Malformed("missing header")),
    };
    state.hits.lock().unwrap().push(Hit {
        headers,
        body,
        verified,
    });
    let served = state.served.fetch_add(1, Ordering::SeqCst);
    match state.behaviour {
        Behaviour::FailFirst(n) if served < n => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Behaviour::FailFirst(_) => StatusCode::NO_CONTENT.into_response(),
        Behaviour::Redirect => (
            StatusCode::TEMPORARY_REDIRECT,
            [(header::LOCATION, state.redirect_to.clone())],
        )
            .into_response(),
    }
}

// -- helpers -- //

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn event(sid: &str, id: &str) -> WebhookEvent {
    let room = WebhookRoom {
        sid: sid.to_owned(),
        room_id: format!("room-{sid}"),
        room_title: "Weekly sync".to_owned(),
        creation_time: now(),
        num_participants: 1,
    };
    let participant = WebhookParticipant {
        user_id: "u1".to_owned(),
        name: "Ada".to_owned(),
        is_admin: false,
    };
    WebhookEvent::new(
        EventName::ParticipantJoined,
        room,
        Some(participant),
        None,
        id.to_owned(),
        now(),
    )
}

/// Queues the marker behind everything already sent for session `sid`, on
/// the global target and on `room_url` (when set and different): one
/// marker on each of those queues.
fn send_marker(hooks: &Webhooks, room_url: Option<&str>, sid: &str) {
    hooks.send(room_url, event(sid, MARKER));
}

fn ids(hits: &[Hit], sid: &str) -> Vec<String> {
    hits.iter()
        .map(Hit::event)
        .filter(|e| e.room.sid == sid)
        .map(|e| e.id)
        .collect()
}

/// The library's log lines (tracing events), each as its fields (the
/// text under `message`), captured for the current thread only: the
/// default `#[tokio::test]` runtime runs the queue tasks on the test's own
/// thread, and other tests (other threads) are not mixed in.
#[derive(Clone, Default)]
struct Logs(Arc<Mutex<Vec<BTreeMap<String, String>>>>);

impl Logs {
    /// Starts capturing on this thread until the guard drops.
    fn capture() -> (Self, tracing::subscriber::DefaultGuard) {
        let logs = Self::default();
        let subscriber = tracing_subscriber::registry().with(logs.clone());
        (logs, tracing::subscriber::set_default(subscriber))
    }

    /// The lines whose text is `message`, with their fields.
    fn lines(&self, message: &str) -> Vec<BTreeMap<String, String>> {
        let lines = self.0.lock().unwrap();
        lines
            .iter()
            .filter(|l| l.get("message").is_some_and(|m| m == message))
            .cloned()
            .collect()
    }

    /// Waits (polling) until `done` holds for the captured lines.
    async fn until(&self, what: &str, mut done: impl FnMut(&Self) -> bool) {
        let deadline = Instant::now() + WITHIN;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "never logged: {what}; webhook lines: {:?}",
                self.0
                    .lock()
                    .unwrap()
                    .iter()
                    .filter(|l| l.contains_key("event_id"))
                    .collect::<Vec<_>>()
            );
            // Polling for a log line to show up, not waiting for silence.
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Logs {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        self.0.lock().unwrap().push(fields.0);
    }
}

/// One log line's fields, as text.
#[derive(Default)]
struct Fields(BTreeMap<String, String>);

impl tracing::field::Visit for Fields {
    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

/// `(event_id, target)` of each line, sorted.
fn id_and_target(lines: &[BTreeMap<String, String>]) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = lines
        .iter()
        .map(|l| (l["event_id"].clone(), l["target"].clone()))
        .collect();
    v.sort();
    v
}

// -- tests -- //

#[tokio::test]
async fn twenty_events_arrive_in_order_signed() {
    let receiver = Receiver::start(Behaviour::FailFirst(0)).await;
    let hooks = Webhooks::new(&receiver.url, SECRET, true);
    let expected: Vec<String> = (0..20).map(|i| format!("e{i:02}")).collect();
    for id in &expected {
        hooks.send(None, event("s1", id));
    }
    send_marker(&hooks, None, "s1");

    let hits = receiver.until_markers(&["s1"]).await;
    assert_eq!(hits.len(), 20, "each event exactly once");
    assert_eq!(ids(&hits, "s1"), expected);
    for hit in &hits {
        assert_eq!(hit.verified, Ok(()));
        assert_eq!(hit.headers[header::CONTENT_TYPE], "application/json");
        let agent = hit.headers[header::USER_AGENT].to_str().unwrap();
        assert!(agent.starts_with("quorum-webhooks/"), "{agent}");
        let sig = hit.signature();
        assert!(sig.starts_with("t=") && sig.contains(",v1="), "{sig}");
        // The secret travels in neither the body nor any header.
        assert!(!String::from_utf8_lossy(&hit.body).contains(SECRET));
        for value in hit.headers.values() {
            assert!(!value.to_str().unwrap_or("").contains(SECRET));
        }
    }
    let first = hits[0].event();
    assert_eq!(first.event, EventName::ParticipantJoined);
    assert_eq!(first.participant.unwrap().name, "Ada");
}

#[tokio::test]
async fn replayed_or_altered_deliveries_fail_verification() {
    let receiver = Receiver::start(Behaviour::FailFirst(0)).await;
    let hooks = Webhooks::new(&receiver.url, SECRET, true);
    hooks.send(None, event("s1", "e1"));
    send_marker(&hooks, None, "s1");
    let mut hits = receiver.until_markers(&["s1"]).await;
    assert_eq!(hits.len(), 1, "delivered once");
    let hit = hits.remove(0);
    let secret = SECRET.as_bytes();
    assert_eq!(verify(secret, hit.signature(), &hit.body, now()), Ok(()));

    // The same request captured and replayed ten minutes later.
    let replay = verify(secret, hit.signature(), &hit.body, now() + 600);
    assert!(
        matches!(replay, Err(WebhookVerifyError::OutsideWindow { .. })),
        "{replay:?}"
    );
    const { assert!(600 > TOLERANCE_SECS) };

    // A body altered in transit.
    let altered = String::from_utf8(hit.body.to_vec())
        .unwrap()
        .replace("Ada", "Eve");
    assert_ne!(altered.as_bytes(), &hit.body[..]);
    assert_eq!(
        verify(secret, hit.signature(), altered.as_bytes(), now()),
        Err(WebhookVerifyError::BadSignature)
    );

    // Another secret.
    assert_eq!(
        verify(b"not-the-secret", hit.signature(), &hit.body, now()),
        Err(WebhookVerifyError::BadSignature)
    );
}

#[tokio::test]
async fn failing_receiver_gets_the_event_on_the_third_attempt() {
    let receiver = Receiver::start(Behaviour::FailFirst(2)).await;
    let hooks = Webhooks::new(&receiver.url, SECRET, true).with_retry(5, QUICK);
    hooks.send(None, event("s1", "e1"));
    send_marker(&hooks, None, "s1");

    let hits = receiver.until_markers(&["s1"]).await;
    assert_eq!(hits.len(), 3, "no attempt after the success");
    for hit in &hits {
        assert_eq!(hit.verified, Ok(()), "each retry is signed");
        assert_eq!(hit.event().id, "e1");
    }
}

#[tokio::test]
async fn retries_are_bounded_and_order_survives_failures() {
    let receiver = Receiver::start(Behaviour::FailFirst(u32::MAX)).await;
    let hooks = Webhooks::new(&receiver.url, SECRET, true).with_retry(3, QUICK);
    hooks.send(None, event("s1", "e1"));
    hooks.send(None, event("s1", "e2"));
    send_marker(&hooks, None, "s1");

    let hits = receiver.until_markers(&["s1"]).await;
    assert_eq!(hits.len(), 6, "3 attempts per event, then given up");
    // All of e1's attempts come before e2's first.
    assert_eq!(ids(&hits, "s1"), ["e1", "e1", "e1", "e2", "e2", "e2"]);
}

#[tokio::test]
async fn two_rooms_both_arrive_in_their_own_order() {
    let receiver = Receiver::start(Behaviour::FailFirst(0)).await;
    let hooks = Webhooks::new(&receiver.url, SECRET, true);
    let a: Vec<String> = (0..10).map(|i| format!("a{i}")).collect();
    let b: Vec<String> = (0..10).map(|i| format!("b{i}")).collect();
    for (ida, idb) in a.iter().zip(&b) {
        hooks.send(None, event("room-a", ida));
        hooks.send(None, event("room-b", idb));
    }
    send_marker(&hooks, None, "room-a");
    send_marker(&hooks, None, "room-b");

    let hits = receiver.until_markers(&["room-a", "room-b"]).await;
    assert_eq!(hits.len(), 20);
    assert_eq!(ids(&hits, "room-a"), a);
    assert_eq!(ids(&hits, "room-b"), b);
    assert!(hits.iter().all(|h| h.verified.is_ok()));
}

#[tokio::test]
async fn global_and_room_targets_each_get_the_event_once() {
    let global = Receiver::start(Behaviour::FailFirst(0)).await;
    let room = Receiver::start(Behaviour::FailFirst(0)).await;
    let hooks = Webhooks::new(&global.url, SECRET, true);

    hooks.send(Some(&room.url), event("s1", "e1"));
    // Same URL as the global one: not sent twice.
    hooks.send(Some(&global.url), event("s1", "e2"));
    // No room URL: global only.
    hooks.send(None, event("s1", "e3"));
    // Behind them, a marker on both queues: (s1, global) and (s1, room).
    send_marker(&hooks, Some(&room.url), "s1");

    assert_eq!(
        ids(&global.until_markers(&["s1"]).await, "s1"),
        ["e1", "e2", "e3"]
    );
    assert_eq!(ids(&room.until_markers(&["s1"]).await, "s1"), ["e1"]);

    // Without a global URL only the room's own target is used.
    let hooks = Webhooks::new("", SECRET, true);
    hooks.send(Some(&room.url), event("s2", "e4"));
    hooks.send(None, event("s2", "e5"));
    send_marker(&hooks, Some(&room.url), "s2");
    let hits = room.until_markers(&["s2"]).await;
    assert_eq!(ids(&hits, "s2"), ["e4"]);
    assert!(hits.iter().all(|h| h.verified.is_ok()));
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let (logs, _capturing) = Logs::capture();
    let receiver = Receiver::start(Behaviour::FailFirst(0)).await;
    let by_name = format!("http://localhost:{}/hook", receiver.port);
    let hooks = Webhooks::new(&receiver.url, SECRET, false).with_retry(3, QUICK);
    hooks.send(None, event("s1", "e1"));
    hooks.send(Some(&by_name), event("s1", "e2"));
    // No queue to these targets can ever succeed, so no marker can follow
    // them; the library's own word is the signal instead: each delivery
    // ends with "refused; not retried", decided before any connection.
    let refused = "webhook target refused; not retried";
    logs.until("three refusals", |l| l.lines(refused).len() >= 3)
        .await;
    let mut expected = vec![
        ("e1".to_owned(), receiver.url.clone()),
        ("e2".to_owned(), receiver.url.clone()),
        ("e2".to_owned(), by_name.clone()),
    ];
    expected.sort();
    assert_eq!(id_and_target(&logs.lines(refused)), expected);
    assert_eq!(
        receiver.hits().len(),
        0,
        "loopback reached without allow_private"
    );

    // The same targets work once the operator allows private addresses.
    let hooks = Webhooks::new(&receiver.url, SECRET, true);
    hooks.send(Some(&by_name), event("s1", "e3"));
    // Both queues, (s1, receiver.url) and (s1, by_name), end here.
    send_marker(&hooks, Some(&by_name), "s1");
    let hits = receiver.until_markers(&["s1", "s1"]).await;
    assert_eq!(ids(&hits, "s1"), ["e3", "e3"]);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let landing = Receiver::start(Behaviour::FailFirst(0)).await;
    let bouncer = Receiver::start_with(Behaviour::Redirect, landing.url.clone()).await;
    let hooks = Webhooks::new(&bouncer.url, SECRET, true).with_retry(2, QUICK);
    hooks.send(None, event("s1", "e1"));
    send_marker(&hooks, None, "s1");

    let hits = bouncer.until_markers(&["s1"]).await;
    assert_eq!(
        ids(&hits, "s1"),
        ["e1", "e1"],
        "a redirect is a failed attempt, retried"
    );
    // A followed redirect would be part of the same attempt: the landing
    // receiver records it before that attempt ends, so before the queue
    // moves on to the marker.
    assert_eq!(landing.hits().len(), 0, "the redirect was followed");
}

#[tokio::test]
async fn unusable_urls_do_not_disturb_other_targets() {
    let receiver = Receiver::start(Behaviour::FailFirst(0)).await;
    let hooks = Webhooks::new(&receiver.url, SECRET, true);
    for bad in ["ftp://127.0.0.1/x", "not a url", "http://"] {
        hooks.send(Some(bad), event("s1", bad));
    }
    send_marker(&hooks, None, "s1");
    let hits = receiver.until_markers(&["s1"]).await;
    assert_eq!(hits.len(), 3);
    assert!(hits.iter().all(|h| h.verified.is_ok()));
}

/// A self-signed certificate for 127.0.0.1 and localhost (valid until
/// 2126), trusted by nobody: a verifying client must refuse it.
const SELF_SIGNED_CERT: &str = "-----BEGIN CERTIFICATE-----
MIIBmzCCAUGgAwIBAgIUWJij4EnBbSQlQFpkkqxbBZ7FeEwwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJbG9jYWxob3N0MCAXDTI2MTEyMzExMDMyN1oYDzIxMjYxMDMw
MTEwMzI3WjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAASOE2KP54B//JpAOWU9jkf0p6v1YTqjLSUcs3LYbdUft+gUstMZW3Bs
SKncpi6tYcTB5E70Hq80a0PzvlGWStAxo28wbTAdBgNVHQ4EFgQUZGJ613AOkKJM
LQiF5YKU8DZYTt8wHwYDVR0jBBgwFoAUZGJ613AOkKJMLQiF5YKU8DZYTt8wDwYD
VR0TAQH/BAUwAwEB/zAaBgNVHREEEzARhwR/AAABgglsb2NhbGhvc3QwCgYIKoZI
zj0EAwIDSAAwRQIgUp9Xa8E+YmIvYg34jWqUHfTqVAHbSPsT6Sh74LbqdroCIQDt
7PzVnefzZ1Zfj1gQcX9+nKMFOI+A8SZaRPcG9hvx7g==
-----END CERTIFICATE-----
";
/// Its key; a test fixture, not a secret.
const SELF_SIGNED_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg1yY9yBj2qS9Cky7T
I1f55IxjiSNy+hN4h2LYx9WrS3OhRANCAASOE2KP54B//JpAOWU9jkf0p6v1YTqj
LSUcs3LYbdUft+gUstMZW3BsSKncpi6tYcTB5E70Hq80a0PzvlGWStAx
-----END PRIVATE KEY-----
";

#[tokio::test]
async fn untrusted_tls_certificates_are_refused() {
    use tokio_rustls::rustls::crypto::ring;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use tokio_rustls::rustls::ServerConfig;

    let (logs, _capturing) = Logs::capture();

    let cert = CertificateDer::from_pem_slice(SELF_SIGNED_CERT.as_bytes()).unwrap();
    let key = PrivateKeyDer::from_pem_slice(SELF_SIGNED_KEY.as_bytes()).unwrap();
    let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));

    // Counts handshakes that failed and ones that succeeded.
    let failed = Arc::new(AtomicU32::new(0));
    let succeeded = Arc::new(AtomicU32::new(0));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    {
        let (failed, succeeded) = (Arc::clone(&failed), Arc::clone(&succeeded));
        tokio::spawn(async move {
            loop {
                let (tcp, _) = listener.accept().await.unwrap();
                match acceptor.accept(tcp).await {
                    Ok(_) => succeeded.fetch_add(1, Ordering::SeqCst),
                    Err(_) => failed.fetch_add(1, Ordering::SeqCst),
                };
            }
        });
    }

    let hooks =
        Webhooks::new(&format!("https://127.0.0.1:{port}/hook"), SECRET, true).with_retry(2, QUICK);
    hooks.send(None, event("s1", "e1"));
    // The receiver cannot tell a marker's attempts from e1's (it never
    // sees a request), so the signal is the library's "given up": after
    // it there is no attempt left for e1.
    logs.until("e1 given up", |l| !l.lines("webhook given up").is_empty())
        .await;
    let failures = logs.lines("webhook delivery attempt failed");
    let attempts: Vec<&str> = failures.iter().map(|l| l["attempt"].as_str()).collect();
    assert_eq!(attempts, ["1", "2"], "{failures:?}");
    for f in &failures {
        assert!(f["reason"].contains("certificate"), "{f:?}");
    }
    // The server side may count a handshake a moment after the client
    // gave up on it: poll until both show.
    let deadline = Instant::now() + WITHIN;
    while failed.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the client never tried");
        // Polling for the count to reach 2, not waiting for silence.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        failed.load(Ordering::SeqCst),
        2,
        "two attempts, both refused"
    );
    assert_eq!(
        succeeded.load(Ordering::SeqCst),
        0,
        "an untrusted certificate was accepted"
    );
}

#[test]
fn public_ip_classification() {
    let public = ["1.1.1.1", "8.8.4.4", "2606:4700:4700::1111"];
    let private = [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.5.4",
        "192.168.0.10",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "255.255.255.255",
        "224.0.0.251",
        "192.0.2.1",
        "198.51.100.1",
        "203.0.113.1",
        "::1",
        "::",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "2001:db8::1",
        "::ffff:127.0.0.1",
        "::ffff:192.168.1.1",
    ];
    for ip in public {
        assert!(is_public_ip(ip.parse::<IpAddr>().unwrap()), "{ip}");
    }
    for ip in private {
        assert!(!is_public_ip(ip.parse::<IpAddr>().unwrap()), "{ip}");
    }
}
