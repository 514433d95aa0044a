//! What the media glue tells us, as a Rust enum.

use js_sys::Reflect;
use wasm_bindgen::{JsCast, JsValue};

/// One event from the media module.
#[derive(Debug, Clone)]
pub enum MediaEvent {
    /// Connected (or reconnected).
    Connected,
    /// LiveKit is trying to get the connection back.
    Reconnecting,
    /// The media connection ended; `reason` as LiveKit names it.
    Disconnected(String),
    /// Someone's track arrived, with the element that plays it.
    Track {
        /// Track id.
        sid: String,
        /// Their user id.
        identity: String,
        /// Their name.
        name: String,
        /// `microphone`, `camera`, `screen_share`…
        source: String,
        /// The `<video>` or `<audio>` element.
        element: web_sys::HtmlElement,
    },
    /// A track went away.
    TrackGone(String),
    /// Someone published a track (or had one when we joined): nothing
    /// arrives until it is subscribed.
    Published(super::Publication),
    /// A published track went away.
    Unpublished(String),
    /// Who speaks now.
    Speakers(Vec<String>),
    /// Someone's connection quality (`excellent`, `good`, `poor`, `lost`).
    Quality(String, String),
    /// Media could not be decrypted: from whom (if known), and why.
    EncryptionError {
        /// Their user id; empty if LiveKit did not say.
        identity: String,
        /// What LiveKit said.
        message: String,
    },
    /// A track was muted or unmuted (ours: `local`).
    Muted {
        /// Whose.
        identity: String,
        /// Which source.
        source: String,
        /// Muted now.
        muted: bool,
        /// It is ours (e.g. a moderator muted us).
        local: bool,
    },
    /// One of our own sources started or stopped.
    Local(String, bool),
}

fn text(v: &JsValue, key: &str) -> String {
    Reflect::get(v, &key.into())
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_default()
}

fn flag(v: &JsValue, key: &str) -> Option<bool> {
    Reflect::get(v, &key.into()).ok()?.as_bool()
}

impl MediaEvent {
    /// Reads an event object; `None` for one we don't know.
    pub fn parse(v: &JsValue) -> Option<Self> {
        Some(match text(v, "type").as_str() {
            "connected" => Self::Connected,
            "reconnecting" => Self::Reconnecting,
            "disconnected" => Self::Disconnected(text(v, "reason")),
            "track" => Self::Track {
                sid: text(v, "sid"),
                identity: text(v, "identity"),
                name: text(v, "name"),
                source: text(v, "source"),
                element: Reflect::get(v, &"element".into()).ok()?.dyn_into().ok()?,
            },
            "track_gone" => Self::TrackGone(text(v, "sid")),
            "published" => Self::Published(super::Publication {
                sid: text(v, "sid"),
                identity: text(v, "identity"),
                source: text(v, "source"),
            }),
            "unpublished" => Self::Unpublished(text(v, "sid")),
            "speakers" => {
                let list = Reflect::get(v, &"identities".into()).ok()?;
                let list: js_sys::Array = list.dyn_into().ok()?;
                Self::Speakers(list.iter().filter_map(|s| s.as_string()).collect())
            }
            "quality" => Self::Quality(text(v, "identity"), text(v, "quality")),
            "encryption_error" => Self::EncryptionError {
                identity: text(v, "identity"),
                message: text(v, "message"),
            },
            "muted" => Self::Muted {
                identity: text(v, "identity"),
                source: text(v, "source"),
                muted: flag(v, "muted")?,
                local: flag(v, "local")?,
            },
            "local" => Self::Local(text(v, "source"), flag(v, "on")?),
            _ => return None,
        })
    }
}
