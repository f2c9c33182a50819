//! Host: the embedded server for a workspace, started and stopped on demand,
//! with a live log of the calls it serves. `aduib serve` and the app's Server
//! view both go through here.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aduib_core::Limits;
use aduib_server::workspace::{self, Workspace};
use aduib_server::{Access, CallLog, CallSeen, RunningServer, Server, ServerConfig, Transport};
use serde::Serialize;
use tokio::sync::{Mutex, broadcast, watch};
use ts_rs::TS;

use crate::error::{ErrorKind, WorkbenchError};

/// Where each transport listens unless told otherwise.
pub const DEFAULT_BINDS: [(Transport, &str); 4] = [
    (Transport::JsonRpc, "127.0.0.1:17101"),
    (Transport::Rest, "127.0.0.1:17102"),
    (Transport::Grpc, "127.0.0.1:17103"),
    (Transport::Thrift, "127.0.0.1:17104"),
];

/// The demo workspace, built in so a server starts from any folder.
const BUILTIN_DEMO: &str = include_str!("../../../workspaces/demo/workspace.toml");

/// How much of the call log a late listener can catch up on.
const LOG_BACKLOG: usize = 1024;

/// The default binds, parsed.
pub fn default_binds() -> Vec<(Transport, SocketAddr)> {
    DEFAULT_BINDS
        .iter()
        .filter_map(|(t, addr)| addr.parse().ok().map(|a| (*t, a)))
        .collect()
}

/// The four transports on consecutive loopback ports from `base`, in the
/// order of [`DEFAULT_BINDS`].
pub fn binds_from(base: u16) -> Vec<(Transport, SocketAddr)> {
    DEFAULT_BINDS
        .iter()
        .zip(0u16..)
        .map(|((t, _), i)| {
            (
                *t,
                SocketAddr::from(([127, 0, 0, 1], base.saturating_add(i))),
            )
        })
        .collect()
}

/// The workspace in `dir`; without one, `./workspaces/demo` if present, else
/// the built-in demo.
pub fn load_workspace(dir: Option<&Path>) -> Result<Workspace, WorkbenchError> {
    let load =
        |dir: &Path| workspace::load(dir).map_err(|e| WorkbenchError::bad_input(e.to_string()));
    match dir {
        Some(dir) => load(dir),
        None if Path::new("workspaces/demo")
            .join(workspace::WORKSPACE_FILE)
            .is_file() =>
        {
            load(Path::new("workspaces/demo"))
        }
        None => toml::from_str(BUILTIN_DEMO)
            .map_err(|e| WorkbenchError::internal(format!("the built-in demo workspace: {e}"))),
    }
}

/// A server for `workspace` with these limits and access rules.
pub fn server(
    workspace: &Workspace,
    limits: Limits,
    access: Access,
    call_log: Option<CallLog>,
) -> Server {
    Server::new(
        workspace::registry(workspace),
        ServerConfig {
            limits,
            access,
            rich_demo: workspace::hosts_rich_demo(workspace),
            call_log,
            ..ServerConfig::default()
        },
    )
}

/// What the Server view shows.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct HostStatus {
    pub running: bool,
    pub workspace: String,
    pub endpoints: Vec<HostEndpoint>,
    /// The functions served (`CaculService.add`, ...).
    pub functions: Vec<String>,
    /// Why the server is not running, when its last start failed.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct HostEndpoint {
    pub transport: String,
    pub url: String,
}

/// One call in the live log.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
pub struct HostCall {
    pub at_ms: i64,
    pub method: String,
    pub stream: bool,
    pub ok: bool,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    pub duration_ms: f64,
}

impl From<CallSeen> for HostCall {
    fn from(seen: CallSeen) -> Self {
        HostCall {
            at_ms: seen.at_ms,
            method: seen.method,
            stream: seen.stream,
            ok: seen.ok,
            code: seen.code,
            duration_ms: seen.duration_ms,
        }
    }
}

/// A running server, the functions it serves and its workspace's name.
type Served = (RunningServer, Vec<String>, String);

