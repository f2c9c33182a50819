//! The task API on every transport against our server: submit, subscribe,
//! query, cancel, and the clear answers to bad input.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::time::Duration;

use aduib_client::{AduibClient, ClientConfig, ClientError, Transport};
use aduib_core::AduibRequest;
use aduib_core::task::TaskStatus;
use aduib_server::{RunningServer, ServerConfig};
use futures::StreamExt;
use serde_json::{Value, json};

const ALL: [Transport; 4] = [
    Transport::JsonRpc,
    Transport::Rest,
    Transport::Grpc,
    Transport::Thrift,
];

async fn server() -> RunningServer {
    use aduib_server::Transport as T;
    support::demo_server(
        &[T::JsonRpc, T::Rest, T::Grpc, T::Thrift],
        ServerConfig::default(),
    )
    .await
}

fn client(server: &RunningServer, transport: Transport) -> AduibClient {
    let served = match transport {
        Transport::JsonRpc => aduib_server::Transport::JsonRpc,
        Transport::Rest => aduib_server::Transport::Rest,
        Transport::Grpc => aduib_server::Transport::Grpc,
        Transport::Thrift => aduib_server::Transport::Thrift,
    };
    AduibClient::new(ClientConfig {
        transport,
        url: format!("http://{}", server.addr(served).unwrap()),
        headers: vec![],
        timeout: Some(Duration::from_secs(20)),
        limits: aduib_core::Limits::default(),
        tls: None,
    })
    .unwrap()
}

fn request(method: &str, data: Value) -> AduibRequest {
    AduibRequest::new("t1", method, data.as_object().cloned().unwrap())
}

#[tokio::test]
async fn submit_subscribe_and_query_on_every_transport() {
    let server = server().await;
    for transport in ALL {
        let client = client(&server, transport);
        let receipt = client
            .task_submit(
                &request(
                    "rpc.v2/BatchService/BatchService.process",
                    json!({"items": [1, 2, 3, 4], "item_ms": 10}),
                ),
                None,
            )
            .await
            .unwrap();
        assert!(!receipt.task_id.is_empty(), "{transport:?}");
        let events: Vec<_> = client
            .task_subscribe(&receipt.task_id)
            .await
            .unwrap()
            .map(Result::unwrap)
            .collect()
            .await;
        let last = events.last().unwrap();
        assert_eq!(last.event, "completed", "{transport:?}: {events:?}");
        assert_eq!(last.task.status, TaskStatus::Succeeded);
        // Progress only ever grows, and reaches the total.
        let progress: Vec<u64> = events
            .iter()
            .filter_map(|e| e.task.progress.as_ref().map(|p| p.current))
            .collect();
        assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
        assert_eq!(progress.last(), Some(&4), "{transport:?}");

        let record = client.task_query(&receipt.task_id).await.unwrap();
        assert_eq!(record.status, TaskStatus::Succeeded);
        assert_eq!(
            record.value(),
            Some(&json!({"processed": 4})),
            "{transport:?}"
        );
    }
}

#[tokio::test]
async fn a_failing_task_reports_its_error() {
    let server = server().await;
    for transport in ALL {
        let client = client(&server, transport);
        let receipt = client
            .task_submit(
                &request(
                    "rpc.v2/BatchService/BatchService.fail_midway",
                    json!({"steps": 4, "item_ms": 5}),
                ),
                Some(3),
            )
            .await
            .unwrap();
        let events: Vec<_> = client
            .task_subscribe(&receipt.task_id)
            .await
            .unwrap()
            .map(Result::unwrap)
            .collect()
            .await;
        assert_eq!(events.last().unwrap().event, "failed", "{transport:?}");
        let record = client.task_query(&receipt.task_id).await.unwrap();
        assert_eq!(record.status, TaskStatus::Failed);
        let error = record.failure().unwrap();
        assert!(error.message.contains("failed at step 3"), "{error:?}");
    }
}

#[tokio::test]
async fn cancel_stops_a_running_task_and_a_second_cancel_changes_nothing() {
    let server = server().await;
    for transport in ALL {
        let client = client(&server, transport);
        let receipt = client
            .task_submit(
                &request(
                    "rpc.v2/CaculService/CaculService.slow",
                    json!({"x": 1, "delay_ms": 30000}),
                ),
                None,
            )
            .await
            .unwrap();
        let first = client
            .task_cancel(&receipt.task_id, Some("test"))
            .await
            .unwrap();
        assert!(first.canceled, "{transport:?}");
        assert_eq!(first.status, TaskStatus::Canceled);
        let again = client.task_cancel(&receipt.task_id, None).await.unwrap();
        assert!(!again.canceled, "{transport:?}");
        assert_eq!(again.status, TaskStatus::Canceled);
        assert_eq!(
            client.task_query(&receipt.task_id).await.unwrap().status,
            TaskStatus::Canceled
        );
    }
}

#[tokio::test]
async fn an_unknown_task_is_error_4000_everywhere() {
    let server = server().await;
    for transport in ALL {
        let client = client(&server, transport);
        let unknown = |error: ClientError| match error {
            ClientError::Rpc { error, .. } => assert_eq!(error.code, 4000, "{transport:?}"),
            other => panic!("{transport:?}: {other}"),
        };
        unknown(client.task_query("no-such-task").await.unwrap_err());
        unknown(client.task_cancel("no-such-task", None).await.unwrap_err());
        let first = match client.task_subscribe("no-such-task").await {
            Ok(mut events) => events.next().await.unwrap().unwrap_err(),
            Err(error) => error,
        };
        unknown(first);
    }
}

