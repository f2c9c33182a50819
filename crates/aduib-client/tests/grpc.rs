//! gRPC: the Aduib service and the generic client, against our real server
//! on loopback, and against a server that never answers.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::Path;
use std::time::Duration;

use aduib_client::anygrpc::{self, AnyGrpc, ConnectOptions, Event, GrpcError, SchemaSource};
use aduib_client::{AduibClient, ClientConfig, ClientError, Transport};
use aduib_core::{AduibRequest, ResponseStatus};
use aduib_server::RunningServer;
use futures::StreamExt;
use prost_reflect::{DynamicMessage, Value as ProtoValue};
use serde_json::{Value, json};

async fn server() -> (RunningServer, String) {
    support::demo_target(aduib_server::Transport::Grpc).await
}

fn aduib(target: &str, timeout: Option<Duration>) -> AduibClient {
    AduibClient::new(ClientConfig {
        transport: Transport::Grpc,
        url: target.to_owned(),
        headers: vec![("x-tenant-id".into(), "t1".into())],
        timeout,
        limits: aduib_core::Limits::default(),
        tls: None,
    })
    .unwrap()
}

fn request(function: &str, data: Value) -> AduibRequest {
    AduibRequest::new(
        "g1",
        format!("rpc.v2/CaculService/CaculService.{function}"),
        data.as_object().cloned().unwrap(),
    )
}

fn demo_protos() -> SchemaSource {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto/demo");
    SchemaSource::ProtoFiles {
        protos: vec![root.join("aduib/demo/v1/rich.proto")],
        includes: vec![root],
    }
}

fn any_grpc(target: &str) -> AnyGrpc {
    let mut options = ConnectOptions::new(target);
    options.timeout = Some(Duration::from_secs(5));
    options.metadata = vec![("x-trace".into(), "abc".into())];
    AnyGrpc::new(options).unwrap()
}

#[tokio::test]
async fn aduib_calls_of_every_kind() {
    let (_server, target) = server().await;
    let client = aduib(&target, None);
    let add = client
        .call(&request("add", json!({"x": 1, "y": 2})))
        .await
        .unwrap();
    assert_eq!(
        add.result,
        Some(json!(3)),
        "whole doubles read back as integers"
    );
    assert_eq!(add.id, "g1");
    let half = client
        .call(&request("add", json!({"x": 1.5, "y": 2})))
        .await
        .unwrap();
    assert_eq!(half.result, Some(json!(3.5)));

    let fail = client.call(&request("fail", json!({}))).await.unwrap();
    assert_eq!(fail.status, ResponseStatus::Error);
    assert_eq!(fail.error.unwrap().code, 5000);

    let items: Vec<Value> = client
        .stream(&request("countdown", json!({"start": 2, "interval_ms": 0})))
        .await
        .unwrap()
        .map(|r| r.unwrap().result.unwrap())
        .collect()
        .await;
    assert_eq!(items, [json!({"n": 2}), json!({"n": 1}), json!({"n": 0})]);

    let sum = client
        .client_stream(
            futures::stream::iter([
                request("sum", json!({"x": 1})),
                request("sum", json!({"x": 2})),
                request("sum", json!({"x": 4})),
            ])
            .boxed(),
        )
        .await
        .unwrap();
    assert_eq!(sum.result, Some(json!(7)));

    let bidi: Vec<_> = client
        .bidirectional(
            futures::stream::iter([request("countdown", json!({"start": 1, "interval_ms": 0}))])
                .boxed(),
        )
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(bidi.len(), 2);

    let health = client.health(Some("CaculService")).await.unwrap();
    assert_eq!(
        health.result,
        Some(json!({"status": "healthy", "services": {"CaculService": "healthy"}}))
    );
}

#[tokio::test]
async fn aduib_over_grpc_honours_the_deadline_and_reports_refusals() {
    let (_server, target) = server().await;
    let err = aduib(&target, Some(Duration::from_millis(100)))
        .call(&request("slow", json!({"x": 1, "delay_ms": 3000})))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Timeout { .. }), "{err}");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let err = aduib(&addr, None)
        .call(&request("add", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::Connect { .. }), "{err}");
}

