//! The client's icons, drawn here as inline SVG: no icon font or emoji,
//! which a browser without the right font shows as empty boxes. Each is
//! a few strokes on a 24×24 grid in `currentColor`, so it takes the text
//! colour of whatever holds it (and so the theme's).
//!
//! An icon next to text is decorative and hidden from screen readers
//! ([`Icon`] without a label); an icon that is the only content of an
//! element that has no name of its own gets one (`label`). An icon-only
//! button gets its name on the button (`aria-label`), not on the icon.

use leptos::prelude::*;

/// The icon set. [`IconName::key`] is each one's `snake_case` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IconName {
    Bell,
    Lock,
    Unlock,
    Hand,
    Leave,
    Send,
    Close,
    Shield,
    Key,
    User,
    Users,
    More,
    Check,
    XCircle,
    Warning,
    Crown,
    Mic,
    MicOff,
    Camera,
    Screen,
    Search,
    Sliders,
    // Reactions.
    ThumbsUp,
    Clap,
    Laugh,
    Party,
    Heart,
    RaisedHand,
    Chat,
}

/// The palm and fingers of [`IconName::Hand`], shared with the
/// raised-hand reaction.
const HAND: [&str; 4] = [
    "M8 13V6a1.5 1.5 0 0 1 3 0v5",
    "M11 11V4.5a1.5 1.5 0 0 1 3 0V11",
    "M14 11V5.5a1.5 1.5 0 0 1 3 0V12",
    "M17 12V9a1.5 1.5 0 0 1 3 0v5a7 7 0 0 1-7 7h-1a6 6 0 0 1-5-2.7l-2.6-4a1.5 1.5 0 0 1 2.5-1.7L8 15",
];

/// The padlock's body, shared by [`IconName::Lock`] and [`IconName::Unlock`].
const LOCK_BODY: &str = "M6 11h12a1 1 0 0 1 1 1v8a1 1 0 0 1-1 1H6a1 1 0 0 1-1-1v-8a1 1 0 0 1 1-1z";

/// The microphone's capsule, stand and foot.
const MIC: [&str; 3] = [
    "M9 6a3 3 0 0 1 6 0v5a3 3 0 0 1-6 0z",
    "M5 11a7 7 0 0 0 14 0",
    "M12 18v3",
];

/// A face, for the laughing reaction.
const FACE: &str = "M3 12a9 9 0 1 0 18 0a9 9 0 1 0-18 0";

impl IconName {
    /// The reactions, in the order a picker shows them.
    pub const REACTIONS: [IconName; 6] = [
        IconName::ThumbsUp,
        IconName::Clap,
        IconName::Laugh,
        IconName::Party,
        IconName::Heart,
        IconName::RaisedHand,
    ];