#[tokio::test]
async fn submitting_an_unknown_method_is_refused_at_once() {
    let server = server().await;
    for transport in ALL {
        let client = client(&server, transport);
        let error = client
            .task_submit(
                &request("rpc.v2/CaculService/CaculService.nothing", json!({})),
                None,
            )
            .await
            .unwrap_err();
        match error {
            ClientError::Rpc { error, .. } => {
                assert_eq!(error.name, "METHOD_NOT_FOUND", "{transport:?}: {error:?}")
            }
            other => panic!("{transport:?}: {other}"),
        }
    }
}

/// Resident memory of this process (the server runs in it), in bytes.
fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// 1,000 tasks at once, each with a subscriber, over one gRPC connection:
/// each subscriber sees progress in order without a gap or a repeat from
/// the moment it subscribed, and exactly one end, the last event.
async fn a_thousand_watched_tasks(client: &AduibClient) {
    let batch = request(
        "rpc.v2/BatchService/BatchService.process",
        json!({"items": [1, 2, 3, 4], "item_ms": 1}),
    );
    let receipts: Vec<_> = futures::stream::iter(0..1000)
        .map(|_| client.task_submit(&batch, None))
        .buffer_unordered(100)
        .collect()
        .await;
    let watched = futures::future::join_all(receipts.into_iter().map(|receipt| async move {
        let id = receipt.unwrap().task_id;
        let events: Vec<_> = client
            .task_subscribe(&id)
            .await
            .unwrap()
            .map(Result::unwrap)
            .collect()
            .await;
        events
    }))
    .await;
    for events in watched {
        let ends = events
            .iter()
            .filter(|e| e.task.status.is_terminal())
            .count();
        assert_eq!(ends, 1, "{events:?}");
        let last = events.last().unwrap();
        assert_eq!(last.event, "completed");
        assert_eq!(last.task.value(), Some(&json!({"processed": 4})));
        // Progress after the first event (the snapshot): each step once.
        let steps: Vec<u64> = events
            .iter()
            .filter(|e| e.event == "progress")
            .filter_map(|e| e.task.progress.as_ref().map(|p| p.current))
            .collect();
        assert!(steps.windows(2).all(|w| w[1] == w[0] + 1), "{steps:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_tasks_with_subscribers_end_once_each_and_memory_stays_bounded() {
    let server = server().await;
    let client = client(&server, Transport::Grpc);
    let mut resident = Vec::new();
    for _ in 0..3 {
        a_thousand_watched_tasks(&client).await;
        resident.push(resident_bytes());
    }
    // Records are kept (until their TTL, at most 10,000); the rest is freed:
    // a round of 1,000 more tasks costs little beyond its records.
    let growth = resident[2].saturating_sub(resident[0]);
    eprintln!("resident after each round of 1,000: {resident:?}");
    assert!(
        growth < 32 * 1024 * 1024,
        "resident memory grew {} MiB over two rounds: {resident:?}",
        growth / (1024 * 1024)
    );
}

/// Every `long_task` call names a method (JSON-RPC wants an `rpc.v2/` name);
/// `long_task_method` says which operation it is.
const BATCH: &str = "rpc.v2/BatchService/BatchService.process";

/// A `Call` carrying `metadata.long_task` for the task operation `op`.
fn long_task(op: &str, method: &str, data: Value) -> AduibRequest {
    let mut request = request(method, data);
    let metadata = request
        .metadata
        .get_or_insert_with(aduib_core::RequestMetadata::now);
    metadata.long_task = Some(true);
    metadata.long_task_method = Some(op.to_owned());
    request
}

#[tokio::test]
async fn the_long_task_surface_answers_every_operation_on_every_transport() {
    let server = server().await;
    for transport in ALL {
        let client = client(&server, transport);
        // The peer's own e2e form: long_task with task/submit on a normal method.
        let receipt = client
            .call(&long_task(
                "task/submit",
                BATCH,
                json!({"items": [1, 2], "item_ms": 10}),
            ))
            .await
            .unwrap();
        let task_id = receipt.result.unwrap()["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let by_id = json!({ "task_id": task_id });
        let events: Vec<Value> = client
            .stream(&long_task("task/subscribe", BATCH, by_id.clone()))
            .await
            .unwrap()
            .map(|r| {
                let r = r.unwrap();
                r.result
                    .unwrap_or_else(|| panic!("{transport:?}: {:?}", r.error))
            })
            .collect()
            .await;
        assert_eq!(
            events.last().unwrap()["event"],
            "completed",
            "{transport:?}"
        );
        let answer = |op: &'static str| {
            let client = client.clone();
            let by_id = by_id.clone();
            async move {
                client
                    .call(&long_task(op, BATCH, by_id))
                    .await
                    .unwrap()
                    .result
                    .unwrap()
            }
        };
        assert_eq!(answer("task/status").await["status"], "succeeded");
        assert_eq!(
            answer("task/result").await["value"],
            json!({"processed": 2})
        );
        assert_eq!(answer("task/query").await["task"]["status"], "succeeded");
        assert_eq!(answer("task/cancel").await["canceled"], false);
        let listed = answer("task/list").await;
        assert!(
            listed["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .any(|t| t["task_id"] == task_id.as_str()),
            "{transport:?}: {listed}"
        );
        // An unknown id is a clear 4000, as a response.
        let unknown = client
            .call(&long_task("task/status", BATCH, json!({"task_id": "nope"})))
            .await
            .unwrap();
        assert_eq!(unknown.error.unwrap().code, 4000, "{transport:?}");
    }
}
