//! Thrift: the generic client against the rich demo on our server (both
//! protocols, both transports), and bad bytes against the server.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use aduib_client::anythrift::{self, ThriftCallError, ThriftCallOptions};
use aduib_server::{RunningServer, Transport};
use aduib_thrift::{Framing, Outcome, Protocol, Schema};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

async fn server() -> (RunningServer, String) {
    support::demo_target(Transport::Thrift).await
}

fn idl(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../thrift")
        .join(name)
}

fn demo() -> Schema {
    Schema::load(&idl("demo/rich.thrift"), &[]).unwrap()
}

fn options(
    target: &str,
    protocol: Protocol,
    framing: Framing,
    multiplexed: bool,
) -> ThriftCallOptions {
    ThriftCallOptions {
        target: target.to_owned(),
        protocol,
        framing,
        multiplexed: multiplexed.then(|| "RichService".to_owned()),
        timeout: Some(Duration::from_secs(5)),
    }
}

fn rich() -> Value {
    json!({
        "id": "r1", "flag": true, "tiny": -3, "small": 300, "medium": 70000,
        "big": 9223372036854775807i64, "ratio": 0.5, "name": "n", "blob": "AAEC/w==",
        "color": "BLUE", "numbers": [1, -2], "labels": ["a", "b"], "counts": {"x": 5},
        "by_id": {"7": {"label": "l", "tags": ["t"], "point": {"x": 1.5, "y": 2.0}}},
        "by_inner": [[{"label": "k", "tags": []}, "v"]],
        "inner": {"label": "in", "tags": []}, "choice": {"nested": {"label": "c", "tags": []}},
        "at": 1700000000000i64
    })
}

async fn call(
    schema: &Schema,
    symbol: &str,
    args: Value,
    options: &ThriftCallOptions,
) -> Result<Outcome, ThriftCallError> {
    let function = anythrift::find_function(schema, symbol)?;
    anythrift::call(schema, function, &args, options).await
}

#[tokio::test]
async fn every_shape_round_trips_over_both_protocols_and_transports() {
    let (_server, target) = server().await;
    let schema = demo();
    for protocol in [Protocol::Binary, Protocol::Compact] {
        for framing in [Framing::Buffered, Framing::Framed] {
            for multiplexed in [true, false] {
                let options = options(&target, protocol, framing, multiplexed);
                let echoed = call(
                    &schema,
                    "RichService.echo",
                    json!({ "rich": rich() }),
                    &options,
                )
                .await
                .unwrap();
                assert_eq!(
                    echoed,
                    Outcome::Success(rich()),
                    "{protocol:?} {framing:?} {multiplexed}"
                );
                // Enums by number are accepted and come back by name.
                let mut by_number = rich();
                by_number["color"] = json!(1);
                let echoed = call(
                    &schema,
                    "RichService.echo",
                    json!({ "rich": by_number }),
                    &options,
                )
                .await
                .unwrap();
                let Outcome::Success(value) = echoed else {
                    panic!()
                };
                assert_eq!(value["color"], "RED");
            }
        }
    }
}

