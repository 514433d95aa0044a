//! End to end: what the server decides about a participant reaches the
//! page without a visible reconnect. Tokens are renewed before nats-server
//! would drop the connection; a chat lock (from the start, or set and
//! lifted live) disables the composer; the waiting room lets in and
//! removes. Run with `cargo test -p quorum-e2e --test permissions` after
//! `trunk build --release` and `cargo build -p quorum-server`.

use std::time::Duration;

use fantoccini::Client;
use quorum_e2e::{
    join, send_chat, sleep_until_unix, token_exp, wait_for, wait_for_text, wait_gone, Chromedriver,
    Quorum,
};
use serde_json::json;

const T: Duration = Duration::from_secs(30);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chat_locked_participant_finds_the_composer_locked() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let res = quorum
        .api(
            "/auth/room/getJoinToken",
            json!({ "room_id": "demo", "user_info": {
                "user_id": "muted", "name": "Muted", "is_admin": false,
                "user_metadata": { "lock_settings": { "lock_chat": true } } } }),
        )
        .await;
    let token = res["token"].as_str().expect("a token").to_owned();
    let mut driver = Chromedriver::start();
    let c = driver.browser().await;
    join(&c, &format!("{}/?access_token={token}", quorum.base_url())).await;
    // Nothing told it yet: the server's refusal of the first message does.
    send_chat(&c, "should-not-go-out").await;
    assert!(
        wait_for_text(&c, "#chat-notice", "Chat is locked by a moderator", T).await,
        "no lock notice; page: {}",
        c.source().await.unwrap_or_default()
    );
    assert!(wait_for(&c, "#chat-input[disabled]", T).await);
    c.close().await.ok();
}

/// Records every change of the connection badge's `data-state`.
const WATCH_BADGE: &str = r#"
    window.__states = [];
    const el = document.getElementById('conn-state');
    new MutationObserver(() => window.__states.push(el.dataset.state))
        .observe(el, { attributes: true, attributeFilter: ['data-state'] });
"#;

