//! `aduib serve`: host a workspace until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::time::Duration;

use aduib_server::{Access, Token, Transport};
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
    for endpoint in running.endpoints() {
        // The contract: `<transport> <url>`, one line per transport.
        println!("{} {}", endpoint.transport, endpoint.url());
    }
    std::io::Write::flush(&mut std::io::stdout())?;
    shutdown_signal().await?;
    running.shutdown(Duration::from_secs(5)).await;
    Ok(Outcome::Success)
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
