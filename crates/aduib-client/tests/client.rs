//! The client against our real server, and against hand-written byte-level
//! servers for the failure cases a well-behaved server never produces.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use aduib_client::{AduibClient, ClientConfig, ClientError, Transport};
use aduib_core::sse::SseError;
use aduib_core::{AduibRequest, ResponseStatus};
use aduib_server::{RunningServer, ServerConfig};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const TRANSPORTS: [Transport; 2] = [Transport::JsonRpc, Transport::Rest];
/// Every Aduib transport, for behaviour that must not depend on the framing.
const ALL_TRANSPORTS: [Transport; 4] = [
    Transport::JsonRpc,
    Transport::Rest,
    Transport::Grpc,
    Transport::Thrift,
];

async fn demo_server(config: ServerConfig) -> RunningServer {
    use aduib_server::Transport as T;
    support::demo_server(&[T::JsonRpc, T::Rest, T::Grpc, T::Thrift], config).await
}

fn client_for(
    server: &RunningServer,
    transport: Transport,
    timeout: Option<Duration>,
) -> AduibClient {
    let server_transport = match transport {
        Transport::JsonRpc => aduib_server::Transport::JsonRpc,
        Transport::Rest => aduib_server::Transport::Rest,
        Transport::Grpc => aduib_server::Transport::Grpc,
        Transport::Thrift => aduib_server::Transport::Thrift,
    };
    let addr = server.addr(server_transport).unwrap();
    client(transport, format!("http://{addr}"), timeout)
}

fn client(transport: Transport, url: String, timeout: Option<Duration>) -> AduibClient {
    AduibClient::new(ClientConfig {
        transport,
        url,
        headers: vec![("x-tenant-id".into(), "t1".into())],
        timeout,
        limits: aduib_core::Limits::default(),
        tls: None,
    })
    .unwrap()
}

fn request(function: &str, data: Value) -> AduibRequest {
    AduibRequest::new(
        "c1",
        format!("rpc.v2/CaculService/CaculService.{function}"),
        data.as_object().cloned().unwrap(),
    )
}

#[tokio::test]
async fn unary_calls_keep_json_number_types() {
    let server = demo_server(ServerConfig::default()).await;
    for transport in ALL_TRANSPORTS {
        let client = client_for(&server, transport, None);
        let cases = [
            ("add", json!({"x": 1, "y": 2}), json!(3)),
            ("add", json!({"x": 1.5, "y": 2}), json!(3.5)),
            ("mul", json!({"x": 3, "y": 4}), json!(12)),
            (
                "echo",
                json!({"b": [1, {"c": null}], "a": "z"}),
                json!({"b": [1, {"c": null}], "a": "z"}),
            ),
            (
                "slow",
                json!({"x": 21, "delay_ms": 10}),
                json!({"doubled": 42}),
            ),
        ];
        for (function, data, expected) in cases {
            let response = client.call(&request(function, data)).await.unwrap();
            assert_eq!(
                response.status,
                ResponseStatus::Success,
                "{transport:?} {function}"
            );
            assert_eq!(
                response.result,
                Some(expected.clone()),
                "{transport:?} {function}"
            );
            assert_eq!(response.id, "c1");
        }
    }
}

#[tokio::test]
async fn both_error_placements_read_the_same() {
    let server = demo_server(ServerConfig::default()).await;
    let mut errors = Vec::new();
    for transport in ALL_TRANSPORTS {
        let response = client_for(&server, transport, None)
            .call(&request("fail", json!({})))
            .await
            .unwrap();
        assert_eq!(response.status, ResponseStatus::Error);
        errors.push(response.error.unwrap());
    }
    assert_eq!(errors[0], errors[1]);
    assert_eq!(errors[0], errors[2]);
    assert_eq!(errors[0], errors[3]);
    assert_eq!(errors[0].code, 5000);
}

#[tokio::test]
async fn streams_arrive_in_order_through_keep_alives() {
    // Pings every 5 ms between items 30 ms apart: the client must skip them.
    let server = demo_server(ServerConfig {
        keep_alive: Duration::from_millis(5),
        ..ServerConfig::default()
    })
    .await;
    for transport in TRANSPORTS {
        let client = client_for(&server, transport, None);
        let items: Vec<Value> = client
            .stream(&request(
                "countdown",
                json!({"start": 3, "interval_ms": 30}),
            ))
            .await
            .unwrap()
            .map(|r| r.unwrap().result.unwrap())
            .collect()
            .await;
        assert_eq!(
            items,
            [
                json!({"n": 3}),
                json!({"n": 2}),
                json!({"n": 1}),
                json!({"n": 0})
            ]
        );
    }
}

