//! Opening many envelopes at once, off the page's main thread.
//!
//! Every WebCrypto call answers on a task of its own, on the thread that
//! made it. During a flood in an E2EE room that is thousands of tasks a
//! second on the main thread, next to the socket, the list and the
//! browser's rendering, and the page fell behind the transport (0.63–0.66×
//! its rate). A batch goes to a dedicated worker in one message and comes
//! back in one, so the main thread pays once per batch.
//!
//! The key travels as the same non-extractable `CryptoKey` handle the page
//! holds (structured cloning keeps it non-extractable): no key bytes ever
//! reach script, here or in the worker. The worker is built from a `blob:`
//! URL, which the page's CSP allows for workers; if a stricter policy (or a
//! browser) refuses it, or it fails, batches open on the main thread, as
//! single messages always do (one round trip to a worker would only add to
//! their latency).

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{CryptoKey, SubtleCrypto};

#[wasm_bindgen(inline_js = r#"
// Opens each envelope; `null` where one does not open. The worker runs
// this same function (its source is put into the worker's).
function openAll(subtle, key, envs, aads, head, tagBits) {
  return Promise.all(envs.map((env, i) => subtle.decrypt(
    { name: 'AES-GCM', iv: env.subarray(1, head), additionalData: aads[i], tagLength: tagBits },
    key, env.subarray(head)).then((b) => new Uint8Array(b), () => null)));
}

const SRC = `const openAll = ${openAll};
let key = null;
onmessage = async (e) => {
  const m = e.data;
  if (m.key) { key = m.key; return; }
  let out = null;
  try {
    out = await openAll(crypto.subtle, key, m.envs, m.aads, m.head, m.tagBits);
  } catch (_) {}
  postMessage({ id: m.id, out }, out ? out.filter(Boolean).map((u) => u.buffer) : []);
};`;

export class GcmBatcher {
  constructor(offload) {
    this.pending = new Map();
    this.next = 0;
    this.key = null;
    this.worker = null;
    this.url = null;
    // Started at the first batch: most sessions never have one.
    this.failed = !offload;
  }
  start() {
    try {
      this.url = URL.createObjectURL(new Blob([SRC], { type: 'text/javascript' }));
      this.worker = new Worker(this.url, { name: 'quorum-e2ee-open' });
      this.worker.onmessage = (e) => this.done(e.data);
      this.worker.onerror = () => this.close();
    } catch (_) {
      this.close();
    }
  }
  open(subtle, key, envs, aads, head, tagBits) {
    const args = [subtle, key, envs, aads, head, tagBits];
    if (!this.worker && !this.failed) this.start();
    if (!this.worker) return openAll(...args);
    try {
      if (this.key !== key) {
        this.worker.postMessage({ key });
        this.key = key;
      }
      const id = this.next++;
      const answer = new Promise((resolve) => this.pending.set(id, { resolve, args }));
      this.worker.postMessage({ id, envs, aads, head, tagBits });
      return answer;
    } catch (_) {
      this.close();
      return openAll(...args);
    }
  }
  done(m) {
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.out) {
      p.resolve(m.out);
      return;
    }
    // The worker could not open them (no WebCrypto there?): for good.
    this.close();
    p.resolve(openAll(...p.args));
  }
  // For good: what the worker still had opens here, and so does the rest.
  close() {
    this.failed = true;
    if (this.worker) this.worker.terminate();
    if (this.url) URL.revokeObjectURL(this.url);
    this.worker = null;
    this.url = null;
    const pending = this.pending;
    this.pending = new Map();
    for (const p of pending.values()) p.resolve(openAll(...p.args));
  }
  offloads() {
    return !this.failed;
  }
}
"#)]
extern "C" {
    /// A worker that opens batches of envelopes (started at the first),
    /// or the main thread if none can be had.
    pub(super) type GcmBatcher;

    /// With a worker if `offload` (and one can be had).
    #[wasm_bindgen(constructor)]
    pub(super) fn new(offload: bool) -> GcmBatcher;

    /// Opens each of `envs` (`VERSION || IV || ct || tag`, the IV ending
    /// at `head`) bound to the `aads` at the same index: resolves to an
    /// array of plaintexts, `null` where one does not open. Never rejects.
    #[wasm_bindgen(method)]
    pub(super) fn open(
        this: &GcmBatcher,
        subtle: &SubtleCrypto,
        key: &CryptoKey,
        envs: &Array,
        aads: &Array,
        head: u32,
        tag_bits: u32,
    ) -> Promise;

    /// Ends the worker; what it still had opens on the main thread.
    #[wasm_bindgen(method)]
    pub(super) fn close(this: &GcmBatcher);

    /// Whether batches go to a worker (it has neither failed nor been
    /// unable to open a batch).
    #[wasm_bindgen(method)]
    pub(super) fn offloads(this: &GcmBatcher) -> bool;
}

/// Copies `items` into two JS arrays of fresh `Uint8Array`s (envelopes,
/// AADs), for [`GcmBatcher::open`]: a worker gets copies anyway, and the
/// main thread's fallback must not hold views into wasm memory across an
/// await.
pub(super) fn arrays<'a>(items: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> (Array, Array) {
    let (envs, aads) = (Array::new(), Array::new());
    for (env, aad) in items {
        envs.push(&Uint8Array::from(env));
        aads.push(&Uint8Array::from(aad));
    }
    (envs, aads)
}

/// The plaintexts of a resolved [`GcmBatcher::open`], in order.
pub(super) fn plaintexts(answer: &JsValue) -> Vec<Option<Vec<u8>>> {
    let Some(list) = answer.dyn_ref::<Array>() else {
        return Vec::new();
    };
    list.iter()
        .map(|v| v.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec))
        .collect()
}
