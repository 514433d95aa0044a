//! The verified session, available to every component below the room, and
//! the one way to end it.

use std::sync::Arc;

use leptos::prelude::*;

use crate::nats::NatsClient;
use crate::pages::goodbye::Goodbye;
use crate::verify::Session;

/// Newtype so the context cannot be confused with another `Arc<Session>`.
#[derive(Debug, Clone)]
struct SessionContext(Arc<Session>);

/// Makes `session` available to descendants.
pub fn provide_session_context(session: Arc<Session>) {
    provide_context(SessionContext(session));
}

/// The session provided by [`provide_session_context`].
pub fn use_session() -> Arc<Session> {
    expect_context::<SessionContext>().0
}

/// Ends the session for good, whether the server ended it or the user left.
#[derive(Clone, Copy)]
pub struct SessionEnd {
    nats: NatsClient,
    on_over: Callback<Goodbye>,
}

impl SessionEnd {
    /// Closes the NATS connection (nothing reconnects), then hands
    /// `goodbye` to the app, which tidies up and shows it.
    pub fn end(&self, goodbye: Goodbye) {
        self.nats.close();
        // `try_run`: the app may be gone already (e.g. a test unmounted it).
        let _ = self.on_over.try_run(goodbye);
    }
}

/// Makes [`SessionEnd`] available to descendants.
pub fn provide_session_end(nats: NatsClient, on_over: Callback<Goodbye>) -> SessionEnd {
    let end = SessionEnd { nats, on_over };
    provide_context(end);
    end
}

/// The [`SessionEnd`] provided by [`provide_session_end`].
pub fn use_session_end() -> SessionEnd {
    expect_context::<SessionEnd>()
}
