//! Session-wide state shared through context: who we are, and the chat log.

pub mod chat;
pub mod session;
