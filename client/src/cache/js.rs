//! Our values as the JS values IndexedDB stores, and back.
//!
//! JSON goes through `JSON.parse`/`JSON.stringify` rather than a serde
//! bridge crate: the values are small and it keeps the dependency list
//! short. Numbers are JS doubles, exact up to 2^53, which is plenty for
//! unix ms and stream sequences.

use js_sys::{Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use super::error::CacheError;
use super::session::ChatRecord;

/// `v` as a JS value (objects, arrays, strings, numbers, booleans, null).
pub(crate) fn json_to_js(v: &serde_json::Value) -> Result<JsValue, CacheError> {
    let text = serde_json::to_string(v).map_err(|e| CacheError::Failed(e.to_string()))?;
    js_sys::JSON::parse(&text).map_err(CacheError::from_js)
}

/// A stored JS value as JSON. Fails on what JSON cannot hold (`undefined`
/// on its own, functions), which we never store.
pub(crate) fn js_to_json(v: &JsValue) -> Result<serde_json::Value, CacheError> {
    let text = js_sys::JSON::stringify(v).map_err(CacheError::from_js)?;
    let text = JsValue::from(text)
        .as_string()
        .ok_or_else(|| CacheError::Failed("stored value is not JSON".into()))?;
    serde_json::from_str(&text).map_err(|e| CacheError::Failed(e.to_string()))
}

/// A stored number as `u64`, if it is a whole number in range.
pub(crate) fn js_to_u64(v: &JsValue) -> Option<u64> {
    v.as_f64().and_then(f64_to_u64)
}

fn f64_to_u64(f: f64) -> Option<u64> {
    // 2^53: beyond it doubles skip integers, so it was never one of ours.
    const MAX_EXACT: f64 = 9_007_199_254_740_992.0;
    // NaN and infinities fall outside the range too.
    ((0.0..=MAX_EXACT).contains(&f) && f.fract() == 0.0).then_some(f as u64)
}

// The chat record's field names in IndexedDB. `id` is the store's key path.
const F_ID: &str = "id";
const F_SEQ: &str = "seq";
const F_SUBJECT: &str = "subject";
const F_PAYLOAD: &str = "payload";
const F_RECEIVED: &str = "receivedMs";
pub(crate) const F_WRITE: &str = "writeNo";

fn set(obj: &Object, key: &str, value: &JsValue) -> Result<(), CacheError> {
    Reflect::set(obj, &JsValue::from_str(key), value)
        .map(drop)
        .map_err(CacheError::from_js)
}

fn get(obj: &JsValue, key: &str) -> Result<JsValue, CacheError> {
    Reflect::get(obj, &JsValue::from_str(key)).map_err(CacheError::from_js)
}

/// A chat record as a plain object. The payload is a `Uint8Array`, which
/// IndexedDB stores as binary (no base64 inflation). `write_no` orders
/// records written within the same millisecond.
pub(crate) fn chat_to_js(r: &ChatRecord, write_no: u64) -> Result<JsValue, CacheError> {
    let obj = Object::new();
    set(&obj, F_ID, &JsValue::from_str(&r.id))?;
    let seq = r.seq.map_or(JsValue::NULL, |s| JsValue::from_f64(s as f64));
    set(&obj, F_SEQ, &seq)?;
    set(&obj, F_SUBJECT, &JsValue::from_str(&r.subject))?;
    set(
        &obj,
        F_PAYLOAD,
        &Uint8Array::from(r.payload.as_slice()).into(),
    )?;
    set(&obj, F_RECEIVED, &JsValue::from_f64(r.received_ms as f64))?;
    set(&obj, F_WRITE, &JsValue::from_f64(write_no as f64))?;
    Ok(obj.into())
}

/// A stored chat record and its write number; an error for a record that
/// is not one of ours (wrong shape).
pub(crate) fn chat_from_js(v: &JsValue) -> Result<(ChatRecord, u64), CacheError> {
    let bad = |what: &str| CacheError::Failed(format!("stored chat record: bad {what}"));
    let id = get(v, F_ID)?.as_string().ok_or_else(|| bad(F_ID))?;
    let seq = get(v, F_SEQ)?;
    let seq = if seq.is_null() || seq.is_undefined() {
        None
    } else {
        Some(js_to_u64(&seq).ok_or_else(|| bad(F_SEQ))?)
    };
    let subject = get(v, F_SUBJECT)?
        .as_string()
        .ok_or_else(|| bad(F_SUBJECT))?;
    let payload = get(v, F_PAYLOAD)?
        .dyn_into::<Uint8Array>()
        .map_err(|_| bad(F_PAYLOAD))?
        .to_vec();
    let received_ms = js_to_u64(&get(v, F_RECEIVED)?).ok_or_else(|| bad(F_RECEIVED))?;
    let write_no = js_to_u64(&get(v, F_WRITE)?).unwrap_or(0);
    let record = ChatRecord {
        id,
        seq,
        subject,
        payload,
        received_ms,
    };
    Ok((record, write_no))
}
