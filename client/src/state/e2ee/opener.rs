//! The session's opener: received payloads are opened in the order they
//! came and handed on in that order, in batches when they come fast.

use std::rc::Rc;

use futures::channel::mpsc;
use futures::StreamExt;
use leptos::prelude::*;
use quorum_shared::e2ee::aad;

use super::{E2eeContext, Job};
use crate::crypto::Batcher;

/// Payloads opened together at most: whatever waits when the opener
/// looks, up to this many. A live message on its own is a batch of one.
/// The worker's answer is taken in (parsed, recorded, queued for the
/// list) as one task: at 64 that task took 20-37 ms in a flood, at this
/// size about 10 ms, at the same rate.
const BATCH: usize = 32;
/// Batches in flight at once. WebCrypto answers on a later task, so one at
/// a time would cap a busy room at one batch per round trip; this many
/// overlap while results are still handed on in order.
const BATCHES_AHEAD: usize = 8;

/// What an opening job comes to, handed on in the order queued.
enum Opened {
    Message(Box<dyn FnOnce(Option<Vec<u8>>)>, Option<Vec<u8>>),
    Then(Box<dyn FnOnce()>),
    /// The session is gone.
    Stop,
}

/// Opens queued payloads as soon as the key is there, handing each on in
/// the order queued. Ends with the session (the sender side is dropped),
/// and its batch worker with it.
pub(super) async fn run_opener(ctx: E2eeContext, rx: mpsc::UnboundedReceiver<Job>) {
    let batcher = Rc::new(Batcher::new());
    let mut opened = rx
        .ready_chunks(BATCH)
        .map(move |jobs| open_jobs(ctx, batcher.clone(), jobs))
        .buffered(BATCHES_AHEAD);
    while let Some(batch) = opened.next().await {
        for done in batch {
            match done {
                Opened::Message(done, plain) => done(plain),
                Opened::Then(f) => f(),
                Opened::Stop => return,
            }
        }
    }
}

/// Opens the payloads among `jobs`: one on the main thread (a worker's
/// round trip would only add to its latency), more through the batch
/// worker, which takes their crypto off the main thread.
async fn open_jobs(ctx: E2eeContext, batcher: Rc<Batcher>, jobs: Vec<Job>) -> Vec<Opened> {
    let opens = jobs.iter().filter(|j| matches!(j, Job::Open(_))).count();
    let plain: Vec<Option<Vec<u8>>> = if opens == 0 {
        Vec::new()
    } else {
        let (Some(key), Some(sid)) = (ctx.key().await, ctx.room_sid.try_get_value()) else {
            return vec![Opened::Stop];
        };
        let items: Vec<(&[u8], Vec<u8>)> = jobs
            .iter()
            .filter_map(|j| match j {
                Job::Open(s) => Some((s.payload.as_slice(), aad(&sid, &s.party, s.kind))),
                Job::Then(_) => None,
            })
            .collect();
        match items.as_slice() {
            [(env, ad)] => vec![key.open(env, ad).await.ok()],
            _ => {
                let items: Vec<(&[u8], &[u8])> =
                    items.iter().map(|(e, a)| (*e, a.as_slice())).collect();
                key.open_many(&batcher, &items)
                    .await
                    .into_iter()
                    .map(Result::ok)
                    .collect()
            }
        }
    };
    let mut plain = plain.into_iter();
    jobs.into_iter()
        .map(|j| match j {
            Job::Open(s) => Opened::Message(s.done, plain.next().flatten()),
            Job::Then(f) => Opened::Then(f),
        })
        .collect()
}
