//! `aduib serve`: host a workspace until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use aduib_registry::registrar::{Registrar, aduib_metadata};
use aduib_registry::{Registration, Scope};
use aduib_server::{Access, Token, Transport};
use aduib_workbench::discovery::RegistryTarget;
use aduib_workbench::host;
use anyhow::Context;

use crate::Outcome;
use crate::cli::ServeArgs;

pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let workspace = host::load_workspace(args.workspace.as_deref())?;
    let mut binds: Vec<(Transport, SocketAddr)> = [
        (Transport::JsonRpc, args.jsonrpc),
        (Transport::Rest, args.rest),
        (Transport::Grpc, args.grpc),
        (Transport::Thrift, args.thrift),
    ]
    .into_iter()
    .filter_map(|(t, addr)| addr.map(|a| (t, a)))
    .collect();
    if binds.is_empty() {
        binds = host::default_binds();
    }
    let server = host::server(
        &workspace,
        args.limits.limits(),
        access(&args.access)?,
        None,
    );
    let running = server.start(&binds).await?;
    tracing::info!(workspace = %workspace.name, functions = ?server.dispatcher().registry().keys(), "serving");
    // Registered before the URLs are printed: a client that waits for them
    // finds the server in the registry too.
    let registrar = match &args.register.register {
        Some(address) => {
            let services = hosted_services(&server.dispatcher().registry().keys());
            let (registry, scope) = RegistryTarget {
                address: address.clone(),
                ..RegistryTarget::default()
            }
            .open()?;
            let registrations =
                registrations(&args.register, &scope, &services, running.endpoints())?;
            let registrar = Registrar::start(std::sync::Arc::new(registry), registrations)
                .await
                .context("--register")?;
            tracing::info!(instances = registrar.registrations().len(), "registered");
            Some(registrar)
        }
        None => None,
    };
    for endpoint in running.endpoints() {
        // The contract: `<transport> <url>`, one line per transport.
        println!("{} {}", endpoint.transport, endpoint.url());
    }
    std::io::Write::flush(&mut std::io::stdout())?;
    shutdown_signal().await?;
    // Out of the registry first, so no new call is sent here while closing.
    if let Some(registrar) = registrar {
        registrar.stop(Duration::from_secs(3)).await;
    }
    running.shutdown(Duration::from_secs(5)).await;
    Ok(Outcome::Success)
}

/// The services a server hosts: `CaculService` of `CaculService.add`.
fn hosted_services(functions: &[&str]) -> Vec<String> {
    let mut services: Vec<String> = functions
        .iter()
        .filter_map(|f| f.split_once('.').map(|(service, _)| service.to_owned()))
        .collect();
    services.dedup();
    services
}

/// One ephemeral instance per hosted service and transport.
fn registrations(
    args: &crate::cli::RegisterArgs,
    scope: &Scope,
    services: &[String],
    endpoints: &[aduib_server::Endpoint],
) -> anyhow::Result<Vec<Registration>> {
    let now = aduib_core::envelope::now_ms();
    let mut out = Vec::new();
    for endpoint in endpoints {
        let ip = match args.register_ip {
            Some(ip) => ip,
            None if endpoint.addr.ip().is_unspecified() => anyhow::bail!(
                "--register: the server listens on {}; give --register-ip, the address clients should use",
                endpoint.addr
            ),
            None => endpoint.addr.ip(),
        };
        let scheme = match endpoint.transport {
            Transport::JsonRpc => "jsonrpc",
            Transport::Rest => "http",
            Transport::Grpc => "grpc",
            Transport::Thrift => "thrift",
        };
        let host = ip.to_string();
        for service in services {
            out.push(Registration {
                scope: scope.clone(),
                service: service.clone(),
                ip: host.clone(),
                port: endpoint.addr.port(),
                weight: args.register_weight,
                ephemeral: true,
                cluster: None,
                metadata: aduib_metadata(
                    service,
                    scheme,
                    &host,
                    endpoint.addr.port(),
                    args.register_weight,
                    env!("CARGO_PKG_VERSION"),
                    now,
                ),
            });
        }
    }
    Ok(out)
}

/// The access rules from the flags; the token is read from the environment
/// so that it never appears in a command line or a process listing.
fn access(args: &crate::cli::AccessArgs) -> anyhow::Result<Access> {
    let token = match &args.auth_token_env {
        None => None,
        Some(name) => {
            let secret = std::env::var(name)
                .ok()
                .filter(|value| !value.is_empty())
                .with_context(|| {
                    format!("--auth-token-env: environment variable {name} is not set")
                })?;
            Some(Token::new(secret))
        }
    };
    Ok(Access {
        allowed_hosts: args.allow_host.clone(),
        allowed_origins: args.allow_origin.clone(),
        token,
    })
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot watch SIGTERM")?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result.context("cannot watch SIGINT")?,
        _ = term.recv() => {}
    }
    Ok(())
}
