//! Writes the seed corpora under `fuzz/corpus/<target>/`: small valid inputs
//! made with the crates' own writers (Thrift `Writer` via `encode_call` and
//! `encode_reply`, prost, serde). Seeds are named by content hash, as
//! libFuzzer names its own finds, so re-running only adds what is missing.
//!
//! `cargo +nightly run --manifest-path fuzz/Cargo.toml --example seeds`

use std::path::{Path, PathBuf};

use aduib_core::jsonrpc::{JsonRpcId, JsonRpcRequest, JsonRpcResponse};
use aduib_core::sse::{comment_frame, data_frame};
use aduib_core::{AduibRequest, AduibResponse, ErrorCode, RpcError};
use aduib_proto::convert;
use aduib_thrift::aduib;
use aduib_thrift::idl::{Function, Schema, Type};
use aduib_thrift::message::{encode_app_error, encode_call, encode_reply};
use aduib_thrift::value::template;
use aduib_thrift::{AppError, AppErrorKind, Outcome, Protocol};
use prost::Message;
use serde_json::{Value, json};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

struct Corpus {
    root: PathBuf,
}

impl Corpus {
    fn add(&self, target: &str, bytes: &[u8]) -> Result<()> {
        let dir = self.root.join(target);
        std::fs::create_dir_all(&dir)?;
        // FNV-1a: stable across toolchains, unlike `DefaultHasher`.
        let hash = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        std::fs::write(dir.join(format!("seed-{hash:016x}")), bytes)?;
        Ok(())
    }
}

fn request() -> Result<AduibRequest> {
    Ok(serde_json::from_value(json!({
        "aduib_rpc": "2.0",
        "id": "req-1",
        "method": "rpc.v2/CaculService/CaculService.add",
        "name": "caculator",
        "data": {"x": 1, "y": 2.5, "s": "é\"\\", "l": [true, null, {"k": []}]},
        "trace_context": {"trace_id": "t1", "span_id": "s1", "parent_span_id": "p1",
                          "sampled": true, "baggage": {"k": "v"}},
        "metadata": {"timestamp_ms": 1700000000000i64, "client_id": "c", "client_version": "1",
                     "auth": {"scheme": "bearer", "credentials": "tok", "roles": ["admin"]},
                     "tenant_id": "t", "headers": {"h": "v"}, "long_task": false},
        "qos": {"priority": 2, "timeout_ms": 5000, "idempotency_key": "k",
                "retry": {"max_attempts": 3, "initial_delay_ms": 100, "max_delay_ms": 1000,
                          "backoff_multiplier": 2.0, "retryable_codes": [5000]}}
    }))?)
}

fn plain_request() -> AduibRequest {
    let data = json!({"x": 1, "y": 2});
    let mut r = AduibRequest::new(
        "req-2",
        "rpc.v2/CaculService/CaculService.add",
        data.as_object().cloned().unwrap_or_default(),
    );
    r.metadata = None;
    r
}

fn responses() -> Vec<AduibResponse> {
    let error = RpcError::new(ErrorCode::InternalError, "boom").with_field("x", "bad");
    vec![
        AduibResponse::success("req-1", json!(3)),
        AduibResponse::success("req-2", json!({"sum": 3.5, "items": ["a", 1, null]})),
        AduibResponse::failure("req-3", error),
    ]
}

fn health() -> Value {
    json!({"status": "healthy", "services": {"CaculService": "healthy", "x": "degraded"}})
}

/// JSON with every field of the arguments set to a default.
fn template_args(schema: &Schema, function: &Function) -> Value {
    let object: serde_json::Map<String, Value> = function
        .args
        .iter()
        .map(|f| (f.name.clone(), template(schema, &f.ty, &mut Vec::new())))
        .collect();
    Value::Object(object)
}