#[tokio::test]
async fn a_unary_function_streams_one_item_and_an_error_stream_one_error() {
    let server = demo_server(ServerConfig::default()).await;
    for transport in TRANSPORTS {
        let client = client_for(&server, transport, None);
        let one: Vec<_> = client
            .stream(&request("add", json!({"x": 1, "y": 1})))
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(one.len(), 1);
        let bad: Vec<_> = client
            .stream(&request("countdown", json!({"start": "many"})))
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(bad.len(), 1, "{transport:?}");
        assert_eq!(bad[0].as_ref().unwrap().error.as_ref().unwrap().code, 2001);
    }
}

#[tokio::test]
async fn calling_a_stream_as_unary_says_so() {
    let server = demo_server(ServerConfig::default()).await;
    // JSON-RPC answers a streaming function with SSE, as the peer does.
    let err = client_for(&server, Transport::JsonRpc, None)
        .call(&request("countdown", json!({"start": 1})))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::UnexpectedStream { .. }), "{err}");
    let response = client_for(&server, Transport::Rest, None)
        .call(&request("countdown", json!({"start": 1})))
        .await
        .unwrap();
    assert!(response.error.unwrap().message.contains("server-streaming"));
}

#[tokio::test]
async fn health_reads_like_a_call() {
    let server = demo_server(ServerConfig::default()).await;
    for transport in ALL_TRANSPORTS {
        let response = client_for(&server, transport, None)
            .health(Some("CaculService"))
            .await
            .unwrap();
        assert_eq!(
            response.result,
            Some(json!({"status": "healthy", "services": {"CaculService": "healthy"}}))
        );
    }
}

#[tokio::test]
async fn the_deadline_covers_the_whole_exchange() {
    let server = demo_server(ServerConfig::default()).await;
    for transport in TRANSPORTS {
        let client = client_for(&server, transport, Some(Duration::from_millis(150)));
        let err = client
            .call(&request("slow", json!({"x": 1, "delay_ms": 3000})))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Timeout { .. }), "{err}");
        // Streams too: the first item comes, then the deadline ends it.
        let mut stream = client
            .stream(&request(
                "countdown",
                json!({"start": 100, "interval_ms": 40}),
            ))
            .await
            .unwrap();
        assert!(stream.next().await.unwrap().is_ok());
        let mut last = None;
        while let Some(item) = stream.next().await {
            last = Some(item);
        }
        assert!(
            matches!(last, Some(Err(ClientError::Timeout { .. }))),
            "{last:?}"
        );
    }
}

#[tokio::test]
async fn refused_connections_are_connect_errors() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    for transport in TRANSPORTS {
        let err = client(transport, format!("http://{addr}"), None)
            .call(&request("add", json!({})))
            .await
            .unwrap_err();
        assert!(matches!(err, ClientError::Connect { .. }), "{err}");
        assert!(err.to_string().contains("refused"), "{err}");
    }
}

/// A one-shot HTTP server that answers the first request with `reply` bytes
/// and closes.
async fn byte_server(reply: &'static [u8]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 64 * 1024];
        let _ = socket.read(&mut buf).await;
        socket.write_all(reply).await.unwrap();
        socket.shutdown().await.ok();
    });
    format!("http://{addr}")
}

#[tokio::test]
async fn a_stream_cut_mid_event_is_an_error() {
    let url = byte_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nconnection: close\r\n\r\n\
data: {\"aduib_rpc\":\"2.0\",\"id\":\"c1\",\"status\":\"success\",\"result\":{\"n\":1}}\r\n\r\n\
data: {\"aduib_rpc\":\"2.0\",\"id\":\"c1\",\"sta",
    )
    .await;
    let items: Vec<_> = client(Transport::Rest, url, None)
        .stream(&request("countdown", json!({"start": 1})))
        .await
        .unwrap()
        .collect()
        .await;
    assert_eq!(items.len(), 2);
    assert_eq!(items[0].as_ref().unwrap().result, Some(json!({"n": 1})));
    assert!(matches!(
        items[1],
        Err(ClientError::Stream {
            error: SseError::Truncated { .. },
            ..
        })
    ));
}

