//! The NATS auth-callout service. nats-server forwards every browser
//! connection's CONNECT to `$SYS.REQ.USER.AUTH`; we verify the join token
//! carried as `auth_token` and answer with a user JWT whose allow-lists give
//! that user only its own room's and its own private subjects.

use std::sync::Arc;

use async_nats::Client;
use futures::StreamExt;
use quorum_shared::limits::{MAX_PARTICIPANT_PAYLOAD, MAX_SUBSCRIPTIONS};
use quorum_shared::subjects::UserSubjects;
use tokio::sync::Semaphore;

use super::jwt::{self, Claims, Permission, RequestNats, ResponseNats, UserNats};
use crate::rooms::meter::Kind;
use crate::rooms::service::RoomService;
use crate::rooms::{Presence, RoomsError};
use crate::tokens::{now_secs, JoinTokens};

/// Subject nats-server sends authorization requests to.
pub const AUTH_SUBJECT: &str = "$SYS.REQ.USER.AUTH";
const SERVER_XKEY_HEADER: &str = "Nats-Server-Xkey";

/// What the callout needs to decide.
#[derive(Clone)]
pub struct Callout {
    /// Signs responses and user JWTs; nats-server trusts its public key.
    pub issuer: std::sync::Arc<nkeys::KeyPair>,
    /// Opens sealed requests and seals responses.
    pub xkey: std::sync::Arc<nkeys::XKey>,
    /// Verifies join tokens.
    pub tokens: JoinTokens,
    /// Room state and presence hooks.
    pub rooms: RoomService,
    /// The account users are placed in.
    pub account: String,
}

/// A refusal; the text goes back to nats-server (and into its log), never
/// to the browser, which only sees "Authorization Violation".
struct Refusal {
    /// For metrics.
    kind: &'static str,
    reason: String,
}

impl Refusal {
    fn new(kind: &'static str, reason: impl std::fmt::Display) -> Self {
        Self {
            kind,
            reason: reason.to_string(),
        }
    }

    fn busy() -> Self {
        Self::new("busy", "server busy; try again")
    }

    fn internal(e: impl std::fmt::Display) -> Self {
        Self::new("error", e)
    }
}

impl Callout {
    /// Serves authorization requests until the connection closes. Uses a
    /// queue group so several app servers share the load. At most
    /// `limits.concurrency` are answered at once; beyond that a request is
    /// refused as busy (the browser retries with backoff) rather than
    /// queued without bound.
    pub async fn run(self, client: Client) -> Result<(), async_nats::SubscribeError> {
        let mut sub = client
            .queue_subscribe(AUTH_SUBJECT, "quorum-auth".to_owned())
            .await?;
        let permits = Arc::new(Semaphore::new(self.rooms.limits.concurrency));
        while let Some(msg) = sub.next().await {
            match permits.clone().try_acquire_owned() {
                Ok(permit) => {
                    let (me, client) = (self.clone(), client.clone());
                    tokio::spawn(async move {
                        me.serve_one(&client, msg, true).await;
                        drop(permit);
                    });
                }
                // Busy: the refusal is answered here, without a task, so a
                // flood never piles up work.
                Err(_) => self.serve_one(&client, msg, false).await,
            }
        }
        Ok(())
    }

    /// Answers one request (a refusal as busy unless `admitted`).
    async fn serve_one(&self, client: &Client, msg: async_nats::Message, admitted: bool) {
        let Some(reply) = msg.reply.clone() else {
            return;
        };
        let server_xkey = msg
            .headers
            .as_ref()
            .and_then(|h| h.get(SERVER_XKEY_HEADER))
            .map(|v| v.as_str().to_owned());
        let started = std::time::Instant::now();
        let answer = self
            .answer(&msg.payload, server_xkey.as_deref(), admitted)
            .await;
        crate::metrics::callout_latency(started.elapsed());
        match answer {
            Ok(body) => {
                if let Err(e) = client.publish(reply, body.into()).await {
                    tracing::warn!(error = %e, "cannot send callout response");
                }
            }
            Err(e) => tracing::warn!(error = %e, "unanswerable callout request"),
        }
    }

    /// Builds the (possibly sealed) response to one request; a refusal
    /// without looking at it unless `admitted` (a permit was free).
    async fn answer(
        &self,
        payload: &[u8],
        server_xkey: Option<&str>,
        admitted: bool,
    ) -> Result<Vec<u8>, String> {
        let server_key = match server_xkey {
            Some(k) => Some(nkeys::XKey::from_public_key(k).map_err(|e| e.to_string())?),
            None => None,
        };
        let plain = match &server_key {
            Some(k) => self.xkey.open(payload, k).map_err(|e| e.to_string())?,
            None => payload.to_vec(),
        };
        let text = std::str::from_utf8(&plain).map_err(|e| e.to_string())?;
        let req: Claims<RequestNats> = jwt::decode_verified(text).map_err(|e| e.to_string())?;
        let outcome = if admitted {
            self.authorize(&req.nats).await
        } else {
            Err(Refusal::busy())
        };
        crate::metrics::callout_decision(match &outcome {
            Ok(_) => "authorized",
            Err(r) => r.kind,
        });
        let nats = match outcome {
            Ok(user_jwt) => ResponseNats {
                jwt: user_jwt,
                error: String::new(),
                kind: "authorization_response".into(),
                version: 2,
            },
            Err(refusal) => {
                tracing::info!(reason = %refusal.reason, "nats connection refused");
                ResponseNats {
                    jwt: String::new(),
                    error: refusal.reason,
                    kind: "authorization_response".into(),
                    version: 2,
                }
            }
        };
        let resp = Claims {
            jti: String::new(),
            iat: now_secs(),
            iss: String::new(),
            name: String::new(),
            sub: req.nats.user_nkey.clone(),
            aud: req.nats.server_id.id.clone(),
            exp: None,
            nats,
        };
        let token = jwt::encode(resp, &self.issuer).map_err(|e| e.to_string())?;
        match &server_key {
            Some(k) => self
                .xkey
                .seal(token.as_bytes(), k)
                .map_err(|e| e.to_string()),
            None => Ok(token.into_bytes()),
        }
    }

