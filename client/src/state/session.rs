//! The verified session, available to every component below the room.

use std::sync::Arc;

use leptos::prelude::*;

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
