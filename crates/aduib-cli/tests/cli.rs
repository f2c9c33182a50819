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
        let (child, urls) = serve(&["jsonrpc", "rest"]);
        let [jsonrpc, rest] = urls.try_into().unwrap();
        for url in [&jsonrpc, &rest] {
            assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        }
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

/// `aduib serve` with each transport on a free port; returns the process and
/// the URLs it printed, checking the `<transport> <url>` lines come in order.
fn serve(transports: &[&str]) -> (Child, Vec<String>) {
    let mut args = vec!["serve".to_owned()];
    for transport in transports {
        args.extend([format!("--{transport}"), "127.0.0.1:0".to_owned()]);
    }
    let mut child = Command::new(BIN)
        .env("ADUIB_DATA_DIR", data_dir())
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let urls = transports
        .iter()
        .map(|expected| {
            let line = lines.next().unwrap().unwrap();
            let (transport, url) = line.split_once(' ').unwrap();
            assert_eq!(transport, *expected, "{line}");
            url.to_owned()
        })
        .collect();
    (child, urls)
}

fn sigterm(child: &Child) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
}

/// The history database of every command these tests run, unless a test
/// gives its own: never the user's.
fn data_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("aduib-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn aduib(args: &[&str]) -> Output {
    aduib_in(&data_dir(), args)
}

fn aduib_in(data: &std::path::Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .env("ADUIB_DATA_DIR", data)
        .args(args)
        .output()
        .unwrap()
}

