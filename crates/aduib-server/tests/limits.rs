//! What a hostile client can no longer do: hold connections with partial
//! requests, stall bodies, keep idle connections, open connections without
//! end, or make one request cost far more than its bytes. Real sockets on
//! loopback, with short timeouts so the timers are seen to fire.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aduib_core::Limits;
use aduib_proto::v2 as pb;
use aduib_server::demo::register_cacul_service;
use aduib_server::{HandlerRegistry, RunningServer, Server, ServerConfig, Transport};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const TIMER: Duration = Duration::from_millis(300);
/// How late a timer may fire on a loaded 2-core machine.
const MARGIN: Duration = Duration::from_secs(3);

fn short_limits() -> Limits {
    Limits {
        header_timeout: TIMER,
        body_timeout: TIMER,
        idle_timeout: TIMER,
        ..Limits::default()
    }
}

async fn start(limits: Limits) -> RunningServer {
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    let config = ServerConfig {
        limits,
        ..ServerConfig::default()
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let all = [
        Transport::JsonRpc,
        Transport::Rest,
        Transport::Grpc,
        Transport::Thrift,
    ];
    let binds: Vec<_> = all.iter().map(|&t| (t, any)).collect();
    Server::new(registry, config).start(&binds).await.unwrap()
}

/// Sends `bytes`, then waits for the server to close; returns what it sent
/// back and how long it took. Fails if the server holds on.
async fn closed_after(addr: SocketAddr, bytes: &[u8]) -> (Vec<u8>, Duration) {
    let mut tcp = TcpStream::connect(addr).await.unwrap();
    tcp.write_all(bytes).await.unwrap();
    let started = Instant::now();
    let mut reply = Vec::new();
    let read = tokio::time::timeout(TIMER + MARGIN, tcp.read_to_end(&mut reply)).await;
    assert!(
        read.is_ok(),
        "the server still holds the connection after {:?}",
        started.elapsed()
    );
    (reply, started.elapsed())
}

async fn grpc_channel(addr: SocketAddr) -> tonic::transport::Channel {
    tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

/// `CaculService.add(1, 2)` as a JSON-RPC request.
const ADD: &str = r#"{"jsonrpc":"2.0","id":1,"method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2}}}"#;

async fn add_over_jsonrpc(addr: SocketAddr) -> Value {
    let body: Value = serde_json::from_str(ADD).unwrap();
    let reply = reqwest::Client::new()
        .post(format!("http://{addr}/aduib_rpc"))
        .json(&body)
        .timeout(Duration::from_secs(1))
        .send()
        .await
        .unwrap();
    reply.json().await.unwrap()
}

#[tokio::test]
async fn partial_request_heads_are_closed_after_the_header_timeout() {
    let server = start(short_limits()).await;
    let head = b"POST /aduib_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\n";
    for transport in [Transport::JsonRpc, Transport::Rest] {
        let (_, took) = closed_after(server.addr(transport).unwrap(), head).await;
        assert!(took >= TIMER / 2, "{transport}: closed after {took:?}");
    }
    // Half of the HTTP/2 preface, on gRPC and on the HTTP listeners.
    let half_preface = &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..12];
    for transport in [Transport::Grpc, Transport::JsonRpc] {
        closed_after(server.addr(transport).unwrap(), half_preface).await;
    }
    // Three bytes of a Thrift message; and a Thrift connection that never speaks.
    closed_after(server.addr(Transport::Thrift).unwrap(), &[0x80, 0x01, 0x00]).await;
    closed_after(server.addr(Transport::Thrift).unwrap(), &[]).await;
    let reply = add_over_jsonrpc(server.addr(Transport::JsonRpc).unwrap()).await;
    assert_eq!(reply["result"]["result"], 3, "{reply}");
}

#[tokio::test]
async fn stalled_bodies_are_answered_after_the_body_timeout() {
    let server = start(short_limits()).await;
    let addr = server.addr(Transport::JsonRpc).unwrap();
    let declared = b"POST /aduib_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 1000000\r\n\r\n{\"jsonrpc\"";
    let chunked = b"POST /aduib_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{\"a\":\r\n";
    for head in [&declared[..], &chunked[..]] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        tcp.write_all(head).await.unwrap();
        let mut reply = vec![0; 4096];
        let n = tokio::time::timeout(TIMER + MARGIN, tcp.read(&mut reply))
            .await
            .expect("answered within the body timeout")
            .unwrap();
        let text = String::from_utf8_lossy(&reply[..n]);
        assert!(text.contains("was not received within 300 ms"), "{text}");
    }
    // A Thrift message that stops midway.
    let thrift = server.addr(Transport::Thrift).unwrap();
    let (reply, took) = closed_after(thrift, &[0x80, 0x01, 0x00, 0x01, 0, 0, 0, 20, b'A']).await;
    assert!(reply.is_empty() && took >= TIMER / 2, "{took:?}");
}

