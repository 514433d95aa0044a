//! Our sources and devices in the room: turning the microphone, camera
//! and screen share on and off, and switching devices. What is chosen is
//! kept in [`MediaChoices`] (and so in the session cache): a reload joins
//! the way we left.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::{MediaChoices, MediaContext};
use crate::livekit;

impl MediaContext {
    /// Turns a source on or off; a failure (no device, denied) is shown
    /// as a toast by the caller. The microphone and camera are remembered
    /// as they are left (a screen share always asks again).
    pub async fn set(&self, source: &str, on: bool) -> Result<(), livekit::MediaError> {
        let Some(s) = self.session.try_get_value().flatten() else {
            return Err(livekit::MediaError("media is not connected".into()));
        };
        let chosen = self
            .choices
            .try_get_untracked()
            .flatten()
            .unwrap_or_default();
        match source {
            "microphone" => s.set_microphone(on, chosen.microphone_id).await?,
            "camera" => s.set_camera(on, chosen.camera_id).await?,
            _ => return s.set_screen_share(on).await,
        }
        self.remember(|c| match source {
            "microphone" => c.microphone = on,
            _ => c.camera = on,
        });
        Ok(())
    }

    /// Changes what is remembered (only on a real change: each one is a
    /// cache write).
    fn remember(&self, change: impl FnOnce(&mut MediaChoices)) {
        let before = self.choices.try_get_untracked().flatten();
        let mut after = before.clone().unwrap_or_default();
        change(&mut after);
        if before.as_ref() != Some(&after) {
            self.choices.try_set(Some(after));
        }
    }

    /// Turns on what was chosen before joining; a failure (a device gone)
    /// leaves it off, which the toggles show.
    pub(super) fn join_with_choices(&self) {
        let Some(c) = self.choices.try_get_untracked().flatten() else {
            return;
        };
        let ctx = *self;
        spawn_local(async move {
            if c.microphone {
                if let Err(e) = ctx.set("microphone", true).await {
                    web_sys::console::warn_1(&format!("media: microphone: {e}").into());
                }
            }
            if c.camera {
                if let Err(e) = ctx.set("camera", true).await {
                    web_sys::console::warn_1(&format!("media: camera: {e}").into());
                }
            }
        });
    }

    /// The devices of `kind` (`audioinput`, `videoinput`), id and name;
    /// none while not connected.
    pub async fn devices(&self, kind: &str) -> Vec<(String, String)> {
        let Some(s) = self.session.try_get_value().flatten() else {
            return Vec::new();
        };
        s.devices(kind).await.unwrap_or_default()
    }

    /// The device in use for `kind`, as chosen (`None`: the default).
    pub fn chosen(&self, kind: &str) -> Option<String> {
        let c = self.choices.try_get_untracked().flatten()?;
        if kind == "audioinput" {
            c.microphone_id
        } else {
            c.camera_id
        }
    }

    /// Switches to device `id` for `kind`, and remembers it for the next
    /// time the source is turned on.
    pub async fn switch_device(&self, kind: &str, id: String) -> Result<(), livekit::MediaError> {
        let Some(s) = self.session.try_get_value().flatten() else {
            return Err(livekit::MediaError("media is not connected".into()));
        };
        s.switch_device(kind, &id).await?;
        self.remember(|c| {
            if kind == "audioinput" {
                c.microphone_id = Some(id);
            } else {
                c.camera_id = Some(id);
            }
        });
        Ok(())
    }
}
