//! A short notification beep through WebAudio. Best effort: where audio is
//! blocked (no user gesture yet, autoplay policy) or missing, it stays
//! silent and never fails.

use std::cell::RefCell;

use wasm_bindgen::JsValue;
use wasm_bindgen_futures::JsFuture;
use web_sys::{AudioContext, AudioContextState, OscillatorType};

/// Pitch of the beep, Hz.
const FREQ_HZ: f32 = 880.0;
/// Its length, seconds.
const LENGTH_S: f64 = 0.18;
/// Peak gain: audible, not startling.
const PEAK_GAIN: f32 = 0.15;
/// A beep whose audio unlocked later than this (ms) is stale; skip it.
const STALE_MS: f64 = 1000.0;

/// Plays beeps on one lazily created `AudioContext` (browsers limit how
/// many a page may have), closed by [`Beeper::close`] or on drop.
#[derive(Default)]
pub struct Beeper {
    ctx: RefCell<Option<AudioContext>>,
}

impl Beeper {
    /// A beeper with no audio context yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Plays one beep if the browser lets us.
    pub fn beep(&self) {
        let ctx = match self.context() {
            Ok(ctx) => ctx,
            Err(e) => return debug("no audio context", &e),
        };
        if ctx.state() == AudioContextState::Running {
            if let Err(e) = tone(&ctx) {
                debug("beep failed", &e);
            }
            return;
        }
        // Suspended: usually the autoplay policy. Ask to resume; the
        // promise may reject or never settle, and a beep that comes
        // much later would be confusing, so only play it if prompt.
        let requested = js_sys::Date::now();
        let resume = ctx.resume();
        wasm_bindgen_futures::spawn_local(async move {
            let Ok(promise) = resume else { return };
            if JsFuture::from(promise).await.is_err() || js_sys::Date::now() - requested > STALE_MS
            {
                return;
            }
            if let Err(e) = tone(&ctx) {
                debug("beep failed", &e);
            }
        });
    }

    /// Whether an audio context is held (created by the first beep, let go
    /// by [`Beeper::close`]).
    pub fn is_open(&self) -> bool {
        self.ctx.try_borrow().is_ok_and(|c| c.is_some())
    }

    /// Releases the audio context. Idempotent.
    pub fn close(&self) {
        let Ok(mut slot) = self.ctx.try_borrow_mut() else {
            return;
        };
        if let Some(ctx) = slot.take() {
            if let Ok(promise) = ctx.close() {
                // Swallow a rejection instead of an "Uncaught (in promise)".
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = JsFuture::from(promise).await;
                });
            }
        }
    }

    fn context(&self) -> Result<AudioContext, JsValue> {
        let mut slot = self
            .ctx
            .try_borrow_mut()
            .map_err(|_| JsValue::from_str("busy"))?;
        if let Some(ctx) = slot.as_ref() {
            return Ok(ctx.clone());
        }
        let ctx = AudioContext::new()?;
        *slot = Some(ctx.clone());
        Ok(ctx)
    }
}

impl Drop for Beeper {
    fn drop(&mut self) {
        self.close();
    }
}

/// Schedules one short sine tone with a soft attack and release.
fn tone(ctx: &AudioContext) -> Result<(), JsValue> {
    let osc = ctx.create_oscillator()?;
    osc.set_type(OscillatorType::Sine);
    osc.frequency().set_value(FREQ_HZ);
    let gain = ctx.create_gain()?;
    let t = ctx.current_time();
    let g = gain.gain();
    g.set_value_at_time(0.0001, t)?;
    g.exponential_ramp_to_value_at_time(PEAK_GAIN, t + 0.01)?;
    g.exponential_ramp_to_value_at_time(0.0001, t + LENGTH_S)?;
    osc.connect_with_audio_node(&gain)?;
    gain.connect_with_audio_node(&ctx.destination())?;
    osc.start()?;
    osc.stop_with_when(t + LENGTH_S + 0.02)
}

fn debug(what: &str, e: &JsValue) {
    web_sys::console::debug_2(&format!("sound: {what}").into(), e);
}