#[tokio::test]
async fn calls_on_one_connection_run_concurrently_and_shutdown_lets_them_finish() {
    let (server, target) = server().await;
    let addr = server.addr(aduib_server::Transport::Grpc).unwrap();
    // One client, one HTTP/2 connection: the server polls its streams on the
    // connection's task, and they must still overlap.
    let client = aduib(&target, None);
    // Connected before the clock starts: the client connects lazily.
    client
        .call(&request("add", json!({"x": 0, "y": 0})))
        .await
        .unwrap();
    let (first, second) = (
        request("slow", json!({"x": 1, "delay_ms": 800})),
        request("slow", json!({"x": 2, "delay_ms": 800})),
    );
    let started = std::time::Instant::now();
    let calls = futures::future::join3(client.call(&first), client.call(&second), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        server.shutdown(Duration::from_secs(5)).await;
    });
    let (one, two, ()) = calls.await;
    assert_eq!(one.unwrap().result, Some(json!({"doubled": 2})));
    assert_eq!(two.unwrap().result, Some(json!({"doubled": 4})));
    let elapsed = started.elapsed();
    assert!(
        elapsed < Duration::from_millis(1500),
        "ran one after the other: {elapsed:?}"
    );
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "stopped listening"
    );
}

#[tokio::test]
async fn a_panicking_function_fails_its_call_only() {
    let mut registry = aduib_server::HandlerRegistry::new();
    aduib_server::demo::register_cacul_service(&mut registry);
    registry.unary("CaculService.boom", |_: aduib_server::Args| async {
        panic!("boom")
    });
    let any = "127.0.0.1:0".parse().unwrap();
    let server = aduib_server::Server::new(registry, aduib_server::ServerConfig::default())
        .start(&[(aduib_server::Transport::Grpc, any)])
        .await
        .unwrap();
    let target = server
        .addr(aduib_server::Transport::Grpc)
        .unwrap()
        .to_string();
    let client = aduib(&target, None);
    let (boom, add) = futures::future::join(
        client.call(&request("boom", json!({}))),
        client.call(&request("add", json!({"x": 1, "y": 2}))),
    )
    .await;
    let error = boom.unwrap().error.unwrap();
    assert_eq!(error.code, 5000);
    assert!(error.message.contains("boom"), "{}", error.message);
    assert_eq!(add.unwrap().result, Some(json!(3)));
    let again = client.call(&request("add", json!({"x": 2, "y": 2}))).await;
    assert_eq!(
        again.unwrap().result,
        Some(json!(4)),
        "the connection survived"
    );
}

/// A message of the rich demo with every shape filled.
fn rich_json() -> Value {
    json!({
        "name": "n", "big": "9223372036854775807", "ubig": "18446744073709551615",
        "blob": "AAEC/w==", "color": "COLOR_BLUE", "numbers": [1, -2],
        "counts": {"a": "5"}, "byId": {"7": {"label": "x", "tags": ["t"], "point": {"x": 1.5, "y": -2.0}}},
        "nested": {"label": "in"},
        "extra": {"@type": "type.googleapis.com/aduib.demo.v1.Point", "x": 2.0, "y": 0.5},
        "at": "2026-01-02T03:04:05.500Z", "took": "1.500s",
        "attrs": {"k": [1.0, "a", null]}, "maybe": 42, "ratio": 0.25, "flag": true,
        "items": [{"label": "i1"}, {"label": "i2"}]
    })
}

