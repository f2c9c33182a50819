//! Every kind of bad input gets a structured Aduib error with the right code
//! and HTTP status, and the server keeps serving. Real sockets on loopback.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;

use aduib_core::Limits;
use aduib_server::demo::register_cacul_service;
use aduib_server::{HandlerRegistry, RunningServer, Server, ServerConfig, Transport};
use serde_json::{Value, json};

const BODY_LIMIT: usize = 4096;

async fn start() -> (RunningServer, SocketAddr, SocketAddr) {
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    let config = ServerConfig {
        limits: Limits {
            max_body_bytes: BODY_LIMIT,
            ..Limits::default()
        },
        ..ServerConfig::default()
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let running = Server::new(registry, config)
        .start(&[(Transport::JsonRpc, any), (Transport::Rest, any)])
        .await
        .unwrap();
    let jsonrpc = running.addr(Transport::JsonRpc).unwrap();
    let rest = running.addr(Transport::Rest).unwrap();
    (running, jsonrpc, rest)
}

async fn post(url: String, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

/// JSON-RPC: HTTP 200 with an `error` carrying the Aduib code and `RpcError`.
async fn jsonrpc_error(addr: SocketAddr, body: impl Into<reqwest::Body>) -> (i64, Value) {
    let (status, reply) = post(format!("http://{addr}/aduib_rpc"), body).await;
    assert_eq!(status, 200, "{reply}");
    let error = &reply["error"];
    assert_eq!(error["code"], error["data"]["code"], "{reply}");
    (error["code"].as_i64().unwrap(), reply)
}

/// REST: the mapped HTTP status with an Aduib error response body.
async fn rest_error(addr: SocketAddr, body: impl Into<reqwest::Body>) -> (u16, i64) {
    let (status, reply) = post(format!("http://{addr}/aduib_rpc/v2/rpc"), body).await;
    assert_eq!(reply["status"], "error", "{reply}");
    assert_eq!(reply["aduib_rpc"], "2.0");
    (status, reply["error"]["code"].as_i64().unwrap())
}

fn call(method: &str, data: Value) -> Value {
    json!({"aduib_rpc": "2.0", "id": "r1", "method": method, "data": data})
}

fn wrap(id: Value, params: Value) -> String {
    let method = params["method"].clone();
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}).to_string()
}

async fn assert_still_serving(jsonrpc: SocketAddr, rest: SocketAddr) {
    let add = call(
        "rpc.v2/CaculService/CaculService.add",
        json!({"x": 2, "y": 3}),
    );
    let (_, reply) = post(
        format!("http://{jsonrpc}/aduib_rpc"),
        wrap(json!(9), add.clone()),
    )
    .await;
    assert_eq!(reply["result"]["result"], 5);
    let (status, reply) = post(format!("http://{rest}/aduib_rpc/v2/rpc"), add.to_string()).await;
    assert_eq!((status, &reply["result"]), (200, &json!(5)));
}

#[tokio::test]
async fn malformed_json() {
    let (_server, jsonrpc, rest) = start().await;
    assert_eq!(jsonrpc_error(jsonrpc, "{\"jsonrpc\": ").await.0, 1003);
    assert_eq!(rest_error(rest, "{not json").await, (400, 1003));
    assert_still_serving(jsonrpc, rest).await;
}

#[tokio::test]
async fn invalid_utf8() {
    let (_server, jsonrpc, rest) = start().await;
    let body = b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"rpc.v2/A/A.\xff\"}".to_vec();
    let (code, reply) = jsonrpc_error(jsonrpc, body.clone()).await;
    assert_eq!(code, 1003);
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-8")
    );
    assert_eq!(rest_error(rest, body).await, (400, 1003));
    assert_still_serving(jsonrpc, rest).await;
}