/// The embedded server of one workspace, which may be running or not.
#[derive(Debug)]
pub struct Host {
    workspace_dir: std::sync::Mutex<Option<PathBuf>>,
    binds: Vec<(Transport, SocketAddr)>,
    log: CallLog,
    running: Mutex<Option<Served>>,
    /// The status after the latest start or stop, for whoever watches it
    /// (the window follows it rather than asking over and over).
    published: watch::Sender<HostStatus>,
}

impl Host {
    pub fn new(workspace_dir: Option<PathBuf>, binds: Vec<(Transport, SocketAddr)>) -> Self {
        Host {
            workspace_dir: std::sync::Mutex::new(workspace_dir),
            binds,
            log: broadcast::channel(LOG_BACKLOG).0,
            running: Mutex::new(None),
            published: watch::Sender::new(status(None)),
        }
    }

    /// Starts the server (a no-op when it runs). A failed start is
    /// published too, with why, so the window can say it even when the
    /// start was the app's own at launch.
    pub async fn start(&self) -> Result<HostStatus, WorkbenchError> {
        let mut running = self.running.lock().await;
        if running.is_none() {
            match self.serve().await {
                Ok(served) => {
                    *running = Some(served);
                    self.published.send_replace(status(running.as_ref()));
                }
                Err(error) => {
                    self.published.send_replace(HostStatus {
                        problem: Some(error.chain()),
                        ..status(None)
                    });
                    return Err(error);
                }
            }
        }
        Ok(status(running.as_ref()))
    }

    /// Loads the workspace and binds its server.
    async fn serve(&self) -> Result<Served, WorkbenchError> {
        let dir = self
            .workspace_dir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let workspace = load_workspace(dir.as_deref())?;
        let server = server(
            &workspace,
            Limits::default(),
            Access::default(),
            Some(self.log.clone()),
        );
        let mut functions: Vec<String> = server
            .dispatcher()
            .registry()
            .keys()
            .into_iter()
            .map(str::to_owned)
            .collect();
        functions.sort();
        let started = server.start(&self.binds).await.map_err(|e| {
            WorkbenchError::new(ErrorKind::Connect, e.to_string()).with_cause(
                "another server may be using the port; stop it or change the workspace's ports",
            )
        })?;
        Ok((started, functions, workspace.name.clone()))
    }

    /// Serves the workspace in `dir` from now on: restarts the server on it
    /// if it was running.
    pub async fn switch(&self, dir: PathBuf) -> Result<HostStatus, WorkbenchError> {
        // Refuse a folder that is not a workspace before stopping anything.
        load_workspace(Some(&dir))?;
        let was_running = self.running.lock().await.is_some();
        self.stop().await;
        *self
            .workspace_dir
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(dir);
        if was_running {
            self.start().await
        } else {
            // A failed start of the last workspace says nothing about this one.
            let _running = self.running.lock().await;
            self.published
                .send_if_modified(|published| published.problem.take().is_some());
            Ok(self.published.borrow().clone())
        }
    }

    /// Stops the server, letting open streams finish for a moment.
    pub async fn stop(&self) -> HostStatus {
        let mut running = self.running.lock().await;
        if let Some((server, _, _)) = running.take() {
            server.shutdown(Duration::from_secs(2)).await;
            self.published.send_replace(status(None));
        }
        status(None)
    }

    /// The status after the latest start or stop (with why a failed start
    /// failed).
    pub async fn status(&self) -> HostStatus {
        // Under the lock, so that a start or stop under way is waited for.
        let _running = self.running.lock().await;
        self.published.borrow().clone()
    }

    /// The status now, then each change of it: started, stopped, or
    /// restarted on another workspace.
    pub fn watch_status(&self) -> watch::Receiver<HostStatus> {
        self.published.subscribe()
    }

    /// The calls the server sees from now on.
    pub fn calls(&self) -> broadcast::Receiver<CallSeen> {
        self.log.subscribe()
    }
}