/// Join-token lifetime for the renewal test, seconds.
const TTL: u64 = 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_is_renewed_without_a_visible_reconnect() {
    let _turn = quorum_e2e::serial().await;
    // nats-server drops a connection when its token expires: with 20 s
    // tokens, renewed every few seconds, several swaps happen within the
    // test.
    let quorum = Quorum::start_env(&[("QUORUM_TOKEN_TTL_SECS", TTL.to_string())]);
    let mut driver = Chromedriver::start();
    let host = driver.browser().await;
    let guest = driver.browser().await;
    join(&host, &quorum.moderator_link).await;
    join(&guest, &quorum.participant_link).await;
    for c in [&host, &guest] {
        c.execute(WATCH_BADGE, vec![])
            .await
            .expect("watch the badge");
    }

    // A real wait for real expiry (the link tokens' end), and the server
    // saying that each page moved to a renewed token at least twice.
    let first = token_exp(&quorum.moderator_link).max(token_exp(&quorum.participant_link));
    sleep_until_unix(first + 1).await;
    let renewed = |who: &str| {
        let user = format!("user={who}");
        let out = quorum.output();
        let authorized = out.lines().filter(|l| {
            l.contains("nats connection authorized") && l.split_whitespace().any(|w| w == user)
        });
        authorized.count() >= 3
    };
    let deadline = std::time::Instant::now() + T;
    while !(renewed("host") && renewed("guest")) {
        assert!(
            std::time::Instant::now() < deadline,
            "no renewals seen: {}",
            quorum.output()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for (who, c) in [("host", &host), ("guest", &guest)] {
        let states = c
            .execute("return window.__states", vec![])
            .await
            .expect("read states");
        assert_eq!(states, json!([]), "{who}'s badge changed: {states}");
    }
    send_chat(&host, "still-here").await;
    assert!(
        wait_for_text(&guest, "#chat-list .text", "still-here", T).await,
        "chat stopped working after the token swaps"
    );
    host.close().await.ok();
    guest.close().await.ok();
}

/// Sends one worker request as the holder of `token` over NATS WebSocket,
/// from inside a page of the app's origin (so the browser's own CSP and
/// origin apply), and returns the reply text. Arguments: token, request
/// JSON, callback.
const WORKER_REQUEST: &str = r#"
    const [tok, body, done] = arguments;
    (async () => {
        const r = await fetch('/api/verifyToken', { method: 'POST', body: '{}',
            headers: { 'Authorization': 'Bearer ' + tok, 'Content-Type': 'application/json' } });
        const s = (await r.json()).session;
        const ws = new WebSocket(s.nats_ws_urls[0]);
        ws.binaryType = 'arraybuffer';
        const enc = new TextEncoder(), dec = new TextDecoder();
        let buf = '', sent = false;
        ws.onerror = () => done('websocket error');
        ws.onmessage = (e) => {
            buf += typeof e.data === 'string' ? e.data : dec.decode(e.data);
            if (!sent && buf.startsWith('INFO')) {
                sent = true;
                const inbox = s.subjects.inbox_prefix + '.e2e';
                ws.send(enc.encode(
                    'CONNECT ' + JSON.stringify({ auth_token: tok, verbose: false }) + '\r\n' +
                    'SUB ' + inbox + ' 1\r\n' +
                    'PUB ' + s.subjects.worker + ' ' + inbox + ' ' + enc.encode(body).length +
                    '\r\n' + body + '\r\n'));
            }
            const m = buf.match(/MSG [^\r]* (\d+)\r\n/);
            if (m) {
                const start = buf.indexOf('\r\n', m.index) + 2;
                if (buf.length >= start + Number(m[1])) {
                    ws.close();
                    done(buf.substr(start, Number(m[1])));
                }
            } else if (buf.includes('-ERR')) {
                ws.close();
                done(buf);
            }
        };
    })().catch((e) => done('failed: ' + e));
"#;

async fn worker_request(c: &Client, token: &str, body: serde_json::Value) -> String {
    let reply = c
        .execute_async(WORKER_REQUEST, vec![json!(token), json!(body.to_string())])
        .await
        .expect("worker request script");
    reply.as_str().unwrap_or_default().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_waiting_room_lets_in_and_removes() {
    let _turn = quorum_e2e::serial().await;
    let quorum = Quorum::start();
    let res = quorum
        .api(
            "/auth/room/create",
            json!({ "room_id": "wr", "metadata": { "room_title": "Waiting",
                "room_features": { "waiting_room_features": { "is_active": true } } } }),
        )
        .await;
    assert_eq!(res["status"], json!(true), "create: {res}");
    let token = |id: &'static str, admin: bool| {
        let q = &quorum;
        async move {
            let res = q
                .api(
                    "/auth/room/getJoinToken",
                    json!({ "room_id": "wr", "user_info":
                        { "user_id": id, "name": id, "is_admin": admin } }),
                )
                .await;
            res["token"].as_str().expect("a token").to_owned()
        }
    };
    let (guest_token, mod_token) = (token("g1", false).await, token("mod2", true).await);

    let mut driver = Chromedriver::start();
    let guest = driver.browser().await;
    guest
        .goto(&format!(
            "{}/?access_token={guest_token}",
            quorum.base_url()
        ))
        .await
        .expect("open");
    quorum_e2e::pass_prejoin(&guest).await;
    assert!(
        wait_for_text(
            &guest,
            "#waiting-page",
            "Waiting for a moderator to let you in",
            T
        )
        .await,
        "no waiting page; page: {}",
        guest.source().await.unwrap_or_default()
    );

    let moderator = driver.browser().await;
    moderator.goto(&quorum.base_url()).await.expect("open");
    let reply = worker_request(
        &moderator,
        &mod_token,
        json!({"type": "approve", "user_id": "g1"}),
    )
    .await;
    assert!(reply.contains("\"ok\":true"), "approve: {reply}");
    assert!(
        wait_for(&guest, "#room-page #conn-state[data-state=connected]", T).await,
        "not let in; page: {}",
        guest.source().await.unwrap_or_default()
    );
    assert!(wait_for(&guest, "#chat-input:not([disabled])", T).await);

    // A lock applies at once (the server also moves the guest to a new
    // connection with the new permissions); unlocking gives chat back.
    let lock = |on: bool| json!({"type": "set_locks", "user_id": "g1", "locks": {"lock_chat": on}});
    let reply = worker_request(&moderator, &mod_token, lock(true)).await;
    assert!(reply.contains("\"ok\":true"), "lock: {reply}");
    assert!(
        wait_for_text(&guest, "#chat-notice", "Chat is locked by a moderator", T).await,
        "no lock notice"
    );
    assert!(wait_for(&guest, "#chat-input[disabled]", T).await);
    let reply = worker_request(&moderator, &mod_token, lock(false)).await;
    assert!(reply.contains("\"ok\":true"), "unlock: {reply}");
    assert!(wait_for(&guest, "#chat-input:not([disabled])", T).await);
    assert!(wait_for(&guest, "#room-page #conn-state[data-state=connected]", T).await);
    send_chat(&guest, "unlocked-again").await;
    assert!(
        wait_gone(&guest, "#chat-list .chat-message.pending", T).await,
        "the message after unlocking was not confirmed"
    );

    let reply = worker_request(
        &moderator,
        &mod_token,
        json!({"type": "remove", "user_id": "g1"}),
    )
    .await;
    assert!(reply.contains("\"ok\":true"), "remove: {reply}");
    assert!(
        wait_for_text(
            &guest,
            "#goodbye-page .goodbye-title",
            "You were removed from the meeting",
            T
        )
        .await,
        "no goodbye after removal; page: {}",
        guest.source().await.unwrap_or_default()
    );
    guest.close().await.ok();
    moderator.close().await.ok();
}