    /// Verifies the join token and returns a signed user JWT.
    async fn authorize(&self, req: &RequestNats) -> Result<String, Refusal> {
        // Orders concurrent logins of one user: the later one wins.
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        let claims = self
            .tokens
            .verify(&req.connect_opts.auth_token)
            .map_err(|e| Refusal::new("token", e))?;
        // `verify` allows a few seconds of clock leeway, but nats-server
        // refuses a user JWT whose `exp` has passed *after* we have marked
        // the user online, which would leave a phantom "online" participant
        // that can never rejoin. Refuse it here instead.
        if claims.exp <= now_secs() {
            return Err(Refusal::new("token", crate::tokens::TokenError::Expired));
        }
        let (room, user) = (&claims.room_id, &claims.user_id);
        let room_state = self.rooms.kv.room(room).await.map_err(Refusal::internal)?;
        // A room being ended admits nobody: its connections are dropped.
        let Some(room_state) = room_state.filter(|r| r.ending.is_none()) else {
            return Err(Refusal::new("room", format!("room {room} is not active")));
        };
        if !claims.sid.is_empty() && claims.sid != room_state.sid {
            return Err(Refusal::new(
                "session",
                format!("the token is for an earlier session of room {room}"),
            ));
        }
        if room_state.blocked.contains(user) {
            return Err(Refusal::new(
                "blocked",
                format!("user {user} is blocked from room {room}"),
            ));
        }
        let Some(p) = self
            .rooms
            .kv
            .participant(room, user)
            .await
            .map_err(Refusal::internal)?
        else {
            return Err(Refusal::new(
                "not_invited",
                format!("user {user} was not invited to room {room}"),
            ));
        };
        // A tab the meeting was taken from ("Use this tab instead") that
        // missed being told, and reconnects, would take it back.
        let tab = quorum_shared::api::tab_of_client_name(&req.connect_opts.name);
        if tab.is_some_and(|t| p.tabs.is_moved(t)) {
            return Err(Refusal::new(
                "moved",
                format!("{user}'s meeting was moved to another tab"),
            ));
        }
        // A locked room lets back in only those who were already in.
        if room_state.locked && p.presence == Presence::Invited && !p.is_admin {
            return Err(Refusal::new("locked", format!("room {room} is locked")));
        }
        // With a cap, one admission at a time in this room, so two
        // connections can't both take the last seat (this instance applies
        // its own writes to the index at once).
        let seat = if room_state.max_participants > 0 {
            let lock = self.rooms.admission(room);
            let guard = lock.lock_owned().await;
            let others = self.rooms.index().count(room, |q| {
                q.presence == Presence::Online && &q.user_id != user
            });
            if u64::from(others) >= room_state.max_participants {
                return Err(Refusal::new("full", format!("room {room} is full")));
            }
            Some(guard)
        } else {
            None
        };
        // A reconnect loop must not make the server work without bound.
        if !self.rooms.allow(room, user, Kind::Connect) {
            return Err(Refusal::new(
                "rate_limited",
                format!("{user} connects too often"),
            ));
        }
        let access = p.access();
        let subjects = UserSubjects::new(room, user);
        let user_claims = Claims {
            jti: String::new(),
            iat: now_secs(),
            iss: String::new(),
            // nats-server reports this `name` as `client.user` in its
            // connect/disconnect advisories; presence maps that back to the
            // participant through the `quorum-conns` bucket, keyed by nkey.
            name: req.user_nkey.clone(),
            sub: req.user_nkey.clone(),
            aud: self.account.clone(),
            // The connection lives no longer than the join token; the
            // client renews the token and reconnects before this.
            exp: Some(claims.exp),
            nats: UserNats {
                publish: Permission {
                    allow: subjects.publish_allow(access),
                    deny: subjects.publish_deny(access),
                },
                subscribe: Permission {
                    allow: subjects.subscribe_allow(access),
                    deny: subjects.subscribe_deny(),
                },
                // One participant's share: a bounded number of
                // subscriptions and of bytes per message.
                subs: MAX_SUBSCRIPTIONS,
                data: -1,
                payload: MAX_PARTICIPANT_PAYLOAD as i64,
                kind: "user".into(),
                version: 2,
            },
        };
        let signed = jwt::encode(user_claims, &self.issuer).map_err(Refusal::internal)?;
        // A connection the server could not record could never be kicked
        // or counted: it is refused (the browser retries).
        self.rooms
            .joined(&room_state, &p, &req.user_nkey, tab, access, at_ms)
            .await
            .map_err(|e| match e {
                RoomsError::MovedAway => Refusal::new("moved", e),
                e => {
                    tracing::warn!(error = %e, "cannot record presence: connection refused");
                    Refusal::internal(e)
                }
            })?;
        drop(seat);
        tracing::info!(%room, %user, "nats connection authorized");
        Ok(signed)
    }
}