#[tokio::test]
async fn idle_connections_are_reaped() {
    let server = start(short_limits()).await;
    // HTTP/1.1 keep-alive after one request.
    let addr = server.addr(Transport::JsonRpc).unwrap();
    let body = ADD;
    let request = format!(
        "POST /aduib_rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (reply, _) = closed_after(addr, request.as_bytes()).await;
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.contains("\"result\":3"), "{reply}");
    // HTTP/2: the preface and SETTINGS, then no stream: GOAWAY and close.
    let mut handshake = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    handshake.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
    for transport in [Transport::Grpc, Transport::Rest] {
        let (reply, took) = closed_after(server.addr(transport).unwrap(), &handshake).await;
        assert!(
            frame_types(&reply).contains(&GOAWAY),
            "{transport}: {reply:?}"
        );
        assert!(took >= TIMER / 2, "{transport}: {took:?}");
    }
    // Thrift after one call.
    let thrift = server.addr(Transport::Thrift).unwrap();
    let (reply, took) = closed_after(thrift, &health_check_call()).await;
    assert!(!reply.is_empty(), "the call was answered");
    assert!(took >= TIMER / 2, "{took:?}");
}

const GOAWAY: u8 = 7;

/// The types of the HTTP/2 frames in `bytes`.
fn frame_types(mut bytes: &[u8]) -> Vec<u8> {
    let mut types = Vec::new();
    while bytes.len() >= 9 {
        let length =
            usize::from(bytes[0]) << 16 | usize::from(bytes[1]) << 8 | usize::from(bytes[2]);
        types.push(bytes[3]);
        bytes = &bytes[(9 + length).min(bytes.len())..];
    }
    types
}

/// `HealthService:Check` with an empty request, strict binary.
fn health_check_call() -> Vec<u8> {
    use aduib_thrift::protocol::{MessageHeader, MessageKind, Wire, Writer};
    let mut w = Writer::new(aduib_thrift::Protocol::Binary);
    w.message_begin(&MessageHeader {
        name: "HealthService:Check".into(),
        kind: MessageKind::Call,
        seq: 1,
    });
    w.struct_begin();
    w.field_begin(Wire::Struct, 1);
    w.struct_begin();
    w.field_stop();
    w.struct_end();
    w.field_stop();
    w.struct_end();
    w.into_bytes()
}

#[tokio::test]
async fn connections_over_the_cap_are_closed_at_once_and_others_serve() {
    let server = start(Limits {
        max_connections: Some(4),
        ..Limits::default()
    })
    .await;
    let addr = server.addr(Transport::Thrift).unwrap();
    let mut held = Vec::new();
    for _ in 0..4 {
        held.push(TcpStream::connect(addr).await.unwrap());
    }
    // Let the server accept them before the fifth.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (reply, took) = closed_after(addr, &[]).await;
    assert!(
        reply.is_empty() && took < Duration::from_secs(1),
        "{took:?}"
    );
    // Another listener is not affected.
    let reply = add_over_jsonrpc(server.addr(Transport::JsonRpc).unwrap()).await;
    assert_eq!(reply["result"]["result"], 3, "{reply}");
    drop(held);
}

