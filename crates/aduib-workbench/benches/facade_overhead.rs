//! What the facade adds to a unary call: `Workbench::send` (events, the
//! exchange, no history) against `AduibClient::call` on the same server,
//! the same request and the same runtime, in interleaved rounds so drift on
//! the machine lands on both. Prints median latencies and their ratio.
//!
//! `cargo bench -p aduib-workbench --bench facade_overhead`

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aduib_client::{AduibClient, ClientConfig, Transport as ClientTransport};
use aduib_core::envelope::AduibRequest;
use aduib_server::demo::register_cacul_service;
use aduib_server::{HandlerRegistry, Server, ServerConfig, Transport};
use aduib_workbench::request::{AduibCall, AduibTransport, CallMode, CallOptions};
use aduib_workbench::{Outcome, Request, Workbench};
use serde_json::{Map, Value, json};

const ROUNDS: usize = 20;
const CALLS_PER_ROUND: usize = 500;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut registry = HandlerRegistry::new();
        register_cacul_service(&mut registry);
        let any: SocketAddr = "127.0.0.1:0".parse()?;
        let server = Server::new(registry, ServerConfig::default())
            .start(&[(Transport::JsonRpc, any)])
            .await?;
        let url = server.endpoints()[0].url();

        let client = AduibClient::new(ClientConfig {
            transport: ClientTransport::JsonRpc,
            url: url.clone(),
            headers: Vec::new(),
            timeout: None,
            limits: aduib_core::Limits::default(),
            tls: None,
        })?;
        let workbench = Workbench::new(None)?;
        let data: Map<String, Value> = json!({"x": 1, "y": 2})
            .as_object()
            .cloned()
            .unwrap_or_default();
        let request = Request::Aduib(AduibCall {
            discovery: None,
            tls: None,
            transport: AduibTransport::Jsonrpc,
            url,
            method: "CaculService.add".into(),
            mode: CallMode::Unary,
            data: Value::Object(data.clone()),
            messages: vec![],
            interactive: false,
            id: None,
            options: CallOptions::default(),
        });

        let direct = || async {
            let call = AduibRequest::new(
                uuid::Uuid::new_v4().to_string(),
                "rpc.v2/CaculService/CaculService.add".to_owned(),
                data.clone(),
            );
            let started = Instant::now();
            let reply = client.call(&call).await;
            assert!(reply.is_ok(), "{reply:?}");
            started.elapsed()
        };
        let facade = || async {
            let started = Instant::now();
            let mut exchange = workbench.send(request.clone());
            let mut outcome = None;
            while let Some(event) = exchange.events.recv().await {
                if let aduib_workbench::EventBody::End { summary } = event.body {
                    outcome = Some(summary.outcome);
                }
            }
            assert_eq!(outcome, Some(Outcome::Ok));
            started.elapsed()
        };

        // Warm both paths: connections, caches.
        for _ in 0..200 {
            direct().await;
            facade().await;
        }
        let (mut direct_samples, mut facade_samples) = (Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            for _ in 0..CALLS_PER_ROUND {
                direct_samples.push(direct().await);
                facade_samples.push(facade().await);
            }
        }
        let (d, f) = (median(direct_samples), median(facade_samples));
        println!(
            "unary JSON-RPC add, {} calls each, median: client {:.1} µs, facade {:.1} µs, facade/client {:.3}",
            ROUNDS * CALLS_PER_ROUND,
            d.as_secs_f64() * 1e6,
            f.as_secs_f64() * 1e6,
            f.as_secs_f64() / d.as_secs_f64()
        );
        server.shutdown(Duration::from_secs(1)).await;
        Ok::<_, Box<dyn std::error::Error>>(())
    })
}
