// A raw NATS client over WebSocket, for the benches' baselines: what the
// transport alone does between the same pages. Installs
// `window.__rawNats(url, token, subject, sub, onMsg)`, which connects with
// its own join token, subscribes to `subject` if `sub`, and resolves once
// the server answered the PING after CONNECT (and SUB): with
// `{ ws, publish(text) }` (publishing on `subject`), or with an error's
// text. `onMsg(payload, t)` gets each message's bytes (sealed payloads are
// binary) and `t`, when the socket event that brought it began
// (`performance.timeOrigin`-based, so comparable between pages).
window.__rawNats = (url, token, subject, sub, onMsg) => new Promise((resolve) => {
  const enc = new TextEncoder();
  const dec = new TextDecoder();
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  const client = {
    ws,
    publish: (text) => {
      const p = enc.encode(text);
      ws.send(enc.encode('PUB ' + subject + ' ' + p.length + '\r\n' + text + '\r\n'));
    },
  };
  let buf = new Uint8Array(0);
  let ready = false;
  const finish = (v) => { if (!ready) { ready = true; resolve(v); } };
  ws.onerror = () => finish('websocket error');
  ws.onclose = (e) => finish('closed: ' + e.code);
  ws.onopen = () => {
    const connect = { verbose: false, pedantic: false, protocol: 1, auth_token: token };
    ws.send(enc.encode('CONNECT ' + JSON.stringify(connect) + '\r\n'
      + (sub ? 'SUB ' + subject + ' 1\r\n' : '') + 'PING\r\n'));
  };
  ws.onmessage = (ev) => {
    const t = performance.timeOrigin + performance.now();
    const chunk = new Uint8Array(ev.data);
    let all = chunk;
    if (buf.length) {
      all = new Uint8Array(buf.length + chunk.length);
      all.set(buf);
      all.set(chunk, buf.length);
    }
    let at = 0;
    for (;;) {
      let eol = -1;
      for (let i = at; i + 1 < all.length; i++) {
        if (all[i] === 13 && all[i + 1] === 10) { eol = i; break; }
      }
      if (eol < 0) { break; }
      const line = dec.decode(all.subarray(at, eol));
      if (line.startsWith('MSG ')) {
        const len = +line.slice(line.lastIndexOf(' ') + 1);
        if (all.length < eol + 2 + len + 2) { break; }
        onMsg(all.subarray(eol + 2, eol + 2 + len), t);
        at = eol + 2 + len + 2;
        continue;
      }
      at = eol + 2;
      if (line === 'PING') { ws.send(enc.encode('PONG\r\n')); }
      if (line === 'PONG') { finish(client); }
      if (line.startsWith('-ERR')) { finish(line); }
    }
    buf = all.slice(at);
  };
});
