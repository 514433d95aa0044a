//! The client's media job: LiveKit through the official `livekit-client`
//! SDK. Our glue (`client/js/media.js`) and the SDK are bundled by esbuild
//! into `/media/media.js`, imported here only when a room with media is
//! entered, so the first page load never carries them. This module is the
//! typed façade over that glue; `state/media.rs` decides when to use it.

mod events;

use js_sys::{Function, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

pub use events::MediaEvent;
// Pure, natively tested in `quorum-client-core`.
pub use quorum_client_core::media_plan::{Change, Publication, SubscriptionPlan, MAX_KNOWN};

/// Where the bundled media module is served.
pub const MODULE_URL: &str = "/media/media.js";
/// LiveKit's E2EE worker, bundled beside it.
pub const WORKER_URL: &str = "/media/e2ee-worker.js";

#[wasm_bindgen]
extern "C" {
    /// The media module's exports.
    pub type MediaModule;

    #[wasm_bindgen(method, js_name = e2eeSupported)]
    fn e2ee_supported(this: &MediaModule) -> bool;

    #[wasm_bindgen(method, catch)]
    fn open(
        this: &MediaModule,
        key: &JsValue,
        worker_url: &str,
        on_event: &Function,
    ) -> Result<Promise, JsValue>;

    /// One media session (one LiveKit `Room`).
    pub type JsSession;

    #[wasm_bindgen(method, catch)]
    fn connect(this: &JsSession, url: &str, token: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setMicrophone)]
    fn set_microphone(
        this: &JsSession,
        on: bool,
        device: Option<String>,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setCamera)]
    fn set_camera(this: &JsSession, on: bool, device: Option<String>) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setScreenShare)]
    fn set_screen_share(this: &JsSession, on: bool) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method)]
    fn subscribe(this: &JsSession, sid: &str, on: bool) -> bool;
    #[wasm_bindgen(method, catch)]
    fn disconnect(this: &JsSession) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn devices(this: &JsSession, kind: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = switchDevice)]
    fn switch_device(this: &JsSession, kind: &str, id: &str) -> Result<Promise, JsValue>;
}

/// Why media failed, in words for the log and the banner's detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MediaError(pub String);

impl From<JsValue> for MediaError {
    fn from(e: JsValue) -> Self {
        let text = e
            .dyn_ref::<js_sys::Error>()
            .map(|e| String::from(e.message()))
            .or_else(|| e.as_string())
            .unwrap_or_else(|| "unknown error".into());
        Self(text)
    }
}

async fn settle(p: Result<Promise, JsValue>) -> Result<JsValue, MediaError> {
    Ok(JsFuture::from(p?).await?)
}

/// Loads the media module (once per page: the browser caches modules).
pub async fn load() -> Result<MediaModule, MediaError> {
    Ok(settle(crate::util::import_module(MODULE_URL))
        .await?
        .unchecked_into())
}

impl MediaModule {
    /// Whether this browser can encrypt media end to end.
    pub fn supports_e2ee(&self) -> bool {
        self.e2ee_supported()
    }
}

/// A media session; `disconnect` it when done (events stop then too).
pub struct MediaSession {
    js: JsSession,
    // Kept alive as long as the session: the glue calls it.
    _on_event: Closure<dyn FnMut(JsValue)>,
}

impl MediaSession {
    /// Opens a session; with `key` (the room's media key) media is end-to-
    /// end encrypted: the key is set and encryption enabled before this
    /// returns, so before any connect.
    pub async fn open(
        module: &MediaModule,
        key: Option<[u8; 32]>,
        mut on_event: impl FnMut(MediaEvent) + 'static,
    ) -> Result<Self, MediaError> {
        let closure = Closure::<dyn FnMut(JsValue)>::new(move |v: JsValue| {
            if let Some(ev) = MediaEvent::parse(&v) {
                on_event(ev);
            }
        });
        let key = key.map_or(JsValue::NULL, |k| Uint8Array::from(&k[..]).buffer().into());
        let js = settle(module.open(&key, WORKER_URL, closure.as_ref().unchecked_ref())).await?;
        Ok(Self {
            js: js.unchecked_into(),
            _on_event: closure,
        })
    }

    /// Joins LiveKit at `url` with `token`.
    pub async fn connect(&self, url: &str, token: &str) -> Result<(), MediaError> {
        settle(self.js.connect(url, token)).await.map(drop)
    }

    /// Publishes or stops the microphone (`device`: which one).
    pub async fn set_microphone(&self, on: bool, device: Option<String>) -> Result<(), MediaError> {
        settle(self.js.set_microphone(on, device)).await.map(drop)
    }

    /// Publishes or stops the camera (`device`: which one).
    pub async fn set_camera(&self, on: bool, device: Option<String>) -> Result<(), MediaError> {
        settle(self.js.set_camera(on, device)).await.map(drop)
    }

    /// Shares the screen or stops.
    pub async fn set_screen_share(&self, on: bool) -> Result<(), MediaError> {
        settle(self.js.set_screen_share(on)).await.map(drop)
    }

    /// The devices of `kind` (`audioinput`, `videoinput`): id and name.
    pub async fn devices(&self, kind: &str) -> Result<Vec<(String, String)>, MediaError> {
        let list: js_sys::Array = settle(self.js.devices(kind)).await?.unchecked_into();
        let text = |v: &JsValue, k: &str| {
            js_sys::Reflect::get(v, &k.into())
                .ok()
                .and_then(|s| s.as_string())
                .unwrap_or_default()
        };
        Ok(list
            .iter()
            .map(|d| (text(&d, "id"), text(&d, "label")))
            .collect())
    }

    /// Uses device `id` for `kind` from now on.
    pub async fn switch_device(&self, kind: &str, id: &str) -> Result<(), MediaError> {
        settle(self.js.switch_device(kind, id)).await.map(drop)
    }

    /// Receives remote track `sid` or stops (see [`SubscriptionPlan`]).
    pub fn set_subscribed(&self, sid: &str, on: bool) {
        if !self.js.subscribe(sid, on) {
            web_sys::console::warn_1(&format!("media: no track {sid} to subscribe").into());
        }
    }

    /// Leaves the media room and releases the SDK's resources.
    pub async fn disconnect(&self) {
        if let Err(e) = settle(self.js.disconnect()).await {
            web_sys::console::warn_1(&format!("media: disconnect: {e}").into());
        }
    }
}