    /// The icon's `snake_case` name (for reactions, the name on the wire,
    /// e.g. `thumbs_up`), also its class `icon-{key}`.
    pub fn key(self) -> &'static str {
        match self {
            Self::Bell => "bell",
            Self::Lock => "lock",
            Self::Unlock => "unlock",
            Self::Hand => "hand",
            Self::Leave => "leave",
            Self::Send => "send",
            Self::Close => "close",
            Self::Shield => "shield",
            Self::Key => "key",
            Self::User => "user",
            Self::Users => "users",
            Self::More => "more",
            Self::Check => "check",
            Self::XCircle => "x_circle",
            Self::Warning => "warning",
            Self::Crown => "crown",
            Self::Mic => "mic",
            Self::MicOff => "mic_off",
            Self::Camera => "camera",
            Self::Screen => "screen",
            Self::Search => "search",
            Self::Sliders => "sliders",
            Self::ThumbsUp => "thumbs_up",
            Self::Clap => "clap",
            Self::Laugh => "laugh",
            Self::Party => "party",
            Self::Heart => "heart",
            Self::RaisedHand => "raised_hand",
            Self::Chat => "chat",
        }
    }

    /// The reaction named `name` on the wire (`thumbs_up`, `clap`, `laugh`,
    /// `party`, `heart`, `raised_hand`), if it is one.
    pub fn reaction(name: &str) -> Option<Self> {
        Self::REACTIONS.into_iter().find(|r| r.key() == name)
    }

    /// The strokes, as SVG path data on the 24×24 grid. A dot is a
    /// zero-length line drawn with round caps.
    pub fn paths(self) -> &'static [&'static str] {
        match self {
            Self::Bell => &[
                "M6 16v-5a6 6 0 0 1 12 0v5l2 2H4z",
                "M10 21h4",
            ],
            Self::Lock => &[LOCK_BODY, "M8 11V7a4 4 0 0 1 8 0v4", "M12 15v2"],
            Self::Unlock => &[LOCK_BODY, "M8 11V7a4 4 0 0 1 7.7-1.5", "M12 15v2"],
            Self::Hand => &HAND,
            Self::Leave => &[
                "M13 4H6a1 1 0 0 0-1 1v14a1 1 0 0 0 1 1h7",
                "M10 12h10",
                "M17 9l3 3-3 3",
            ],
            Self::Send => &["M21 3L10 14", "M21 3l-6.5 18-4.5-7-7-4.5z"],
            Self::Close => &["M6 6l12 12", "M18 6L6 18"],
            Self::Shield => &[
                "M12 3l8 3v6c0 4.6-3.4 8-8 9-4.6-1-8-4.4-8-9V6z",
                "M9 12l2 2 4-4",
            ],
            Self::Key => &[
                "M3.5 15.5a4 4 0 1 0 8 0a4 4 0 1 0-8 0",
                "M10.5 12.5L20 3",
                "M16 7l3 3",
                "M14 9l2 2",
            ],
            Self::User => &["M8 8a4 4 0 1 0 8 0a4 4 0 1 0-8 0", "M4 21a8 8 0 0 1 16 0"],
            Self::Users => &[
                "M5.5 8a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0-7 0",
                "M2 20a7 7 0 0 1 14 0",
                "M16 4.6a3.5 3.5 0 0 1 0 6.8",
                "M18.5 13.5A7 7 0 0 1 22 20",
            ],
            Self::More => &["M12 5h0", "M12 12h0", "M12 19h0"],
            Self::Check => &["M5 12.5l4.5 4.5L19 7.5"],
            Self::XCircle => &[FACE, "M9 9l6 6", "M15 9l-6 6"],
            Self::Warning => &[
                "M10.3 4.2a2 2 0 0 1 3.4 0l7.6 13.3a2 2 0 0 1-1.7 3H4.4a2 2 0 0 1-1.7-3z",
                "M12 9.5v4",
                "M12 17h0",
            ],
            Self::Crown => &["M3 7.5l4.5 4.5L12 5l4.5 7L21 7.5 19 18H5z", "M5 21h14"],
            Self::Mic => &MIC,
            Self::MicOff => &[MIC[0], MIC[1], MIC[2], "M3 3l18 18"],
            Self::Camera => &[
                "M4 7h9a2 2 0 0 1 2 2v6a2 2 0 0 1-2 2H4a2 2 0 0 1-2-2V9a2 2 0 0 1 2-2z",
                "M15 11l6-3.5v9L15 13",
            ],
            Self::Screen => &[
                "M4 4h16a1 1 0 0 1 1 1v10a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z",
                "M8 20h8",
                "M12 16v4",
            ],
            Self::Search => &["M4 11a7 7 0 1 0 14 0a7 7 0 1 0-14 0", "M16 16l5 5"],
            Self::Sliders => &["M4 7h9", "M17 7h3", "M15 5v4", "M4 17h3", "M11 17h9", "M9 15v4"],
            Self::ThumbsUp => &[
                "M3 10h4v11H3z",
                "M7 10l3.5-6.5a2 2 0 0 1 3.5 1.8L13 10h6a2 2 0 0 1 2 2.3l-1.3 7A2 2 0 0 1 17.7 21H7",
            ],
            Self::Clap => &[
                "M6.5 14.5l5-5a1.5 1.5 0 0 1 2.1 2.1l-2.6 2.6",
                "M8.5 12.5l4.6-4.6a1.5 1.5 0 0 1 2.1 2.1l-3.8 3.8",
                "M12.5 13.5l2.8-2.8a1.5 1.5 0 0 1 2.1 2.1l-4.2 4.2a5 5 0 0 1-7.1 0l-.6-.6a3 3 0 0 1 0-4.2L8 10.6",
                "M15 2.5v2",
                "M19 4l-1.5 1.5",
                "M21.5 8h-2",
            ],
            Self::Laugh => &[
                FACE,
                "M7.5 9.5l1.5-1 1.5 1",
                "M13.5 9.5l1.5-1 1.5 1",
                "M7.5 13h9a4.5 4.5 0 0 1-9 0z",
            ],
            Self::Party => &[
                "M3 21l4.5-12 7.5 7.5z",
                "M13 3.5v2",
                "M20.5 11h-2",
                "M18.5 5.5L16 8",
                "M10 4.5l.5 1.5",
                "M19.5 15l-1.5-.5",
            ],
            Self::Heart => &[
                "M12 20s-8-4.8-8-10.5A4.5 4.5 0 0 1 12 6.8 4.5 4.5 0 0 1 20 9.5C20 15.2 12 20 12 20z",
            ],
            Self::RaisedHand => &[HAND[0], HAND[1], HAND[2], HAND[3], "M4 5.5a5 5 0 0 1 2-2.5"],
            Self::Chat => &[
                "M5 4h14a2 2 0 0 1 2 2v9a2 2 0 0 1-2 2h-8l-5 4v-4H5a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z",
                "M8 9h8",
                "M8 12.5h5",
            ],
        }
    }
}

/// An inline `<svg class="icon icon-{key}">`. Without `label` it is
/// decorative (`aria-hidden`); with one it is an image of that name
/// (`role="img"`, `aria-label` and a `<title>` that shows on hover), for
/// an icon that stands alone, e.g. the raised hand in a participant's row.
#[component]
pub fn Icon(
    /// Which icon.
    name: IconName,
    /// What the icon says, when nothing else says it.
    #[prop(optional, into)]
    label: Option<String>,
) -> impl IntoView {
    let decorative = label.is_none().then_some("true");
    let role = label.is_some().then_some("img");
    // SVG's own <title>: `view!` would make an HTML one outside an <svg>.
    let title = label.clone().map(|l| leptos::svg::title().child(l));
    view! {
        <svg
            class=format!("icon icon-{}", name.key())
            viewBox="0 0 24 24"
            fill="none"
            stroke="currentColor"
            stroke-width="2"
            stroke-linecap="round"
            stroke-linejoin="round"
            focusable="false"
            aria-hidden=decorative
            role=role
            aria-label=label
        >
            {title}
            {name.paths().iter().map(|d| view! { <path d=*d></path> }).collect_view()}
        </svg>
    }
}
