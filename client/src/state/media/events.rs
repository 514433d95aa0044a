//! What the media session tells us, applied: the status, the tiles, who
//! speaks and who is muted, and what we subscribe to (by the plan).

use leptos::prelude::*;
use send_wrapper::SendWrapper;

use super::{MediaContext, MediaStatus, Tile, MAX_TILES, MAX_TRACKS};
use crate::livekit::{self, MediaEvent, SubscriptionPlan};

impl MediaContext {
    pub(super) fn apply(&self, ev: MediaEvent) {
        match ev {
            MediaEvent::Connected => {
                self.failures.try_set_value(0);
                self.status.try_set(MediaStatus::Connected);
                if self.applied.try_get_value() == Some(false) {
                    self.applied.try_set_value(true);
                    self.join_with_choices();
                }
            }
            MediaEvent::Reconnecting => {
                self.status.try_set(MediaStatus::Reconnecting);
            }
            MediaEvent::Disconnected(why) => {
                // Only a session that was up: a connect that fails says
                // so itself (the attempt's error), and must count once.
                let was_up = self.status.try_with_untracked(|s| {
                    matches!(s, MediaStatus::Connected | MediaStatus::Reconnecting)
                });
                if was_up == Some(true) && self.over.try_get_value() == Some(false) {
                    self.tiles.try_set(Vec::new());
                    self.failed(if why.is_empty() {
                        "disconnected".into()
                    } else {
                        why
                    });
                }
            }
            MediaEvent::Track {
                sid,
                identity,
                name,
                source,
                element,
            } => {
                // Sound needs no tile: only pictures count to the cap.
                let audio = source == "microphone" || source == "screen_share_audio";
                self.tiles.try_update(|t| {
                    let pictures = t.iter().filter(|x| !x.is_audio()).count();
                    if (audio && t.len() < MAX_TRACKS) || (!audio && pictures < MAX_TILES) {
                        t.push(Tile {
                            sid,
                            identity,
                            name,
                            source,
                            element: SendWrapper::new(element),
                        });
                    }
                });
            }
            MediaEvent::Published(p) => {
                self.replan(|plan| plan.published(p));
            }
            MediaEvent::Unpublished(sid) => {
                self.replan(|plan| plan.unpublished(&sid));
            }
            MediaEvent::TrackGone(sid) => {
                self.tiles.try_update(|t| t.retain(|x| x.sid != sid));
            }
            MediaEvent::Speakers(list) => {
                self.speakers.try_set(list);
            }
            MediaEvent::Local(source, on) => {
                let signal = match source.as_str() {
                    "microphone" => self.microphone,
                    "camera" => self.camera,
                    "screen_share" => self.screen,
                    _ => return,
                };
                signal.try_set(on);
            }
            MediaEvent::Quality(who, q) => {
                self.quality.try_update(|m| {
                    m.insert(who, q);
                });
            }
            MediaEvent::EncryptionError { identity, message } => {
                web_sys::console::warn_1(&format!("media: decryption failed: {message}").into());
                if let (Some(Some(e2ee)), false) = (self.e2ee.try_get_value(), identity.is_empty())
                {
                    e2ee.flag(&identity);
                }
            }
            MediaEvent::Muted {
                identity,
                source,
                muted,
                local,
            } => {
                if source != "microphone" {
                    return;
                }
                // Ours muted by a moderator shows as off.
                if local {
                    self.microphone.try_set(!muted);
                }
                self.muted.try_update(|m| {
                    if muted {
                        m.insert(identity);
                    } else {
                        m.remove(&identity);
                    }
                });
            }
        }
    }

    /// Changes the plan, and carries out what it then decides.
    fn replan(&self, change: impl FnOnce(&mut SubscriptionPlan) -> Vec<livekit::Change>) {
        let Some((changes, by_person)) = self
            .plan
            .try_update_value(|plan| (change(plan), plan.by_person()))
        else {
            return;
        };
        if self.publishing.try_with_untracked(|p| *p != by_person) == Some(true) {
            self.publishing.try_set(by_person);
        }
        if let Some(Some(s)) = self.session.try_get_value() {
            for (sid, on) in changes {
                s.set_subscribed(&sid, on);
            }
        }
    }

    /// What `who` publishes (`microphone`, `camera`, `screen_share`), as
    /// far as the media room says; ours as we turned it on.
    pub fn sources_of(&self, who: String) -> Signal<Vec<String>> {
        let ctx = *self;
        Signal::derive(move || {
            if ctx.me.with_value(|m| *m == who) {
                [
                    ("microphone", ctx.microphone),
                    ("camera", ctx.camera),
                    ("screen_share", ctx.screen),
                ]
                .into_iter()
                .filter(|(_, on)| on.get())
                .map(|(s, _)| s.to_owned())
                .collect()
            } else {
                ctx.publishing
                    .with(|p| p.get(&who).cloned().unwrap_or_default())
            }
        })
    }
}
