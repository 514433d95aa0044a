//! Media in the room: asks the server for a media token (over the worker,
//! only once admitted), loads the media module, and keeps one LiveKit
//! session with what it shows (tiles, who speaks) and what we publish.
//! When LiveKit can't be reached or refuses, the meeting goes on without
//! media: the status says why and a new attempt follows with back-off.
//! Without media on the server, nothing is loaded or dialled.

use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;

mod devices;
mod events;

use crate::livekit::{self, MediaSession, SubscriptionPlan};
use crate::nats::NatsClient;
use crate::state::e2ee::E2eeContext;
use crate::worker::{self, WorkerError};
use quorum_shared::worker::WorkerRequest;

/// Waits between attempts: doubling from this, up to [`MAX_RETRY_SECS`].
pub const FIRST_RETRY_SECS: u32 = 2;
/// The longest wait between attempts.
pub const MAX_RETRY_SECS: u32 = 60;
/// At most this many pictures are shown (the rest are not).
pub const MAX_TILES: usize = 48;
/// At most this many tracks are kept in all (sound included).
pub const MAX_TRACKS: usize = 256;

/// What someone chose before joining, kept for the session (a reload
/// joins the same way).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MediaChoices {
    /// The microphone (`None`: the browser's default).
    pub microphone_id: Option<String>,
    /// The camera (`None`: the browser's default).
    pub camera_id: Option<String>,
    /// Join with the microphone on.
    pub microphone: bool,
    /// Join with the camera on.
    pub camera: bool,
}

/// The choices made on the pre-join page (or restored), as context.
#[derive(Clone, Copy)]
pub struct MediaChoicesContext(pub RwSignal<Option<MediaChoices>>);

/// Where media stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaStatus {
    /// Asking the server for a media token (where it all starts).
    Asking,
    /// No media on this server.
    Off,
    /// Loading the media module and connecting.
    Starting,
    /// In the media room.
    Connected,
    /// LiveKit is getting the connection back.
    Reconnecting,
    /// Not available now; another attempt in `retry_secs`.
    Unavailable {
        /// What went wrong.
        why: String,
        /// Seconds until the next attempt.
        retry_secs: u32,
    },
    /// An E2EE room in a browser that can't encrypt media: no media,
    /// rather than unencrypted media.
    Unsupported,
}

/// What a new session receives: every sound up to the track cap, and
/// pictures up to the grid.
fn new_plan() -> SubscriptionPlan {
    SubscriptionPlan::new(MAX_TILES, MAX_TRACKS - MAX_TILES)
}

/// The wait after `failures` failed attempts (1 = the first).
pub fn retry_after(failures: u32) -> u32 {
    let doubled = FIRST_RETRY_SECS.saturating_mul(1 << failures.saturating_sub(1).min(6));
    doubled.min(MAX_RETRY_SECS)
}

/// A remote track being shown.
#[derive(Clone)]
pub struct Tile {
    /// Track id.
    pub sid: String,
    /// Whose.
    pub identity: String,
    /// Their name.
    pub name: String,
    /// `camera`, `screen_share`, `microphone`…
    pub source: String,
    /// The element LiveKit plays it in.
    pub element: SendWrapper<web_sys::HtmlElement>,
}

impl Tile {
    /// Sound only (played, not shown).
    pub fn is_audio(&self) -> bool {
        self.source == "microphone" || self.source == "screen_share_audio"
    }
}

/// The room's media, shared through context.
#[derive(Clone, Copy)]
pub struct MediaContext {
    status: RwSignal<MediaStatus>,
    microphone: RwSignal<bool>,
    camera: RwSignal<bool>,
    screen: RwSignal<bool>,
    tiles: RwSignal<Vec<Tile>>,
    speakers: RwSignal<Vec<String>>,
    /// People whose microphone is muted.
    muted: RwSignal<BTreeSet<String>>,
    /// Connection quality by person (`excellent`, `good`, `poor`, `lost`).
    quality: RwSignal<BTreeMap<String, String>>,
    e2ee: StoredValue<Option<E2eeContext>>,
    /// Our user id (LiveKit's identity for us).
    me: StoredValue<String>,
    session: StoredValue<Option<Rc<MediaSession>>, LocalStorage>,
    /// What we receive from others (one plan per session).
    plan: StoredValue<SubscriptionPlan>,
    /// What each of the others publishes (sources by user id).
    publishing: RwSignal<BTreeMap<String, Vec<String>>>,
    timer: StoredValue<Option<TimeoutHandle>>,
    failures: StoredValue<u32>,
    over: StoredValue<bool>,
    /// What was chosen before joining; applied on the first connect.
    /// Shared with [`MediaChoicesContext`], which the session cache keeps.
    choices: RwSignal<Option<MediaChoices>>,
    /// The choices were applied (once per page).
    applied: StoredValue<bool>,
    /// Starts one attempt (it holds the NATS client and the E2EE context).
    start: StoredValue<Option<Starter>, LocalStorage>,
}

impl MediaContext {
    /// Where media stands.
    pub fn status(&self) -> ReadSignal<MediaStatus> {
        self.status.read_only()
    }
    /// Whether we publish our microphone.
    pub fn microphone(&self) -> ReadSignal<bool> {
        self.microphone.read_only()
    }
    /// Whether we publish our camera.
    pub fn camera(&self) -> ReadSignal<bool> {
        self.camera.read_only()
    }
    /// Whether we share our screen.
    pub fn screen(&self) -> ReadSignal<bool> {
        self.screen.read_only()
    }
    /// What is shown.
    pub fn tiles(&self) -> ReadSignal<Vec<Tile>> {
        self.tiles.read_only()
    }
    /// Who speaks now.
    pub fn speakers(&self) -> ReadSignal<Vec<String>> {
        self.speakers.read_only()
    }
    /// People whose microphone is muted.
    pub fn muted(&self) -> ReadSignal<BTreeSet<String>> {
        self.muted.read_only()
    }
    /// Connection quality by person.
    pub fn quality(&self) -> ReadSignal<BTreeMap<String, String>> {
        self.quality.read_only()
    }

