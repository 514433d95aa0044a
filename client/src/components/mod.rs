//! Reusable widgets.

pub mod chat;
pub mod chat_earlier;
pub mod chat_item;
pub mod chat_jump;
pub mod chat_list;
pub mod conn_badge;
pub mod countdown;
pub mod devices;
pub mod dialog;
pub mod e2ee_badge;
pub mod icons;
pub mod key_banner;
pub mod leave;
pub mod linkify;
mod list_scroll;
pub mod locks;
pub mod media;
pub mod moderator;
pub mod notices;
pub mod participant_menu;
pub mod participants;
pub mod private_target;
pub mod reactions;
pub mod room_tabs;
pub mod tiles;
pub mod toasts;
