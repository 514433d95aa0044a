//! Session-wide state shared through context: who we are, the chat log,
//! the toasts, and the system events that feed them.

pub mod chat;
pub mod events;
pub mod session;
pub mod toasts;