fn lines(output: &Output) -> Vec<Value> {
    String::from_utf8(output.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn call(transport: &str, url: &str, method: &str, data: &str) -> Output {
    rpc("call", transport, url, method, data)
}

/// `aduib call` or `aduib stream` with the usual four flags.
fn rpc(command: &str, transport: &str, url: &str, method: &str, data: &str) -> Output {
    aduib(&[
        command,
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
    // A keep-alive time the kernel would refuse is refused up front.
    let out = aduib(&["serve", "--keepalive-ms", "32767001"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--keepalive-ms"), "{stderr}");
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
        let out = rpc(
            "stream",
            transport,
            url,
            "CaculService.countdown",
            r#"{"start": 2}"#,
        );
        assert_eq!(out.status.code(), Some(0));
        let items: Vec<Value> = lines(&out)
            .into_iter()
            .map(|r| r["result"].clone())
            .collect();
        assert_eq!(items, [json!({"n": 2}), json!({"n": 1}), json!({"n": 0})]);

        let bad = rpc(
            "stream",
            transport,
            url,
            "CaculService.countdown",
            r#"{"start": "x"}"#,
        );
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

/// `aduib serve` on one transport; returns the process and its URL.
fn serve_one(transport: &str) -> (Child, String) {
    let (child, mut urls) = serve(&[transport]);
    (child, urls.remove(0))
}

fn repo(path: &str) -> String {
    format!("{}/../../{path}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn thrift_commands_follow_the_contract() {
    let idl = repo("thrift/demo/rich.thrift");
    let list = aduib(&["thrift", "list", "--idl", &idl]);
    assert_eq!(list.status.code(), Some(0));
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(text.contains("service RichService"), "{text}");
    assert!(
        text.contains(
            "i64 add(1: required i64 a, 2: required i64 b) throws (1: rich.DemoError error)"
        ),
        "{text}"
    );

    let template = aduib(&["thrift", "template", "--idl", &idl, "RichService.echo"]);
    let template: Value = serde_json::from_slice(&template.stdout).unwrap();
    assert_eq!(template["rich"]["color"], "RED");

    let (mut child, addr) = serve_one("thrift");
    let echo = aduib(&[
        "thrift",
        "call",
        &addr,
        "--idl",
        &idl,
        "RichService.echo",
        "--data",
        &json!({ "rich": template["rich"] }).to_string(),
        "--protocol",
        "compact",
        "--transport",
        "framed",
    ]);
    assert_eq!(
        echo.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&echo.stderr)
    );
    assert_eq!(lines(&echo)[0]["color"], "RED");
    let fail = aduib(&[
        "thrift",
        "call",
        &addr,
        "--idl",
        &idl,
        "RichService.fail",
        "--data",
        r#"{"code": 3}"#,
        "--multiplexed",
        "RichService",
    ]);
    assert_eq!(fail.status.code(), Some(1));
    assert_eq!(lines(&fail)[0]["exception"]["value"]["code"], 3);
    let bad = aduib(&[
        "thrift",
        "call",
        &addr,
        "--idl",
        &idl,
        "RichService.add",
        "--data",
        r#"{"a": "x", "b": 1}"#,
    ]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8(bad.stderr).unwrap().contains("args.a"));
    let via_aduib = call("thrift", &addr, "CaculService.add", r#"{"x": 2, "y": 3}"#);
    assert_eq!(lines(&via_aduib)[0]["result"], 5);
    sigterm(&child);
    assert!(child.wait().unwrap().success());

    let dir = std::env::temp_dir().join(format!("aduib-cli-idl-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.thrift"),
        "struct A {\n  1: i32 x,\n  2 i32 y\n}\n",
    )
    .unwrap();
    let broken = aduib(&[
        "thrift",
        "list",
        "--idl",
        dir.join("bad.thrift").to_str().unwrap(),
    ]);
    assert_eq!(broken.status.code(), Some(2));
    let stderr = String::from_utf8(broken.stderr).unwrap();
    assert!(stderr.contains("bad.thrift at line 3:5"), "{stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn grpc_commands_follow_the_contract() {
    let (mut child, addr) = serve_one("grpc");
    let list = aduib(&["grpc", "list", &addr]);
    assert_eq!(list.status.code(), Some(0));
    assert!(
        String::from_utf8(list.stdout)
            .unwrap()
            .lines()
            .any(|l| l == "aduib.demo.v1.RichService")
    );
    let ticks = aduib(&[
        "grpc",
        "call",
        &addr,
        "aduib.demo.v1.RichService/Ticks",
        "--data",
        r#"{"count": 2, "interval": "0.001s"}"#,
    ]);
    assert_eq!(ticks.status.code(), Some(0));
    assert_eq!(lines(&ticks).len(), 2);
    let status = aduib(&[
        "grpc",
        "call",
        &addr,
        "aduib.demo.v1.RichService/Ticks",
        "--data",
        r#"{"count": -1}"#,
    ]);
    assert_eq!(status.status.code(), Some(1));
    assert_eq!(lines(&status)[0]["status"]["name"], "InvalidArgument");
    let by_proto = aduib(&[
        "grpc",
        "describe",
        &addr,
        "aduib.demo.v1.Inner",
        "--proto",
        &repo("proto/demo/aduib/demo/v1/rich.proto"),
        "-I",
        &repo("proto/demo"),
    ]);
    assert!(
        String::from_utf8(by_proto.stdout)
            .unwrap()
            .contains(".aduib.demo.v1.Point point = 3;")
    );
    let schema = aduib(&[
        "grpc",
        "schema",
        &addr,
        "aduib.demo.v1.RichService/Echo",
        "--template",
    ]);
    let template: Value = serde_json::from_slice(&schema.stdout).unwrap();
    assert_eq!(template["big"], "0");
    sigterm(&child);
    assert!(child.wait().unwrap().success());
}

#[test]
fn bench_reports_and_fails_clearly() {
    for transport in ["jsonrpc", "grpc"] {
        let (mut server, url) = serve_one(transport);
        let bench = |duration: &str| {
            Command::new(BIN)
                .args(["bench", "--transport", transport, "--url", &url])
                .args([
                    "--concurrency",
                    "4",
                    "--warmup-s",
                    "0",
                    "--duration-s",
                    duration,
                ])
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let out = bench("0.3").wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{transport}: {out:?}");
        let report = &lines(&out)[0];
        assert_eq!(report["transport"], transport);
        assert_eq!(report["errors"], 0, "{report}");
        assert!(report["requests"].as_u64().unwrap() > 0, "{report}");

        // The server dies mid-run: a prompt exit 2 with the cause, not a
        // run of errors until the end.
        let running = bench("20");
        std::thread::sleep(std::time::Duration::from_millis(500));
        let killed = std::time::Instant::now();
        server.kill().unwrap();
        server.wait().unwrap();
        let out = running.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{transport}: {out:?}");
        assert!(
            killed.elapsed() < std::time::Duration::from_secs(10),
            "{transport}: {:?}",
            killed.elapsed()
        );
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert!(stderr.starts_with("aduib: "), "{transport}: {stderr}");
    }

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap().to_string();
    drop(closed);
    let out = aduib(&["bench", "--transport", "grpc", "--url", &addr]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("cannot connect"),
    );
}

#[test]
fn history_records_each_exchange_and_lists_searches_shows_and_reruns_it() {
    let served = Served::start();
    let data = tempfile_dir("history");
    let args = |method: &str, data_json: &str| {
        vec![
            "call".to_owned(),
            "--transport".into(),
            "jsonrpc".into(),
            "--url".into(),
            served.jsonrpc.clone(),
            "--method".into(),
            method.into(),
            "--data".into(),
            data_json.into(),
        ]
    };
    let add = args("CaculService.add", r#"{"x": 20, "y": 22}"#);
    let add: Vec<&str> = add.iter().map(String::as_str).collect();
    assert_eq!(aduib_in(&data, &add).status.code(), Some(0));
    let mut skipped = args("CaculService.mul", r#"{"x": 2, "y": 3}"#);
    skipped.push("--no-history".into());
    let skipped: Vec<&str> = skipped.iter().map(String::as_str).collect();
    assert_eq!(aduib_in(&data, &skipped).status.code(), Some(0));

    let list = aduib_in(&data, &["history", "list", "--json"]);
    let [entry] = lines(&list).try_into().expect("one exchange recorded");
    assert_eq!(entry["method"], "CaculService.add");
    assert_eq!(entry["outcome"], "ok");
    let table = String::from_utf8(aduib_in(&data, &["history", "list"]).stdout).unwrap();
    assert!(table.contains("CaculService.add"), "{table}");

    let found = aduib_in(
        &data,
        &[
            "history",
            "search",
            "add",
            "--transport",
            "jsonrpc",
            "--json",
        ],
    );
    assert_eq!(lines(&found).len(), 1);
    let none = aduib_in(&data, &["history", "search", "mul", "--json"]);
    assert!(lines(&none).is_empty(), "--no-history was recorded");
    let none = aduib_in(
        &data,
        &["history", "search", "add", "--transport", "grpc", "--json"],
    );
    assert!(lines(&none).is_empty());

    let id = entry["id"].as_str().unwrap();
    let show = aduib_in(&data, &["history", "show", &id[..8]]);
    let detail: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(detail["request"]["kind"], "aduib");
    assert_eq!(detail["request"]["data"], json!({"x": 20, "y": 22}));

    let rerun = aduib_in(&data, &["history", "rerun", id]);
    assert_eq!(rerun.status.code(), Some(0));
    assert_eq!(lines(&rerun)[0]["result"], 42);
    assert_eq!(
        lines(&aduib_in(&data, &["history", "list", "--json"])).len(),
        2
    );

    let missing = aduib_in(&data, &["history", "show", "no-such-id"]);
    assert_eq!(missing.status.code(), Some(2));
}

fn tempfile_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aduib-cli-{name}-{}-{}",
        std::process::id(),
        uuid_like()
    ));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

#[test]
fn a_bidi_call_sends_each_stdin_line_as_it_arrives_and_prints_replies_as_they_come() {
    let (mut server, addr) = serve_one("grpc");
    let mut child = Command::new(BIN)
        .env("ADUIB_DATA_DIR", data_dir())
        .args([
            "grpc",
            "call",
            &addr,
            "aduib.demo.v1.RichService/Chat",
            "-d",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut replies = BufReader::new(child.stdout.take().unwrap()).lines();
    for name in ["one", "two"] {
        writeln!(stdin, "{}", json!({ "name": name })).unwrap();
        stdin.flush().unwrap();
        // The reply comes while stdin is still open.
        let reply: Value = serde_json::from_str(&replies.next().unwrap().unwrap()).unwrap();
        assert_eq!(reply["name"], name);
    }
    drop(stdin);
    assert!(child.wait().unwrap().success());

    // -v shows the final status of a call cut by its deadline.
    let cut = aduib(&[
        "grpc",
        "call",
        &addr,
        "aduib.demo.v1.RichService/Ticks",
        "-d",
        r#"{"count": 100, "interval": "0.1s"}"#,
        "--timeout-ms",
        "300",
        "-v",
    ]);
    let out = lines(&cut);
    let status = &out.last().unwrap()["status"];
    assert_eq!(status["code"], 4, "{out:?}");
    assert!(
        out.iter().any(|l| l.get("message").is_some()),
        "what arrived is printed"
    );
    sigterm(&server);
    assert!(server.wait().unwrap().success());
}

#[test]
fn thrift_call_takes_a_thrift_url_finds_the_idl_in_include_folders_and_names_exceptions() {
    let (mut server, addr) = serve_one("thrift");
    let folder = repo("thrift/demo");
    let url = format!("thrift://{addr}");
    let unknown = aduib(&[
        "thrift",
        "call",
        &url,
        "--idl",
        "rich.thrift",
        "-I",
        &folder,
        "RichService.add",
        "--data",
        r#"{"a": 1, "b": 2}"#,
        "--multiplexed",
        "NoSuchService",
    ]);
    assert_eq!(unknown.status.code(), Some(1));
    let exception = &lines(&unknown)[0]["application_exception"];
    assert_eq!(exception["name"], "UNKNOWN_METHOD", "{exception}");
    let missing = aduib(&["thrift", "list", "--idl", "nope.thrift", "-I", &folder]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8(missing.stderr).unwrap().contains(&folder));
    sigterm(&server);
    assert!(server.wait().unwrap().success());
}

/// `aduib task …` with a data folder of its own.
fn task_in(data: &std::path::Path, args: &[&str]) -> Output {
    let mut all = vec!["task"];
    all.extend_from_slice(args);
    aduib_in(data, &all)
}

fn submit_args<'a>(
    transport: &'a str,
    url: &'a str,
    method: &'a str,
    data: &'a str,
) -> Vec<&'a str> {
    vec![
        "submit",
        "--transport",
        transport,
        "--url",
        url,
        "--method",
        method,
        "--data",
        data,
    ]
}

#[test]
fn task_commands_follow_the_contract_on_every_transport() {
    let (_server, urls) = serve(&["jsonrpc", "rest", "grpc", "thrift"]);
    let _server = KillOnDrop(_server);
    let data = tempfile_dir("tasks");
    for (transport, url) in ["jsonrpc", "rest", "grpc", "thrift"].iter().zip(&urls) {
        // submit --watch: NDJSON to the end, exit 0 on success.
        let mut args = submit_args(
            transport,
            url,
            "BatchService.process",
            r#"{"items":[1,2,3],"item_ms":20}"#,
        );
        args.push("--watch");
        let out = task_in(&data, &args);
        assert_eq!(out.status.code(), Some(0), "{transport}: {out:?}");
        let events = lines(&out);
        assert_eq!(events[0]["event"], "submitted", "{transport}: {events:?}");
        let last = events.last().unwrap();
        assert_eq!(last["status"], "succeeded", "{transport}: {events:?}");
        assert_eq!(last["result"], json!({"processed": 3}));
        assert_eq!(last["progress"]["current"], 3);
        let progress: Vec<u64> = events
            .iter()
            .filter_map(|e| e["progress"]["current"].as_u64())
            .collect();
        assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");

        // A failing task: exit 1, its error on the last line.
        let mut args = submit_args(
            transport,
            url,
            "BatchService.fail_midway",
            r#"{"steps":4,"item_ms":5}"#,
        );
        args.push("--watch");
        let out = task_in(&data, &args);
        assert_eq!(out.status.code(), Some(1), "{transport}: {out:?}");
        let last = lines(&out).pop().unwrap();
        assert_eq!(last["status"], "failed");
        assert!(
            last["error"]["message"]
                .as_str()
                .unwrap()
                .contains("failed at step 3"),
            "{last}"
        );

        // submit prints the id; cancel stops it, a second cancel says it had ended.
        let out = task_in(
            &data,
            &submit_args(
                transport,
                url,
                "CaculService.slow",
                r#"{"x":1,"delay_ms":30000}"#,
            ),
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let id = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert_eq!(id.len(), 36, "{id}");
        let out = task_in(&data, &["cancel", &id]);
        assert_eq!(out.status.code(), Some(0), "{transport}: {out:?}");
        assert_eq!(lines(&out)[0]["canceled"], true);
        let out = task_in(&data, &["cancel", &id]);
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        assert_eq!(lines(&out)[0]["canceled"], false);
        assert!(String::from_utf8_lossy(&out.stderr).contains("already ended"));
        let out = task_in(&data, &["status", &id[..8]]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(lines(&out)[0]["status"], "canceled");
        assert_eq!(task_in(&data, &["result", &id]).status.code(), Some(1));
    }
    // ls: every task, newest first, from the tracker.
    let out = task_in(&data, &["ls", "--json", "--limit", "100"]);
    let listed = lines(&out);
    assert_eq!(listed.len(), 12, "{listed:?}");
    assert!(
        listed.iter().all(|t| t["status"] != "running"),
        "{listed:?}"
    );
    let table = task_in(&data, &["ls"]);
    assert!(String::from_utf8_lossy(&table.stdout).starts_with("TASK"));
}

#[test]
fn task_bad_input_gets_clear_answers() {
    let (_server, urls) = serve(&["rest"]);
    let _server = KillOnDrop(_server);
    let data = tempfile_dir("task-errors");
    let url = &urls[0];
    // An id nobody tracks, and one the server does not know (exit 1, 4000).
    let out = task_in(&data, &["status", "no-such-task"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no tracked task"));
    let out = task_in(
        &data,
        &[
            "status",
            "no-such-task",
            "--transport",
            "rest",
            "--url",
            url,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("4000"),
        "{out:?}"
    );
    // It was not adopted.
    assert!(lines(&task_in(&data, &["ls", "--json"])).is_empty());
    // A malformed submit: data that is not an object, a method the server lacks.
    let out = task_in(&data, &submit_args("rest", url, "CaculService.add", "[1]"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--data"),
        "{out:?}"
    );
    let out = task_in(
        &data,
        &submit_args("rest", url, "CaculService.nothing", "{}"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("METHOD_NOT_FOUND"));
    // A priority outside 0-3 is refused by the parser.
    let mut args = submit_args("rest", url, "CaculService.add", "{}");
    args.extend(["--priority", "7"]);
    assert_eq!(task_in(&data, &args).status.code(), Some(2));
}

#[test]
fn a_watcher_killed_mid_task_is_resumed_and_records_the_end() {
    let (_server, urls) = serve(&["rest"]);
    let _server = KillOnDrop(_server);
    let data = tempfile_dir("task-kill");
    let mut args = vec!["task"];
    args.extend(submit_args(
        "rest",
        &urls[0],
        "BatchService.process",
        r#"{"items":[1,2,3,4,5,6,7,8],"item_ms":150}"#,
    ));
    args.push("--watch");
    let mut watcher = Command::new(BIN)
        .env("ADUIB_DATA_DIR", &data)
        .args(&args)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(watcher.stdout.take().unwrap()).lines();
    let first: Value = serde_json::from_str(&out.next().unwrap().unwrap()).unwrap();
    let id = first["task_id"].as_str().unwrap().to_owned();
    // Killed once the task is running: SIGKILL, nothing gets to clean up.
    loop {
        let line: Value = serde_json::from_str(&out.next().unwrap().unwrap()).unwrap();
        if line["status"] == "running" {
            break;
        }
    }
    Command::new("kill")
        .args(["-KILL", &watcher.id().to_string()])
        .status()
        .unwrap();
    watcher.wait().unwrap();
    let listed = lines(&task_in(&data, &["ls", "--json", "--offline"]));
    assert_eq!(listed[0]["status"], "running", "{listed:?}");

    let out = task_in(&data, &["watch", &id]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let last = lines(&out).pop().unwrap();
    assert_eq!(last["status"], "succeeded");
    assert_eq!(last["result"], json!({"processed": 8}));
    let listed = lines(&task_in(&data, &["ls", "--json", "--offline"]));
    assert_eq!(listed[0]["status"], "succeeded");
    assert_eq!(listed[0]["progress"]["current"], 8);
}

/// A child process killed when the test ends, however it ends.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn registry_commands_list_namespaces_services_and_instances() {
    use aduib_registry::testing::Rnacos;
    use aduib_registry::{Registration, Registry, Scope};

    let nacos = Rnacos::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let registry = nacos.registry();
    for (port, weight, scheme) in [(18201u16, 1.0, "jsonrpc"), (18202, 2.0, "grpc")] {
        let registration = Registration {
            scope: Scope {
                namespace: Some("dev".into()),
                group: None,
            },
            service: "CaculService".into(),
            ip: "127.0.0.1".into(),
            port,
            weight,
            ephemeral: false,
            cluster: None,
            metadata: [
                ("scheme".to_owned(), scheme.to_owned()),
                ("protocol".to_owned(), "AduibRpc".to_owned()),
                ("service_name".to_owned(), "CaculService".to_owned()),
            ]
            .into(),
        };
        runtime.block_on(registry.register(&registration)).unwrap();
    }
    let address = nacos.address();
    let out = aduib(&["registry", "namespaces", "--nacos", &address, "--json"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let names: Vec<String> = lines(&out)
        .iter()
        .map(|n| n["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"dev".to_owned()), "{names:?}");
    let out = aduib(&[
        "registry",
        "groups",
        "--nacos",
        &address,
        "--namespace",
        "dev",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "DEFAULT_GROUP\n");

    let out = aduib(&[
        "registry",
        "services",
        "--nacos",
        &address,
        "--namespace",
        "dev",
        "--json",
    ]);
    assert_eq!(
        lines(&out)[0],
        json!({"total": 1, "services": ["CaculService"]})
    );
    // The namespace can ride in the address too.
    let scoped = format!("nacos://{address}?namespace=dev");
    let out = aduib(&["registry", "services", "--nacos", &scoped]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "CaculService");
    assert!(String::from_utf8_lossy(&out.stderr).contains("1–1 of 1 services in dev"));

    let out = aduib(&[
        "registry",
        "instances",
        "--nacos",
        &address,
        "--namespace",
        "dev",
        "--service",
        "CaculService",
        "--json",
    ]);
    let instances = lines(&out);
    assert_eq!(instances.len(), 2);
    assert_eq!(instances[0]["aduib"]["url"], "http://127.0.0.1:18201");
    assert_eq!(instances[1]["aduib"]["transport"], "grpc");
    assert_eq!(instances[1]["weight"], 2.0);
    let table = aduib(&[
        "registry",
        "instances",
        "--nacos",
        &address,
        "--namespace",
        "dev",
        "--service",
        "CaculService",
    ]);
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.starts_with("ADDRESS")
            && text.contains("healthy")
            && text.contains("protocol=AduibRpc"),
        "{text}"
    );

    // Nothing there: a clear line, exit 0; an unreachable registry: exit 2, in time.
    let out = aduib(&[
        "registry",
        "instances",
        "--nacos",
        &address,
        "--service",
        "Nope",
    ]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no instances of \"Nope\""));
    drop(nacos);
    let started = std::time::Instant::now();
    let out = aduib(&[
        "registry",
        "namespaces",
        "--nacos",
        &address,
        "--registry-timeout-ms",
        "2000",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach the registry"),
        "{out:?}"
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn calls_go_through_nacos_balanced_retried_and_recorded() {
    use aduib_registry::testing::Rnacos;
    use aduib_registry::{Registration, Registry, Scope};

    let nacos = Rnacos::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let registry = nacos.registry();
    let (_a, a) = serve(&["jsonrpc"]);
    let (_b, b) = serve(&["jsonrpc"]);
    let _a = KillOnDrop(_a);
    let _b = KillOnDrop(_b);
    let port = |url: &str| url.rsplit(':').next().unwrap().parse::<u16>().unwrap();
    // A third instance is registered but dead: a refused connection.
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (p, weight) in [(port(&a[0]), 1.0), (port(&b[0]), 3.0), (dead, 1.0)] {
        let registration = Registration {
            scope: Scope::default(),
            service: "CaculService".into(),
            ip: "127.0.0.1".into(),
            port: p,
            weight,
            ephemeral: false,
            cluster: None,
            metadata: [
                ("scheme".to_owned(), "jsonrpc".to_owned()),
                ("protocol".to_owned(), "AduibRpc".to_owned()),
                ("service_name".to_owned(), "CaculService".to_owned()),
            ]
            .into(),
        };
        runtime.block_on(registry.register(&registration)).unwrap();
    }
    let data = tempfile_dir("nacos-calls");
    let address = nacos.address();
    let call = |extra: &[&str]| {
        let mut args = vec![
            "call",
            "--nacos",
            &address,
            "--service",
            "CaculService",
            "--method",
            "CaculService.add",
            "--data",
            r#"{"x": 1, "y": 2}"#,
        ];
        args.extend_from_slice(extra);
        aduib_in(&data, &args)
    };
    // Every call answers: random picks the dead instance about one call in
    // three, and a refused connection moves on even without --idempotent
    // (it never reached a server).
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    for _ in 0..15 {
        let out = call(&["--lb", "random"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(lines(&out)[0]["result"], 3);
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        let instance = stderr
            .split("answered by ")
            .nth(1)
            .unwrap()
            .split_whitespace()
            .next()
            .unwrap()
            .to_owned();
        *seen.entry(instance).or_default() += 1;
    }
    assert!(
        seen.len() >= 2 || seen.keys().all(|k| !k.ends_with(&format!(":{dead}"))),
        "{seen:?}"
    );
    assert!(
        !seen.keys().any(|k| k.ends_with(&format!(":{dead}"))),
        "{seen:?}"
    );
    // A server stream through the balancer too: the dead instance is
    // passed over before anything is sent, each item printed as it comes.
    for _ in 0..6 {
        let out = aduib_in(
            &data,
            &[
                "stream",
                "--nacos",
                &address,
                "--service",
                "CaculService",
                "--method",
                "CaculService.countdown",
                "--data",
                r#"{"start": 2, "interval_ms": 1}"#,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let items: Vec<Value> = lines(&out)
            .iter()
            .map(|l| l["result"]["n"].clone())
            .collect();
        assert_eq!(items, [json!(2), json!(1), json!(0)]);
    }
    // One chosen instance; a transport nobody serves is a clear error.
    let pinned = format!("127.0.0.1:{}", port(&a[0]));
    let out = call(&["--instance", &pinned]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(&pinned),
        "{out:?}"
    );
    let out = call(&["--transport", "grpc"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no instance of \"CaculService\""),
        "{out:?}"
    );
    // Bad flags: an unknown strategy, --url with --nacos, an auth in clear kept out of history.
    let out = call(&["--lb", "fastest"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("round_robin"));
    let out = aduib_in(
        &data,
        &[
            "call",
            "--nacos",
            &address,
            "--service",
            "S",
            "--url",
            "http://x:1",
            "--method",
            "S.m",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let out = call(&["--auth", "bearer:hunter2"]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let shown = aduib_in(&data, &["history", "show", &newest_id(&data)]);
    let text = String::from_utf8_lossy(&shown.stdout);
    assert!(
        !text.contains("hunter2") && text.contains("bearer:"),
        "{text}"
    );
    assert!(text.contains("\"routed\""), "{text}");

    // Fan-out: every instance, the same request; the two live ones agree,
    // the dead one fails (exit 1).
    let out = aduib_in(
        &data,
        &[
            "fanout",
            "--nacos",
            &address,
            "--service",
            "CaculService",
            "--method",
            "CaculService.add",
            "--data",
            r#"{"x": 2, "y": 2}"#,
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let results = lines(&out);
    assert_eq!(results.len(), 3);
    let live: Vec<&Value> = results.iter().filter(|r| r["error"].is_null()).collect();
    assert_eq!(live.len(), 2);
    assert!(
        live.iter()
            .all(|r| r["response"]["result"] == 4 && r["group"] == live[0]["group"])
    );
    let dead_one = results.iter().find(|r| !r["error"].is_null()).unwrap();
    assert!(
        dead_one["instance"]
            .as_str()
            .unwrap()
            .ends_with(&format!(":{dead}"))
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3 instances: 2 different answers, 1 failed"),
        "{out:?}"
    );
    let out = aduib_in(
        &data,
        &[
            "fanout",
            "--url",
            "http://127.0.0.1:1",
            "--transport",
            "jsonrpc",
            "--method",
            "S.m",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--nacos"));
}

fn newest_id(data: &std::path::Path) -> String {
    let out = aduib_in(data, &["history", "list", "--limit", "1", "--json"]);
    lines(&out)[0]["id"].as_str().unwrap().to_owned()
}

#[test]
fn serve_register_announces_every_transport_and_leaves_on_shutdown() {
    use aduib_registry::testing::Rnacos;

    let nacos = Rnacos::start();
    let address = nacos.address();
    let register = format!("nacos://{address}?namespace=dev");
    let mut child = Command::new(BIN)
        .env("ADUIB_DATA_DIR", data_dir())
        .args([
            "serve",
            "--jsonrpc",
            "127.0.0.1:0",
            "--rest",
            "127.0.0.1:0",
            "--grpc",
            "127.0.0.1:0",
            "--thrift",
            "127.0.0.1:0",
            "--register",
            &register,
            "--register-weight",
            "2",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The URLs print once registration is done.
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let urls: Vec<String> = (0..4).map(|_| out.next().unwrap().unwrap()).collect();
    let instances = |service: &str| {
        lines(&aduib(&[
            "registry",
            "instances",
            "--nacos",
            &address,
            "--namespace",
            "dev",
            "--service",
            service,
            "--json",
        ]))
    };
    let listed = instances("CaculService");
    let schemes: Vec<&str> = listed
        .iter()
        .map(|i| i["metadata"]["scheme"].as_str().unwrap())
        .collect();
    let mut sorted = schemes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, ["grpc", "http", "jsonrpc", "thrift"], "{urls:?}");
    for instance in &listed {
        assert_eq!(instance["weight"], 2.0);
        assert_eq!(instance["ephemeral"], true);
        assert_eq!(instance["metadata"]["protocol"], "AduibRpc");
        assert_eq!(instance["metadata"]["service_name"], "CaculService");
    }
    // Other hosted services are announced too.
    assert_eq!(instances("BatchService").len(), 4);

    // A call through the registry reaches it on each transport.
    for transport in ["jsonrpc", "rest", "grpc", "thrift"] {
        let out = aduib(&[
            "call",
            "--nacos",
            &register,
            "--service",
            "CaculService",
            "--transport",
            transport,
            "--method",
            "CaculService.add",
            "--data",
            r#"{"x": 2, "y": 3}"#,
        ]);
        assert_eq!(out.status.code(), Some(0), "{transport}: {out:?}");
        assert_eq!(lines(&out)[0]["result"], 5);
    }

    sigterm(&child);
    assert!(child.wait().unwrap().success());
    assert!(
        instances("CaculService").is_empty(),
        "deregistered on shutdown"
    );
}

#[test]
fn serve_register_failures_are_clear() {
    // Bound to every address: which one should clients use?
    let out = aduib(&[
        "serve",
        "--jsonrpc",
        "0.0.0.0:0",
        "--register",
        "nacos://127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("--register-ip"),
        "{out:?}"
    );
    // Nobody at the registry's address.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = aduib(&[
        "serve",
        "--jsonrpc",
        "127.0.0.1:0",
        "--register",
        &format!("127.0.0.1:{free}"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--register") && stderr.contains("cannot reach the registry"),
        "{stderr}"
    );
}

#[test]
fn a_registry_behind_a_login_needs_the_right_password_and_says_so() {
    use aduib_registry::testing::Rnacos;

    // Made up for this test, for a server that lives as long as it does.
    let nacos = Rnacos::start_with_login("workbench-test", "rnacos-test-password");
    let address = nacos.address();
    let namespaces = |password: &str| {
        Command::new(BIN)
            .env("ADUIB_DATA_DIR", data_dir())
            .env("ADUIB_NACOS_USER", "workbench-test")
            .env("ADUIB_NACOS_PASSWORD", password)
            .args(["registry", "namespaces", "--nacos", &address, "--json"])
            .output()
            .unwrap()
    };

    let out = namespaces("rnacos-test-password");
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!lines(&out).is_empty());

    let out = namespaces("not-the-password");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("refused the login"), "{stderr}");
    assert!(!stderr.contains("not-the-password"), "{stderr}");

    // No credentials at all: the same clear refusal, not a parse error.
    let out = aduib(&["registry", "namespaces", "--nacos", &address]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("refused the login"));
}

#[test]
fn registry_instances_watch_prints_each_change_as_it_comes() {
    use aduib_registry::testing::Rnacos;
    use aduib_registry::{Registration, Registry, Scope};
    use std::io::BufRead;

    let nacos = Rnacos::start();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let registry = nacos.registry();
    let registration = |port: u16| Registration {
        scope: Scope::default(),
        service: "Watched".into(),
        ip: "127.0.0.1".into(),
        port,
        weight: 1.0,
        ephemeral: false,
        cluster: None,
        metadata: [("scheme".to_owned(), "grpc".to_owned())].into(),
    };
    runtime
        .block_on(registry.register(&registration(18401)))
        .unwrap();
    let address = nacos.address();
    let watcher = Command::new(BIN)
        .env("ADUIB_DATA_DIR", data_dir())
        .args(["registry", "instances", "--nacos", &address])
        .args(["--service", "Watched", "--watch", "--json"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut watcher = KillOnDrop(watcher);
    let mut lines = std::io::BufReader::new(watcher.0.stdout.take().unwrap()).lines();
    let mut next_ports = || -> Vec<u64> {
        let line: Value = serde_json::from_str(&lines.next().unwrap().unwrap()).unwrap();
        assert_eq!(line["service"], "Watched");
        line["instances"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["port"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(next_ports(), [18401]);
    runtime
        .block_on(registry.register(&registration(18402)))
        .unwrap();
    assert_eq!(next_ports(), [18401, 18402]);
    runtime
        .block_on(registry.deregister(&registration(18401)))
        .unwrap();
    assert_eq!(next_ports(), [18402]);
}

/// `aduib serve --register` on JSON-RPC against `nacos`: the child and its URL,
/// once registered.
fn serve_registered(nacos: &aduib_registry::testing::Rnacos) -> (Child, String) {
    let mut child = Command::new(BIN)
        .env("ADUIB_DATA_DIR", data_dir())
        .args(["serve", "--jsonrpc", "127.0.0.1:0", "--register"])
        .arg(format!("nacos://{}", nacos.address()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let line = BufReader::new(child.stdout.take().unwrap())
        .lines()
        .next()
        .unwrap()
        .unwrap();
    (child, line.split_whitespace().nth(1).unwrap().to_owned())
}

fn registered_ports(nacos: &aduib_registry::testing::Rnacos) -> Vec<u64> {
    let out = aduib(&[
        "registry",
        "instances",
        "--nacos",
        &nacos.address(),
        "--service",
        "CaculService",
        "--json",
    ]);
    lines(&out)
        .iter()
        .map(|i| i["port"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_killed_server_leaves_the_registry_at_once_over_grpc() {
    use aduib_registry::testing::Rnacos;

    let nacos = Rnacos::start();
    let (mut child, url) = serve_registered(&nacos);
    let port: u64 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(registered_ports(&nacos), [port]);
    // SIGKILL: no deregistration; the registry sees the connection end.
    child.kill().unwrap();
    child.wait().unwrap();
    let killed = std::time::Instant::now();
    while !registered_ports(&nacos).is_empty() {
        // An HTTP instance would stay until its beats were missed (~15-30 s).
        assert!(
            killed.elapsed() < std::time::Duration::from_secs(5),
            "still registered after {:?}",
            killed.elapsed()
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    eprintln!("left the registry {:?} after SIGKILL", killed.elapsed());
}

#[test]
fn without_grpc_the_server_registers_over_http_and_still_leaves_on_shutdown() {
    use aduib_registry::testing::Rnacos;

    let nacos = Rnacos::start_with_grpc_elsewhere();
    let (child, url) = serve_registered(&nacos);
    let port: u64 = url.rsplit(':').next().unwrap().parse().unwrap();
    assert_eq!(registered_ports(&nacos), [port]);
    sigterm(&child);
    let mut child = child;
    assert!(child.wait().unwrap().success());
    assert!(registered_ports(&nacos).is_empty());
}
