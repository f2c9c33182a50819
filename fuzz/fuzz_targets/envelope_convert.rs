//! The envelope conversions on inputs derived from bytes: protobuf messages
//! (decoded with prost) to the envelope and back, the envelope to its Thrift
//! form and back through real Thrift bytes, and JSON to both.
//!
//! Input: byte 0 picks the mode (low 3 bits) and the Thrift protocol (bit 7);
//! the rest is a protobuf `Request` (0), `Response` (1) or
//! `HealthCheckResponse` (2), or JSON: an `AduibRequest` (3), an
//! `AduibResponse` (4), or the Thrift JSON form of a request, response or
//! health answer (5).
#![no_main]

use aduib_core::{AduibRequest, AduibResponse};
use aduib_proto::convert;
use aduib_proto::v2 as pb;
use aduib_thrift::message::{decode_args, decode_reply, encode_call, encode_reply};
use aduib_thrift::protocol::Reader;
use aduib_thrift::{Outcome, Protocol, aduib};
use libfuzzer_sys::fuzz_target;
use prost::Message;
use serde_json::{Value, json};

use aduib_fuzz::thrift_limits;

fn function(service: &str, name: &str) -> Option<&'static aduib_thrift::idl::Function> {
    aduib::schema().ok()?.service(service)?.function(name)
}

/// An envelope request through Thrift bytes: `request_to_thrift`, encoded as
/// the argument of `Call`, decoded, `request_from_thrift`.
fn request_via_thrift(protocol: Protocol, request: &AduibRequest) -> Option<AduibRequest> {
    let schema = aduib::schema().ok()?;
    let call = function("AduibRpcService", "Call")?;
    let args = json!({ "request": aduib::request_to_thrift(request) });
    let bytes = encode_call(schema, protocol, "Call", call, &args, 1);
    assert!(
        bytes.is_ok(),
        "request_to_thrift does not fit the IDL: {bytes:?}"
    );
    let bytes = bytes.ok()?;
    let mut reader = Reader::new(protocol, &bytes, thrift_limits());
    assert!(reader.message_begin().is_ok());
    let decoded = decode_args(schema, &mut reader, call);
    assert!(decoded.is_ok(), "our own call does not decode: {decoded:?}");
    let back = aduib::request_from_thrift(decoded.ok()?.get("request")?);
    assert!(back.is_ok(), "our own Thrift request is refused: {back:?}");
    let back = back.ok()?;
    assert_eq!(back.method, request.method);
    assert_eq!(back.id, request.id.clone().filter(|id| !id.is_empty()));
    assert_eq!(back.name, request.name);
    let (data, sent) = (back.data.clone(), request.data.clone());
    let (data, sent) = (
        Value::Object(data.unwrap_or_default()),
        Value::Object(sent.unwrap_or_default()),
    );
    // Exact, floats included (serde_json's `float_roundtrip`).
    assert_eq!(data, sent, "data through data_json");
    Some(back)
}

/// An envelope response through Thrift bytes, as the reply of `Call`.
fn response_via_thrift(protocol: Protocol, response: &AduibResponse) -> Option<AduibResponse> {
    let schema = aduib::schema().ok()?;
    let call = function("AduibRpcService", "Call")?;
    let outcome = Outcome::Success(aduib::response_to_thrift(response));
    let bytes = encode_reply(schema, protocol, "Call", call, &outcome, 1);
    assert!(
        bytes.is_ok(),
        "response_to_thrift does not fit the IDL: {bytes:?}"
    );
    let decoded = decode_reply(schema, protocol, &bytes.ok()?, call, thrift_limits());
    assert!(
        decoded.is_ok(),
        "our own reply does not decode: {decoded:?}"
    );
    let Outcome::Success(value) = decoded.ok()?.1 else {
        panic!("our own reply is not a success");
    };
    let back = aduib::response_from_thrift(&value);
    assert_eq!(back.id, response.id);
    assert_eq!(back.error.is_some(), response.error.is_some());
    if response.error.is_none() {
        assert_eq!(back.result, response.result, "result through result_json");
    }
    Some(back)
}

