//! `aduib serve`: host a workspace until SIGINT or SIGTERM.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use aduib_server::workspace::{self, Workspace};
use aduib_server::{Access, Server, ServerConfig, Token, Transport};
use anyhow::Context;

use crate::Outcome;
use crate::cli::ServeArgs;

/// Where each transport listens when no transport flag is given.
pub const DEFAULT_JSONRPC: &str = "127.0.0.1:17101";
pub const DEFAULT_REST: &str = "127.0.0.1:17102";
pub const DEFAULT_GRPC: &str = "127.0.0.1:17103";
pub const DEFAULT_THRIFT: &str = "127.0.0.1:17104";

/// The demo workspace, built in so `aduib serve` works from any folder.
const BUILTIN_DEMO: &str = include_str!("../../../workspaces/demo/workspace.toml");

pub async fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    let workspace = load_workspace(args.workspace.as_deref())?;
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
        binds = vec![
            (Transport::JsonRpc, DEFAULT_JSONRPC.parse()?),
            (Transport::Rest, DEFAULT_REST.parse()?),
            (Transport::Grpc, DEFAULT_GRPC.parse()?),
            (Transport::Thrift, DEFAULT_THRIFT.parse()?),
        ];
    }
    let server = Server::new(
        workspace::registry(&workspace),
        ServerConfig {
            limits: args.limits.limits(),
            access: access(&args.access)?,
            rich_demo: workspace::hosts_rich_demo(&workspace),
            ..ServerConfig::default()
        },
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

fn load_workspace(dir: Option<&Path>) -> anyhow::Result<Workspace> {
    match dir {
        Some(dir) => Ok(workspace::load(dir)?),
        None if Path::new("workspaces/demo")
            .join(workspace::WORKSPACE_FILE)
            .is_file() =>
        {
            Ok(workspace::load(Path::new("workspaces/demo"))?)
        }
        None => toml::from_str(BUILTIN_DEMO).context("the built-in demo workspace"),
    }
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
