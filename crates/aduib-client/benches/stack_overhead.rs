//! What the client stack adds to a unary call: a `ServiceClient` (registry
//! lookup, balancer, retry policy and budget, deadline, auth) against a
//! plain `AduibClient::call` to the same server, with the same request on
//! the same runtime, in interleaved rounds so drift on the machine lands on
//! both. Prints median latencies and their ratio (target: ≤ 1.05).
//!
//! `cargo bench -p aduib-client --bench stack_overhead`

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use aduib_client::stack::{Auth, RetryPolicy, ServiceClient, ServiceTarget, StackConfig};
use aduib_client::{AduibClient, ClientConfig, Transport as ClientTransport};
use aduib_core::AduibRequest;
use aduib_registry::balance::Strategy;
use aduib_registry::{MemoryRegistry, Registration, Registry, Scope};
use aduib_server::demo::register_cacul_service;
use aduib_server::{HandlerRegistry, Server, ServerConfig, Transport};
use serde_json::json;

const ROUNDS: usize = 20;
const CALLS_PER_ROUND: usize = 300;
const WARM_UP: usize = 30;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn plain_client(url: String) -> Result<AduibClient, aduib_client::ClientError> {
    AduibClient::new(ClientConfig {
        transport: ClientTransport::JsonRpc,
        url,
        headers: Auth::Bearer("bench-token".into()).headers(),
        timeout: Some(Duration::from_secs(10)),
        limits: aduib_core::Limits::default(),
        tls: None,
    })
}

fn service_client(registry: Arc<MemoryRegistry>) -> ServiceClient {
    ServiceClient::new(
        registry,
        StackConfig {
            target: ServiceTarget {
                scope: Scope::default(),
                service: "CaculService".into(),
                strategy: Strategy::WeightedRoundRobin,
                instance: None,
                transport: Some(ClientTransport::JsonRpc),
                hash_field: None,
            },
            retry: RetryPolicy::new(3, true),
            timeout: Some(Duration::from_secs(10)),
            auth: Some(Auth::Bearer("bench-token".into())),
            headers: Vec::new(),
            limits: aduib_core::Limits::default(),
            tls: None,
            refresh: Duration::from_secs(5),
        },
    )
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The server has a runtime of its own, as it would in its own process:
    // the two sides then do not share worker threads.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let any: SocketAddr = "127.0.0.1:0".parse()?;
    let server = server_runtime.block_on(async {
        let mut handlers = HandlerRegistry::new();
        register_cacul_service(&mut handlers);
        Server::new(handlers, ServerConfig::default())
            .start(&[(Transport::JsonRpc, any)])
            .await
    })?;
    let endpoint = server.endpoints()[0];
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let registry = Arc::new(MemoryRegistry::new());
        registry
            .register(&Registration {
                scope: Scope::default(),
                service: "CaculService".into(),
                ip: endpoint.addr.ip().to_string(),
                port: endpoint.addr.port(),
                weight: 1.0,
                ephemeral: true,
                cluster: None,
                metadata: BTreeMap::from([("scheme".to_owned(), "jsonrpc".to_owned())]),
            })
            .await?;
        let request = AduibRequest::new(
            "b",
            "rpc.v2/CaculService/CaculService.add",
            json!({"x": 1, "y": 2})
                .as_object()
                .cloned()
                .unwrap_or_default(),
        );
        // The stack sends what is left of its deadline as qos.timeout_ms,
        // which the server then enforces; the plain call carries the same,
        // so the ratio is what the client side adds.
        let mut plain_request = request.clone();
        plain_request
            .qos
            .get_or_insert_with(Default::default)
            .timeout_ms = Some(10_000);
        let (mut raw, mut twin, mut stack) = (Vec::new(), Vec::new(), Vec::new());
        for _ in 0..ROUNDS {
            // New clients, so new connections, every round: where a
            // connection's tasks run is settled when it is made, and one
            // placement kept for the whole run favours one side by a few
            // per cent (the plain/plain line shows how much is left).
            let plain = plain_client(endpoint.url())?;
            let plain_twin = plain_client(endpoint.url())?;
            let stacked = service_client(registry.clone());
            for _ in 0..WARM_UP {
                plain.call(&plain_request).await?;
                plain_twin.call(&plain_request).await?;
                stacked.call(&request).await.map_err(|e| e.error)?;
            }
            for call in 0..CALLS_PER_ROUND {
                // Each side goes first as often as last.
                let order: [usize; 3] = match call % 3 {
                    0 => [0, 1, 2],
                    1 => [1, 2, 0],
                    _ => [2, 0, 1],
                };
                for side in order {
                    let started = Instant::now();
                    match side {
                        0 => {
                            plain.call(&plain_request).await?;
                            raw.push(started.elapsed());
                        }
                        1 => {
                            plain_twin.call(&plain_request).await?;
                            twin.push(started.elapsed());
                        }
                        _ => {
                            stacked.call(&request).await.map_err(|e| e.error)?;
                            stack.push(started.elapsed());
                        }
                    }
                }
            }
        }
        let (raw, twin, stack) = (median(raw), median(twin), median(stack));
        println!("plain AduibClient::call   median {raw:?}");
        println!("the same, second client   median {twin:?}");
        println!("ServiceClient::call       median {stack:?}");
        println!(
            "plain / plain             {:.3}x (the noise floor: both sides are the same)",
            twin.as_secs_f64() / raw.as_secs_f64()
        );
        println!(
            "stack / plain             {:.3}x (target <= 1.05)",
            stack.as_secs_f64() / raw.as_secs_f64()
        );
        Ok::<_, Box<dyn std::error::Error>>(())
    })?;
    server_runtime.block_on(server.shutdown(Duration::from_secs(1)));
    Ok(())
}