async fn collect_messages(
    client: &AnyGrpc,
    source: &SchemaSource,
    method: &str,
    input: &str,
) -> Vec<Value> {
    let pool = client
        .schema(source, &["aduib.demo.v1.RichService".into()])
        .await
        .unwrap();
    let method = anygrpc::find_method(&pool, method).unwrap();
    let inputs = anygrpc::parse_messages(&method.input(), input).unwrap();
    let mut events = client.call(&method, inputs).await.unwrap();
    let mut messages = Vec::new();
    let mut saw_headers = false;
    while let Some(event) = events.next().await {
        match event.unwrap() {
            Event::Headers(headers) => {
                saw_headers = true;
                assert!(headers.get("content-type").is_some());
            }
            Event::Message(m) => messages.push(anygrpc::message_to_json(&m).unwrap()),
            Event::Trailers(trailers) => assert_eq!(trailers.get("grpc-status").unwrap(), "0"),
        }
    }
    assert!(saw_headers);
    messages
}

#[tokio::test]
async fn the_generic_client_round_trips_every_shape_by_reflection_and_by_proto() {
    let (_server, target) = server().await;
    let client = any_grpc(&target);
    for source in [SchemaSource::Reflection, demo_protos()] {
        let echoed = collect_messages(
            &client,
            &source,
            "aduib.demo.v1.RichService/Echo",
            &rich_json().to_string(),
        )
        .await;
        assert_eq!(echoed, [rich_json()], "{source:?}");

        let ticks = collect_messages(
            &client,
            &source,
            "aduib.demo.v1.RichService/Ticks",
            r#"{"count": 3, "interval": "0.001s"}"#,
        )
        .await;
        assert_eq!(
            ticks.iter().map(|t| t["n"].clone()).collect::<Vec<_>>(),
            [json!(1), json!(2), json!(3)]
        );
        assert!(ticks[0]["at"].as_str().unwrap().ends_with('Z'));

        let total = collect_messages(
            &client,
            &source,
            "aduib.demo.v1.RichService.Sum",
            "{\"value\": \"9007199254740993\"}\n{\"value\": 2}\n",
        )
        .await;
        assert_eq!(
            total,
            [json!({"sum": "9007199254740995", "count": 2})],
            "64-bit exact"
        );

        let chat = collect_messages(
            &client,
            &source,
            "aduib.demo.v1.RichService/Chat",
            r#"{"name": "a"} {"name": "b"}"#,
        )
        .await;
        assert_eq!(chat, [json!({"name": "a"}), json!({"name": "b"})]);
    }
}

