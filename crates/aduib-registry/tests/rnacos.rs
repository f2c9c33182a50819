//! The Nacos registry against a real Nacos-compatible server: rnacos on
//! loopback, with a data folder of its own (scripts/setup-system.sh
//! installs it; `RNACOS_BIN` names another).

// Test helpers may panic: a panic is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aduib_registry::balance::{Balancer, Strategy};
use aduib_registry::testing::{Rnacos, free_port};
use aduib_registry::{
    NacosConfig, NacosRegistry, PageQuery, Registration, Registry, RegistryError, Scope,
};

fn registration(namespace: Option<&str>, port: u16, weight: f64, scheme: &str) -> Registration {
    let metadata = BTreeMap::from([
        ("service_name".to_owned(), "CaculService".to_owned()),
        ("protocol".to_owned(), "AduibRpc".to_owned()),
        ("scheme".to_owned(), scheme.to_owned()),
        ("version".to_owned(), "1.0.0".to_owned()),
    ]);
    Registration {
        scope: Scope {
            namespace: namespace.map(str::to_owned),
            group: None,
        },
        service: "CaculService".into(),
        ip: "127.0.0.1".into(),
        port,
        weight,
        // Persistent: no beats needed while the test runs.
        ephemeral: false,
        cluster: None,
        metadata,
    }
}

