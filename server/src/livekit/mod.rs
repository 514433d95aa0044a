//! LiveKit, the media server: tokens for browsers, room control through
//! its RoomService (Twirp, with the `livekit-api` crate), and its
//! webhooks. Optional: without `livekit.url` the meeting is chat-only and
//! nothing here dials anything.
//!
//! A LiveKit room is one of our room *sessions* (its name is the session
//! id), so a later session of the same room id never meets the media of
//! an earlier one. Room control is best effort and never holds up the
//! moderator's action it follows: NATS and KV are the truth for who is in
//! the room; LiveKit follows: calls wait in a queue of at most
//! [`MAX_QUEUED`] and [`WORKERS`] tasks make them, each within
//! [`CALL_TIMEOUT`]. A room-wide lock in a big room is many calls at
//! once; they queue, they are not lost. Only past the queue's bound (a
//! LiveKit that has been down long enough) is a call dropped, and logged.

pub mod grants;

use std::sync::Arc;
use std::time::Duration;

use livekit_api::access_token::{AccessToken, TokenVerifier};
use livekit_api::services::room::{RoomClient, UpdateParticipantOptions};
use livekit_api::webhooks::WebhookReceiver;
use livekit_protocol::TrackSource;
use tokio::sync::{mpsc, Mutex};

use crate::config::LiveKitConfig;
use crate::rooms::state::ParticipantState;

/// RoomService calls waiting at most; past that one is dropped (and
/// logged) rather than queued without bound.
pub const MAX_QUEUED: usize = 4096;

/// Tasks making RoomService calls.
pub const WORKERS: usize = 8;

/// How long one RoomService call may take.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A media token lives at most this long (less if the join token does):
/// it is only needed to connect (LiveKit refreshes a connected client's
/// own), and a token kept after a demotion or removal is good for no
/// longer than this.
pub const MEDIA_TOKEN_TTL: Duration = Duration::from_secs(300);

/// One queued RoomService call.
type Call =
    Box<dyn FnOnce(Arc<Inner>) -> futures::future::BoxFuture<'static, Result<(), String>> + Send>;

/// Why no media token.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// `livekit.url` is not set.
    #[error("media is not configured on this server")]
    NotConfigured,
    /// Signing failed (a bad key or secret).
    #[error("could not sign a media token: {0}")]
    Token(String),
}

/// The LiveKit side of the server (cheap to clone).
#[derive(Clone, Default)]
pub struct Media {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    /// What browsers dial.
    url: String,
    api_key: String,
    api_secret: String,
    rooms: RoomClient,
    receiver: WebhookReceiver,
    calls: mpsc::Sender<(&'static str, Call)>,
}

/// The HTTP base of LiveKit's API for `url`, the address browsers dial:
/// `ws(s)://` becomes `http(s)://`.
pub fn api_url(url: &str) -> String {
    if let Some(rest) = url.strip_prefix("wss://") {
        format!("https://{rest}")
    } else if let Some(rest) = url.strip_prefix("ws://") {
        format!("http://{rest}")
    } else {
        url.to_owned()
    }
}

impl Media {
    /// From the configuration; not configured without a URL, key and
    /// secret.
    pub fn new(cfg: &LiveKitConfig) -> Self {
        if cfg.url.is_empty() || cfg.api_key.is_empty() || cfg.api_secret.is_empty() {
            return Self::default();
        }
        let api = if cfg.api_url.is_empty() {
            api_url(&cfg.url)
        } else {
            cfg.api_url.clone()
        };
        let rooms = RoomClient::with_api_key(&api, &cfg.api_key, &cfg.api_secret)
            .with_failover(false)
            .with_request_timeout(CALL_TIMEOUT);
        let receiver =
            WebhookReceiver::new(TokenVerifier::with_api_key(&cfg.api_key, &cfg.api_secret));
        let (tx, rx) = mpsc::channel(MAX_QUEUED);
        let inner = Arc::new(Inner {
            url: cfg.url.clone(),
            api_key: cfg.api_key.clone(),
            api_secret: cfg.api_secret.clone(),
            rooms,
            receiver,
            calls: tx,
        });
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..WORKERS {
            // Weak: the workers end once the service is dropped.
            let (rx, weak) = (rx.clone(), Arc::downgrade(&inner));
            tokio::spawn(async move {
                loop {
                    let Some((what, call)) = rx.lock().await.recv().await else {
                        return;
                    };
                    let Some(inner) = weak.upgrade() else { return };
                    match tokio::time::timeout(CALL_TIMEOUT, call(inner)).await {
                        Ok(Ok(())) => {}
                        Ok(Err(e)) => tracing::warn!(what, error = %e, "LiveKit call failed"),
                        Err(_) => tracing::warn!(what, "LiveKit call timed out"),
                    }
                }
            });
        }
        Self { inner: Some(inner) }
    }

