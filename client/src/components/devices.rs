//! The pre-join page's microphone and camera: pickers, a live preview, a
//! level meter for the microphone, and whether to join with each on. The
//! preview is released (the camera light goes off) when the page goes.

use leptos::prelude::*;
use leptos::task::spawn_local;
use send_wrapper::SendWrapper;
use wasm_bindgen::JsCast;

use crate::devices::{self, Device, Devices, LevelMeter};
use crate::i18n::{t, t_string, use_i18n};
use crate::state::media::MediaChoices;

/// How often the level meter reads the microphone.
const LEVEL_EVERY_MS: u64 = 100;

type Live = Option<(
    SendWrapper<web_sys::MediaStream>,
    Option<SendWrapper<LevelMeter>>,
)>;

/// The `<option>`s of a device picker: `(id, name)` pairs, the `chosen`
/// one selected; a device the browser does not name yet is "`kind` 1"…
pub fn device_options(
    kind: &str,
    chosen: Option<String>,
    devices: impl IntoIterator<Item = (String, String)>,
) -> impl IntoView {
    devices
        .into_iter()
        .enumerate()
        .map(|(i, (id, label))| {
            let selected = chosen.as_deref() == Some(id.as_str());
            let label = if label.is_empty() {
                format!("{kind} {}", i + 1)
            } else {
                label
            };
            view! { <option value=id selected=selected>{label}</option> }
        })
        .collect_view()
}

/// `<fieldset id="prejoin-devices">`; `choices` follows what is picked.
#[component]
pub fn DevicePicker(choices: RwSignal<MediaChoices>) -> impl IntoView {
    let i18n = use_i18n();
    let list = RwSignal::new(Devices::default());
    let error = RwSignal::new(None::<String>);
    let level = RwSignal::new(0.0f64);
    let video = NodeRef::<leptos::html::Video>::new();
    let live: StoredValue<Live> = StoredValue::new(None);
    let gone = StoredValue::new(false);

    let release = move || {
        if let Some(Some((stream, meter))) = live.try_update_value(Option::take) {
            devices::stop(&stream);
            if let Some(m) = meter {
                m.close();
            }
        }
    };
    // (Re)starts the preview with the devices chosen now.
    let start = move || {
        let (mic, cam) = choices.with_untracked(|c| (c.microphone_id.clone(), c.camera_id.clone()));
        spawn_local(async move {
            match devices::preview(mic.as_deref(), cam.as_deref()).await {
                Ok(stream) => {
                    if gone.try_get_value() != Some(false) {
                        devices::stop(&stream);
                        return;
                    }
                    release();
                    if let Some(v) = video.get_untracked() {
                        v.set_src_object(Some(&stream));
                    }
                    let meter = LevelMeter::new(&stream);
                    // The ids in use, so the pickers show them.
                    choices.update(|c| {
                        c.microphone_id = devices::device_of(&stream, "audio");
                        c.camera_id = devices::device_of(&stream, "video");
                    });
                    // Kept whatever the meter did, so it is always stopped.
                    let meter = meter.ok().map(SendWrapper::new);
                    live.set_value(Some((SendWrapper::new(stream), meter)));
                    error.set(None);
                }
                Err(why) => {
                    error.try_set(Some(why));
                }
            }
            // Listed either way: a refused camera still leaves the others.
            if let Ok(l) = devices::list().await {
                list.try_set(l);
            }
        });
    };
    start();
    let ticker = set_interval_with_handle(
        move || {
            let l = live
                .try_update_value(|l| l.as_mut().and_then(|(_, m)| m.as_mut().map(|m| m.level())))
                .flatten();
            if let Some(l) = l {
                level.try_set(l);
            }
        },
        std::time::Duration::from_millis(LEVEL_EVERY_MS),
    );
    on_cleanup(move || {
        gone.set_value(true);
        if let Ok(t) = ticker {
            t.clear();
        }
        release();
    });

    let pick = move |kind: &'static str| {
        move |ev: leptos::ev::Event| {
            let id = event_target_value(&ev);
            choices.update(|c| {
                if kind == "microphone" {
                    c.microphone_id = Some(id);
                } else {
                    c.camera_id = Some(id);
                }
            });
            start();
        }
    };
    let options = move |kind: &'static str| {
        let chosen = move || {
            choices.with(|c| {
                if kind == "microphone" {
                    c.microphone_id.clone()
                } else {
                    c.camera_id.clone()
                }
            })
        };
        move || {
            let devices: Vec<Device> = list.with(|l| {
                if kind == "microphone" {
                    l.microphones.clone()
                } else {
                    l.cameras.clone()
                }
            });
            device_options(kind, chosen(), devices.into_iter().map(|d| (d.id, d.label)))
        }
    };
    view! {
        <fieldset id="prejoin-devices" class="prejoin-devices">
            <legend>{t!(i18n, devices.legend)}</legend>
            <video
                id="prejoin-preview"
                class="prejoin-preview"
                node_ref=video
                autoplay=true
                playsinline=true
                muted=true
                aria-label=move || t_string!(i18n, devices.preview)
            ></video>
            {move || {
                error
                    .get()
                    .map(|why| {
                        view! {
                            <p id="prejoin-devices-error" class="notice" role="status">
                                {t_string!(i18n, devices.unavailable, why = why.as_str())}
                            </p>
                        }
                    })
            }}
            <label for="prejoin-microphone">{t!(i18n, devices.microphone)}</label>
            <select id="prejoin-microphone" on:change=pick("microphone")>
                {options("microphone")}
            </select>
            <meter
                id="prejoin-level"
                min="0"
                max="1"
                prop:value=move || level.get()
                aria-label=move || t_string!(i18n, devices.level)
            ></meter>
            <label for="prejoin-camera">{t!(i18n, devices.camera)}</label>
            <select id="prejoin-camera" on:change=pick("camera")>
                {options("camera")}
            </select>
            <label class="check">
                <input
                    id="prejoin-microphone-on"
                    type="checkbox"
                    prop:checked=move || choices.with(|c| c.microphone)
                    on:change=move |ev| {
                        let on = ev
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                            .is_some_and(|i| i.checked());
                        choices.update(|c| c.microphone = on);
                    }
                />
                {t!(i18n, devices.join_microphone)}
            </label>
            <label class="check">
                <input
                    id="prejoin-camera-on"
                    type="checkbox"
                    prop:checked=move || choices.with(|c| c.camera)
                    on:change=move |ev| {
                        let on = ev
                            .target()
                            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
                            .is_some_and(|i| i.checked());
                        choices.update(|c| c.camera = on);
                    }
                />
                {t!(i18n, devices.join_camera)}
            </label>
        </fieldset>
    }
}