fn thrift_messages(protocol: Protocol) -> Result<Vec<Vec<u8>>> {
    let schema = aduib::schema()?;
    let demo = aduib_thrift::idl::demo_schema()?;
    let function = |schema: &'static Schema, service: &str, name: &str| {
        schema
            .service(service)
            .and_then(|s| s.function(name))
            .ok_or_else(|| format!("no {service}.{name}"))
    };
    let call = function(schema, "AduibRpcService", "Call")?;
    let mut out = Vec::new();
    // Real Aduib calls, multiplexed (as the peer's client) and not.
    let args = json!({"request": aduib::request_to_thrift(&request()?)});
    out.push(encode_call(
        schema,
        protocol,
        "AduibRpcService:Call",
        call,
        &args,
        1,
    )?);
    let args = json!({"request": aduib::request_to_thrift(&plain_request())});
    out.push(encode_call(schema, protocol, "Call", call, &args, 2)?);
    let stream = function(schema, "AduibRpcService", "CallClientStream")?;
    let args = json!({"requests": [aduib::request_to_thrift(&plain_request()),
                                   aduib::request_to_thrift(&request()?)]});
    out.push(encode_call(
        schema,
        protocol,
        "AduibRpcService:CallClientStream",
        stream,
        &args,
        3,
    )?);
    for (seq, response) in (10..).zip(responses()) {
        let outcome = Outcome::Success(aduib::response_to_thrift(&response));
        out.push(encode_reply(schema, protocol, "Call", call, &outcome, seq)?);
    }
    let server_stream = function(schema, "AduibRpcService", "CallServerStream")?;
    let items: Vec<Value> = responses().iter().map(aduib::response_to_thrift).collect();
    out.push(encode_reply(
        schema,
        protocol,
        "CallServerStream",
        server_stream,
        &Outcome::Success(Value::Array(items)),
        4,
    )?);
    let check = function(schema, "HealthService", "Check")?;
    out.push(encode_call(
        schema,
        protocol,
        "HealthService:Check",
        check,
        &json!({"request": {"service_name": "CaculService"}}),
        5,
    )?);
    let outcome = Outcome::Success(aduib::health_to_thrift(&health()));
    out.push(encode_reply(schema, protocol, "Check", check, &outcome, 5)?);
    out.push(encode_app_error(
        protocol,
        "Call",
        6,
        &AppError::new(AppErrorKind::UnknownMethod, "unknown method Nope"),
    ));
    // Every function of both IDLs with template arguments and result: all
    // the shapes the IDLs have (unions, maps, sets, enums, nested structs).
    for schema in [schema, demo] {
        let mut services: Vec<_> = schema.services.values().collect();
        services.sort_by(|a, b| a.name.cmp(&b.name));
        for service in services {
            for f in &service.functions {
                let name = format!(
                    "{}:{}",
                    service.name.rsplit('.').next().unwrap_or(""),
                    f.name
                );
                let args = template_args(schema, f);
                out.push(encode_call(schema, protocol, &name, f, &args, 7)?);
                if f.oneway {
                    continue;
                }
                let result = f.result.as_ref().map_or(Value::Null, |ty: &Type| {
                    template(schema, ty, &mut Vec::new())
                });
                out.push(encode_reply(
                    schema,
                    protocol,
                    &f.name,
                    f,
                    &Outcome::Success(result),
                    8,
                )?);
                if let Some(throws) = f.throws.first() {
                    let value = template(schema, &throws.ty, &mut Vec::new());
                    let outcome = Outcome::Declared {
                        name: throws.name.clone(),
                        value,
                    };
                    out.push(encode_reply(schema, protocol, &f.name, f, &outcome, 9)?);
                }
            }
        }
    }
    Ok(out)
}

fn thrift(corpus: &Corpus) -> Result<()> {
    for (target, protocol) in [
        ("thrift_binary", Protocol::Binary),
        ("thrift_compact", Protocol::Compact),
    ] {
        for message in thrift_messages(protocol)? {
            corpus.add(target, &message)?;
        }
    }
    // Framing: config byte (bit 0 compact, bit 1 framed, bit 2 pending,
    // bit 3 reset, bits 4-6 chunk size, bit 7 small limit), seed, stream.
    for (protocol, bit) in [(Protocol::Binary, 0u8), (Protocol::Compact, 1)] {
        let messages = thrift_messages(protocol)?;
        let (first, second) = (&messages[0], &messages[3]);
        for (framed, chunk) in [(false, 0u8), (false, 3), (true, 1), (true, 6)] {
            let mut stream = Vec::new();
            for m in [first, second] {
                if framed {
                    stream.extend_from_slice(&u32::try_from(m.len())?.to_be_bytes());
                }
                stream.extend_from_slice(m);
            }
            let config =
                bit | if framed { 2 } else { 0 } | (chunk << 4) | if chunk == 3 { 4 } else { 0 };
            let mut input = vec![config, 0x5a];
            input.extend_from_slice(&stream);
            corpus.add("thrift_framing", &input)?;
            // The same stream cut short.
            input.truncate(input.len() - 3);
            corpus.add("thrift_framing", &input)?;
        }
    }
    Ok(())
}

