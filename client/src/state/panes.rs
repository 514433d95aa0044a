//! Which part of the room a phone shows. A wide screen shows the
//! participants, the stage and the chat side by side; a phone has room
//! for one at a time, chosen in the bottom toolbar
//! (`components/room_tabs.rs`). The choice is kept on every width, so a
//! rotated phone or a resized window comes back to it.

use leptos::prelude::*;

/// A part of the room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Pane {
    /// The chat: what a meeting without media is about, so first.
    #[default]
    Chat,
    /// Who is here.
    People,
    /// Video, reactions and, for moderators, the waiting room and the
    /// room's controls.
    Stage,
}

impl Pane {
    /// Every pane, in the toolbar's order.
    pub const ALL: [Pane; 3] = [Pane::Chat, Pane::People, Pane::Stage];

    /// Its name in `data-pane` and in element ids (`tab-{key}`).
    pub fn key(self) -> &'static str {
        match self {
            Pane::Chat => "chat",
            Pane::People => "people",
            Pane::Stage => "stage",
        }
    }
}

/// The pane shown on a phone, shared through context.
#[derive(Clone, Copy)]
pub struct PanesContext {
    shown: RwSignal<Pane>,
}

impl PanesContext {
    /// The pane shown.
    pub fn shown(&self) -> ReadSignal<Pane> {
        self.shown.read_only()
    }

    /// Shows `pane` (on a phone; wide screens show all of them anyway).
    pub fn show(&self, pane: Pane) {
        self.shown.try_set(pane);
    }
}

/// Starts with the chat; for the room page.
pub fn provide_panes_context() -> PanesContext {
    let ctx = PanesContext {
        shown: RwSignal::new(Pane::default()),
    };
    provide_context(ctx);
    ctx
}

/// The room's panes, where the room page provides them.
pub fn use_panes() -> Option<PanesContext> {
    use_context::<PanesContext>()
}
