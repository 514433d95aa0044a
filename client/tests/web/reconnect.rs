//! Reading the room's history in the browser: direct-get replies and the
//! chat window that widens until it holds enough. (The other pure parts
//! of staying connected are tested natively, in `client-core/tests`.)

use quorum_client::state::history::{
    batch_request, last_request, parse_reply, plan, widen, DirectReply, Plan, Stored,
};
use quorum_shared::nats_proto::{Headers, Message};
use wasm_bindgen_test::*;

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
