//! Session-wide state shared through context: who we are, the token, the
//! chat log and its queue, the participants, the toasts, and the system
//! events and history that feed them.

pub mod chat;
// Pure, natively tested in `quorum-client-core`; here under their old names.
pub use quorum_client_core::{chat_log, grouping, outbox};
pub mod chat_in;
pub mod e2ee;
pub mod earlier;
pub mod events;
pub mod goodbye;
pub mod history;
pub mod media;
pub mod moderation;
pub mod notices;
pub mod panes;
pub mod participants;
pub mod persist;
pub mod presence_lines;
pub mod private;
pub mod private_chat;
pub mod session;
pub mod sync;
pub mod toasts;
pub mod token;
pub mod unread;
