//! Reusable widgets.

pub mod chat;
pub mod conn_badge;
pub mod devices;
pub mod dialog;
pub mod e2ee_badge;
pub mod icons;
pub mod leave;
pub mod linkify;
pub mod locks;
pub mod media;
pub mod moderator;
pub mod notices;
pub mod participant_menu;
pub mod participants;
pub mod reactions;
pub mod toasts;
