//! What the integration tests share: the demo server on loopback.

// Each test binary compiles this module and uses a part of it.
#![allow(dead_code, clippy::unwrap_used)]

use std::net::SocketAddr;

use aduib_server::demo::{register_batch_service, register_cacul_service};
use aduib_server::{HandlerRegistry, RunningServer, Server, ServerConfig, Transport};

/// The demo workspace's services (and the rich demos) on free loopback
/// ports, one per transport.
pub async fn demo_server(transports: &[Transport], config: ServerConfig) -> RunningServer {
    let mut registry = HandlerRegistry::new();
    register_cacul_service(&mut registry);
    register_batch_service(&mut registry);
    let config = ServerConfig {
        rich_demo: true,
        ..config
    };
    let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let binds: Vec<(Transport, SocketAddr)> = transports.iter().map(|&t| (t, any)).collect();
    Server::new(registry, config).start(&binds).await.unwrap()
}

/// The demo server on one transport, and its `host:port`.
pub async fn demo_target(transport: Transport) -> (RunningServer, String) {
    let running = demo_server(&[transport], ServerConfig::default()).await;
    let target = running.addr(transport).unwrap().to_string();
    (running, target)
}