#[tokio::test]
async fn exceptions_oneway_and_inherited_methods() {
    let (_server, target) = server().await;
    let schema = demo();
    let options = options(&target, Protocol::Binary, Framing::Buffered, true);
    assert_eq!(
        call(&schema, "RichService.fail", json!({"code": 7}), &options)
            .await
            .unwrap(),
        Outcome::Declared {
            name: "error".into(),
            value: json!({"code": 7, "message": "fail() always fails"}),
        }
    );
    let sum = call(
        &schema,
        "RichService.add",
        json!({"a": "9007199254740993", "b": 2}),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(
        sum,
        Outcome::Success(json!(9007199254740995i64)),
        "64-bit exact"
    );
    assert_eq!(
        call(
            &schema,
            "RichService.notify",
            json!({"message": "hi"}),
            &options
        )
        .await
        .unwrap(),
        Outcome::Success(Value::Null)
    );
    assert_eq!(
        call(&schema, "RichService.ping", json!({}), &options)
            .await
            .unwrap(),
        Outcome::Success(json!("pong"))
    );
    // TaskService is served: an unknown task is the peer's TApplicationException
    // shape carrying 4000.
    let aduib = Schema::load(&idl("aduib_rpc_v2.thrift"), &[]).unwrap();
    let mut task = options.clone();
    task.multiplexed = Some("TaskService".into());
    let outcome = call(
        &aduib,
        "TaskService.Query",
        json!({"request": {"task_id": "t"}}),
        &task,
    )
    .await
    .unwrap();
    let Outcome::Application(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert!(error.message.contains("\"code\":4000"), "{error:?}");
}

#[tokio::test]
async fn bad_arguments_name_the_json_path() {
    let schema = demo();
    let options = options("127.0.0.1:9", Protocol::Binary, Framing::Buffered, true);
    let mut bad = rich();
    bad["by_id"]["7"]["point"]["x"] = json!("far");
    let err = call(
        &schema,
        "RichService.echo",
        json!({ "rich": bad }),
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&err, ThriftCallError::Input(e) if e.path == "args.rich.by_id.7.point.x"),
        "{err:?}"
    );
    let err = call(
        &schema,
        "RichService.echo",
        json!({"rich": {"id": "x", "small": 70000}}),
        &options,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:?}").contains("out of range"), "{err:?}");
    let err = call(
        &schema,
        "RichService.echo",
        json!({"rich": {"name": "no id"}}),
        &options,
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:?}").contains("required field \\\"id\\\""),
        "{err:?}"
    );
    let err = call(
        &schema,
        "RichService.echo",
        json!({"rich": {"id": "x", "choice": {"text": "a", "number": 1}}}),
        &options,
    )
    .await
    .unwrap_err();
    assert!(format!("{err:?}").contains("exactly one field"), "{err:?}");
    assert!(matches!(
        anythrift::find_function(&schema, "RichService.nope"),
        Err(ThriftCallError::NotFound(_))
    ));
}

/// Sends raw bytes on a new connection; returns what came back before the
/// server answered or closed.
async fn raw(target: &str, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(target).await.unwrap();
    stream.write_all(bytes).await.unwrap();
    stream.shutdown().await.ok();
    let mut reply = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut reply))
        .await
        .expect("the server answers or closes")
        .ok();
    reply
}

#[tokio::test]
async fn bad_bytes_get_an_exception_or_a_closed_connection_and_the_server_lives() {
    let (_server, target) = server().await;
    let schema = demo();
    // Garbage: read as a frame length far over the limit, closed unanswered.
    assert!(raw(&target, b"GET / HTTP/1.1\r\n\r\n").await.is_empty());
    assert!(
        raw(&target, &[0x80, 0x01, 0x00, 0x01, 0xff, 0xff])
            .await
            .is_empty(),
        "negative name length"
    );
    // A huge declared length: refused before allocating, connection closed.
    let mut huge = vec![0x80, 0x01, 0x00, 0x01, 0x7f, 0xff, 0xff, 0xf0];
    huge.extend_from_slice(b"echo");
    assert!(raw(&target, &huge).await.is_empty());
    // Truncated: the call never completes; the server just closes.
    let options = options(&target, Protocol::Binary, Framing::Buffered, true);
    let function = anythrift::find_function(&schema, "RichService.echo").unwrap();
    let whole = aduib_thrift::message::encode_call(
        &schema,
        Protocol::Binary,
        "RichService:echo",
        function,
        &json!({"rich": rich()}),
        1,
    )
    .unwrap();
    assert!(raw(&target, &whole[..whole.len() / 2]).await.is_empty());

    // A wrong field type: `rich` sent as a string gets a TApplicationException.
    let text = "service RichService { string echo(1: string rich) }";
    let wrong = Schema::parse_str("wrong", text).unwrap();
    let outcome = call(
        &wrong,
        "RichService.echo",
        json!({"rich": "not a struct"}),
        &options,
    )
    .await
    .unwrap();
    let Outcome::Application(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.kind, 7, "PROTOCOL_ERROR: {error:?}");
    assert!(error.message.contains("args.rich"), "{error:?}");
    // An unknown method.
    let unknown = Schema::parse_str("unknown", "service RichService { void nope() }").unwrap();
    let outcome = call(&unknown, "RichService.nope", json!({}), &options)
        .await
        .unwrap();
    let Outcome::Application(error) = outcome else {
        panic!("{outcome:?}")
    };
    assert_eq!(error.kind, 1, "UNKNOWN_METHOD: {error:?}");

    // Still serving.
    let echoed = call(
        &schema,
        "RichService.echo",
        json!({"rich": rich()}),
        &options,
    )
    .await
    .unwrap();
    assert_eq!(echoed, Outcome::Success(rich()));
}