fn health_via_thrift(protocol: Protocol, health: &Value) -> Option<Value> {
    let schema = aduib::schema().ok()?;
    let check = function("HealthService", "Check")?;
    let outcome = Outcome::Success(aduib::health_to_thrift(health));
    let bytes = encode_reply(schema, protocol, "Check", check, &outcome, 1);
    assert!(
        bytes.is_ok(),
        "health_to_thrift does not fit the IDL: {bytes:?}"
    );
    let decoded = decode_reply(schema, protocol, &bytes.ok()?, check, thrift_limits());
    let Ok((_, Outcome::Success(value))) = decoded else {
        panic!("our own health reply does not decode: {decoded:?}");
    };
    Some(aduib::health_from_thrift(&value))
}

fn request(protocol: Protocol, request: &AduibRequest) {
    let _ = serde_json::to_string(request);
    // One pass through protobuf normalises; a second must change nothing.
    let once = convert::request_from_proto(convert::request_to_proto(request));
    let bytes = convert::request_to_proto(&once).encode_to_vec();
    let twice = pb::Request::decode(bytes.as_slice()).map(convert::request_from_proto);
    // Compared by their Debug text: a NaN (`backoff_multiplier` can be one)
    // is not equal to itself.
    assert_eq!(
        twice.as_ref().ok().map(|t| format!("{t:?}")),
        Some(format!("{once:?}")),
        "request protobuf round trip"
    );
    if let Some(back) = request_via_thrift(protocol, request) {
        request_via_thrift(protocol, &back);
    }
}

fn response(protocol: Protocol, response: &AduibResponse) {
    let _ = serde_json::to_string(response);
    let once = convert::response_from_proto(convert::response_to_proto(response.clone()));
    let bytes = convert::response_to_proto(once.clone()).encode_to_vec();
    let twice = pb::Response::decode(bytes.as_slice()).map(convert::response_from_proto);
    // Compared by their Debug text: a NaN (`backoff_multiplier` can be one)
    // is not equal to itself.
    assert_eq!(
        twice.as_ref().ok().map(|t| format!("{t:?}")),
        Some(format!("{once:?}")),
        "response protobuf round trip"
    );
    if let Some(back) = response_via_thrift(protocol, response) {
        response_via_thrift(protocol, &back);
    }
}

fn health(protocol: Protocol, health: &Value) {
    let via_proto = convert::health_from_proto(&convert::health_to_proto(health));
    let via_thrift = health_via_thrift(protocol, health);
    // Both forms know the same statuses.
    if let Some(via_thrift) = via_thrift {
        assert_eq!(via_thrift, via_proto, "health via Thrift and via protobuf");
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, rest @ ..] = data else {
        return;
    };
    let protocol = if mode & 0x80 == 0 {
        Protocol::Binary
    } else {
        Protocol::Compact
    };
    match mode & 7 {
        0 => {
            if let Ok(message) = pb::Request::decode(rest) {
                request(protocol, &convert::request_from_proto(message));
            }
        }
        1 => {
            if let Ok(message) = pb::Response::decode(rest) {
                response(protocol, &convert::response_from_proto(message));
            }
        }
        2 => {
            if let Ok(message) = pb::HealthCheckResponse::decode(rest) {
                health(protocol, &convert::health_from_proto(&message));
            }
        }
        3 => {
            if let Ok(value) = serde_json::from_slice::<Value>(rest) {
                let once = convert::value_to_json(convert::json_to_value(value.clone()));
                let twice = convert::value_to_json(convert::json_to_value(once.clone()));
                assert_eq!(once, twice, "JSON through protobuf Value");
                if let Ok(parsed) = AduibRequest::from_value(value) {
                    request(protocol, &parsed);
                }
            }
        }
        4 => {
            if let Ok(parsed) = serde_json::from_slice::<AduibResponse>(rest) {
                response(protocol, &parsed);
            }
        }
        5 => {
            if let Ok(value) = serde_json::from_slice::<Value>(rest) {
                if let Ok(parsed) = aduib::request_from_thrift(&value) {
                    request(protocol, &parsed);
                }
                response(protocol, &aduib::response_from_thrift(&value));
                health(protocol, &aduib::health_from_thrift(&value));
                health(protocol, &value);
            }
        }
        _ => {}
    }
});