fn sse(corpus: &Corpus) -> Result<()> {
    let response = serde_json::to_string(&responses()[1])?;
    let streams = [
        format!(
            "{}{}{}",
            data_frame(&response),
            comment_frame("ping - 2026-01-01"),
            data_frame("{\"n\":2}")
        ),
        "event: x\r\nid: 7\r\nretry: 1500\r\ndata: l1\r\ndata:l2\r\n\r\n".to_owned(),
        "\u{feff}data: a\n\ndata: b\n\n: c\n\nfoo: bar\n\n".to_owned(),
        "data: a\r\rdata: b\r\rid\r\r".to_owned(),
        "data: {\"n\":1}\n\ndata: {\"n\"".to_owned(),
    ];
    for (i, stream) in (0u8..).zip(streams) {
        let mut input = vec![i, 0x33];
        input.extend_from_slice(stream.as_bytes());
        corpus.add("sse", &input)?;
    }
    corpus.add("sse", b"\x02\x01data: ok\n\ndata: \xff\n\n")?;
    // With an event limit of 64 bytes (config bits 3-7 = 8), under and over.
    let mut input = vec![0x43, 0x11];
    input.extend_from_slice(data_frame("{\"n\":1}").as_bytes());
    input.extend_from_slice(data_frame(&"x".repeat(100)).as_bytes());
    corpus.add("sse", &input)?;
    Ok(())
}

fn jsonrpc(corpus: &Corpus) -> Result<()> {
    let req = JsonRpcRequest::for_aduib("1", &request()?)?;
    let plain = JsonRpcRequest::for_aduib("2", &plain_request())?;
    let mut docs = vec![
        serde_json::to_vec(&req)?,
        serde_json::to_vec(&plain)?,
        serde_json::to_vec(&json!([plain, {"jsonrpc": "2.0", "id": 3, "method": "rpc.v2/HealthService/Check", "params": {"service": "CaculService"}}]))?,
        br#"{"jsonrpc":"2.0","method":"rpc.v2/AduibRpcService/CallServerStream","params":{"aduib_rpc":"2.0","method":"CaculService.add","data":null}}"#.to_vec(),
        br#"{"jsonrpc":"2.0","id":"x","method":"rpc.v2/HealthService/Watch"}"#.to_vec(),
        br#"{"id": 1, "jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}}"#.to_vec(),
        br#"[]"#.to_vec(),
    ];
    for response in responses() {
        docs.push(serde_json::to_vec(&JsonRpcResponse::result(
            JsonRpcId::Str("1".into()),
            serde_json::to_value(&response)?,
        ))?);
    }
    if let Some(error) = &responses()[2].error {
        docs.push(serde_json::to_vec(&JsonRpcResponse::aduib_error(
            JsonRpcId::Null,
            error,
        ))?);
    }
    for doc in docs {
        corpus.add("jsonrpc_plan", &doc)?;
    }
    Ok(())
}

fn envelope(corpus: &Corpus) -> Result<()> {
    let with = |mode: u8, bytes: Vec<u8>| {
        let mut input = vec![mode];
        input.extend(bytes);
        input
    };
    let mut inputs = vec![
        with(0, convert::request_to_proto(&request()?).encode_to_vec()),
        with(
            0x80,
            convert::request_to_proto(&plain_request()).encode_to_vec(),
        ),
        with(2, convert::health_to_proto(&health()).encode_to_vec()),
        with(3, serde_json::to_vec(&request()?)?),
        with(0x83, serde_json::to_vec(&plain_request())?),
        with(
            5,
            serde_json::to_vec(&aduib::request_to_thrift(&request()?))?,
        ),
        with(5, serde_json::to_vec(&aduib::health_to_thrift(&health()))?),
    ];
    for (i, response) in (0u8..).zip(responses()) {
        inputs.push(with(
            1 | (i << 7),
            convert::response_to_proto(response.clone()).encode_to_vec(),
        ));
        inputs.push(with(4, serde_json::to_vec(&response)?));
        inputs.push(with(
            0x85,
            serde_json::to_vec(&aduib::response_to_thrift(&response))?,
        ));
    }
    for input in inputs {
        corpus.add("envelope_convert", &input)?;
    }
    Ok(())
}

fn main() -> Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let corpus = Corpus { root };
    thrift(&corpus)?;
    sse(&corpus)?;
    jsonrpc(&corpus)?;
    envelope(&corpus)?;
    println!("seeds written under {}", corpus.root.display());
    Ok(())
}
