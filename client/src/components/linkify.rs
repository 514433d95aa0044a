//! Chat text with its web addresses as links. Only `http://` and
//! `https://` become links (never `javascript:` or `data:`), they open in
//! a new tab without handing it our page (`noopener noreferrer`), and
//! everything else stays plain text: Leptos escapes it, so a message can
//! never inject markup.

use leptos::prelude::*;

/// A piece of a message: plain text, or an address to link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    /// Shown as it is.
    Text(&'a str),
    /// An `http(s)://` address.
    Link(&'a str),
}

/// Characters that end an address when they close it (a sentence's
/// full stop, a closing bracket the address did not open).
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', ')', ']', '}', '\'', '"', '>'];

/// Splits `text` into plain runs and links, in order; the pieces joined
/// give `text` back.
pub fn split_links(text: &str) -> Vec<Piece<'_>> {
    let mut pieces = Vec::new();
    // Where the current plain run began, and where to look next.
    let (mut plain, mut from) = (0, 0);
    while let Some(start) = find_scheme(&text[from..]).map(|i| i + from) {
        let tail = &text[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '<')
            .unwrap_or(tail.len());
        let mut link = &tail[..end];
        while let Some(c) = link.chars().last().filter(|c| TRAILING.contains(c)) {
            // A closing bracket the address opened is part of it.
            if c == ')' && link.matches('(').count() >= link.matches(')').count() {
                break;
            }
            link = &link[..link.len() - c.len_utf8()];
        }
        let scheme_len = if link
            .get(..8)
            .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        {
            8
        } else {
            7
        };
        if link.len() <= scheme_len {
            // A bare scheme stays text; look again after it.
            from = start + scheme_len.min(tail.len());
            continue;
        }
        if start > plain {
            pieces.push(Piece::Text(&text[plain..start]));
        }
        pieces.push(Piece::Link(link));
        plain = start + link.len();
        from = plain;
    }
    if plain < text.len() {
        pieces.push(Piece::Text(&text[plain..]));
    }
    pieces
}

/// Where the next `http://` or `https://` starts, at a word's start.
fn find_scheme(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(i) = find_ci(&bytes[from..], b"http").map(|i| i + from) {
        let at_word_start = s[..i].chars().last().is_none_or(|c| !c.is_alphanumeric());
        let rest = &bytes[i..];
        let scheme = starts_ci(rest, b"http://") || starts_ci(rest, b"https://");
        if at_word_start && scheme {
            return Some(i);
        }
        from = i + 4;
    }
    None
}

/// Whether `hay` starts with ASCII `needle`, ignoring case.
fn starts_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.get(..needle.len())
        .is_some_and(|h| h.eq_ignore_ascii_case(needle))
}

/// The first position of ASCII `needle` in `hay`, ignoring case.
fn find_ci(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len())
        .position(|w| w.eq_ignore_ascii_case(needle))
}

/// `<p class="text">` for a chat message, its addresses as links.
#[component]
pub fn MessageText(text: String) -> impl IntoView {
    let pieces = split_links(&text);
    if let [Piece::Text(_)] = pieces.as_slice() {
        // Most messages have no address: one text node, no list of views.
        return view! { <p class="text">{text}</p> }.into_any();
    }
    let pieces: Vec<AnyView> = pieces
        .into_iter()
        .map(|p| match p {
            Piece::Text(t) => t.to_string().into_any(),
            Piece::Link(href) => view! {
                <a href=href.to_string() target="_blank" rel="noopener noreferrer">
                    {href.to_string()}
                </a>
            }
            .into_any(),
        })
        .collect();
    view! { <p class="text">{pieces}</p> }.into_any()
}

#[cfg(test)]
mod tests {
    use super::*;
    // In the browser: plain `#[test]`s would not run under wasm-bindgen-test.
    use wasm_bindgen_test::wasm_bindgen_test as test;
    use Piece::{Link, Text};

    #[test]
    fn addresses_become_links_and_nothing_else_does() {
        assert_eq!(
            split_links("see https://example.org/a?b=1. Then http://x.y/(z)!"),
            vec![
                Text("see "),
                Link("https://example.org/a?b=1"),
                Text(". Then "),
                Link("http://x.y/(z)"),
                Text("!"),
            ]
        );
        // Other schemes, a bare scheme and a scheme inside a word stay text.
        for s in [
            "javascript:alert(1)",
            "data:text/html,<b>",
            "https:// nothing",
            "xhttps://no",
            "",
        ] {
            let joined: String = split_links(s)
                .iter()
                .map(|p| match p {
                    Text(t) | Link(t) => *t,
                })
                .collect();
            assert_eq!(joined, s);
            assert!(split_links(s).iter().all(|p| matches!(p, Text(_))), "{s}");
        }
        assert_eq!(
            split_links("(HTTPS://Ex.org) ünï https://é.example"),
            vec![
                Text("("),
                Link("HTTPS://Ex.org"),
                Text(") ünï "),
                Link("https://é.example"),
            ]
        );
        assert_eq!(
            split_links("<https://a.b>"),
            vec![Text("<"), Link("https://a.b"), Text(">")]
        );
    }
}
