//! The client stack against real servers on loopback, found through a
//! registry: balancing by weight, retry only when safe, deadlines, auth,
//! stale instances when the registry goes away.

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aduib_client::ClientError;
use aduib_client::stack::{Auth, RetryPolicy, ServiceClient, ServiceTarget, StackConfig};
use aduib_core::{AduibRequest, ErrorCode, RpcError};
use aduib_registry::balance::Strategy;
use aduib_registry::{
    Instance, MemoryRegistry, Namespace, PageQuery, Registration, Registry, RegistryError, Scope,
    ServicePage,
};
use aduib_server::access::{Access, Token};
use aduib_server::{HandlerRegistry, RunningServer, Server, ServerConfig, Transport};
use futures::FutureExt;
use futures::future::BoxFuture;
use serde_json::json;

/// One server instance: `Counter.hit` counts executions here and answers
/// `{port}`; `Counter.busy` counts, then answers 5002 (try elsewhere).
async fn instance(executions: Arc<AtomicU64>, config: ServerConfig) -> RunningServer {
    let mut registry = HandlerRegistry::new();
    aduib_server::demo::register_cacul_service(&mut registry);
    let hits = executions.clone();
    registry.unary("Counter.hit", move |_| {
        let hits = hits.clone();
        async move {
            hits.fetch_add(1, Ordering::SeqCst);
            Ok(json!({"ok": true}))
        }
    });
    let busy = executions;
    registry.unary("Counter.busy", move |_| {
        let busy = busy.clone();
        async move {
            busy.fetch_add(1, Ordering::SeqCst);
            Err(RpcError::new(
                ErrorCode::ServiceUnavailable,
                "busy: try another instance",
            ))
        }
    });
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    Server::new(registry, config)
        .start(&[(Transport::JsonRpc, any)])
        .await
        .unwrap()
}

fn registration(port: u16, weight: f64) -> Registration {
    Registration {
        scope: Scope::default(),
        service: "Counter".into(),
        ip: "127.0.0.1".into(),
        port,
        weight,
        ephemeral: true,
        cluster: None,
        metadata: BTreeMap::from([
            ("scheme".to_owned(), "jsonrpc".to_owned()),
            ("protocol".to_owned(), "AduibRpc".to_owned()),
        ]),
    }
}

fn config(strategy: Strategy, retry: RetryPolicy) -> StackConfig {
    StackConfig {
        target: ServiceTarget {
            scope: Scope::default(),
            service: "Counter".into(),
            strategy,
            instance: None,
            transport: None,
            hash_field: None,
        },
        retry,
        timeout: Some(Duration::from_secs(5)),
        auth: None,
        headers: Vec::new(),
        limits: aduib_core::Limits::default(),
        tls: None,
        refresh: Duration::from_secs(5),
    }
}

fn hit(method: &str) -> AduibRequest {
    AduibRequest::new(
        "h",
        format!("rpc.v2/Counter/Counter.{method}"),
        Default::default(),
    )
}

struct Fleet {
    servers: Vec<RunningServer>,
    counters: Vec<Arc<AtomicU64>>,
    registry: Arc<MemoryRegistry>,
}

async fn fleet(weights: &[f64]) -> Fleet {
    let registry = Arc::new(MemoryRegistry::new());
    let mut servers = Vec::new();
    let mut counters = Vec::new();
    for &weight in weights {
        let counter = Arc::new(AtomicU64::new(0));
        let server = instance(counter.clone(), ServerConfig::default()).await;
        let port = server.addr(Transport::JsonRpc).unwrap().port();
        registry
            .register(&registration(port, weight))
            .await
            .unwrap();
        servers.push(server);
        counters.push(counter);
    }
    Fleet {
        servers,
        counters,
        registry,
    }
}

fn counts(fleet: &Fleet) -> Vec<u64> {
    fleet
        .counters
        .iter()
        .map(|c| c.load(Ordering::SeqCst))
        .collect()
}

#[tokio::test]
async fn calls_land_by_weight_or_evenly_as_the_strategy_says() {
    let fleet = fleet(&[1.0, 2.0, 3.0]).await;
    for (strategy, expected) in [
        (Strategy::WeightedRoundRobin, [100, 200, 300]),
        (Strategy::RoundRobin, [200, 200, 200]),
    ] {
        for counter in &fleet.counters {
            counter.store(0, Ordering::SeqCst);
        }
        let client = ServiceClient::new(
            fleet.registry.clone(),
            config(strategy, RetryPolicy::new(1, false)),
        );
        for _ in 0..600 {
            let (response, route) = client.call(&hit("hit")).await.unwrap();
            assert!(response.error.is_none(), "{response:?}");
            assert_eq!(route.attempts, 1);
        }
        assert_eq!(counts(&fleet), expected, "{}", strategy.name());
    }
}