    /// What browsers dial, if media is configured.
    pub fn url(&self) -> Option<&str> {
        self.inner.as_deref().map(|i| i.url.as_str())
    }

    /// A token for `p` to join the LiveKit room of its session, valid for
    /// `ttl` (the join token's lifetime) but at most [`MEDIA_TOKEN_TTL`].
    pub fn token(&self, p: &ParticipantState, ttl: Duration) -> Result<String, MediaError> {
        let inner = self.inner.as_deref().ok_or(MediaError::NotConfigured)?;
        AccessToken::with_api_key(&inner.api_key, &inner.api_secret)
            .with_identity(p.user_id.as_str())
            .with_name(&p.name)
            .with_ttl(ttl.min(MEDIA_TOKEN_TTL))
            .with_grants(grants::video_grants(&p.sid, p))
            .to_jwt()
            .map_err(|e| MediaError::Token(e.to_string()))
    }

    /// Checks a LiveKit webhook (`Authorization` is a token signed with
    /// our API secret over the body's SHA-256) and parses it.
    pub fn receive(
        &self,
        body: &str,
        auth: &str,
    ) -> Option<Result<livekit_protocol::WebhookEvent, String>> {
        let inner = self.inner.as_deref()?;
        let token = auth.strip_prefix("Bearer ").unwrap_or(auth);
        Some(
            inner
                .receiver
                .receive(body, token)
                .map_err(|e| e.to_string()),
        )
    }

    /// Queues `call` for the workers; `what` names it in the log.
    fn queue<F, Fut>(&self, what: &'static str, call: F)
    where
        F: FnOnce(Arc<Inner>) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), String>> + Send + 'static,
    {
        let Some(inner) = self.inner.as_deref() else {
            return;
        };
        let call: Call = Box::new(move |i| Box::pin(call(i)));
        if inner.calls.try_send((what, call)).is_err() {
            tracing::warn!(what, "LiveKit: call queue full; dropped one");
        }
    }

    /// A moderator changed `p`'s locks or role: its live media permissions
    /// follow (LiveKit applies them at once, unpublishing what is no
    /// longer allowed).
    pub fn update_permissions(&self, p: &ParticipantState) {
        let (room, who, permission) = (p.sid.clone(), p.user_id.to_string(), grants::permission(p));
        self.queue("update_participant", move |i| async move {
            let options = UpdateParticipantOptions {
                permission: Some(permission),
                ..UpdateParticipantOptions::default()
            };
            i.rooms
                .update_participant(&room, &who, options)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        });
    }

    /// A moderator muted `p`: every microphone track it publishes is
    /// muted (there is no remote unmute; the participant is asked).
    pub fn mute_microphone(&self, p: &ParticipantState) {
        let (room, who) = (p.sid.clone(), p.user_id.to_string());
        self.queue("mute_published_track", move |i| async move {
            let info = i
                .rooms
                .get_participant(&room, &who)
                .await
                .map_err(|e| e.to_string())?;
            let mics = info
                .tracks
                .iter()
                .filter(|t| t.source == TrackSource::Microphone as i32 && !t.muted);
            for t in mics {
                i.rooms
                    .mute_published_track(&room, &who, &t.sid, true)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        });
    }

    /// `p` was removed (or turned away): out of the media room too.
    pub fn remove(&self, p: &ParticipantState) {
        self.remove_identity(&p.sid, p.user_id.as_str());
    }

    /// `who` out of LiveKit room `room` (e.g. someone who joined it
    /// without being in the meeting, or a demoted moderator, who must
    /// come back with a token without `roomAdmin`).
    pub fn remove_identity(&self, room: &str, who: &str) {
        let (room, who) = (room.to_owned(), who.to_owned());
        self.queue("remove_participant", move |i| async move {
            i.rooms
                .remove_participant(&room, &who)
                .await
                .map_err(|e| e.to_string())
        });
    }

    /// The room session `sid` ended: its media room goes.
    pub fn delete_room(&self, sid: &str) {
        let room = sid.to_owned();
        self.queue("delete_room", move |i| async move {
            i.rooms.delete_room(&room).await.map_err(|e| e.to_string())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_api_is_reached_over_http_where_browsers_use_websockets() {
        assert_eq!(api_url("wss://lk.example.org"), "https://lk.example.org");
        assert_eq!(api_url("ws://127.0.0.1:7880"), "http://127.0.0.1:7880");
        assert_eq!(api_url("https://lk.example.org"), "https://lk.example.org");
    }

    #[test]
    fn unconfigured_media_signs_nothing() {
        let m = Media::new(&LiveKitConfig::default());
        assert!(m.url().is_none());
        assert!(m.receive("{}", "x").is_none());
    }
}
