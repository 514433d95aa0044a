// Installed on both pages by the chat_latency bench: one clock, an
// observer of the chat list, a long-task monitor, the composer driver and
// a raw NATS WebSocket connection for the baseline.
const list = document.getElementById('chat-list');
if (!list) { return 'no #chat-list'; }
const now = () => performance.timeOrigin + performance.now();
const re = /lat:(\d+):/;
const s = window.__bench = {
  now,
  added: {},      // n -> arrival time (first time the item was in the DOM)
  inserts: {},    // n -> how many times an <li> for n was inserted
  confirmed: {},  // n -> first time seen without `pending`, minus A's Enter
  raw: {},        // n -> raw NATS arrival - sent
  waiters: [],
  longest: 0,     // longest main-thread task since the last reset, ms
  tasks: 0,
};
const wake = s.wake = () => { for (const w of s.waiters.slice()) { w(); } };
// Where a message spends its time: when the app writes it to its socket
// (A) and when the app reads it from its socket (B). In a plain room the
// marker is read off the wire; in an E2EE room it is sealed, so A takes
// the first frame it writes after Enter, and B the last frame it read
// before the message was in its list (the pages exchange nothing else
// while a sample is under way).
s.appSend = {};
s.appRecv = {};
let enterOf = null;   // A: the sample whose Enter has no frame written yet
let lastRead = null;  // B: when the app last read a frame
const wire = new TextDecoder();
const marker = (data) => {
  if (!(data instanceof ArrayBuffer) && !ArrayBuffer.isView(data)) { return null; }
  const m = /lat:(\d+):/.exec(wire.decode(data));
  return m ? m[1] : null;
};
const send = WebSocket.prototype.send;
WebSocket.prototype.send = function (data) {
  const n = marker(data) ?? enterOf;
  enterOf = null;
  if (n !== null && !(n in s.appSend)) { s.appSend[n] = now(); }
  return send.call(this, data);
};
const dataGetter = Object.getOwnPropertyDescriptor(MessageEvent.prototype, 'data').get;
Object.defineProperty(MessageEvent.prototype, 'data', {
  configurable: true,
  get() {
    const d = dataGetter.call(this);
    if (this.target instanceof WebSocket && !this.__seen) {
      this.__seen = true;
      const t = now();
      lastRead = t;
      const n = marker(d);
      if (n !== null && !(n in s.appRecv)) { s.appRecv[n] = t; }
    }
    return d;
  },
});
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) { s.tasks++; s.longest = Math.max(s.longest, e.duration); }
}).observe({ type: 'longtask' });
// What ran in the longest animation frame since the last reset (printed
// with BENCH_PROFILE).
s.loaf = null;
try {
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      if (!s.loaf || e.duration > s.loaf.duration) {
        s.loaf = { duration: e.duration,
          render: e.renderStart ? e.startTime + e.duration - e.renderStart : 0,
          scripts: e.scripts.map((x) => ({ invoker: x.invoker, fn: x.sourceFunctionName,
            src: (x.sourceURL || '').split('/').pop(), duration: x.duration,
            forced: x.forcedStyleAndLayoutDuration })) };
      }
    }
  }).observe({ type: 'long-animation-frame' });
} catch (e) {}
const look = (li, t) => {
  const m = re.exec(li.textContent || '');
  if (!m) { return; }
  const n = m[1];
  if (!(n in s.added)) {
    s.added[n] = t;
    if (!(n in s.appRecv) && lastRead !== null) { s.appRecv[n] = lastRead; }
  }
  // Only page A, which pressed Enter, has its own messages to confirm.
  const sent = s.sentAt[n];
  if (sent !== undefined && !li.classList.contains('pending') && !(n in s.confirmed)) {
    s.confirmed[n] = t - sent;
  }
};
new MutationObserver((records) => {
  const t = now();
  const items = new Set();
  for (const r of records) {
    const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
    const owner = el && el.closest('li.chat-message');
    if (owner) { items.add(owner); }
    for (const node of r.addedNodes) {
      if (node.nodeType !== 1) { continue; }
      const lis = node.matches('li.chat-message')
        ? [node] : Array.from(node.querySelectorAll('li.chat-message'));
      for (const li of lis) {
        items.add(li);
        const m = re.exec(li.textContent || '');
        if (m) { s.inserts[m[1]] = (s.inserts[m[1]] || 0) + 1; }
      }
    }
  }
  for (const li of items) { look(li, t); }
  wake();
}).observe(list, {
  childList: true, subtree: true, characterData: true,
  attributes: true, attributeFilter: ['class'],
});
s.wait = (pred, ms) => new Promise((resolve) => {
  if (pred()) { resolve(true); return; }
  let timer;
  const done = (v) => {
    clearTimeout(timer);
    s.waiters = s.waiters.filter((x) => x !== check);
    resolve(v);
  };
  const check = () => { if (pred()) { done(true); } };
  timer = setTimeout(() => done(pred()), ms);
  s.waiters.push(check);
});
// Sends one marked message through the composer, as a user would: the
// `input` event sets the draft (typing), Enter sends it (the send action).
s.typedAt = {};  // n -> when typing the text began
s.sentAt = {};   // n -> when Enter was pressed (the send action)
s.send = (n) => {
  const input = document.getElementById('chat-input');
  const typed = now();
  s.typedAt[n] = typed;
  input.value = 'lat:' + n + ':' + typed.toFixed(3);
  input.dispatchEvent(new Event('input', { bubbles: true }));
  // The send action: latency counts from here (typing is the user's).
  const t = now();
  s.sentAt[n] = t;
  enterOf = String(n);
  input.dispatchEvent(new KeyboardEvent('keydown', {
    key: 'Enter', code: 'Enter', bubbles: true, cancelable: true,
  }));
  return t;
};
// Sends `count` marked messages from `from` on, each in its own task (a
// user cannot press Enter twice in one task), as fast as the page lets
// the next task run; resolves with [first send, last send].
s.burst = (from, count) => new Promise((resolve) => {
  const ch = new MessageChannel();
  let i = 0;
  let t0 = null;
  ch.port1.onmessage = () => {
    const t = s.send(from + i);
    if (t0 === null) { t0 = t; }
    i++;
    if (i < count) { ch.port2.postMessage(0); } else { ch.port1.close(); resolve([t0, now()]); }
  };
  ch.port2.postMessage(0);
});
// The baseline: a raw NATS connection over the same WebSocket port, with
// its own join token (`raw_nats.js`, installed first); `sub` subscribes to
// `subject`, else it publishes on it. Resolves once it is connected.
s.rawConnect = (url, token, subject, sub) => {
  const dec = new TextDecoder();
  const taken = (payload, t) => {
    const m = /raw:(\d+):(\d+\.\d+)/.exec(dec.decode(payload));
    if (m && !(m[1] in s.raw)) { s.raw[m[1]] = t - parseFloat(m[2]); }
    wake();
  };
  return window.__rawNats(url, token, subject, sub, taken).then((c) => {
    if (typeof c === 'string') { return c; }
    s.rawSend = (n) => {
      const t = now();
      c.publish('raw:' + n + ':' + t.toFixed(3));
      return t;
    };
    s.rawClose = () => c.ws.close();
    return 'ok';
  });
};
return 'ok';
