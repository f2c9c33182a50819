//! Stream framing on the wire: the exact bytes clients of the peer expect.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::time::Duration;

use aduib_server::demo::register_cacul_service;
use aduib_server::{HandlerRegistry, RunningServer, Server, ServerConfig, Transport};
use serde_json::{Value, json};

async fn start(keep_alive: Duration) -> RunningServer {
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::new(
        registry,
        ServerConfig {
            keep_alive,
            ..ServerConfig::default()
        },
    )
    .start(&[(Transport::JsonRpc, any), (Transport::Rest, any)])
    .await
    .unwrap()
}

async fn post_text(url: String, body: Value, accept: &str) -> (reqwest::header::HeaderMap, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("accept", accept)
        .json(&body)
        .send()
        .await
        .unwrap();
    let headers = response.headers().clone();
    (headers, response.text().await.unwrap())
}

fn countdown(start: u64, interval_ms: u64) -> Value {
    json!({"aduib_rpc": "2.0", "id": "s1", "method": "rpc.v2/CaculService/CaculService.countdown",
           "data": {"start": start, "interval_ms": interval_ms}})
}

#[tokio::test]
async fn jsonrpc_frames_are_compact_jsonrpc_responses_with_crlf() {
    let server = start(Duration::from_secs(15)).await;
    let addr = server.addr(Transport::JsonRpc).unwrap();
    let params = countdown(1, 0);
    let request =
        json!({"jsonrpc": "2.0", "id": "j1", "method": params["method"], "params": params});
    // No Accept header: a streaming function streams anyway, as with the peer.
    let (headers, text) = post_text(format!("http://{addr}/aduib_rpc"), request, "*/*").await;
    assert_eq!(headers["content-type"], "text/event-stream; charset=utf-8");
    assert_eq!(headers["cache-control"], "no-store");
    assert_eq!(headers["x-accel-buffering"], "no");
    let frames: Vec<&str> = text.split_terminator("\r\n\r\n").collect();
    assert_eq!(frames.len(), 2, "{text:?}");
    for (frame, n) in frames.iter().zip([1, 0]) {
        let json = frame.strip_prefix("data: ").unwrap();
        assert!(json.starts_with(r#"{"id":"j1","jsonrpc":"2.0","result":{"aduib_rpc":"2.0","id":"s1","status":"success","result":{"n":"#));
        let value: Value = serde_json::from_str(json).unwrap();
        assert_eq!(value["result"]["result"]["n"], n);
    }
}

#[tokio::test]
async fn rest_frames_use_python_json_layout() {
    let server = start(Duration::from_secs(15)).await;
    let addr = server.addr(Transport::Rest).unwrap();
    let (_, text) = post_text(
        format!("http://{addr}/aduib_rpc/v2/rpc/stream"),
        countdown(0, 0),
        "text/event-stream",
    )
    .await;
    assert!(
        text.starts_with(r#"data: {"aduib_rpc": "2.0", "id": "s1", "status": "success", "result": {"n": 0}, "metadata": {"timestamp_ms": "#),
        "{text:?}"
    );
    assert!(text.ends_with("}\r\n\r\n"), "{text:?}");
    assert_eq!(text.matches("data: ").count(), 1);
}

#[tokio::test]
async fn idle_streams_get_ping_comments() {
    let server = start(Duration::from_millis(10)).await;
    let addr = server.addr(Transport::Rest).unwrap();
    let (_, text) = post_text(
        format!("http://{addr}/aduib_rpc/v2/AduibRpcService/CallServerStream"),
        countdown(1, 80),
        "text/event-stream",
    )
    .await;
    let pings = text.matches("\r\n: ping - ").count() + usize::from(text.starts_with(": ping - "));
    assert!(
        pings >= 4,
        "expected keep-alives between items 80 ms apart: {text:?}"
    );
    assert_eq!(text.matches("data: ").count(), 2);
}

#[tokio::test]
async fn health_watch_streams_one_item() {
    let server = start(Duration::from_secs(15)).await;
    let rest = server.addr(Transport::Rest).unwrap();
    let (_, text) = post_text(
        format!("http://{rest}/aduib_rpc/v2/HealthService/Watch"),
        json!({"service": "CaculService"}),
        "text/event-stream",
    )
    .await;
    assert_eq!(
        text,
        "data: {\"status\": \"healthy\", \"services\": {\"CaculService\": \"healthy\"}}\r\n\r\n"
    );
}

#[tokio::test]
async fn shutdown_waits_for_in_flight_calls() {
    let server = start(Duration::from_secs(15)).await;
    let rest = server.addr(Transport::Rest).unwrap();
    let slow = tokio::spawn(post_text(
        format!("http://{rest}/aduib_rpc/v2/rpc"),
        json!({"method": "rpc.v2/CaculService/CaculService.slow", "data": {"x": 4, "delay_ms": 200}}),
        "application/json",
    ));
    tokio::time::sleep(Duration::from_millis(50)).await;
    server.shutdown(Duration::from_secs(5)).await;
    let (_, text) = slow.await.unwrap();
    let reply: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(reply["result"], json!({"doubled": 8}));
    assert!(
        std::net::TcpStream::connect(rest).is_err(),
        "stopped listening"
    );
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_silent_thrift_connection() {
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    let thrift = Server::new(registry, ServerConfig::default())
        .start(&[(Transport::Thrift, any)])
        .await
        .unwrap();
    let addr = thrift.addr(Transport::Thrift).unwrap();
    let _silent = tokio::net::TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let started = std::time::Instant::now();
    thrift.shutdown(Duration::from_secs(10)).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
