//! Cameras and microphones before joining: the browser's permission, the
//! lists, a preview stream and the microphone's level. Plain browser APIs,
//! no LiveKit, so the pre-join page stays light.

use js_sys::{Array, Object, Reflect};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AnalyserNode, AudioContext, MediaDeviceInfo, MediaDeviceKind, MediaStream};

/// One device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The browser's id for it.
    pub id: String,
    /// Its name (empty until permission is given).
    pub label: String,
}

/// The devices there are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Devices {
    /// Audio inputs.
    pub microphones: Vec<Device>,
    /// Video inputs.
    pub cameras: Vec<Device>,
}

fn text(e: JsValue) -> String {
    e.dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.name()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "unavailable".into())
}

fn media_devices() -> Result<web_sys::MediaDevices, String> {
    web_sys::window()
        .ok_or("no window")?
        .navigator()
        .media_devices()
        .map_err(text)
}

/// `{ deviceId: { exact: id } }` for a chosen device, else `true`.
fn constraint(id: Option<&str>) -> JsValue {
    match id {
        Some(id) if !id.is_empty() => {
            let exact = Object::new();
            let _ = Reflect::set(&exact, &"exact".into(), &id.into());
            let c = Object::new();
            let _ = Reflect::set(&c, &"deviceId".into(), &exact);
            c.into()
        }
        _ => JsValue::TRUE,
    }
}

async fn get_user_media(audio: JsValue, video: JsValue) -> Result<MediaStream, String> {
    let c = web_sys::MediaStreamConstraints::new();
    c.set_audio(&audio);
    c.set_video(&video);
    let p = media_devices()?
        .get_user_media_with_constraints(&c)
        .map_err(text)?;
    Ok(JsFuture::from(p).await.map_err(text)?.unchecked_into())
}

/// A preview stream from the microphone and camera chosen (`None`: the
/// default one). Asking is what brings up the browser's permission prompt.
/// Without a camera (or with it refused) the microphone alone, and the
/// other way round: one missing device must not cost the other.
pub async fn preview(mic: Option<&str>, camera: Option<&str>) -> Result<MediaStream, String> {
    let both = get_user_media(constraint(mic), constraint(camera)).await;
    let Err(why) = both else { return both };
    if let Ok(s) = get_user_media(constraint(mic), JsValue::FALSE).await {
        return Ok(s);
    }
    get_user_media(JsValue::FALSE, constraint(camera))
        .await
        .map_err(|_| why)
}

/// The microphones and cameras (named once permission is given).
pub async fn list() -> Result<Devices, String> {
    let p = media_devices()?.enumerate_devices().map_err(text)?;
    let all: Array = JsFuture::from(p).await.map_err(text)?.unchecked_into();
    let mut out = Devices::default();
    for d in all.iter() {
        let d: MediaDeviceInfo = d.unchecked_into();
        let dev = Device {
            id: d.device_id(),
            label: d.label(),
        };
        match d.kind() {
            MediaDeviceKind::Audioinput => out.microphones.push(dev),
            MediaDeviceKind::Videoinput => out.cameras.push(dev),
            _ => {}
        }
    }
    Ok(out)
}

/// Stops every track of `stream` (the camera's light goes off).
pub fn stop(stream: &MediaStream) {
    for t in stream.get_tracks().iter() {
        t.unchecked_into::<web_sys::MediaStreamTrack>().stop();
    }
}

/// The id of the device `stream` uses for `kind` (`audio`/`video`).
pub fn device_of(stream: &MediaStream, kind: &str) -> Option<String> {
    let tracks = if kind == "audio" {
        stream.get_audio_tracks()
    } else {
        stream.get_video_tracks()
    };
    let track: web_sys::MediaStreamTrack = tracks.get(0).dyn_into().ok()?;
    let settings = track.get_settings();
    Reflect::get(&settings, &"deviceId".into())
        .ok()?
        .as_string()
}

/// The loudness of a stream's audio, sampled on demand.
pub struct LevelMeter {
    ctx: AudioContext,
    analyser: AnalyserNode,
    buf: Vec<u8>,
}

impl LevelMeter {
    /// Listens to `stream` (nothing is played).
    pub fn new(stream: &MediaStream) -> Result<Self, String> {
        let ctx = AudioContext::new().map_err(text)?;
        let wired = (|| {
            let source = ctx.create_media_stream_source(stream).map_err(text)?;
            let analyser = ctx.create_analyser().map_err(text)?;
            analyser.set_fft_size(256);
            source.connect_with_audio_node(&analyser).map_err(text)?;
            Ok::<_, String>(analyser)
        })();
        let analyser = match wired {
            Ok(a) => a,
            Err(e) => {
                let _ = ctx.close();
                return Err(e);
            }
        };
        // Created before any click it may start suspended; it only
        // listens, so resuming is allowed.
        let _ = ctx.resume();
        let buf = vec![0; analyser.fft_size() as usize];
        Ok(Self { ctx, analyser, buf })
    }

    /// The level now, 0 (silence) to 1.
    pub fn level(&mut self) -> f64 {
        self.analyser.get_byte_time_domain_data(&mut self.buf);
        level_of(&self.buf)
    }

    /// Stops listening.
    pub fn close(&self) {
        let _ = self.ctx.close();
    }
}

/// RMS of 8-bit time-domain samples (128 = silence), scaled so speech
/// fills most of the meter. Pure.
pub fn level_of(samples: &[u8]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| {
            let x = (f64::from(s) - 128.0) / 128.0;
            x * x
        })
        .sum();
    ((sum / samples.len() as f64).sqrt() * 3.0).min(1.0)
}