#[tokio::test]
async fn namespaces_services_and_instances_with_their_aduib_metadata() {
    let nacos = Rnacos::start();
    let registry = nacos.registry();
    for (port, weight, scheme) in [
        (18201, 1.0, "jsonrpc"),
        (18202, 2.0, "http"),
        (18203, 3.0, "grpc"),
    ] {
        registry
            .register(&registration(Some("dev"), port, weight, scheme))
            .await
            .unwrap();
    }
    let namespaces = registry.namespaces().await.unwrap();
    let names: Vec<&str> = namespaces.iter().map(|n| n.name.as_str()).collect();
    assert!(
        names.contains(&"public") && names.contains(&"dev"),
        "{names:?}"
    );

    let dev = Scope {
        namespace: Some("dev".into()),
        group: None,
    };
    let page = registry
        .services(&dev, &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(
        (page.total, page.services.clone()),
        (1, vec!["CaculService".to_owned()])
    );
    // The public namespace holds none of them.
    let public = registry
        .services(&Scope::default(), &PageQuery::default())
        .await
        .unwrap();
    assert_eq!(public.total, 0);

    let mut instances = registry.instances(&dev, "CaculService").await.unwrap();
    instances.sort_by_key(|i| i.port);
    let endpoints: Vec<(String, String, f64)> = instances
        .iter()
        .map(|i| {
            let e = i.aduib().unwrap();
            (e.transport, e.url, i.weight)
        })
        .collect();
    assert_eq!(
        endpoints,
        [
            (
                "jsonrpc".to_owned(),
                "http://127.0.0.1:18201".to_owned(),
                1.0
            ),
            ("rest".to_owned(), "http://127.0.0.1:18202".to_owned(), 2.0),
            ("grpc".to_owned(), "127.0.0.1:18203".to_owned(), 3.0),
        ]
    );
    assert!(instances.iter().all(|i| i.healthy && i.enabled));
    assert_eq!(instances[0].metadata["protocol"], "AduibRpc");

    // Balanced by weight over what the registry lists.
    let balancer = Balancer::new(Strategy::WeightedRoundRobin);
    let mut landed = BTreeMap::<u16, usize>::new();
    for _ in 0..600 {
        *landed
            .entry(balancer.pick(&instances, None).unwrap().instance.port)
            .or_default() += 1;
    }
    assert_eq!(landed.into_values().collect::<Vec<_>>(), [100, 200, 300]);

    registry
        .deregister(&registration(Some("dev"), 18202, 2.0, "http"))
        .await
        .unwrap();
    let left = registry.instances(&dev, "CaculService").await.unwrap();
    assert_eq!(left.len(), 2);
    // A service nobody registered has no instances.
    assert!(registry.instances(&dev, "Nope").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_registry_that_is_not_there_is_a_clear_error_in_time() {
    let port = free_port();
    let registry = NacosRegistry::new(NacosConfig {
        address: format!("127.0.0.1:{port}"),
        timeout: Some(Duration::from_secs(2)),
        ..NacosConfig::default()
    })
    .unwrap();
    let started = Instant::now();
    let error = registry.namespaces().await.unwrap_err();
    assert!(
        matches!(error, RegistryError::Unreachable { .. }),
        "{error}"
    );
    assert!(error.to_string().contains(&port.to_string()));
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// A server on loopback that answers every request with `reply`.
async fn answering(reply: &'static str) -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = socket.read(&mut request).await;
            let _ = socket.write_all(reply.as_bytes()).await;
        }
    });
    port
}

fn registry_at(port: u16) -> NacosRegistry {
    NacosRegistry::new(NacosConfig {
        address: format!("127.0.0.1:{port}"),
        timeout: Some(Duration::from_secs(5)),
        ..NacosConfig::default()
    })
    .unwrap()
}

#[tokio::test]
async fn a_server_that_is_not_nacos_is_a_bad_reply_and_a_huge_answer_is_refused() {
    let html = answering(
        "HTTP/1.1 200 OK\r\nContent-Length: 15\r\nConnection: close\r\n\r\n<html>hi</html>",
    )
    .await;
    let error = registry_at(html).namespaces().await.unwrap_err();
    assert!(matches!(error, RegistryError::BadReply { .. }), "{error}");
    assert!(error.to_string().contains("<html>"), "{error}");

    let huge =
        answering("HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n{")
            .await;
    let error = registry_at(huge).namespaces().await.unwrap_err();
    assert!(matches!(error, RegistryError::TooLarge { .. }), "{error}");

    let denied = answering(
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 13\r\nConnection: close\r\n\r\nunknown user!",
    )
    .await;
    let error = registry_at(denied).namespaces().await.unwrap_err();
    assert!(matches!(error, RegistryError::Auth { .. }), "{error}");
}

#[tokio::test]
async fn page_and_size_are_clamped_to_what_nacos_accepts() {
    let nacos = Rnacos::start();
    let page = nacos
        .registry()
        .services(
            &Scope::default(),
            &PageQuery {
                page: 0,
                page_size: 0,
                name_contains: None,
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

#[tokio::test]
async fn beats_keep_an_ephemeral_instance_and_say_when_it_is_unknown() {
    let nacos = Rnacos::start();
    let registry = nacos.registry();
    let mut ephemeral = registration(None, 18301, 1.0, "jsonrpc");
    ephemeral.ephemeral = true;
    registry.register(&ephemeral).await.unwrap();
    assert!(
        registry.beat(&ephemeral).await.unwrap(),
        "known: beat accepted"
    );
    let mut stranger = ephemeral.clone();
    stranger.port = 18302;
    stranger.service = "Nobody".into();
    // Nacos answers 20404 (false: register again); rnacos re-creates the
    // instance from the beat, which must then carry its metadata.
    if registry.beat(&stranger).await.unwrap() {
        let back = registry
            .instances(&Scope::default(), "Nobody")
            .await
            .unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].metadata["protocol"], "AduibRpc", "{back:?}");
    }
}

#[tokio::test]
async fn a_registry_behind_a_login_takes_the_right_password_and_names_a_wrong_one() {
    // Made up for this test, for a server that lives as long as it does.
    let (user, password) = ("workbench-test", "rnacos-test-password");
    let server = Rnacos::start_with_login(user, password);
    let login = |username: Option<&str>, password: Option<&str>| {
        NacosRegistry::new(NacosConfig {
            address: server.address(),
            username: username.map(str::to_owned),
            password: password.map(str::to_owned),
            timeout: Some(Duration::from_secs(5)),
        })
        .unwrap()
    };

    let signed_in = login(Some(user), Some(password));
    let namespaces = signed_in.namespaces().await.unwrap();
    assert!(namespaces.iter().any(|n| n.id.is_empty()), "{namespaces:?}");
    let scope = Scope::default();
    signed_in
        .register(&registration(None, 17999, 1.0, "http"))
        .await
        .unwrap();
    assert_eq!(
        signed_in
            .instances(&scope, "CaculService")
            .await
            .unwrap()
            .len(),
        1
    );

    for (username, password) in [(Some(user), Some("not-the-password")), (None, None)] {
        let error = login(username, password).namespaces().await.unwrap_err();
        assert!(matches!(error, RegistryError::Auth { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains("refused the login"), "{message}");
        assert!(!message.contains("not-the-password"), "{message}");
    }
}

#[tokio::test]
async fn a_watch_sees_instances_come_and_go_as_nacos_pushes_them() {
    use futures::StreamExt;
    let server = Rnacos::start();
    let registry = std::sync::Arc::new(server.registry());
    let mut first = registration(None, 18301, 1.0, "jsonrpc");
    first.ephemeral = true;
    registry.register(&first).await.unwrap();
    let mut watch = registry
        .clone()
        .watch(Scope::default(), "CaculService".into());
    let ports = |update: Option<Result<Vec<aduib_registry::Instance>, RegistryError>>| -> Vec<u16> {
        update.unwrap().unwrap().iter().map(|i| i.port).collect()
    };
    assert_eq!(ports(watch.next().await), [18301]);

    // Pushed: sooner than the poll that replaces pushes when they cannot be
    // had would first ask (and the 30 s backstop is further still).
    let pushed_within = aduib_registry::watch::POLL_INTERVAL - Duration::from_millis(100);
    let mut second = registration(None, 18302, 2.0, "grpc");
    second.ephemeral = true;
    let started = Instant::now();
    registry.register(&second).await.unwrap();
    let next = tokio::time::timeout(pushed_within, watch.next())
        .await
        .expect("pushed");
    assert_eq!(ports(next), [18301, 18302]);
    eprintln!("the change seen after {:?}", started.elapsed());
    registry.deregister(&first).await.unwrap();
    let next = tokio::time::timeout(Duration::from_secs(10), watch.next())
        .await
        .expect("pushed");
    assert_eq!(ports(next), [18302]);
}

#[tokio::test]
async fn a_watch_polls_when_nacos_cannot_push_and_never_hangs() {
    use futures::StreamExt;
    let server = Rnacos::start_with_grpc_elsewhere();
    let registry = std::sync::Arc::new(server.registry());
    let mut first = registration(None, 18311, 1.0, "jsonrpc");
    first.ephemeral = true;
    registry.register(&first).await.unwrap();
    let mut watch = registry
        .clone()
        .watch(Scope::default(), "CaculService".into());
    let update = tokio::time::timeout(Duration::from_secs(5), watch.next())
        .await
        .expect("the first list at once, whatever gRPC does");
    assert_eq!(update.unwrap().unwrap().len(), 1);

    registry
        .register(&registration(None, 18312, 1.0, "jsonrpc"))
        .await
        .unwrap();
    // The gRPC attempt gives up after 5 s; then a poll every 2 s.
    let update = tokio::time::timeout(Duration::from_secs(15), watch.next())
        .await
        .expect("seen by polling");
    assert_eq!(update.unwrap().unwrap().len(), 2);
}

#[tokio::test]
async fn groups_are_listed_from_the_services_they_hold() {
    let server = Rnacos::start();
    let registry = server.registry();
    for (group, port) in [
        (None, 18501),
        (Some("payments"), 18502),
        (Some("search"), 18503),
    ] {
        let mut registration = registration(Some("dev"), port, 1.0, "jsonrpc");
        registration.scope.group = group.map(str::to_owned);
        registry.register(&registration).await.unwrap();
    }
    let dev = Scope {
        namespace: Some("dev".into()),
        group: None,
    };
    assert_eq!(
        registry.groups(&dev).await.unwrap(),
        ["DEFAULT_GROUP", "payments", "search"]
    );
    // Another namespace holds none of them.
    assert_eq!(
        registry.groups(&Scope::default()).await.unwrap(),
        ["DEFAULT_GROUP"]
    );
}
