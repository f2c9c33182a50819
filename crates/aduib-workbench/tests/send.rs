//! `Workbench::send` against the embedded demo server on loopback, on every
//! kind of request: events in order, cancel, interactive bidi, error kinds.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aduib_server::demo::register_cacul_service;
use aduib_server::{HandlerRegistry, RunningServer, Server, ServerConfig, Transport};
use aduib_workbench::request::{
    AduibCall, AduibTransport, CallMode, CallOptions, GrpcCall, GrpcSchema, HttpCall, JsonRpcCall,
    ThriftCall,
};
use aduib_workbench::{
    ErrorKind, Event, EventBody, Exchange, History, Outcome, Query, Request, Workbench,
};
use serde_json::{Value, json};

/// Set when the server drops the `Probe.wait` handler: the call went away.
static PROBE_DROPPED: AtomicBool = AtomicBool::new(false);

struct DropFlag;
impl Drop for DropFlag {
    fn drop(&mut self) {
        PROBE_DROPPED.store(true, Ordering::SeqCst);
    }
}

async fn server() -> RunningServer {
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    registry.unary("Probe.wait", |_args| async move {
        let _flag = DropFlag;
        tokio::time::sleep(Duration::from_secs(30)).await;
        Ok(json!(null))
    });
    let config = ServerConfig {
        rich_demo: true,
        ..ServerConfig::default()
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let binds: Vec<_> = [
        Transport::JsonRpc,
        Transport::Rest,
        Transport::Grpc,
        Transport::Thrift,
    ]
    .iter()
    .map(|&t| (t, any))
    .collect();
    Server::new(registry, config).start(&binds).await.unwrap()
}

fn url(server: &RunningServer, transport: AduibTransport) -> String {
    let (t, http) = match transport {
        AduibTransport::Jsonrpc => (Transport::JsonRpc, true),
        AduibTransport::Rest => (Transport::Rest, true),
        AduibTransport::Grpc => (Transport::Grpc, false),
        AduibTransport::Thrift => (Transport::Thrift, false),
    };
    let addr = server.addr(t).unwrap();
    if http {
        format!("http://{addr}")
    } else {
        addr.to_string()
    }
}

fn aduib(
    transport: AduibTransport,
    url: String,
    method: &str,
    mode: CallMode,
    data: Value,
) -> Request {
    Request::Aduib(AduibCall {
        discovery: None,
        tls: None,
        transport,
        url,
        method: method.into(),
        mode,
        data,
        messages: vec![],
        interactive: false,
        id: None,
        options: CallOptions {
            timeout_ms: Some(10_000),
            ..CallOptions::default()
        },
    })
}

async fn all_events(mut exchange: Exchange) -> Vec<Event> {
    let mut events = Vec::new();
    while let Some(event) = exchange.events.recv().await {
        let end = matches!(event.body, EventBody::End { .. });
        events.push(event);
        if end {
            break;
        }
    }
    events
}

fn messages(events: &[Event]) -> Vec<Value> {
    events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::Message { body, .. } => Some(body.clone()),
            _ => None,
        })
        .collect()
}

fn outcome(events: &[Event]) -> Outcome {
    match &events.last().unwrap().body {
        EventBody::End { summary } => summary.outcome,
        other => panic!("the last event is not the end: {other:?}"),
    }
}

fn error(events: &[Event]) -> aduib_workbench::WorkbenchError {
    events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Error { error } => Some(error.clone()),
            _ => None,
        })
        .expect("an error event")
}

#[tokio::test]
async fn a_unary_aduib_call_on_every_transport_reports_sent_message_status_end_in_order() {
    let server = server().await;
    let workbench = Workbench::new(None).unwrap();
    for transport in [
        AduibTransport::Jsonrpc,
        AduibTransport::Rest,
        AduibTransport::Grpc,
        AduibTransport::Thrift,
    ] {
        let request = aduib(
            transport,
            url(&server, transport),
            "CaculService.add",
            CallMode::Unary,
            json!({"x": 1, "y": 2}),
        );
        let events = all_events(workbench.send(request)).await;
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match e.body {
                EventBody::Sent { .. } => "sent",
                EventBody::Message { .. } => "message",
                EventBody::Status { .. } => "status",
                EventBody::End { .. } => "end",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["sent", "message", "status", "end"], "{transport:?}");
        assert_eq!(messages(&events)[0]["result"], json!(3), "{transport:?}");
        assert!(
            events
                .windows(2)
                .all(|w| w[0].seq + 1 == w[1].seq && w[0].at_ms <= w[1].at_ms)
        );
        assert_eq!(outcome(&events), Outcome::Ok);
    }
}

