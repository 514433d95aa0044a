//! Integration tests of outgoing webhooks: real HTTP to small axum receivers
//! on 127.0.0.1:0 that check every signature with the shared `verify`.
//! Run: `cargo test -p quorum-server --test webhooks`.

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

const SECRET: &str = "the-api-secret-integrators-hold";

/// Fast retries, so failure tests take milliseconds.
const QUICK: Duration = Duration::from_millis(20);

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

    /// Waits until at least `n` requests arrived (or fails after 10 s),
    /// then a little longer to catch any extra ones.
    async fn wait_for(&self, n: usize) -> Vec<Hit> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.hits().len() < n {
            assert!(
                Instant::now() < deadline,
                "only {} of {n} webhooks arrived",
                self.hits().len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.hits()
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

fn ids(hits: &[Hit], sid: &str) -> Vec<String> {
    hits.iter()
        .map(Hit::event)
        .filter(|e| e.room.sid == sid)
        .map(|e| e.id)
        .collect()
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

    let hits = receiver.wait_for(20).await;
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
    let hit = receiver.wait_for(1).await.remove(0);
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

    let hits = receiver.wait_for(3).await;
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

    let hits = receiver.wait_for(6).await;
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

    let hits = receiver.wait_for(20).await;
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

    assert_eq!(ids(&global.wait_for(3).await, "s1"), ["e1", "e2", "e3"]);
    assert_eq!(ids(&room.wait_for(1).await, "s1"), ["e1"]);

    // Without a global URL only the room's own target is used.
    let hooks = Webhooks::new("", SECRET, true);
    hooks.send(Some(&room.url), event("s2", "e4"));
    hooks.send(None, event("s2", "e5"));
    let hits = room.wait_for(2).await;
    assert_eq!(ids(&hits, "s2"), ["e4"]);
    assert!(hits.iter().all(|h| h.verified.is_ok()));
}

#[tokio::test]
async fn private_targets_are_refused_unless_allowed() {
    let receiver = Receiver::start(Behaviour::FailFirst(0)).await;
    let by_name = format!("http://localhost:{}/hook", receiver.port);
    let hooks = Webhooks::new(&receiver.url, SECRET, false).with_retry(3, QUICK);
    hooks.send(None, event("s1", "e1"));
    hooks.send(Some(&by_name), event("s1", "e2"));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        receiver.hits().len(),
        0,
        "loopback reached without allow_private"
    );

    // The same targets work once the operator allows private addresses.
    let hooks = Webhooks::new(&receiver.url, SECRET, true);
    hooks.send(Some(&by_name), event("s1", "e3"));
    let hits = receiver.wait_for(2).await;
    assert_eq!(ids(&hits, "s1"), ["e3", "e3"]);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let landing = Receiver::start(Behaviour::FailFirst(0)).await;
    let bouncer = Receiver::start_with(Behaviour::Redirect, landing.url.clone()).await;
    let hooks = Webhooks::new(&bouncer.url, SECRET, true).with_retry(2, QUICK);
    hooks.send(None, event("s1", "e1"));

    let hits = bouncer.wait_for(2).await;
    assert_eq!(hits.len(), 2, "a redirect is a failed attempt, retried");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(landing.hits().len(), 0, "the redirect was followed");
}

#[tokio::test]
async fn unusable_urls_do_not_disturb_other_targets() {
    let receiver = Receiver::start(Behaviour::FailFirst(0)).await;
    let hooks = Webhooks::new(&receiver.url, SECRET, true);
    for bad in ["ftp://127.0.0.1/x", "not a url", "http://"] {
        hooks.send(Some(bad), event("s1", bad));
    }
    let hits = receiver.wait_for(3).await;
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
    let deadline = Instant::now() + Duration::from_secs(10);
    while failed.load(Ordering::SeqCst) < 2 {
        assert!(Instant::now() < deadline, "the client never tried");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
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