#[tokio::test]
async fn one_request_cannot_cost_far_more_than_its_bytes() {
    let server = start(Limits::default()).await;
    let addr = server.addr(Transport::JsonRpc).unwrap();
    let post = |body: String| {
        let client = reqwest::Client::new();
        async move {
            let reply = client
                .post(format!("http://{addr}/aduib_rpc"))
                .header("content-type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            reply.json::<Value>().await.unwrap()
        }
    };
    // A batch of a million `1`s: refused whole, in one error.
    let batch = format!("[{}1]", "1,".repeat(999_999));
    let reply = post(batch).await;
    assert_eq!(reply["error"]["code"], 2004, "{reply}");
    // A batch over max_batch (1,000) but under the value limit.
    let batch = format!("[{}1]", "1,".repeat(1_500));
    let reply = post(batch).await;
    assert_eq!(reply["error"]["code"], 2004, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most 1000 calls")
    );
    // An echo of 7 million zeros (14 MB, under the body limit).
    let zeros = format!("[{}0]", "0,".repeat(7_000_000));
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"rpc.v2/CaculService/CaculService.echo","params":{{"aduib_rpc":"2.0","id":"e","method":"rpc.v2/CaculService/CaculService.echo","data":{{"z":{zeros}}}}}}}"#
    );
    let reply = post(body).await;
    assert_eq!(reply["error"]["code"], 2004, "{reply}");
    // JSON nested 100,000 deep.
    let reply = post("[".repeat(100_000)).await;
    assert_eq!(reply["error"]["code"], 2004, "{reply}");
}

#[tokio::test]
async fn grpc_limits_answer_resource_exhausted() {
    let server = start(Limits {
        max_grpc_message_bytes: 4096,
        max_stream_items: 3,
        ..Limits::default()
    })
    .await;
    let grpc = server.addr(Transport::Grpc).unwrap();
    let channel = grpc_channel(grpc).await;
    let mut client = pb::aduib_rpc_service_client::AduibRpcServiceClient::new(channel);
    let big = pb::Request {
        aduib_rpc: "2.0".into(),
        id: "big".into(),
        method: "rpc.v2/CaculService/CaculService.echo".into(),
        name: Some("x".repeat(10_000)),
        ..Default::default()
    };
    let status = client.call(big).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    let small = pb::Request {
        aduib_rpc: "2.0".into(),
        id: "s".into(),
        method: "rpc.v2/CaculService/CaculService.sum".into(),
        ..Default::default()
    };
    let four = tokio_stream::iter(vec![small; 4]);
    let status = client.call_client_stream(four).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(
        status.message().contains("at most 3 messages"),
        "{status:?}"
    );
}

#[tokio::test]
async fn grpc_takes_gzipped_requests_and_answers_plain() {
    use tonic::codec::CompressionEncoding;
    let server = start(Limits::default()).await;
    let grpc = server.addr(Transport::Grpc).unwrap();
    // As the peer's client: requests gzipped, gzip accepted in answers.
    let mut client =
        pb::aduib_rpc_service_client::AduibRpcServiceClient::new(grpc_channel(grpc).await)
            .send_compressed(CompressionEncoding::Gzip)
            .accept_compressed(CompressionEncoding::Gzip);
    let request = pb::Request {
        aduib_rpc: "2.0".into(),
        id: "gz".into(),
        method: "rpc.v2/CaculService/CaculService.echo".into(),
        name: Some("x".repeat(10_000)),
        ..Default::default()
    };
    let reply = client.call(request).await.unwrap();
    // Uncompressed, however compressible: no gzip work per message.
    assert!(
        reply.metadata().get("grpc-encoding").is_none(),
        "{:?}",
        reply.metadata()
    );
    assert_eq!(reply.get_ref().id, "gz");
}

#[tokio::test]
async fn the_standard_grpc_health_service_is_served() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_check_response::ServingStatus;
    use tonic_health::pb::health_client::HealthClient;
    let server = start(Limits::default()).await;
    let grpc = server.addr(Transport::Grpc).unwrap();
    let channel = grpc_channel(grpc).await;
    let mut health = HealthClient::new(channel);
    for service in ["", "aduib.rpc.v2.AduibRpcService"] {
        let reply = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            reply.get_ref().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), tonic::Code::NotFound);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.message().await.unwrap().unwrap();
    assert_eq!(first.status(), ServingStatus::Serving);
}

