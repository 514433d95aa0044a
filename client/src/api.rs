//! The client's one HTTP client: the few browser API calls, each with a
//! timeout (a stuck request ends in an error, never a spinner that never
//! stops). Everything else speaks NATS.

use std::cell::RefCell;

use quorum_shared::api::{ClientConfig, RenewTokenRes, TAB_HEADER, TAKE_OVER_HEADER};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{AbortSignal, Headers, Request, RequestCache, RequestInit, Response};

use crate::join::{JoinToken, Session};
use crate::verify::{js_error_text, parse_verify_response, JoinError};

thread_local! {
    // Read once per page: the start-up cleanup and the pre-join page both
    // need it.
    static CONFIG: RefCell<Option<ClientConfig>> = const { RefCell::new(None) };
}

/// What the browser asks before joining.
pub const CONFIG_PATH: &str = "/api/config";

/// Where the browser API verifies tokens.
pub const VERIFY_PATH: &str = "/api/verifyToken";

/// Where a token is renewed when NATS can't carry the request.
pub const RENEW_PATH: &str = "/api/renewToken";

/// A stuck request should end in "Can't reach the server" with a Retry
/// button rather than a spinner that never stops.
const TIMEOUT_MS: u32 = 15_000;

/// `GET /api/config` (once per page): what the server offers before
/// anyone joins; `None` if it can't be read (callers fall back to
/// defaults, and the next call asks again).
pub async fn fetch_config() -> Option<ClientConfig> {
    if let Some(c) = CONFIG.with_borrow(Clone::clone) {
        return Some(c);
    }
    let c = request_config().await?;
    CONFIG.with_borrow_mut(|slot| *slot = Some(c.clone()));
    Some(c)
}

async fn request_config() -> Option<ClientConfig> {
    let window = web_sys::window()?;
    let init = RequestInit::new();
    init.set_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let res = JsFuture::from(window.fetch_with_str_and_init(CONFIG_PATH, &init))
        .await
        .ok()?;
    let res: Response = res.dyn_into().ok()?;
    let text = JsFuture::from(res.text().ok()?).await.ok()?.as_string()?;
    serde_json::from_str(&text).ok()
}

/// Where `index.html` leaves the verifyToken call it starts for the
/// link's token before the wasm has loaded: `{ token, answer }`, the
/// answer a promise of `[status, body]`.
const EARLY_VERIFY: &str = "quorumVerify";

/// The answer to `index.html`'s early verifyToken call, if it was for
/// `token` (checked before waiting for it); taken once, so a Retry asks
/// again. `None` also if it failed: then the call is made again here.
async fn early_answer(token: &JoinToken) -> Option<(u16, String)> {
    let window = web_sys::window()?;
    let key = JsValue::from_str(EARLY_VERIFY);
    let early = js_sys::Reflect::get(&window, &key).ok()?;
    if early.is_undefined() {
        return None;
    }
    let _ = js_sys::Reflect::delete_property(&window, &key);
    let used = js_sys::Reflect::get(&early, &"token".into())
        .ok()?
        .as_string()?;
    if JoinToken::new(used).as_ref() != Some(token) {
        return None;
    }
    let answer: js_sys::Promise = js_sys::Reflect::get(&early, &"answer".into())
        .ok()?
        .dyn_into()
        .ok()?;
    let answer: js_sys::Array = JsFuture::from(answer).await.ok()?.dyn_into().ok()?;
    let status = answer.get(0).as_f64()?;
    Some((status as u16, answer.get(1).as_string()?))
}

/// Exchanges the token for a session.
pub async fn verify_token(token: JoinToken) -> Result<Session, JoinError> {
    let answer = match early_answer(&token).await {
        Some(a) => Ok(a),
        None => post_with_token(VERIFY_PATH, &token, None).await,
    };
    verified(token, answer)
}

/// [`verify_token`] for a user already in the meeting elsewhere: "Use
/// this tab instead" (the server tells their other tabs to leave).
pub async fn verify_token_taking_over(token: JoinToken) -> Result<Session, JoinError> {
    let tab = crate::util::tab_id();
    let answer = post_with_token(VERIFY_PATH, &token, Some((TAKE_OVER_HEADER, &tab))).await;
    verified(token, answer)
}

/// [`verify_token`] from a tab whose reconnect was refused, naming it:
/// "already in this meeting" then means the meeting was taken from this
/// tab (or another holds it), never this tab's own seat.
pub async fn verify_token_as_tab(token: JoinToken) -> Result<Session, JoinError> {
    let tab = crate::util::tab_id();
    let answer = post_with_token(VERIFY_PATH, &token, Some((TAB_HEADER, &tab))).await;
    verified(token, answer)
}

fn verified(
    token: JoinToken,
    answer: Result<(u16, String), JsValue>,
) -> Result<Session, JoinError> {
    let (status, body) = answer.map_err(|e| {
        web_sys::console::warn_2(&"verifyToken request failed".into(), &e);
        JoinError::Network(js_error_text(&e))
    })?;
    let join = parse_verify_response(status, &body)?;
    Ok(Session { token, join })
}

/// Renews `token` over HTTP, for the caller's own identity: used while the
/// participant may not publish (waiting room) or has no connection (an
/// outage, possibly longer than the token's lifetime).
pub async fn renew_token_http(token: &JoinToken) -> Result<JoinToken, String> {
    let (status, body) = post_with_token(RENEW_PATH, token, None)
        .await
        .map_err(|e| js_error_text(&e))?;
    let res: RenewTokenRes =
        serde_json::from_str(&body).map_err(|e| format!("HTTP {status}: {e}"))?;
    match (res.envelope.status, res.token.and_then(JoinToken::new)) {
        (true, Some(t)) => Ok(t),
        (true, None) => Err("success without a token".to_string()),
        (false, _) => Err(res.envelope.msg),
    }
}

/// POSTs `{}` to `path` with `token`, and the `extra` header if any.
async fn post_with_token(
    path: &str,
    token: &JoinToken,
    extra: Option<(&str, &str)>,
) -> Result<(u16, String), JsValue> {
    let window = web_sys::window().ok_or_else(|| JsValue::from_str("no window"))?;
    let headers = Headers::new()?;
    headers.set("Authorization", &format!("Bearer {}", token.expose()))?;
    headers.set("Content-Type", "application/json")?;
    headers.set("Accept", "application/json")?;
    if let Some((name, value)) = extra {
        headers.set(name, value)?;
    }
    let init = RequestInit::new();
    init.set_method("POST");
    init.set_headers(&headers);
    init.set_body(&JsValue::from_str("{}"));
    // A cached answer would be another user's session or a stale refusal.
    init.set_cache(RequestCache::NoStore);
    init.set_signal(Some(&AbortSignal::timeout_with_u32(TIMEOUT_MS)));
    let request = Request::new_with_str_and_init(path, &init)?;
    let response: Response = JsFuture::from(window.fetch_with_request(&request))
        .await?
        .dyn_into()?;
    let body = JsFuture::from(response.text()?).await?;
    Ok((response.status(), body.as_string().unwrap_or_default()))
}