    /// One attempt failed: say why and try again later.
    fn failed(&self, why: String) {
        if self.over.try_get_value() != Some(false) {
            return;
        }
        if let Some(s) = self.session.try_update_value(Option::take).flatten() {
            spawn_local(async move { s.disconnect().await });
        }
        let failures = self.failures.try_update_value(|f| {
            *f += 1;
            *f
        });
        let Some(failures) = failures else { return };
        // One attempt at a time: a pending one is replaced.
        if let Some(Some(h)) = self.timer.try_update_value(Option::take) {
            h.clear();
        }
        let retry_secs = retry_after(failures);
        web_sys::console::warn_1(
            &format!("media: unavailable ({why}); retry in {retry_secs} s").into(),
        );
        self.status
            .try_set(MediaStatus::Unavailable { why, retry_secs });
        let ctx = *self;
        let handle = set_timeout_with_handle(
            move || ctx.attempt_later(),
            Duration::from_secs(u64::from(retry_secs)),
        );
        if let Ok(h) = handle {
            self.timer.try_set_value(Some(h));
        }
    }

    fn attempt_later(&self) {
        if self.over.try_get_value() == Some(false) {
            if let Some(start) = self.start.try_get_value().flatten() {
                start(*self);
            }
        }
    }

    /// Our own connection quality, once LiveKit has said.
    pub fn my_quality(&self) -> Signal<Option<String>> {
        let (quality, me) = (self.quality, self.me);
        Signal::derive(move || me.with_value(|m| quality.with(|q| q.get(m).cloned())))
    }

    /// Leaves the media room for good (the session ended).
    pub fn close(&self) {
        self.over.try_set_value(true);
        if let Some(Some(h)) = self.timer.try_update_value(Option::take) {
            h.clear();
        }
        if let Some(s) = self.session.try_update_value(Option::take).flatten() {
            spawn_local(async move { s.disconnect().await });
        }
    }
}

type Starter = Rc<dyn Fn(MediaContext)>;

async fn attempt(
    ctx: MediaContext,
    nats: NatsClient,
    worker_subject: String,
    e2ee: Option<E2eeContext>,
) -> Result<(), String> {
    let reply = match worker::call(nats, &worker_subject, &WorkerRequest::MediaToken).await {
        Ok(r) => r,
        // No media on this server: nothing to retry.
        Err(WorkerError::Invalid(_)) => {
            ctx.status.try_set(MediaStatus::Off);
            return Ok(());
        }
        Err(e) => return Err(e.to_string()),
    };
    let access = reply.media.ok_or("no media token in the reply")?;
    ctx.status.try_set(MediaStatus::Starting);
    let module = livekit::load().await.map_err(|e| e.to_string())?;
    let key = match e2ee {
        Some(e2ee) => {
            if !module.supports_e2ee() {
                ctx.status.try_set(MediaStatus::Unsupported);
                return Ok(());
            }
            let key = e2ee.key().await.ok_or("session over")?;
            Some(key.media_key())
        }
        None => None,
    };
    let session = MediaSession::open(&module, key, move |ev| ctx.apply(ev))
        .await
        .map_err(|e| e.to_string())?;
    let session = Rc::new(session);
    if ctx.over.try_get_value() != Some(false) {
        // The room was left while the module loaded.
        session.disconnect().await;
        return Ok(());
    }
    ctx.session.try_set_value(Some(session.clone()));
    ctx.plan.try_set_value(new_plan());
    ctx.publishing.try_set(BTreeMap::new());
    session
        .connect(&access.url, &access.token)
        .await
        .map_err(|e| e.to_string())
}

/// Provides the room's media and starts it (once admitted: the room page
/// is only shown then). Everything is released when the page goes.
pub fn provide_media_context(
    nats: NatsClient,
    me: &str,
    worker_subject: String,
    e2ee: Option<E2eeContext>,
    choices: RwSignal<Option<MediaChoices>>,
) -> MediaContext {
    let ctx = MediaContext {
        status: RwSignal::new(MediaStatus::Asking),
        microphone: RwSignal::new(false),
        camera: RwSignal::new(false),
        screen: RwSignal::new(false),
        tiles: RwSignal::new(Vec::new()),
        speakers: RwSignal::new(Vec::new()),
        muted: RwSignal::new(BTreeSet::new()),
        quality: RwSignal::new(BTreeMap::new()),
        e2ee: StoredValue::new(e2ee),
        me: StoredValue::new(me.to_owned()),
        session: StoredValue::new_local(None),
        plan: StoredValue::new(new_plan()),
        publishing: RwSignal::new(BTreeMap::new()),
        timer: StoredValue::new(None),
        failures: StoredValue::new(0),
        over: StoredValue::new(false),
        start: StoredValue::new_local(None),
        choices,
        applied: StoredValue::new(false),
    };
    provide_context(ctx);
    let start: Starter = Rc::new(move |ctx: MediaContext| {
        let (nats, worker_subject) = (nats, worker_subject.clone());
        spawn_local(async move {
            if let Err(why) = attempt(ctx, nats, worker_subject, e2ee).await {
                ctx.failed(why);
            }
        });
    });
    ctx.start.set_value(Some(start.clone()));
    start(ctx);
    on_cleanup(move || ctx.close());
    ctx
}

/// The room's media, if provided.
pub fn use_media() -> Option<MediaContext> {
    use_context::<MediaContext>()
}
