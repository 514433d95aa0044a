//! One component per screen.

pub mod error;
pub mod loading;
pub mod room;