#[tokio::test]
async fn a_reply_that_is_not_aduib_is_a_bad_reply() {
    let url = byte_server(
        b"HTTP/1.1 502 Bad Gateway\r\ncontent-type: text/html\r\ncontent-length: 13\r\nconnection: close\r\n\r\n<h1>oops</h1>",
    )
    .await;
    let err = client(Transport::Rest, url, None)
        .call(&request("add", json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::HttpStatus { status: 502, .. }),
        "{err}"
    );
    let url = byte_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 7\r\nconnection: close\r\n\r\n{\"a\":1}",
    )
    .await;
    let err = client(Transport::JsonRpc, url, None)
        .call(&request("add", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::BadReply { .. }), "{err}");
}

#[tokio::test]
async fn a_thrift_call_that_timed_out_does_not_answer_the_next_one() {
    let server = demo_server(ServerConfig::default()).await;
    // One long-lived client, as the app holds: the first call times out
    // while its reply is still coming.
    let client = client_for(&server, Transport::Thrift, Some(Duration::from_millis(200)));
    let slow = client
        .call(&request("slow", json!({"x": 1, "delay_ms": 400})))
        .await;
    assert!(matches!(slow, Err(ClientError::Timeout { .. })), "{slow:?}");
    // Let the late reply arrive, then call again on the same client.
    tokio::time::sleep(Duration::from_millis(400)).await;
    for (x, y) in [(2, 3), (10, 20)] {
        let response = client
            .call(&request("add", json!({"x": x, "y": y})))
            .await
            .unwrap();
        assert_eq!(response.result, Some(json!(x + y)), "{response:?}");
    }
}

#[tokio::test]
async fn a_thrift_reply_to_another_call_is_refused() {
    // A server that answers every call with a reply carrying sequence id 77.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = socket.read(&mut buf).await;
        let mut w = aduib_thrift::protocol::Writer::new(aduib_thrift::Protocol::Binary);
        w.message_begin(&aduib_thrift::protocol::MessageHeader {
            name: "Call".into(),
            kind: aduib_thrift::protocol::MessageKind::Reply,
            seq: 77,
        });
        w.struct_begin();
        w.field_stop();
        w.struct_end();
        socket.write_all(&w.into_bytes()).await.unwrap();
    });
    let client = client(
        Transport::Thrift,
        addr.to_string(),
        Some(Duration::from_secs(5)),
    );
    let err = client
        .call(&request("add", json!({"x": 1, "y": 2})))
        .await
        .unwrap_err();
    let ClientError::BadReply { reason, .. } = err else {
        panic!("{err:?}")
    };
    assert!(reason.contains("call 77 `Call`"), "{reason}");
}

/// A server that sends `head`, then `filler` forever (until the client
/// leaves).
async fn endless_server(head: &[u8], filler: Vec<u8>) -> String {
    let head = head.to_vec();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = vec![0; 4096];
        let _ = socket.read(&mut buf).await;
        socket.write_all(&head).await.unwrap();
        while socket.write_all(&filler).await.is_ok() {}
    });
    format!("http://{addr}")
}

fn small_client(transport: Transport, url: String) -> AduibClient {
    AduibClient::new(ClientConfig {
        transport,
        url,
        headers: vec![],
        timeout: Some(Duration::from_secs(10)),
        limits: aduib_core::Limits {
            max_body_bytes: 64 * 1024,
            ..aduib_core::Limits::default()
        },
        tls: None,
    })
    .unwrap()
}

#[tokio::test]
async fn a_server_cannot_make_the_client_hold_more_than_the_limit() {
    // A declared length over the limit: refused before reading.
    let url = byte_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000000000\r\n\r\n[",
    )
    .await;
    let err = small_client(Transport::JsonRpc, url)
        .call(&request("add", json!({})))
        .await
        .unwrap_err();
    assert!(
        matches!(err, ClientError::TooLarge { limit: 65536, .. }),
        "{err}"
    );
    // A chunked body that never ends.
    let url = endless_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n",
        format!("400\r\n{}\r\n", " ".repeat(0x400)).into_bytes(),
    )
    .await;
    let err = small_client(Transport::Rest, url)
        .call(&request("add", json!({})))
        .await
        .unwrap_err();
    assert!(matches!(err, ClientError::TooLarge { .. }), "{err}");
    // An event whose data line never ends.
    let url = endless_server(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\r\ndata: ",
        vec![b'x'; 4096],
    )
    .await;
    let mut events = small_client(Transport::JsonRpc, url)
        .stream(&request("countdown", json!({"start": 1})))
        .await
        .unwrap();
    let err = events.next().await.unwrap().unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Stream {
                error: SseError::TooLarge { limit: 65536 },
                ..
            }
        ),
        "{err}"
    );
}