#[tokio::test]
async fn a_dead_instance_costs_idempotent_calls_nothing_and_non_idempotent_ones_never_run_twice() {
    let mut fleet = fleet(&[1.0, 1.0, 1.0]).await;
    // The first instance goes away; the registry does not know yet.
    fleet
        .servers
        .remove(0)
        .shutdown(Duration::from_millis(100))
        .await;

    let idempotent = ServiceClient::new(
        fleet.registry.clone(),
        config(Strategy::RoundRobin, RetryPolicy::new(3, true)),
    );
    for _ in 0..60 {
        let (response, _) = idempotent.call(&hit("hit")).await.unwrap();
        assert!(response.error.is_none());
    }
    assert_eq!(
        counts(&fleet)[1] + counts(&fleet)[2],
        60,
        "each call ran once"
    );

    // Not idempotent: a refused connection never reached a server, so it
    // moves on; an answer that says "try elsewhere" after running is final.
    let once = ServiceClient::new(
        fleet.registry.clone(),
        config(Strategy::RoundRobin, RetryPolicy::new(3, false)),
    );
    for _ in 0..30 {
        let (response, _) = once.call(&hit("hit")).await.unwrap();
        assert!(response.error.is_none());
    }
    assert_eq!(counts(&fleet)[1] + counts(&fleet)[2], 90);
    let before = counts(&fleet)[1] + counts(&fleet)[2];
    for _ in 0..10 {
        let (response, route) = once.call(&hit("busy")).await.unwrap();
        assert_eq!(response.error.unwrap().code, 5002);
        assert!(route.attempts <= 2, "at most the refused try and one run");
    }
    assert_eq!(
        counts(&fleet)[1] + counts(&fleet)[2] - before,
        10,
        "never executed twice"
    );

    // Idempotent and told to try elsewhere: it does, up to the attempts
    // (the dead instance now gone from the registry, so every try runs).
    let dead_port = fleet
        .registry
        .instances(&Scope::default(), "Counter")
        .await
        .unwrap();
    for instance in dead_port.iter().filter(|i| {
        fleet
            .servers
            .iter()
            .all(|s| s.addr(Transport::JsonRpc).unwrap().port() != i.port)
    }) {
        fleet
            .registry
            .deregister(&registration(instance.port, 1.0))
            .await
            .unwrap();
    }
    let idempotent = ServiceClient::new(
        fleet.registry.clone(),
        config(Strategy::RoundRobin, RetryPolicy::new(3, true)),
    );
    let before = counts(&fleet)[1] + counts(&fleet)[2];
    let (response, route) = idempotent.call(&hit("busy")).await.unwrap();
    assert_eq!(response.error.unwrap().code, 5002);
    assert_eq!(route.attempts, 3);
    assert_eq!(counts(&fleet)[1] + counts(&fleet)[2] - before, 3);
}

#[tokio::test]
async fn an_idempotency_key_makes_a_call_retryable() {
    let fleet = fleet(&[1.0, 1.0]).await;
    let client = ServiceClient::new(
        fleet.registry.clone(),
        config(Strategy::RoundRobin, RetryPolicy::new(2, false)),
    );
    let mut request = hit("busy");
    request
        .qos
        .get_or_insert_with(Default::default)
        .idempotency_key = Some("k-1".into());
    let (_, route) = client.call(&request).await.unwrap();
    assert_eq!(route.attempts, 2);
    assert_eq!(
        counts(&fleet),
        [1, 1],
        "the retry went to the other instance"
    );
}

#[tokio::test]
async fn the_deadline_covers_every_attempt_and_reaches_the_server() {
    let fleet = fleet(&[1.0]).await;
    let mut settings = config(Strategy::RoundRobin, RetryPolicy::new(5, true));
    settings.timeout = Some(Duration::from_millis(300));
    let client = ServiceClient::new(fleet.registry.clone(), settings);
    let mut slow = AduibRequest::new(
        "s",
        "rpc.v2/CaculService/CaculService.slow",
        json!({"x": 1, "delay_ms": 5000})
            .as_object()
            .cloned()
            .unwrap(),
    );
    slow.id = Some("s".into());
    let started = Instant::now();
    let outcome = client.call(&slow).await;
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    match outcome {
        // Our server enforces the propagated qos.timeout_ms (5003)...
        Ok((response, _)) => assert_eq!(response.error.unwrap().code, 5003),
        // ...or the client's own deadline ends it first.
        Err(failure) => assert!(
            matches!(failure.error, ClientError::Timeout { .. }),
            "{failure}"
        ),
    }
}

