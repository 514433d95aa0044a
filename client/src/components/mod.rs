//! Reusable widgets.

pub mod chat;
pub mod conn_badge;
pub mod e2ee_badge;
pub mod leave;
pub mod notices;
pub mod participants;
pub mod toasts;