#[tokio::test]
async fn a_server_stream_arrives_message_by_message_and_an_aduib_error_is_a_server_error() {
    let server = server().await;
    let workbench = Workbench::new(None).unwrap();
    for transport in [
        AduibTransport::Jsonrpc,
        AduibTransport::Rest,
        AduibTransport::Grpc,
    ] {
        let request = aduib(
            transport,
            url(&server, transport),
            "CaculService.countdown",
            CallMode::ServerStream,
            json!({"start": 3, "interval_ms": 20}),
        );
        let events = all_events(workbench.send(request)).await;
        let ns: Vec<Value> = messages(&events)
            .iter()
            .map(|m| m["result"]["n"].clone())
            .collect();
        assert_eq!(
            ns,
            [json!(3), json!(2), json!(1), json!(0)],
            "{transport:?}"
        );
        // Messages come as they are produced, not all at the end.
        let at: Vec<f64> = events
            .iter()
            .filter(|e| matches!(e.body, EventBody::Message { .. }))
            .map(|e| e.at_ms)
            .collect();
        assert!(at[3] - at[0] >= 40.0, "{transport:?}: {at:?}");
    }
    let failing = aduib(
        AduibTransport::Jsonrpc,
        url(&server, AduibTransport::Jsonrpc),
        "CaculService.fail",
        CallMode::Unary,
        json!({}),
    );
    let events = all_events(workbench.send(failing)).await;
    assert_eq!(outcome(&events), Outcome::ServerError);
    let status = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::Status { status } => Some(status.clone()),
            _ => None,
        })
        .unwrap();
    assert_eq!(status.name.as_deref(), Some("INTERNAL_ERROR"));
}