#[tokio::test]
async fn bad_input_is_a_clear_error_and_the_server_keeps_serving() {
    let (_server, target) = server().await;
    let client = any_grpc(&target);
    let pool = client
        .schema(
            &SchemaSource::Reflection,
            &["aduib.demo.v1.RichService".into()],
        )
        .await
        .unwrap();
    let echo = anygrpc::find_method(&pool, "aduib.demo.v1.RichService/Echo").unwrap();
    let input = echo.input();

    // An Any of a type the schema does not have: an error, never a hang.
    let err = anygrpc::parse_messages(
        &input,
        r#"{"extra": {"@type": "type.googleapis.com/no.Such"}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no.Such"), "{err}");
    // A field of the wrong type, and an unknown field, are named.
    let err = anygrpc::parse_messages(&input, r#"{"numbers": "x"}"#).unwrap_err();
    assert!(err.to_string().ends_with("at numbers"), "{err}");
    let err =
        anygrpc::parse_messages(&input, r#"{"byId": {"1": {"point": {"x": "far"}}}}"#).unwrap_err();
    assert!(err.to_string().contains("at byId.1.point.x"), "{err}");
    let err = anygrpc::parse_messages(&input, r#"{"nope": 1}"#).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    // An unknown method.
    assert!(matches!(
        anygrpc::find_method(&pool, "aduib.demo.v1.RichService/Nope"),
        Err(GrpcError::NotFound(_))
    ));

    // A wrong message type: a Rich sent to AduibRpcService/Call. Its bytes are
    // not a valid Request (field 4 is a string there, bytes here) or decode
    // to nonsense; either way an answer comes back and the server lives.
    let call = anygrpc::find_method(
        &client
            .schema(
                &SchemaSource::Reflection,
                &["aduib.rpc.v2.AduibRpcService".into()],
            )
            .await
            .unwrap(),
        "aduib.rpc.v2.AduibRpcService/Call",
    )
    .unwrap();
    let mut wrong = DynamicMessage::new(input.clone());
    wrong.set_field_by_name("blob", ProtoValue::Bytes(vec![0xff; 16].into()));
    wrong.set_field_by_name("big", ProtoValue::I64(-1));
    let outcome = client.call(&call, vec![wrong]).await;
    match outcome {
        Err(GrpcError::Status(status)) => {
            assert_eq!(status.code(), tonic::Code::Internal, "{status:?}")
        }
        Ok(mut events) => {
            while let Some(event) = events.next().await {
                if let Ok(Event::Message(m)) = event {
                    let reply = anygrpc::message_to_json(&m).unwrap();
                    assert_eq!(reply["status"], "RESPONSE_STATUS_ERROR", "{reply}");
                }
            }
        }
        Err(other) => panic!("{other}"),
    }

    // An oversized message: refused by the client's own limit before sending,
    // and by the server's 64 MiB limit when the client allows more.
    let mut options = ConnectOptions::new(target.clone());
    options.max_message_bytes = 1024;
    let small = AnyGrpc::new(options).unwrap();
    let mut big = DynamicMessage::new(input.clone());
    big.set_field_by_name("blob", ProtoValue::Bytes(vec![7; 4096].into()));
    let err = small.call(&echo, vec![big]).await.err().expect("refused");
    assert!(err.to_string().contains("over the limit of 1024"), "{err}");
    let mut options = ConnectOptions::new(target.clone());
    options.max_message_bytes = 128 << 20;
    let roomy = AnyGrpc::new(options).unwrap();
    let mut huge = DynamicMessage::new(input.clone());
    huge.set_field_by_name("blob", ProtoValue::Bytes(vec![7; 65 << 20].into()));
    let err = roomy
        .call(&echo, vec![huge])
        .await
        .err()
        .expect("refused by the server");
    assert!(
        matches!(&err, GrpcError::Status(s) if s.code() == tonic::Code::OutOfRange || s.code() == tonic::Code::ResourceExhausted),
        "{err}"
    );

    // Still serving.
    let echoed = collect_messages(
        &client,
        &SchemaSource::Reflection,
        "aduib.demo.v1.RichService/Echo",
        r#"{"name": "alive"}"#,
    )
    .await;
    assert_eq!(echoed, [json!({"name": "alive"})]);
}

#[tokio::test]
async fn a_reflection_server_that_never_answers_times_out() {
    // Accepts connections and reads forever, answering nothing.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut options = ConnectOptions::new(target);
    options.reflection_timeout = Duration::from_millis(300);
    let client = AnyGrpc::new(options).unwrap();
    let started = std::time::Instant::now();
    let err = client.list_services().await.unwrap_err();
    assert!(matches!(err, GrpcError::Reflection(_)), "{err}");
    assert!(
        err.to_string().contains("did not answer reflection"),
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(3));
}

#[tokio::test]
async fn the_schema_by_reflection_includes_imports_and_well_known_types() {
    let (_server, target) = server().await;
    let client = any_grpc(&target);
    let services = client.list_services().await.unwrap();
    for name in [
        "aduib.demo.v1.RichService",
        "aduib.rpc.v2.AduibRpcService",
        "grpc.reflection.v1.ServerReflection",
    ] {
        assert!(
            services.contains(&name.to_owned()),
            "{name} in {services:?}"
        );
    }
    let pool = client
        .schema(
            &SchemaSource::Reflection,
            &["aduib.demo.v1.RichService".into()],
        )
        .await
        .unwrap();
    assert!(
        pool.get_message_by_name("aduib.demo.v1.Point").is_some(),
        "imported file"
    );
    assert!(pool.get_message_by_name("google.protobuf.Any").is_some());
}
