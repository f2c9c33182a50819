//! The `aduib` command's output and exit codes: the contract scripts rely on.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Output, Stdio};

use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_aduib");

/// `aduib serve` on free ports; stopped with SIGTERM on drop.
struct Served {
    child: Child,
    jsonrpc: String,
    rest: String,
}

impl Served {
    fn start() -> Served {
        let mut child = Command::new(BIN)
            .args(["serve", "--jsonrpc", "127.0.0.1:0", "--rest", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut url = |expected: &str| {
            let line = lines.next().unwrap().unwrap();
            let (transport, url) = line.split_once(' ').unwrap();
            assert_eq!(transport, expected, "{line}");
            assert!(url.starts_with("http://127.0.0.1:"), "{line}");
            url.to_owned()
        };
        let jsonrpc = url("jsonrpc");
        let rest = url("rest");
        Served {
            child,
            jsonrpc,
            rest,
        }
    }

    /// SIGTERM, then the exit status.
    fn terminate(mut self) -> std::process::ExitStatus {
        sigterm(&self.child);
        self.child.wait().unwrap()
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

fn aduib(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn call(transport: &str, url: &str, method: &str, data: &str) -> Output {
    aduib(&[
        "call",
        "--transport",
        transport,
        "--url",
        url,
        "--method",
        method,
        "--data",
        data,
    ])
}

#[test]
fn call_prints_one_response_and_exits_by_status() {
    let served = Served::start();
    for (transport, url) in [("jsonrpc", &served.jsonrpc), ("rest", &served.rest)] {
        let ok = call(transport, url, "CaculService.add", r#"{"x": 1, "y": 2}"#);
        assert_eq!(ok.status.code(), Some(0));
        let [response] = lines(&ok).try_into().unwrap();
        assert_eq!(response["result"], 3);

        let failed = call(
            transport,
            url,
            "rpc.v2/CaculService/CaculService.fail",
            "{}",
        );
        assert_eq!(failed.status.code(), Some(1));
        let [response] = lines(&failed).try_into().unwrap();
        assert_eq!(response["error"]["code"], 5000);
    }
    assert!(served.terminate().success());
}

#[test]
fn no_response_is_exit_2_with_a_one_line_cause() {
    let served = Served::start();
    let slow = aduib(&[
        "call",
        "--transport",
        "rest",
        "--url",
        &served.rest,
        "--method",
        "CaculService.slow",
        "--data",
        r#"{"x": 1, "delay_ms": 5000}"#,
        "--timeout-ms",
        "100",
    ]);
    assert_eq!(slow.status.code(), Some(2));
    assert!(slow.stdout.is_empty());
    let stderr = String::from_utf8(slow.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("within"), "{stderr}");

    drop(served);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let refused = call("jsonrpc", &closed, "CaculService.add", "{}");
    assert_eq!(refused.status.code(), Some(2));
    assert!(
        String::from_utf8(refused.stderr)
            .unwrap()
            .contains("cannot connect")
    );
}

#[test]
fn bad_arguments_are_exit_2() {
    for (method, data) in [
        ("CaculService.add", "[1, 2]"),
        ("CaculService.add", "{not json"),
        ("CaculService.add", "@/nonexistent/file.json"),
        ("add", "{}"),
    ] {
        let out = call("rest", "http://127.0.0.1:9", method, data);
        assert_eq!(out.status.code(), Some(2), "{method} {data}");
        assert!(out.stdout.is_empty());
        assert!(!out.stderr.is_empty());
    }
}

#[test]
fn data_comes_from_a_file_or_stdin() {
    let served = Served::start();
    let path = std::env::temp_dir().join(format!("aduib-cli-data-{}.json", std::process::id()));
    std::fs::write(&path, r#"{"x": 20, "y": 22}"#).unwrap();
    let from_file = call(
        "jsonrpc",
        &served.jsonrpc,
        "CaculService.add",
        &format!("@{}", path.display()),
    );
    assert_eq!(lines(&from_file)[0]["result"], 42);
    std::fs::remove_file(path).unwrap();

    let mut child = Command::new(BIN)
        .args([
            "call",
            "--transport",
            "rest",
            "--url",
            &served.rest,
            "--method",
            "CaculService.mul",
            "--data",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(br#"{"x": 6, "y": 7}"#)
        .unwrap();
    let from_stdin = child.wait_with_output().unwrap();
    assert_eq!(lines(&from_stdin)[0]["result"], 42);
}

#[test]
fn stream_prints_ndjson_as_items_arrive() {
    let served = Served::start();
    for url in [&served.jsonrpc, &served.rest] {
        let transport = if *url == served.jsonrpc {
            "jsonrpc"
        } else {
            "rest"
        };
        let out = aduib(&[
            "stream",
            "--transport",
            transport,
            "--url",
            url,
            "--method",
            "CaculService.countdown",
            "--data",
            r#"{"start": 2}"#,
        ]);
        assert_eq!(out.status.code(), Some(0));
        let items: Vec<Value> = lines(&out)
            .into_iter()
            .map(|r| r["result"].clone())
            .collect();
        assert_eq!(items, [json!({"n": 2}), json!({"n": 1}), json!({"n": 0})]);

        let bad = aduib(&[
            "stream",
            "--transport",
            transport,
            "--url",
            url,
            "--method",
            "CaculService.countdown",
            "--data",
            r#"{"start": "x"}"#,
        ]);
        assert_eq!(bad.status.code(), Some(1));
        assert_eq!(lines(&bad)[0]["error"]["code"], 2001);
    }
}

#[test]
fn raw_jsonrpc_and_http() {
    let served = Served::start();
    let endpoint = format!("{}/aduib_rpc", served.jsonrpc);
    let health = aduib(&[
        "jsonrpc",
        "--url",
        &endpoint,
        "--method",
        "rpc.v2/HealthService/Check",
        "--params",
        "{}",
    ]);
    assert_eq!(health.status.code(), Some(0));
    assert_eq!(lines(&health)[0]["result"]["status"], "healthy");

    let add = json!({"method": "rpc.v2/CaculService/CaculService.add", "data": {"x": 1, "y": 2}});
    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": add["method"], "params": add},
        {"jsonrpc": "2.0", "id": 2, "method": "rpc.v2/CaculService/CaculService.nope", "params": {"method": "rpc.v2/CaculService/CaculService.nope"}},
    ]);
    let out = aduib(&[
        "jsonrpc",
        "--url",
        &endpoint,
        "--payload",
        &batch.to_string(),
    ]);
    assert_eq!(out.status.code(), Some(1), "one member failed");
    let [replies] = lines(&out).try_into().unwrap();
    assert_eq!(replies[0]["result"]["result"], 3);
    assert_eq!(replies[1]["error"]["code"], 4001);

    // An SSE reply, through the raw HTTP mode.
    let stream = aduib(&[
        "http",
        "-X",
        "POST",
        &format!("{}/aduib_rpc/v2/rpc/stream", served.rest),
        "-H",
        "content-type: application/json",
        "--data",
        r#"{"method": "rpc.v2/CaculService/CaculService.countdown", "data": {"start": 1}}"#,
    ]);
    assert_eq!(stream.status.code(), Some(0));
    let out = lines(&stream);
    assert_eq!(out[0]["status"], 200);
    assert_eq!(out.len(), 3, "head + 2 events");
    let first: Value = serde_json::from_str(out[1]["data"].as_str().unwrap()).unwrap();
    assert_eq!(first["result"], json!({"n": 1}));

    let missing = aduib(&["http", &format!("{}/nope", served.rest)]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(lines(&missing)[0]["status"], 404);
}

#[test]
fn serve_reports_a_taken_port_and_stops_cleanly_on_sigterm() {
    let served = Served::start();
    let taken = served.rest.trim_start_matches("http://").to_owned();
    let out = aduib(&["serve", "--rest", &taken]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot bind rest")
    );
    assert_eq!(served.terminate().code(), Some(0));
}