fn status(running: Option<&Served>) -> HostStatus {
    match running {
        Some((server, functions, workspace)) => HostStatus {
            running: true,
            workspace: workspace.clone(),
            endpoints: server
                .endpoints()
                .iter()
                .map(|e| HostEndpoint {
                    transport: e.transport.to_string(),
                    url: e.url(),
                })
                .collect(),
            functions: functions.clone(),
            problem: None,
        },
        None => HostStatus {
            running: false,
            workspace: String::new(),
            endpoints: Vec::new(),
            functions: Vec::new(),
            problem: None,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_host_starts_logs_calls_and_stops() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let host = Host::new(None, vec![(Transport::JsonRpc, any)]);
        assert!(!host.status().await.running);
        let status = host.start().await.unwrap();
        assert!(status.running);
        assert!(status.functions.iter().any(|f| f == "CaculService.add"));
        let mut calls = host.calls();
        let url = status.endpoints[0].url.clone();
        let workbench = crate::Workbench::new(None).unwrap();
        let mut exchange = workbench.send(crate::Request::Aduib(crate::request::AduibCall {
            discovery: None,
            tls: None,
            transport: crate::request::AduibTransport::Jsonrpc,
            url,
            method: "CaculService.add".into(),
            mode: crate::request::CallMode::Unary,
            data: serde_json::json!({"x": 1, "y": 2}),
            messages: vec![],
            interactive: false,
            id: None,
            options: crate::request::CallOptions::default(),
        }));
        while exchange.events.recv().await.is_some() {}
        let seen = calls.recv().await.unwrap();
        assert_eq!(seen.method, "rpc.v2/CaculService/CaculService.add");
        assert!(seen.ok);
        assert!(!host.stop().await.running);
        assert!(!host.status().await.running);
    }

    /// Waits for the next change; one that never comes fails the test
    /// rather than hanging it.
    async fn changed(watcher: &mut watch::Receiver<HostStatus>) {
        tokio::time::timeout(Duration::from_secs(5), watcher.changed())
            .await
            .expect("a change")
            .expect("the host is alive");
    }

    #[tokio::test]
    async fn a_failed_start_is_published_with_why_until_a_start_succeeds() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let busy = taken.local_addr().unwrap();
        let host = Host::new(None, vec![(Transport::JsonRpc, busy)]);
        let mut watcher = host.watch_status();
        watcher.borrow_and_update();

        let error = host.start().await.unwrap_err();
        assert_eq!(error.kind, ErrorKind::Connect);
        changed(&mut watcher).await;
        let published = watcher.borrow_and_update().clone();
        assert!(!published.running);
        let problem = published.problem.expect("why it did not start");
        assert!(
            problem.contains("another server may be using the port"),
            "{problem}"
        );
        assert_eq!(
            host.status().await.problem.as_deref(),
            Some(problem.as_str())
        );

        // Another workspace has not failed yet.
        let other = tempfile::tempdir().unwrap();
        std::fs::write(other.path().join("workspace.toml"), "name = \"other\"\n").unwrap();
        assert_eq!(
            host.switch(other.path().into()).await.unwrap().problem,
            None
        );
        changed(&mut watcher).await;
        assert_eq!(watcher.borrow_and_update().problem, None);

        drop(taken);
        assert!(host.start().await.unwrap().running);
        changed(&mut watcher).await;
        assert_eq!(watcher.borrow().problem, None);
    }

    #[tokio::test]
    async fn a_watcher_sees_each_start_and_stop_and_nothing_in_between() {
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let host = Host::new(None, vec![(Transport::JsonRpc, any)]);
        let mut watcher = host.watch_status();
        assert!(!watcher.borrow_and_update().running);

        let started = host.start().await.unwrap();
        changed(&mut watcher).await;
        assert_eq!(*watcher.borrow_and_update(), started);
        assert_eq!(watcher.borrow().endpoints.len(), 1);

        // Neither a start of a running server nor a status read is a change.
        host.start().await.unwrap();
        host.status().await;
        assert!(!watcher.has_changed().unwrap());

        host.stop().await;
        changed(&mut watcher).await;
        assert!(!watcher.borrow_and_update().running);
        // Nor is a stop of a stopped one.
        host.stop().await;
        assert!(!watcher.has_changed().unwrap());
    }
}
