//! The pure parts of staying connected: token expiry and the renewal
//! schedule, backoff and giving up, the queue of unsent chat, merging
//! history into the log, reading direct-get replies, and the participant
//! list reducer.

use std::time::Duration;

use base64::Engine;
use quorum_client::nats::{
    give_up_after_from, is_pub_denied, is_sub_denied, should_give_up, GIVE_UP_AFTER,
};
use quorum_client::state::chat::ChatLog;
use quorum_client::state::history::{
    batch_request, last_request, parse_reply, plan, widen, DirectReply, Plan, Stored,
};
use quorum_client::state::outbox::Outbox;
use quorum_client::state::participants::{Roster, RosterEvent};
use quorum_client::state::token::{renew_delay, token_times, TokenTimes, MIN_RENEW_DELAY};
use quorum_shared::events::PresenceState;
use quorum_shared::nats_proto::{Headers, Message};
use quorum_shared::peer::ChatMessage;
use wasm_bindgen_test::*;

use super::entry;

// ---------- token ---------- //

fn jwt(claims: &str) -> String {
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    format!("{}.{}.sig", b64.encode("{}"), b64.encode(claims))
}

#[wasm_bindgen_test]
fn token_expiry_is_read_from_the_payload() {
    let t = jwt(r#"{"nbf":1000,"exp":1600,"user_id":"u","name":"Ünï"}"#);
    assert_eq!(
        token_times(&t),
        Some(TokenTimes {
            nbf: Some(1000),
            exp: 1600
        })
    );
    // Padding, if an issuer adds it, is tolerated.
    assert_eq!(
        token_times("x.eyJleHAiOjV9.y"),
        Some(TokenTimes { nbf: None, exp: 5 })
    );
    assert_eq!(token_times("x.eyJleHAiOjV9==.y").map(|t| t.exp), Some(5));
    for bad in [
        "",
        "abc",
        "a.!!!.c",
        &jwt("{}"),
        &jwt("[1]"),
        &jwt(r#"{"exp":"x"}"#),
    ] {
        assert_eq!(token_times(bad), None, "{bad}");
    }
}

#[wasm_bindgen_test]
fn renewal_is_planned_at_two_thirds_of_the_lifetime_left() {
    let times = TokenTimes {
        nbf: Some(1000),
        exp: 1600,
    };
    let secs = Duration::from_secs;
    assert_eq!(renew_delay(1000.0, times, false), secs(400));
    // A link opened 300 s after it was issued: two thirds of what is left.
    assert_eq!(renew_delay(1300.0, times, false), secs(200));
    // A slow clock does not stretch it beyond the token's lifetime.
    assert_eq!(renew_delay(0.0, times, false), secs(400));
    // Expired, or a fast clock: soon, but never in a tight loop.
    assert_eq!(renew_delay(5000.0, times, false), MIN_RENEW_DELAY);
    // Just issued by the server: its whole lifetime, whatever our clock says.
    assert_eq!(renew_delay(5000.0, times, true), secs(400));
    // A short token keeps a margin to renew in: 15 s before its end, not
    // a third of a few seconds.
    let short = TokenTimes {
        nbf: Some(1000),
        exp: 1030,
    };
    assert_eq!(renew_delay(1000.0, short, false), secs(15));
    // 18 s left: 3 s before the margin, but never sooner than the floor.
    assert_eq!(renew_delay(1012.0, short, false), MIN_RENEW_DELAY);
    let no_nbf = TokenTimes {
        nbf: None,
        exp: 1600,
    };
    assert_eq!(renew_delay(1000.0, no_nbf, true), secs(400));
}

// ---------- backoff and giving up ---------- //

#[wasm_bindgen_test]
fn giving_up_takes_five_minutes_unless_the_link_says_otherwise() {
    assert_eq!(GIVE_UP_AFTER, Duration::from_secs(300));
    assert_eq!(give_up_after_from(""), GIVE_UP_AFTER);
    assert_eq!(
        give_up_after_from("?give_up_secs=3"),
        Duration::from_secs(3)
    );
    assert_eq!(
        give_up_after_from("?a=1&give_up_secs=42&b"),
        Duration::from_secs(42)
    );
    for bad in [
        "?give_up_secs=0",
        "?give_up_secs=-1",
        "?give_up_secs=x",
        "?give_up_secs",
        "?xgive_up_secs=3",
    ] {
        assert_eq!(give_up_after_from(bad), GIVE_UP_AFTER, "{bad}");
    }
    assert!(!should_give_up(1000.0, 300_999.0, GIVE_UP_AFTER));
    assert!(should_give_up(1000.0, 301_000.0, GIVE_UP_AFTER));
}

#[wasm_bindgen_test]
fn refused_subscriptions_and_publishes_are_recognised() {
    let sub = r#"Permissions Violation for Subscription to "qr.r.chat.*""#;
    assert!(is_sub_denied(sub, "qr.r.chat.*"));
    assert!(!is_sub_denied(sub, "qr.r.public"));
    assert!(!is_pub_denied(sub, "qr.r.chat.*"));
    let publish = r#"Permissions Violation for Publish to "qr.r.chat.u""#;
    assert!(is_pub_denied(publish, "qr.r.chat.u"));
    assert!(!is_pub_denied(publish, "qr.r.chat.u2"));
}

// ---------- the queue ---------- //

fn msg(id: &str) -> ChatMessage {
    ChatMessage {
        id: id.to_string(),
        name: "Ann".to_string(),
        text: format!("text {id}"),
        sent_at_ms: 0,
    }
}

fn ids(v: Vec<ChatMessage>) -> Vec<String> {
    v.into_iter().map(|m| m.id).collect()
}

#[wasm_bindgen_test]
fn queued_chat_goes_out_in_order_once_per_connection_until_confirmed() {
    let mut o = Outbox::new();
    for id in ["a", "b", "c"] {
        o.push(msg(id));
    }
    assert_eq!(ids(o.due(1)), ["a", "b", "c"]);
    o.mark_sent("a", 1);
    o.mark_sent("b", 1);
    assert_eq!(ids(o.due(1)), ["c"], "nothing twice on one connection");
    assert!(o.confirm("a"));
    assert!(!o.confirm("a"));
    // The socket died before "b" came back: the next one sends it again,
    // still ahead of what was queued after it.
    assert_eq!(ids(o.due(2)), ["b", "c"]);
    o.push(msg("d"));
    assert_eq!(ids(o.due(2)), ["b", "c", "d"]);
    assert!(o.confirm("c"));
    assert_eq!(o.ids().collect::<Vec<_>>(), ["b", "d"]);
    assert_eq!(o.len(), 2);
    o.confirm("b");
    o.confirm("d");
    assert!(o.is_empty());
}

#[wasm_bindgen_test]
fn messages_being_encrypted_hold_back_those_behind_them() {
    let mut o = Outbox::new();
    for id in ["a", "b", "c"] {
        o.push_unsealed(msg(id));
    }
    assert!(o.due_wire(1).is_empty(), "nothing goes out unencrypted");
    // "b" finished first: it still waits for "a".
    o.sealed("b", b"B".to_vec());
    assert!(o.due_wire(1).is_empty());
    o.sealed("a", b"A".to_vec());
    assert_eq!(
        o.due_wire(1),
        [
            ("a".to_string(), b"A".to_vec()),
            ("b".to_string(), b"B".to_vec())
        ]
    );
    o.mark_sent("a", 1);
    o.mark_sent("b", 1);
    o.sealed("c", b"C".to_vec());
    assert_eq!(o.due_wire(1), [("c".to_string(), b"C".to_vec())]);
    // Plain rooms: sent as the message's JSON.
    let mut plain = Outbox::new();
    plain.push(msg("p"));
    assert_eq!(plain.due_wire(1), [("p".to_string(), msg("p").encode())]);
}

// ---------- history ---------- //

fn order(log: &ChatLog) -> Vec<String> {
    log.entries().map(|e| e.id.clone()).collect()
}

#[wasm_bindgen_test]
fn history_merges_by_sequence_and_drops_copies() {
    let mut log = ChatLog::new();
    // A live message arrives while the history loads.
    assert!(log.push(entry("live1", "bob", false)));
    // Older history lands before it, in sequence order.
    assert!(log.insert(entry("h2", "bob", false), Some(3)));
    assert!(log.insert(entry("h1", "ann", false), Some(1)));
    // The live one comes back from history: no copy, but its place is known.
    assert!(!log.insert(entry("live1", "bob", false), Some(5)));
    assert_eq!(order(&log), ["h1", "h2", "live1"]);
    assert_eq!(log.seq_of(&entry("live1", "bob", false).key()), Some(5));
    // Typed while offline: shown at once, pending.
    let mine = entry("mine1", "alice", true);
    assert!(log.push_pending(mine.clone()));
    assert!(log.is_pending(&mine.key()));
    // The gap fetched after the reconnect goes before it.
    assert!(log.insert(entry("gap1", "bob", false), Some(6)));
    assert!(log.insert(entry("gap2", "bob", false), Some(7)));
    assert_eq!(order(&log), ["h1", "h2", "live1", "gap1", "gap2", "mine1"]);
    // Its echo confirms it (a visible change) exactly once.
    let rev = log.revision();
    assert!(log.insert(mine.clone(), None));
    assert!(!log.is_pending(&mine.key()));
    assert_eq!(log.revision(), rev + 1);
    assert!(!log.insert(mine.clone(), Some(8)));
    assert_eq!(log.revision(), rev + 1);
    // A late one from history slots in by sequence.
    assert!(log.insert(entry("h3", "ann", false), Some(4)));
    assert_eq!(
        order(&log),
        ["h1", "h2", "h3", "live1", "gap1", "gap2", "mine1"]
    );
}

#[wasm_bindgen_test]
fn a_full_log_keeps_the_newest_when_history_arrives() {
    let mut log = ChatLog::with_cap(2);
    log.insert(entry("b", "bob", false), Some(2));
    log.insert(entry("c", "bob", false), Some(3));
    assert!(
        !log.insert(entry("a", "bob", false), Some(1)),
        "older than all kept"
    );
    assert!(log.insert(entry("d", "bob", false), Some(4)));
    assert_eq!(order(&log), ["c", "d"]);
    // An evicted one does not come back in front.
    assert!(!log.insert(entry("b", "bob", false), Some(2)));
    assert_eq!(order(&log), ["c", "d"]);
}

fn reply(status: Option<u16>, headers: &[(&str, &str)], payload: &[u8]) -> Message {
    let mut h = Headers::new();
    h.status = status;
    for (k, v) in headers {
        h.insert(*k, *v);
    }
    Message {
        subject: "_INBOX.r.u.x.1".into(),
        sid: 4,
        reply_to: None,
        headers: Some(h),
        payload: payload.to_vec(),
    }
}

#[wasm_bindgen_test]
fn direct_get_replies_are_classified() {
    let stored = reply(
        None,
        &[
            ("Nats-Stream", "QR_r"),
            ("Nats-Subject", "qr.r.chat.bob"),
            ("Nats-Sequence", "17"),
            ("Nats-Time-Stamp", "2026-01-01T00:00:00Z"),
            ("Nats-Num-Pending", "3"),
        ],
        b"{}",
    );
    assert_eq!(
        parse_reply(&stored),
        DirectReply::Msg(Stored {
            seq: 17,
            subject: "qr.r.chat.bob".into(),
            payload: b"{}".to_vec(),
            pending: Some(3),
        })
    );
    let eob = reply(
        Some(204),
        &[("Nats-Num-Pending", "7"), ("Nats-Last-Sequence", "5")],
        b"",
    );
    assert_eq!(parse_reply(&eob), DirectReply::End { pending: 7 });
    assert_eq!(
        parse_reply(&reply(Some(404), &[], b"")),
        DirectReply::NotFound
    );
    assert!(matches!(
        parse_reply(&reply(Some(408), &[], b"")),
        DirectReply::Failed(_)
    ));
    assert!(matches!(
        parse_reply(&reply(None, &[("Nats-Subject", "x")], b"")),
        DirectReply::Failed(_)
    ));
    let mut bare = stored.clone();
    bare.headers = None;
    assert!(matches!(parse_reply(&bare), DirectReply::Failed(_)));

    let v: serde_json::Value =
        serde_json::from_slice(&batch_request(0, 256, Some("qr.r.chat.*"))).unwrap();
    assert_eq!(
        v,
        serde_json::json!({"seq": 1, "batch": 256, "next_by_subj": "qr.r.chat.*"})
    );
    let v: serde_json::Value = serde_json::from_slice(&batch_request(9, 1, None)).unwrap();
    assert_eq!(v, serde_json::json!({"seq": 9, "batch": 1}));
    let v: serde_json::Value = serde_json::from_slice(&last_request("qr.r.>")).unwrap();
    assert_eq!(v, serde_json::json!({"last_by_subj": "qr.r.>"}));
}

#[wasm_bindgen_test]
fn the_chat_window_widens_until_it_holds_enough() {
    assert_eq!(widen(601, 1000, 250, 200), None, "enough");
    assert_eq!(widen(601, 1000, 100, 200), Some(201));
    assert_eq!(widen(201, 1000, 150, 200), Some(1));
    assert_eq!(widen(1, 1000, 5, 200), None, "the beginning");
    // A short stream still doubles at least by the wanted count.
    assert_eq!(widen(5, 10, 2, 200), Some(1));

    assert_eq!(plan(None, 0), Plan::Empty);
    assert_eq!(plan(Some(4), 0), Plan::Empty);
    assert_eq!(plan(None, 10), Plan::Initial);
    assert_eq!(plan(Some(10), 12), Plan::CatchUp(11));
    assert_eq!(plan(Some(10), 10), Plan::CatchUp(11));
    assert_eq!(plan(Some(20), 5), Plan::Initial, "stream recreated");
}

// ---------- participants ---------- //

fn presence(id: &str, name: &str, admin: bool, state: PresenceState) -> RosterEvent {
    RosterEvent::Presence {
        user_id: id.into(),
        name: name.into(),
        is_admin: admin,
        state,
    }
}

fn hand(id: &str, raised: bool) -> RosterEvent {
    RosterEvent::Hand {
        user_id: id.into(),
        raised,
    }
}

fn names(r: &Roster) -> Vec<String> {
    r.sorted().into_iter().map(|p| p.name).collect()
}

#[wasm_bindgen_test]
fn the_participant_list_follows_presence_and_hands() {
    use PresenceState::*;
    let mut r = Roster::new("me", "Me", false);
    assert_eq!(names(&r), ["Me"]);
    assert!(r.me().unwrap().me);
    assert!(r.apply(presence("bob", "bob", true, Online)));
    assert!(r.apply(presence("ann", "Ann", false, Online)));
    assert!(!r.apply(presence("ann", "Ann", false, Online)), "no change");
    assert_eq!(names(&r), ["bob", "Ann", "Me"], "moderators first");
    assert!(r.get("bob").unwrap().is_admin);

    assert!(r.apply(hand("bob", true)));
    assert!(!r.apply(hand("bob", true)));
    assert!(!r.apply(hand("ghost", true)), "unknown people are ignored");
    assert!(r.hand_raised("bob"));

    assert!(r.apply(presence("ann", "Ann", false, Disconnected)));
    assert_eq!(r.get("ann").unwrap().state, Disconnected);
    assert!(r.apply(presence("ann", "Ann", false, Offline)));
    assert_eq!(names(&r), ["bob", "Me", "Ann"], "people who left go last");
    assert_eq!(r.present(), 2);

    // History and live overlap after a reconnect: replaying a tail of the
    // events ends in the same state.
    let tail = [
        presence("ann", "Ann", false, Online),
        presence("ann", "Ann", false, Offline),
    ];
    let before = r.clone();
    for ev in tail {
        r.apply(ev);
    }
    assert_eq!(r, before);

    // A blank name shows the id; an empty id is ignored.
    assert!(r.apply(presence("zed", " ", false, Online)));
    assert_eq!(r.get("zed").unwrap().name, "zed");
    assert!(!r.apply(presence("", "x", false, Online)));
    assert_eq!(r.len(), 4);

    // Cleaned up by the server: off the list; never ourselves.
    assert!(r.apply(presence("ann", "Ann", false, Left)));
    assert!(r.get("ann").is_none());
    assert!(
        !r.apply(presence("ann", "Ann", false, Left)),
        "already gone"
    );
    assert!(!r.apply(presence("me", "Me", false, Left)));
    assert!(r.me().is_some());
    assert_eq!(r.len(), 3);
}
