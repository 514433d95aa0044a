//! A list's items kept in step with the rows it draws, without ever
//! moving an item that stays (the chat list, the participant list, the
//! toasts, the reaction feed, the waiting room, "Send to"'s options).
//!
//! Leptos' `<For>` decides whether a kept item must move by counting the
//! additions and removals before it, so an update that both takes items
//! from the top and adds some at the bottom (a chat burst while following
//! the newest), or adds several above (older messages as someone reads
//! back, people joining at once), takes kept items out of the page and
//! puts them back. Whatever had the focus in them (a sender's **Reply
//! privately**, a moderator's menu) loses it, and the chat list, a live
//! region, has screen readers read them out again. These lists keep their
//! order, so an update only takes some rows away and adds some before,
//! between or after those kept: here the ones that go are taken out, the
//! new ones put in place, and the kept ones are never touched.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use leptos::html::ElementType;
use leptos::prelude::*;
use leptos::tachys::view::any_view::AnyViewState;
use leptos::tachys::view::{Mountable, Render};
use wasm_bindgen::JsCast;

/// Rows whose reactive owners hang from one shelf.
const SHELF: usize = 64;

/// One drawn row: its key, what was built for it, and the reactive owner
/// of its view, disposed with it.
struct Drawn<K> {
    key: K,
    state: AnyViewState,
    owner: Owner,
    /// The shelf its owner hangs from, kept while the row is.
    _shelf: Owner,
}

/// Where rows' reactive owners hang: shelves, each a child of the list's
/// owner with up to [`SHELF`] rows. An owner keeps a record of every child
/// it ever had until it is itself disposed of, so rows hung from the
/// list's owner directly would each leave one behind for as long as the
/// list is shown: a long meeting's every message drawn. A shelf, records
/// and all, goes with its last row.
struct Shelves {
    list: Owner,
    shelf: Owner,
    hung: usize,
}

impl Shelves {
    fn new(list: Owner) -> Self {
        let shelf = list.child();
        Self {
            list,
            shelf,
            hung: 0,
        }
    }

    /// A new row's owner, and the shelf it hangs from.
    fn hang(&mut self) -> (Owner, Owner) {
        if self.hung == SHELF {
            self.shelf = self.list.child();
            self.hung = 0;
        }
        self.hung += 1;
        (self.shelf.child(), self.shelf.clone())
    }
}

impl<K> Drawn<K> {
    /// Takes it out of the page and disposes of its view.
    fn remove(mut self) {
        self.state.unmount();
        self.owner.cleanup();
    }
}

/// Keeps the children of `list` (any element) after those it starts with
/// (drawn by the list itself, before any row) in step with `rows()`, each
/// drawn by `draw` under its own reactive owner and told apart by `key`.
pub(crate) fn keep_rows<E, R, K>(
    list: NodeRef<E>,
    rows: impl Fn() -> Vec<R> + 'static,
    key: impl Fn(&R) -> K + 'static,
    draw: impl Fn(R) -> AnyView + 'static,
) where
    E: ElementType,
    E::Output: JsCast + Clone + 'static,
    R: 'static,
    K: Eq + Hash + 'static,
{
    // Under the list's own owner: a row's view must outlive the effect's
    // run that drew it (each run disposes of what the one before made).
    let list_owner = Owner::current().expect("keep_rows runs in a component");
    // The rows drawn, and the element they were drawn in.
    let drawn = StoredValue::new_local((
        Vec::<Drawn<K>>::new(),
        Shelves::new(list_owner),
        None::<web_sys::Element>,
    ));
    Effect::new(move || {
        let next = rows();
        let Some(el) = list.get() else {
            return;
        };
        let el: web_sys::Element = el.unchecked_into();
        untrack(|| {
            drawn.update_value(|(d, shelves, drawn_in)| {
                let mut old = std::mem::take(d);
                // A list under a `<Show>` is a new element each time it
                // shows: the rows drawn in the old one went with it.
                if drawn_in.as_ref() != Some(&el) {
                    old.drain(..).for_each(Drawn::remove);
                    *drawn_in = Some(el.clone());
                }
                *d = step(&el, old, next, &key, &draw, shelves);
            });
        });
    });
}

/// From the rows drawn (`old`) to `next`: the rows no longer there are
/// taken out, the new ones put in before the kept row they precede (or at
/// the end), and the kept ones stay where they are.
fn step<R, K: Eq + Hash>(
    list: &web_sys::Element,
    old: Vec<Drawn<K>>,
    next: Vec<R>,
    key: &impl Fn(&R) -> K,
    draw: &impl Fn(R) -> AnyView,
    shelves: &mut Shelves,
) -> Vec<Drawn<K>> {
    let next: Vec<(K, R)> = next.into_iter().map(|r| (key(&r), r)).collect();
    // Kept rows, in the page's order, with their place in `next`, which
    // must only grow: a window never reorders, but a row out of order is
    // drawn afresh rather than moved.
    let mut kept = VecDeque::with_capacity(old.len());
    {
        let wanted: HashMap<&K, usize> =
            next.iter().enumerate().map(|(i, (k, _))| (k, i)).collect();
        let mut last = None;
        for d in old {
            match wanted.get(&d.key) {
                Some(&at) if last.is_none_or(|l| at > l) => {
                    last = Some(at);
                    kept.push_back((at, d));
                }
                _ => d.remove(),
            }
        }
    }
    let mut out = Vec::with_capacity(next.len());
    for (at, (k, row)) in next.into_iter().enumerate() {
        if kept.front().is_some_and(|(i, _)| *i == at) {
            if let Some((_, d)) = kept.pop_front() {
                out.push(d);
            }
            continue;
        }
        let (owner, shelf) = shelves.hang();
        let mut state = owner.with(|| draw(row).build());
        let placed = kept
            .front()
            .is_some_and(|(_, before)| before.state.insert_before_this(&mut state));
        if !placed {
            state.mount(list, None);
        }
        out.push(Drawn {
            key: k,
            state,
            owner,
            _shelf: shelf,
        });
    }
    out
}