#[tokio::test]
async fn auth_reaches_a_server_that_requires_a_token() {
    let registry = Arc::new(MemoryRegistry::new());
    let server = instance(
        Arc::new(AtomicU64::new(0)),
        ServerConfig {
            access: Access {
                token: Some(Token::new("s3cret")),
                ..Access::default()
            },
            ..ServerConfig::default()
        },
    )
    .await;
    let port = server.addr(Transport::JsonRpc).unwrap().port();
    registry.register(&registration(port, 1.0)).await.unwrap();
    let with = |auth: Option<Auth>| {
        let mut settings = config(Strategy::RoundRobin, RetryPolicy::new(1, false));
        settings.auth = auth;
        ServiceClient::new(registry.clone(), settings)
    };
    let (denied, _) = with(None).call(&hit("hit")).await.unwrap();
    assert_eq!(denied.error.unwrap().code, 3000);
    for auth in ["bearer:s3cret", "aduib:bearer:s3cret:alice:admin"] {
        let (ok, _) = with(Some(Auth::parse(auth).unwrap()))
            .call(&hit("hit"))
            .await
            .unwrap();
        assert!(ok.error.is_none(), "{auth}: {ok:?}");
    }
    let (wrong, _) = with(Some(Auth::parse("bearer:nope").unwrap()))
        .call(&hit("hit"))
        .await
        .unwrap();
    assert_eq!(wrong.error.unwrap().code, 3001);
    // Never printed.
    let auth = Auth::parse("basic:u:hunter2").unwrap();
    assert!(!format!("{auth:?}").contains("hunter2"));
    assert!(
        Auth::parse("magic:x")
            .unwrap_err()
            .contains("unknown auth kind")
    );
}

/// A registry that can be switched off, as a network partition would.
#[derive(Debug)]
struct Flaky {
    inner: MemoryRegistry,
    down: AtomicBool,
}

impl Flaky {
    fn check(&self) -> Result<(), RegistryError> {
        if self.down.load(Ordering::SeqCst) {
            Err(RegistryError::Unreachable {
                url: "http://registry".into(),
                reason: "connection refused".into(),
            })
        } else {
            Ok(())
        }
    }
}

impl Registry for Flaky {
    fn namespaces(&self) -> BoxFuture<'_, Result<Vec<Namespace>, RegistryError>> {
        self.inner.namespaces()
    }
    fn services<'a>(
        &'a self,
        s: &'a Scope,
        p: &'a PageQuery,
    ) -> BoxFuture<'a, Result<ServicePage, RegistryError>> {
        self.inner.services(s, p)
    }
    fn groups<'a>(&'a self, s: &'a Scope) -> BoxFuture<'a, Result<Vec<String>, RegistryError>> {
        self.inner.groups(s)
    }
    fn instances<'a>(
        &'a self,
        s: &'a Scope,
        name: &'a str,
    ) -> BoxFuture<'a, Result<Vec<Instance>, RegistryError>> {
        match self.check() {
            Ok(()) => self.inner.instances(s, name),
            Err(e) => async move { Err(e) }.boxed(),
        }
    }
    fn register<'a>(&'a self, r: &'a Registration) -> BoxFuture<'a, Result<(), RegistryError>> {
        self.inner.register(r)
    }
    fn deregister<'a>(&'a self, r: &'a Registration) -> BoxFuture<'a, Result<(), RegistryError>> {
        self.inner.deregister(r)
    }
}

#[tokio::test]
async fn an_unreachable_registry_means_stale_instances_or_a_clear_error() {
    let counter = Arc::new(AtomicU64::new(0));
    let server = instance(counter, ServerConfig::default()).await;
    let flaky = Arc::new(Flaky {
        inner: MemoryRegistry::new(),
        down: AtomicBool::new(true),
    });
    let port = server.addr(Transport::JsonRpc).unwrap().port();
    flaky
        .inner
        .register(&registration(port, 1.0))
        .await
        .unwrap();
    let mut settings = config(Strategy::RoundRobin, RetryPolicy::new(1, false));
    settings.refresh = Duration::ZERO; // ask every time
    let client = ServiceClient::new(flaky.clone(), settings);
    // Never reached: a clear error, at once.
    let failure = client.call(&hit("hit")).await.unwrap_err();
    assert!(failure.to_string().contains("the registry"), "{failure}");
    // Reached once, then gone: the last instances, marked stale.
    flaky.down.store(false, Ordering::SeqCst);
    let (_, route) = client.call(&hit("hit")).await.unwrap();
    assert!(!route.stale);
    flaky.down.store(true, Ordering::SeqCst);
    let (response, route) = client.call(&hit("hit")).await.unwrap();
    assert!(response.error.is_none());
    assert!(route.stale);
}

