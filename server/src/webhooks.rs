//! Outgoing webhooks (being written): signed, ordered per room, retried
//! with bounded backoff, never blocking a request.

use quorum_shared::webhook::WebhookEvent;

/// Webhook dispatcher. Cheap to clone.
#[derive(Clone, Default)]
pub struct Webhooks {}

impl Webhooks {
    /// A dispatcher for the global `global_url` (may be empty), signing
    /// with `secret`; private/loopback targets only when `allow_private`.
    pub fn new(_global_url: &str, _secret: &str, _allow_private: bool) -> Self {
        Self {}
    }

    /// Queues `event` for the global target and the room's own target.
    /// Never blocks and never fails the caller.
    pub fn send(&self, _room_url: Option<&str>, _event: WebhookEvent) {}
}