#[tokio::test]
async fn a_server_closing_mid_reply_is_reported() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = socket.read(&mut buf).await;
        // The start of a reply, then gone.
        socket
            .write_all(&[0x80, 0x01, 0x00, 0x02, 0, 0, 0, 4, b'p'])
            .await
            .unwrap();
    });
    let schema = demo();
    let options = options(&target, Protocol::Binary, Framing::Buffered, true);
    let err = call(&schema, "RichService.ping", json!({}), &options)
        .await
        .unwrap_err();
    assert!(
        matches!(err, ThriftCallError::Closed { received: 9, .. }),
        "{err:?}"
    );
}

/// A call of `RichService.ping` whose argument struct holds an unknown
/// field: lists (or maps) nested `depth` deep.
fn deeply_nested_call(protocol: Protocol, map: bool, depth: usize) -> Vec<u8> {
    use aduib_thrift::protocol::{MessageHeader, MessageKind, Wire, Writer};
    let mut w = Writer::new(protocol);
    w.message_begin(&MessageHeader {
        name: "RichService:ping".into(),
        kind: MessageKind::Call,
        seq: 1,
    });
    w.struct_begin();
    w.field_begin(if map { Wire::Map } else { Wire::List }, 9);
    for _ in 0..depth {
        if map {
            w.map_begin(Wire::I32, Wire::Map, 1);
            w.write_i32(1);
        } else {
            w.collection_begin(Wire::List, 1);
        }
    }
    w.collection_begin(Wire::I32, 0);
    w.field_stop();
    w.struct_end();
    w.into_bytes()
}

#[tokio::test]
async fn hostile_nesting_is_refused_and_the_server_lives() {
    let (_server, target) = server().await;
    for protocol in [Protocol::Binary, Protocol::Compact] {
        for map in [false, true] {
            let message = deeply_nested_call(protocol, map, 100_000);
            let mut framed = (message.len() as u32).to_be_bytes().to_vec();
            framed.extend_from_slice(&message);
            for bytes in [&message, &framed] {
                // Buffered: closed unanswered (the message cannot be
                // delimited); framed: an exception or a close.
                let reply = raw(&target, bytes).await;
                assert!(
                    reply.is_empty() || reply.windows(6).any(|w| w == b"deeper"),
                    "{protocol:?} map={map}: {} bytes back",
                    reply.len()
                );
            }
        }
    }
    // The compact run of list headers (`19` = field delta 1, list; and a
    // list of one list).
    let mut run = vec![0x82, 0x21, 0x00, 0x00];
    run.extend(std::iter::repeat_n(0x19, 50_000));
    assert!(raw(&target, &run).await.is_empty());
    let options = options(&target, Protocol::Binary, Framing::Buffered, true);
    let pong = call(&demo(), "RichService.ping", json!({}), &options).await;
    assert_eq!(pong.unwrap(), Outcome::Success(json!("pong")));
}

#[tokio::test]
async fn a_client_reading_a_hostile_thrift_reply_gets_an_error_not_a_crash() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let target = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = socket.read(&mut buf).await;
        let mut reply = deeply_nested_call(Protocol::Binary, false, 100_000);
        // The same bytes as a reply to `ping`.
        reply[3] = 2;
        socket.write_all(&reply).await.unwrap();
    });
    let options = options(&target, Protocol::Binary, Framing::Buffered, true);
    let err = call(&demo(), "RichService.ping", json!({}), &options)
        .await
        .unwrap_err();
    let ThriftCallError::BadReply { reason, .. } = err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("nesting deeper than 64"), "{reason}");
}