#[tokio::test]
async fn missing_id() {
    let (_server, jsonrpc, rest) = start().await;
    let add = call(
        "rpc.v2/CaculService/CaculService.add",
        json!({"x": 1, "y": 2}),
    );
    let no_id = json!({"jsonrpc": "2.0", "method": add["method"], "params": add}).to_string();
    let (code, reply) = jsonrpc_error(jsonrpc, no_id).await;
    assert_eq!(code, 2001);
    assert_eq!(reply["error"]["data"]["details"][0]["field"], "id");
    // The envelope's own id is optional: the server makes one, as the peer does.
    let mut anonymous = add.clone();
    anonymous.as_object_mut().unwrap().remove("id");
    let (status, reply) = post(
        format!("http://{rest}/aduib_rpc/v2/rpc"),
        anonymous.to_string(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(reply["id"].as_str().unwrap().len(), 36, "a UUID: {reply}");
}

#[tokio::test]
async fn non_object_data() {
    let (_server, jsonrpc, rest) = start().await;
    for data in [json!([1, 2]), json!("x"), json!(3)] {
        let bad = call("rpc.v2/CaculService/CaculService.add", data);
        let (code, reply) = jsonrpc_error(jsonrpc, wrap(json!("1"), bad.clone())).await;
        assert_eq!(code, 2001);
        assert_eq!(reply["error"]["data"]["details"][0]["field"], "data");
        assert_eq!(rest_error(rest, bad.to_string()).await, (400, 2001));
    }
    assert_still_serving(jsonrpc, rest).await;
}

#[tokio::test]
async fn unknown_method() {
    let (_server, jsonrpc, rest) = start().await;
    let unknown = call("rpc.v2/CaculService/CaculService.nope", json!({}));
    assert_eq!(
        jsonrpc_error(jsonrpc, wrap(json!(1), unknown.clone()))
            .await
            .0,
        4001
    );
    assert_eq!(rest_error(rest, unknown.to_string()).await, (404, 4001));
    // A JSON-RPC method outside rpc.v2/ and a malformed method name.
    let foreign = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_call", "params": {}});
    assert_eq!(jsonrpc_error(jsonrpc, foreign.to_string()).await.0, 4001);
    let shapeless = call("rpc.v2/CaculService", json!({}));
    assert_eq!(rest_error(rest, shapeless.to_string()).await, (404, 4001));
    assert_still_serving(jsonrpc, rest).await;
}

#[tokio::test]
async fn wrong_argument_types() {
    let (_server, jsonrpc, rest) = start().await;
    for data in [
        json!({"x": "abc", "y": 1}),
        json!({"x": true, "y": 1}),
        json!({"x": 1}),
        json!({"x": 1, "y": 2, "z": 3}),
    ] {
        let bad = call("rpc.v2/CaculService/CaculService.add", data.clone());
        let (code, reply) = jsonrpc_error(jsonrpc, wrap(json!(1), bad.clone())).await;
        assert_eq!(code, 2001, "{data}: {reply}");
        assert!(
            reply["error"]["data"]["details"][0]["field"]
                .as_str()
                .unwrap()
                .starts_with("data.")
        );
        assert_eq!(
            rest_error(rest, bad.to_string()).await,
            (400, 2001),
            "{data}"
        );
    }
    // A stream that cannot start is one error frame.
    let stream = call(
        "rpc.v2/CaculService/CaculService.countdown",
        json!({"start": -1}),
    );
    let text = reqwest::Client::new()
        .post(format!("http://{rest}/aduib_rpc/v2/rpc/stream"))
        .header("content-type", "application/json")
        .body(stream.to_string())
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.starts_with("data: {\"aduib_rpc\": \"2.0\""), "{text}");
    assert!(text.contains("\"code\": 2001"), "{text}");
    assert_eq!(text.matches("data: ").count(), 1, "{text}");
    assert_still_serving(jsonrpc, rest).await;
}

#[tokio::test]
async fn oversized_body() {
    let (_server, jsonrpc, rest) = start().await;
    let big = call(
        "rpc.v2/CaculService/CaculService.echo",
        json!({"blob": "x".repeat(BODY_LIMIT * 2)}),
    );
    // With a Content-Length, and streamed without one (chunked).
    assert_eq!(
        jsonrpc_error(jsonrpc, wrap(json!(1), big.clone())).await.0,
        2004
    );
    assert_eq!(rest_error(rest, big.to_string()).await, (400, 2004));
    let chunks: Vec<Result<String, std::io::Error>> = vec![Ok(big.to_string())];
    let chunked = reqwest::Body::wrap_stream(futures::stream::iter(chunks));
    assert_eq!(rest_error(rest, chunked).await, (400, 2004));
    assert_still_serving(jsonrpc, rest).await;
}

#[tokio::test]
async fn protocol_violations() {
    let (_server, jsonrpc, rest) = start().await;
    let add = call(
        "rpc.v2/CaculService/CaculService.add",
        json!({"x": 1, "y": 2}),
    );
    let wrong_version = json!({"jsonrpc": "1.0", "id": 1, "method": add["method"], "params": add});
    assert_eq!(
        jsonrpc_error(jsonrpc, wrong_version.to_string()).await.0,
        1000
    );
    assert_eq!(jsonrpc_error(jsonrpc, "[]").await.0, 1002);
    assert_eq!(jsonrpc_error(jsonrpc, "42").await.0, 1002);
    let mut old = add.clone();
    old["aduib_rpc"] = json!("1.0");
    assert_eq!(rest_error(rest, old.to_string()).await, (400, 1001));
    // REST: unknown route and wrong HTTP method are Aduib errors too.
    let (status, reply) = post(format!("http://{rest}/aduib_rpc/v2/nope"), "{}").await;
    assert_eq!((status, reply["error"]["code"].as_i64()), (404, Some(4001)));
    let response = reqwest::get(format!("http://{rest}/aduib_rpc/v2/rpc"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 405);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["status"], "error");
    assert_still_serving(jsonrpc, rest).await;
}

#[tokio::test]
async fn batches_answer_each_member() {
    let (_server, jsonrpc, _rest) = start().await;
    let add = call(
        "rpc.v2/CaculService/CaculService.add",
        json!({"x": 1, "y": 2}),
    );
    let fail = call("rpc.v2/CaculService/CaculService.fail", json!({}));
    let countdown = call(
        "rpc.v2/CaculService/CaculService.countdown",
        json!({"start": 1}),
    );
    let batch = format!(
        "[{},{},{},7]",
        wrap(json!(1), add),
        wrap(json!(2), fail),
        wrap(json!(3), countdown)
    );
    let (status, reply) = post(format!("http://{jsonrpc}/aduib_rpc"), batch).await;
    assert_eq!(status, 200);
    let replies = reply.as_array().unwrap();
    assert_eq!(replies.len(), 4);
    assert_eq!(replies[0]["result"]["result"], 3);
    assert_eq!(replies[1]["error"]["code"], 5000);
    assert_eq!(
        replies[2]["error"]["code"], 2000,
        "streams cannot be batched"
    );
    assert_eq!(replies[3]["error"]["code"], 1002);
}

#[tokio::test]
async fn rest_error_envelopes_have_the_peers_keys() {
    let (_server, _, rest) = start().await;
    // A handler's error: the request's id, and no `metadata`, as the peer.
    let fail = call("rpc.v2/CaculService/CaculService.fail", json!({}));
    let (status, reply) = post(format!("http://{rest}/aduib_rpc/v2/rpc"), fail.to_string()).await;
    assert_eq!(status, 500, "{reply}");
    let keys: Vec<&str> = reply
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["aduib_rpc", "id", "status", "error"], "{reply}");
    assert_eq!(reply["id"], "r1");
    // A body that is not JSON: no id is known, so none is sent.
    let (status, reply) = post(format!("http://{rest}/aduib_rpc/v2/rpc"), "{").await;
    assert_eq!(status, 400, "{reply}");
    let keys: Vec<&str> = reply
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, ["aduib_rpc", "status", "error"], "{reply}");
}