#[tokio::test]
async fn cancel_stops_the_call_at_once_and_the_server_sees_it_go() {
    let server = server().await;
    let workbench = Workbench::new(None).unwrap();
    let request = aduib(
        AduibTransport::Grpc,
        url(&server, AduibTransport::Grpc),
        "Probe.wait",
        CallMode::Unary,
        json!({}),
    );
    let mut exchange = workbench.send(request);
    // Wait until the request is out, then cancel.
    let sent = exchange.events.recv().await.unwrap();
    assert!(matches!(sent.body, EventBody::Sent { .. }));
    tokio::time::sleep(Duration::from_millis(200)).await;
    let started = Instant::now();
    exchange.handle.cancel();
    let events = all_events(exchange).await;
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(outcome(&events), Outcome::Cancelled);
    assert_eq!(error(&events).kind, ErrorKind::Cancelled);
    let deadline = Instant::now() + Duration::from_secs(5);
    while !PROBE_DROPPED.load(Ordering::SeqCst) {
        assert!(
            Instant::now() < deadline,
            "the server kept running the cancelled call"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_interactive_bidi_exchange_answers_each_message_before_the_next_is_sent() {
    let server = server().await;
    let workbench = Workbench::new(None).unwrap();
    // Aduib bidi over gRPC: each message goes out when it is given (the
    // Aduib server, like the peer, answers once the stream ends).
    let Request::Aduib(mut call) = aduib(
        AduibTransport::Grpc,
        url(&server, AduibTransport::Grpc),
        "CaculService.countdown",
        CallMode::Bidi,
        json!({}),
    ) else {
        unreachable!()
    };
    call.interactive = true;
    let mut exchange = workbench.send(Request::Aduib(call));
    exchange
        .handle
        .send_message(json!({"start": 1, "interval_ms": 0}))
        .unwrap();
    let sent = exchange.events.recv().await.unwrap();
    assert!(matches!(sent.body, EventBody::Sent { .. }), "{sent:?}");
    assert!(
        exchange.handle.send_message(json!(5)).is_err(),
        "only objects are messages"
    );
    exchange.handle.end_stream();
    let rest = all_events(exchange).await;
    let ns: Vec<Value> = messages(&rest)
        .iter()
        .map(|m| m["result"]["n"].clone())
        .collect();
    assert_eq!(ns, [json!(1), json!(0)]);
    assert_eq!(outcome(&rest), Outcome::Ok);

    // Any gRPC: RichService.Chat echoes each message as it arrives.
    let mut exchange = workbench.send(Request::Grpc(GrpcCall {
        target: url(&server, AduibTransport::Grpc),
        method: "aduib.demo.v1.RichService/Chat".into(),
        body: String::new(),
        schema: GrpcSchema::default(),
        tls: None,
        gzip: false,
        interactive: true,
        options: CallOptions::default(),
    }));
    for name in ["one", "two"] {
        exchange.handle.send_message(json!({"name": name})).unwrap();
        loop {
            let event = exchange.events.recv().await.unwrap();
            if let EventBody::Message { body, .. } = event.body {
                assert_eq!(body["name"], json!(name));
                break;
            }
        }
    }
    exchange.handle.end_stream();
    let rest = all_events(exchange).await;
    assert_eq!(outcome(&rest), Outcome::Ok);
}

#[tokio::test]
async fn raw_jsonrpc_http_grpc_and_thrift_requests_report_their_replies() {
    let server = server().await;
    let workbench = Workbench::new(None).unwrap();
    let jsonrpc = url(&server, AduibTransport::Jsonrpc);

    let events = all_events(workbench.send(Request::Jsonrpc(JsonRpcCall {
        url: format!("{jsonrpc}/aduib_rpc"),
        payload: json!({"jsonrpc": "2.0", "id": 1, "method": "rpc.v2/CaculService/CaculService.add",
                        "params": {"id": "r1", "method": "rpc.v2/CaculService/CaculService.add",
                                   "data": {"x": 2, "y": 3}, "aduib_rpc": "2.0"}}),
        options: CallOptions::default(),
    })))
    .await;
    assert_eq!(outcome(&events), Outcome::Ok, "{events:#?}");
    assert_eq!(messages(&events)[0]["result"]["result"], json!(5));

    let events = all_events(workbench.send(Request::Http(HttpCall {
        method: "get".into(),
        url: format!("{jsonrpc}/no/such/path"),
        body: None,
        options: CallOptions::default(),
    })))
    .await;
    let status = events.iter().find_map(|e| match &e.body {
        EventBody::Headers { status, .. } => *status,
        _ => None,
    });
    assert!(status.is_some_and(|s| s >= 400), "{events:#?}");
    assert_eq!(outcome(&events), Outcome::ServerError);

    let events = all_events(workbench.send(Request::Grpc(GrpcCall {
        target: url(&server, AduibTransport::Grpc),
        method: "aduib.demo.v1.RichService/Ticks".into(),
        body: r#"{"count": 3, "interval": "0.01s"}"#.into(),
        schema: GrpcSchema::default(),
        tls: None,
        gzip: false,
        interactive: false,
        options: CallOptions::default(),
    })))
    .await;
    assert_eq!(messages(&events).len(), 3, "{events:#?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e.body, EventBody::Headers { .. }))
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e.body, EventBody::Trailers { .. }))
    );

    let thrift = Request::Thrift(ThriftCall {
        target: format!("thrift://{}", url(&server, AduibTransport::Thrift)),
        idl: "rich.thrift".into(),
        includes: vec![concat!(env!("CARGO_MANIFEST_DIR"), "/../../thrift/demo").into()],
        method: "RichService.add".into(),
        args: json!({"a": 40, "b": 2}),
        protocol: Default::default(),
        framing: Default::default(),
        multiplexed: Some("RichService".into()),
        options: CallOptions::default(),
    });
    let events = all_events(workbench.send(thrift)).await;
    assert_eq!(outcome(&events), Outcome::Ok, "{events:#?}");
    assert_eq!(messages(&events), [json!(42)]);
}

#[tokio::test]
async fn failures_have_a_kind_and_keep_what_arrived() {
    let server = server().await;
    let workbench = Workbench::new(None).unwrap();
    // Nothing listens on port 1.
    let refused = aduib(
        AduibTransport::Jsonrpc,
        "http://127.0.0.1:1".into(),
        "CaculService.add",
        CallMode::Unary,
        json!({"x": 1, "y": 2}),
    );
    let events = all_events(workbench.send(refused)).await;
    assert_eq!(error(&events).kind, ErrorKind::Connect);
    assert_eq!(outcome(&events), Outcome::Failed);

    let bad = aduib(
        AduibTransport::Jsonrpc,
        url(&server, AduibTransport::Jsonrpc),
        "CaculService.add",
        CallMode::Unary,
        json!([1, 2]),
    );
    assert_eq!(
        error(&all_events(workbench.send(bad)).await).kind,
        ErrorKind::BadInput
    );

    let mut slow = aduib(
        AduibTransport::Rest,
        url(&server, AduibTransport::Rest),
        "CaculService.countdown",
        CallMode::ServerStream,
        json!({"start": 50, "interval_ms": 50}),
    );
    slow.options_mut().timeout_ms = Some(300);
    let events = all_events(workbench.send(slow)).await;
    assert_eq!(error(&events).kind, ErrorKind::Timeout);
    assert!(
        !messages(&events).is_empty(),
        "what arrived before the deadline is kept"
    );

    let unknown = Request::Grpc(GrpcCall {
        target: url(&server, AduibTransport::Grpc),
        method: "aduib.demo.v1.RichService/Nope".into(),
        body: "{}".into(),
        schema: GrpcSchema::default(),
        tls: None,
        gzip: false,
        interactive: false,
        options: CallOptions::default(),
    });
    assert_eq!(
        error(&all_events(workbench.send(unknown)).await).kind,
        ErrorKind::NotFound
    );

    let wrong_field = Request::Grpc(GrpcCall {
        target: url(&server, AduibTransport::Grpc),
        method: "aduib.demo.v1.RichService/Ticks".into(),
        body: r#"{"count": "many"}"#.into(),
        schema: GrpcSchema::default(),
        tls: None,
        gzip: false,
        interactive: false,
        options: CallOptions::default(),
    });
    let error = error(&all_events(workbench.send(wrong_field)).await);
    assert_eq!(error.kind, ErrorKind::BadInput);
    assert_eq!(error.path.as_deref(), Some(".count"), "{error:?}");
}

#[tokio::test]
async fn every_exchange_is_recorded_redacted_and_searchable() {
    let server = server().await;
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("history.sqlite3")).unwrap();
    let workbench = Workbench::new(Some(history)).unwrap();
    let secret = uuid::Uuid::new_v4().simple().to_string();
    let Request::Aduib(mut call) = aduib(
        AduibTransport::Jsonrpc,
        url(&server, AduibTransport::Jsonrpc),
        "CaculService.add",
        CallMode::Unary,
        json!({"x": 20, "y": 22}),
    ) else {
        unreachable!()
    };
    call.options.headers = vec![aduib_workbench::request::Header::new(
        "Authorization",
        format!("Bearer {secret}"),
    )];
    all_events(workbench.send(Request::Aduib(call))).await;
    let history = workbench.history().unwrap();
    // Queued before the end was reported: a flush finds it.
    history.flush();
    let found = history
        .query(&Query {
            text: Some("Cacul add".into()),
            ..Query::default()
        })
        .unwrap();
    assert_eq!(found.len(), 1);
    let detail = history.get(&found[0].id).unwrap().unwrap();
    assert_eq!(messages(&detail.events)[0]["result"], json!(42));
    let stored = std::fs::read(history.path()).unwrap();
    let wal = std::fs::read(history.path().with_extension("sqlite3-wal")).unwrap_or_default();
    for bytes in [&stored, &wal] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the credential reached the database file"
        );
    }
    assert!(
        serde_json::to_string(&detail.request)
            .unwrap()
            .contains("Authorization")
    );
}
