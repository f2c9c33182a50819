//! A JSON-RPC body as the server and the client read it: JSON first, then
//! (per item of a batch) the JSON-RPC request and response shapes of
//! aduib-core, the Aduib envelope inside (`AduibRequest::from_value`), the
//! method names, and the folding of both error placements
//! (`JsonRpcResponse::into_aduib`). What parses must serialize and parse back
//! to the same value.
//!
//! The server's own planning (`plan` in aduib-server's JSON-RPC frontend) is
//! private; this covers every aduib-core step it is made of.
#![no_main]

use aduib_core::jsonrpc::{JsonRpcRequest, JsonRpcResponse};
use aduib_core::{AduibRequest, AduibResponse, Limits, MethodName};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn method_name(text: &str) {
    if let Ok(name) = MethodName::parse(text) {
        assert_eq!(name.to_string(), text, "canonical names print as read");
        assert_eq!(MethodName::parse_lenient(text).ok(), Some(name));
    }
    if let Ok(name) = MethodName::parse_lenient(text) {
        let _ = name.handler_key();
        assert_eq!(MethodName::parse(&name.to_string()).ok(), Some(name));
    }
}

fn envelope_request(value: Value) {
    let Ok(request) = AduibRequest::from_value(value) else {
        return;
    };
    method_name(&request.method);
    let text = serde_json::to_string(&request);
    assert!(
        text.is_ok(),
        "a parsed request does not serialize: {text:?}"
    );
    let Ok(text) = text else { return };
    let again = serde_json::from_str::<Value>(&text)
        .map_err(|e| e.to_string())
        .and_then(|v| AduibRequest::from_value(v).map_err(|e| e.message));
    match &again {
        Ok(again) => assert_eq!(again, &request, "request round trip via {text}"),
        Err(error) => panic!("a serialized request does not parse back: {error} in {text}"),
    }
    let wrapped = JsonRpcRequest::for_aduib("1", &request);
    assert!(wrapped.is_ok(), "for_aduib: {wrapped:?}");
}

fn envelope_response(response: &AduibResponse) {
    let text = serde_json::to_string(response);
    assert!(text.is_ok(), "a response does not serialize: {text:?}");
    let Ok(text) = text else { return };
    let again = serde_json::from_str::<AduibResponse>(&text).map_err(|e| e.to_string());
    match &again {
        Ok(again) => assert_eq!(again, response, "response round trip via {text}"),
        Err(error) => panic!("a serialized response does not parse back: {error} in {text}"),
    }
}

fn item(value: &Value) {
    if let Ok(request) = serde_json::from_value::<JsonRpcRequest>(value.clone()) {
        let _ = request.id.as_ref().map(|id| id.as_aduib_id());
        method_name(&request.method);
        if let Some(params) = request.params {
            envelope_request(params);
        }
    }
    if let Ok(response) = serde_json::from_value::<JsonRpcResponse>(value.clone())
        && let Ok(aduib) = response.into_aduib()
    {
        envelope_response(&aduib);
    }
    if let Ok(response) = serde_json::from_value::<AduibResponse>(value.clone()) {
        envelope_response(&response);
    }
    envelope_request(value.clone());
}

/// Nesting depth and number of values (object keys not counted).
fn shape(value: &Value) -> (usize, usize) {
    match value {
        Value::Array(items) => items
            .iter()
            .map(shape)
            .fold((1, 1), |(d, n), (id, inn)| (d.max(id + 1), n + inn)),
        Value::Object(map) => map
            .values()
            .map(shape)
            .fold((1, 1), |(d, n), (id, inn)| (d.max(id + 1), n + inn)),
        _ => (0, 1),
    }
}

fuzz_target!(|data: &[u8]| {
    // The pre-parse shape check the server runs on every JSON body: what it
    // lets through must really be within the limits.
    let limits = Limits {
        max_depth: 8,
        max_elements: 64,
        ..Limits::default()
    };
    let checked = limits.check_json(data);
    if checked.is_ok()
        && let Ok(value) = serde_json::from_slice::<Value>(data)
    {
        let (depth, values) = shape(&value);
        assert!(
            depth <= limits.max_depth,
            "check_json let depth {depth} through"
        );
        assert!(
            values <= limits.max_elements,
            "check_json let {values} values through"
        );
    }
    // The typed parsers straight from bytes, as a client reads a reply.
    let _ = serde_json::from_slice::<JsonRpcRequest>(data);
    let _ = serde_json::from_slice::<JsonRpcResponse>(data).map(JsonRpcResponse::into_aduib);
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    match &value {
        Value::Array(items) => items.iter().for_each(item),
        single => item(single),
    }
});