#[tokio::test]
async fn one_chosen_instance_or_a_clear_error_when_there_is_none() {
    let fleet = fleet(&[1.0, 1.0]).await;
    let port = fleet.servers[1].addr(Transport::JsonRpc).unwrap().port();
    let mut settings = config(Strategy::Random, RetryPolicy::new(1, false));
    settings.target.instance = Some(format!("127.0.0.1:{port}"));
    let pinned = ServiceClient::new(fleet.registry.clone(), settings.clone());
    for _ in 0..20 {
        let (_, route) = pinned.call(&hit("hit")).await.unwrap();
        assert_eq!(route.instance, format!("127.0.0.1:{port}"));
    }
    assert_eq!(counts(&fleet), [0, 20]);
    settings.target.instance = Some("10.0.0.1:1".into());
    let failure = ServiceClient::new(fleet.registry.clone(), settings)
        .call(&hit("hit"))
        .await
        .unwrap_err();
    assert!(
        failure.to_string().contains("no instance of \"Counter\""),
        "{failure}"
    );
}

#[tokio::test]
async fn a_change_in_the_registry_reaches_the_next_call_without_waiting_for_refresh() {
    let fleet = fleet(&[1.0]).await;
    let mut settings = config(Strategy::RoundRobin, RetryPolicy::new(1, false));
    settings.refresh = Duration::from_secs(3600);
    let client = ServiceClient::new(fleet.registry.clone(), settings);
    let (_, route) = client.call(&hit("hit")).await.unwrap();
    let first = fleet.servers[0].addr(Transport::JsonRpc).unwrap().port();
    assert_eq!(route.instance, format!("127.0.0.1:{first}"));

    // Another instance comes and the first goes: the watch tells the stack.
    let counter = Arc::new(AtomicU64::new(0));
    let second = instance(counter.clone(), ServerConfig::default()).await;
    let port = second.addr(Transport::JsonRpc).unwrap().port();
    fleet
        .registry
        .register(&registration(port, 1.0))
        .await
        .unwrap();
    fleet
        .registry
        .deregister(&registration(first, 1.0))
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (_, route) = client.call(&hit("hit")).await.unwrap();
        if route.instance == format!("127.0.0.1:{port}") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "still calling {}",
            route.instance
        );
        tokio::task::yield_now().await;
    }
    assert!(counter.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn a_server_stream_goes_through_the_balancer_past_a_dead_instance() {
    use futures::StreamExt;
    let fleet = fleet(&[1.0]).await;
    let dead = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    fleet
        .registry
        .register(&registration(dead, 1.0))
        .await
        .unwrap();
    let live = fleet.servers[0].addr(Transport::JsonRpc).unwrap().port();
    // Not idempotent: only a refused connection (nothing sent) moves on.
    let client = ServiceClient::new(
        fleet.registry.clone(),
        config(Strategy::RoundRobin, RetryPolicy::new(2, false)),
    );
    let countdown = AduibRequest::new(
        "s",
        "rpc.v2/CaculService/CaculService.countdown",
        json!({"start": 2, "interval_ms": 1})
            .as_object()
            .cloned()
            .unwrap(),
    );
    for _ in 0..4 {
        let (stream, route) = client.stream(&countdown).await.unwrap();
        assert_eq!(route.instance, format!("127.0.0.1:{live}"));
        let items: Vec<_> = stream
            .map(|item| item.unwrap().result.unwrap()["n"].clone())
            .collect()
            .await;
        assert_eq!(items, [json!(2), json!(1), json!(0)]);
    }
    // With one attempt only, the dead instance's refusal is the answer.
    let once = ServiceClient::new(
        fleet.registry.clone(),
        config(Strategy::RoundRobin, RetryPolicy::new(1, false)),
    );
    let mut refused = 0;
    for _ in 0..2 {
        if let Err(failure) = once.stream(&countdown).await {
            assert!(
                matches!(failure.error, ClientError::Connect { .. }),
                "{failure}"
            );
            assert_eq!(failure.route.unwrap().instance, format!("127.0.0.1:{dead}"));
            refused += 1;
        }
    }
    assert_eq!(
        refused, 1,
        "round robin meets the dead instance once in two"
    );
}