#[tokio::test]
async fn a_slow_grpc_call_holds_up_neither_its_connection_nor_others() {
    let server = start(Limits::default()).await;
    let grpc = server.addr(Transport::Grpc).unwrap();
    let connect = || async {
        let channel = grpc_channel(grpc).await;
        pb::aduib_rpc_service_client::AduibRpcServiceClient::new(channel)
    };
    let call = |function: &str, data: &str| {
        let data: prost_types::Struct = {
            let value: Value = serde_json::from_str(data).unwrap();
            let fields = value
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let n = v.as_f64().unwrap();
                    let kind = prost_types::value::Kind::NumberValue(n);
                    (k.clone(), prost_types::Value { kind: Some(kind) })
                })
                .collect();
            prost_types::Struct { fields }
        };
        pb::Request {
            aduib_rpc: "2.0".into(),
            id: function.into(),
            method: format!("rpc.v2/CaculService/CaculService.{function}"),
            data: Some(data),
            ..Default::default()
        }
    };
    let (mut first, mut second) = (connect().await, connect().await);
    let mut same = first.clone();
    let slow = tokio::spawn(async move {
        first
            .call(call("slow", r#"{"x": 1, "delay_ms": 2000}"#))
            .await
    });
    // Once the slow call is running, quick calls on its connection and on
    // another one answer at once.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for client in [&mut same, &mut second] {
        let started = Instant::now();
        client
            .call(call("add", r#"{"x": 1, "y": 2}"#))
            .await
            .unwrap();
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
    }
    assert!(!slow.is_finished(), "the slow call was still running");
    slow.await.unwrap().unwrap();
}

#[tokio::test]
async fn the_token_travels_in_headers_or_the_envelope_and_health_is_open() {
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    // A fresh random token: no credential is written into the tests.
    let token = uuid::Uuid::new_v4().to_string();
    let token = token.as_str();
    let config = ServerConfig {
        access: aduib_server::Access {
            token: Some(aduib_server::Token::new(token)),
            ..aduib_server::Access::default()
        },
        ..ServerConfig::default()
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let server = Server::new(registry, config)
        .start(&[
            (Transport::JsonRpc, any),
            (Transport::Rest, any),
            (Transport::Grpc, any),
        ])
        .await
        .unwrap();
    let jsonrpc = server.addr(Transport::JsonRpc).unwrap();
    let rest = server.addr(Transport::Rest).unwrap();
    let post = |url: String, body: String, authorization: Option<String>| async move {
        let mut request = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        request.send().await.unwrap().json::<Value>().await.unwrap()
    };
    let url = format!("http://{jsonrpc}/aduib_rpc");
    let code = |reply: &Value| reply["error"]["code"].clone();
    assert_eq!(code(&post(url.clone(), ADD.into(), None).await), 3000);
    let wrong = Some("Bearer nope".to_owned());
    assert_eq!(code(&post(url.clone(), ADD.into(), wrong).await), 3001);
    let bearer = Some(format!("Bearer {token}"));
    let reply = post(url.clone(), ADD.into(), bearer).await;
    assert_eq!(reply["result"]["result"], 3, "{reply}");
    // In the envelope, as the peer's Python clients send it.
    let in_envelope = ADD.replace(
        r#""data":{"x":1,"y":2}"#,
        &format!(
            r#""data":{{"x":1,"y":2}},"metadata":{{"timestamp_ms":0,"auth":{{"scheme":"bearer","credentials":"{token}"}}}}"#
        ),
    );
    let reply = post(url, in_envelope, None).await;
    assert_eq!(reply["result"]["result"], 3, "{reply}");
    // Health needs no token.
    let health = post(
        format!("http://{rest}/aduib_rpc/v2/HealthService/Check"),
        "{}".into(),
        None,
    )
    .await;
    assert_eq!(health["status"], "healthy", "{health}");
    // gRPC: the envelope's credentials, no metadata.
    let grpc = server.addr(Transport::Grpc).unwrap();
    let channel = grpc_channel(grpc).await;
    let mut client = pb::aduib_rpc_service_client::AduibRpcServiceClient::new(channel);
    let mut request = pb::Request {
        aduib_rpc: "2.0".into(),
        id: "g".into(),
        method: "rpc.v2/CaculService/CaculService.echo".into(),
        ..Default::default()
    };
    let refused = client.call(request.clone()).await.unwrap().into_inner();
    let refused = format!("{:?}", refused.payload);
    assert!(refused.contains("code: 3000"), "{refused}");
    request.metadata = Some(pb::RequestMetadata {
        auth: Some(pb::AuthContext {
            scheme: pb::AuthScheme::Bearer as i32,
            credentials: Some(token.into()),
            ..Default::default()
        }),
        ..Default::default()
    });
    let answered = client.call(request).await.unwrap().into_inner();
    assert_eq!(
        answered.status,
        pb::ResponseStatus::Success as i32,
        "{answered:?}"
    );
    // Client and bidi streams: refused without the token (they once ran
    // without any check), answered with it in the call's metadata.
    let sum = pb::Request {
        aduib_rpc: "2.0".into(),
        id: "s".into(),
        method: "rpc.v2/CaculService/CaculService.sum".into(),
        ..Default::default()
    };
    let messages = || tokio_stream::iter(vec![sum.clone(); 2]);
    fn with_token<T>(message: T, token: &str) -> tonic::Request<T> {
        let mut call = tonic::Request::new(message);
        let value = format!("Bearer {token}").parse().unwrap();
        call.metadata_mut().insert("authorization", value);
        call
    }
    let status_of = |response: &pb::Response| (response.status, format!("{:?}", response.payload));
    let refused = client
        .call_client_stream(messages())
        .await
        .unwrap()
        .into_inner();
    let (status, payload) = status_of(&refused);
    assert_eq!(status, pb::ResponseStatus::Error as i32);
    assert!(payload.contains("code: 3000"), "{payload}");
    let answered = client
        .call_client_stream(with_token(messages(), token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        status_of(&answered).0,
        pb::ResponseStatus::Success as i32,
        "{answered:?}"
    );
    let mut refused = client
        .call_bidirectional(messages())
        .await
        .unwrap()
        .into_inner();
    let (status, payload) = status_of(&refused.message().await.unwrap().unwrap());
    assert_eq!(status, pb::ResponseStatus::Error as i32);
    assert!(payload.contains("code: 3000"), "{payload}");
    let mut answered = client
        .call_bidirectional(with_token(messages(), token))
        .await
        .unwrap()
        .into_inner();
    let first = answered.message().await.unwrap().unwrap();
    assert_eq!(
        status_of(&first).0,
        pb::ResponseStatus::Success as i32,
        "{first:?}"
    );
    // A task's Submit carries the token in the envelope it submits, as the
    // peer's clients put it (the middleware once refused it before the
    // handler could look); Query needs it in the call's metadata.
    let mut tasks = pb::task_service_client::TaskServiceClient::new(grpc_channel(grpc).await);
    let submit = |credentials: Option<&str>| {
        let mut envelope = serde_json::json!({
            "aduib_rpc": "2.0", "id": "t",
            "method": "rpc.v2/CaculService/CaculService.add",
            "data": {"x": 1, "y": 2},
        });
        if let Some(credentials) = credentials {
            envelope["metadata"] = serde_json::json!({
                "timestamp_ms": 0,
                "auth": {"scheme": "bearer", "credentials": credentials},
            });
        }
        let Value::Object(params) = envelope else {
            unreachable!()
        };
        pb::TaskSubmitRequest {
            params: Some(aduib_proto::convert::map_to_struct(params)),
            ..Default::default()
        }
    };
    let refused = tasks.submit(submit(None)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    let submitted = tasks
        .submit(submit(Some(token)))
        .await
        .unwrap()
        .into_inner();
    assert!(!submitted.task_id.is_empty(), "{submitted:?}");
    let query = pb::TaskQueryRequest {
        task_id: submitted.task_id,
    };
    let refused = tasks.query(query.clone()).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated, "{refused:?}");
    let queried = tasks.query(with_token(query, token)).await.unwrap();
    assert!(queried.into_inner().task.is_some());
}
