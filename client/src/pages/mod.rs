//! One component per screen.

pub mod error;
pub mod goodbye;
pub mod key_prompt;
pub mod loading;
pub mod prejoin;
pub mod room;
pub mod waiting;
