//! History search over many exchanges: fills a temporary database (default
//! 1,000,000 exchanges; `ADUIB_BENCH_EXCHANGES` to change) and prints the
//! median and worst time of each kind of query.
//!
//! `cargo bench -p aduib-workbench --bench history_search`

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use aduib_workbench::event::{CallStatus, Event, EventBody, Outcome, Summary};
use aduib_workbench::request::{AduibCall, AduibTransport, CallMode, CallOptions};
use aduib_workbench::{History, Query, Record, Request};
use serde_json::json;

const METHODS: [&str; 8] = [
    "add",
    "mul",
    "sum",
    "echo",
    "countdown",
    "slow",
    "fail",
    "ping",
];
const TRANSPORTS: [AduibTransport; 4] = [
    AduibTransport::Jsonrpc,
    AduibTransport::Rest,
    AduibTransport::Grpc,
    AduibTransport::Thrift,
];

fn record(i: usize) -> Record {
    let method = format!("CaculService.{}", METHODS[i % METHODS.len()]);
    let summary = Summary {
        outcome: if i.is_multiple_of(17) {
            Outcome::ServerError
        } else {
            Outcome::Ok
        },
        total_ms: 1.0,
        first_byte_ms: Some(0.5),
        messages_sent: 1,
        messages_received: 1,
        bytes_sent: 20,
        bytes_received: 20,
    };
    Record {
        id: format!("bench-{i:08}"),
        started_at_ms: 1_700_000_000_000 + i as i64,
        request: Request::Aduib(AduibCall {
            discovery: None,
            tls: None,
            transport: TRANSPORTS[i % TRANSPORTS.len()],
            url: format!("http://127.0.0.1:{}", 17000 + i % 50),
            method,
            mode: CallMode::Unary,
            data: json!({"x": i, "y": 2, "tag": format!("t{}", i % 1000)}),
            messages: vec![],
            interactive: false,
            id: None,
            options: CallOptions::default(),
        }),
        events: vec![Event {
            seq: 0,
            at_ms: 1.0,
            body: EventBody::Message {
                body: json!({"result": i + 2, "status": "success"}),
                size: 20,
                preview: false,
            },
        }],
        dropped: 0,
        summary,
        status: Some(CallStatus::ok()),
    }
}

fn main() {
    let count: usize = std::env::var("ADUIB_BENCH_EXCHANGES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().unwrap();
    let history = History::open(dir.path().join("bench.sqlite3")).unwrap();
    let filling = Instant::now();
    for i in 0..count {
        history.record(record(i));
        if i % 100_000 == 99_999 {
            history.flush();
            eprintln!("  {} exchanges written", i + 1);
        }
    }
    history.flush();
    eprintln!(
        "filled {count} exchanges in {:.1} s ({} MB)",
        filling.elapsed().as_secs_f64(),
        std::fs::metadata(history.path())
            .map(|m| m.len() / 1_000_000)
            .unwrap_or(0)
    );
    // Printed apart: the first read after a million writes is slower
    // (~150 ms here, with or without search_term) and would otherwise
    // stand as the first query's "worst".
    let first = Instant::now();
    history.query(&Query::default()).unwrap();
    eprintln!(
        "first query after writing: {:.2} ms",
        first.elapsed().as_secs_f64() * 1000.0
    );
    let queries: Vec<(&str, Query)> = vec![
        ("list, newest 100", Query::default()),
        ("text: a common word (countdown)", text("countdown", None)),
        ("text: a rare word (t999)", text("t999", None)),
        ("text: two words (Cacul mul)", text("Cacul mul", None)),
        // Over 32 terms begin with it: searched as a prefix, the slow way.
        ("text: a one-letter prefix (t)", text("t", None)),
        (
            "text + transport (echo, thrift)",
            text("echo", Some("thrift")),
        ),
        ("text, no match", text("nosuchword", None)),
        (
            "filter: server errors",
            Query {
                outcome: Some(Outcome::ServerError),
                ..Query::default()
            },
        ),
    ];
    println!(
        "{:<36} {:>10} {:>10} {:>6}",
        "query", "median", "worst", "rows"
    );
    for (name, query) in queries {
        let mut times: Vec<Duration> = Vec::new();
        let mut rows = 0;
        for _ in 0..21 {
            let started = Instant::now();
            rows = history.query(&query).unwrap().len();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "{name:<36} {:>8.2}ms {:>8.2}ms {rows:>6}",
            times[times.len() / 2].as_secs_f64() * 1000.0,
            times[times.len() - 1].as_secs_f64() * 1000.0,
        );
    }
}

fn text(text: &str, transport: Option<&str>) -> Query {
    Query {
        text: Some(text.into()),
        transport: transport.map(str::to_owned),
        ..Query::default()
    }
}
