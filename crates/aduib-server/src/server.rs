//! Binding the frontends to sockets, and stopping them gracefully.

use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use aduib_core::Limits;
use axum::Router;
use thiserror::Error;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::access::Access;
use crate::dispatch::Dispatcher;
use crate::frontend::{self, FrontendState};
use crate::registry::HandlerRegistry;

/// The peer's (sse-starlette's) keep-alive interval.
pub const DEFAULT_KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A transport the server can host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    JsonRpc,
    Rest,
    Grpc,
    Thrift,
}

impl Transport {
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::JsonRpc => "jsonrpc",
            Transport::Rest => "rest",
            Transport::Grpc => "grpc",
            Transport::Thrift => "thrift",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// What one client may make the server spend.
    pub limits: Limits,
    /// Silence after which an open stream gets a `: ping` comment.
    pub keep_alive: Duration,
    /// Host the rich gRPC demo service (`aduib.demo.v1.RichService`).
    pub rich_demo: bool,
    /// Who may call: Host and Origin rules, and the server token.
    pub access: Access,
    /// Where every call is reported, if anywhere.
    pub call_log: Option<crate::dispatch::CallLog>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            limits: Limits::default(),
            keep_alive: DEFAULT_KEEP_ALIVE,
            rich_demo: false,
            access: Access::default(),
            call_log: None,
        }
    }
}

#[derive(Debug, Error)]
pub enum ServerError {
    #[error("cannot bind {transport} to {addr}: {error}")]
    Bind {
        transport: Transport,
        addr: SocketAddr,
        error: io::Error,
    },
    #[error("cannot build gRPC reflection from the embedded descriptors")]
    Reflection(#[from] tonic_reflection::server::Error),
}

/// One bound transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoint {
    pub transport: Transport,
    pub addr: SocketAddr,
}

impl Endpoint {
    /// The URL clients use (`aduib call --url`): a base URL for the HTTP
    /// transports, `host:port` for gRPC.
    pub fn url(&self) -> String {
        match self.transport {
            Transport::Grpc | Transport::Thrift => self.addr.to_string(),
            Transport::JsonRpc | Transport::Rest => format!("http://{}", self.addr),
        }
    }
}

/// The embedded server: one handler registry behind every frontend.
#[derive(Debug, Clone)]
pub struct Server {
    state: FrontendState,
    rich_demo: bool,
}

impl Server {
    pub fn new(registry: HandlerRegistry, config: ServerConfig) -> Self {
        Server {
            state: FrontendState {
                dispatcher: Dispatcher::new(registry).with_log(config.call_log),
                limits: config.limits,
                access: std::sync::Arc::new(config.access),
                keep_alive: config.keep_alive,
            },
            rich_demo: config.rich_demo,
        }
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.state.dispatcher
    }

    /// What serves one transport. gRPC is served over HTTP/2 without TLS, by
    /// prior knowledge.
    async fn frontend(&self, transport: Transport) -> Result<Frontend, ServerError> {
        Ok(match transport {
            Transport::JsonRpc => Frontend::Http(frontend::jsonrpc::router(self.state.clone())),
            Transport::Rest => Frontend::Http(frontend::rest::router(self.state.clone())),
            Transport::Grpc => Frontend::Http2(
                frontend::grpc::service(
                    self.state.dispatcher.clone(),
                    self.rich_demo,
                    self.state.limits,
                    self.state.access.clone(),
                )
                .await?,
            ),
            Transport::Thrift => Frontend::Thrift,
        })
    }

    /// Binds every `(transport, addr)` pair and starts serving. Binding is all or
    /// nothing: if one address is taken, none is served.
    pub async fn start(
        &self,
        binds: &[(Transport, SocketAddr)],
    ) -> Result<RunningServer, ServerError> {
        let mut listeners = Vec::with_capacity(binds.len());
        let mut routers = Vec::with_capacity(binds.len());
        for &(transport, addr) in binds {
            routers.push(self.frontend(transport).await?);
            let listener = TcpListener::bind(addr)
                .await
                .and_then(|l| l.local_addr().map(|bound| (l, bound)))
                .map_err(|error| ServerError::Bind {
                    transport,
                    addr,
                    error,
                })?;
            listeners.push((transport, listener));
        }
        let (stop, stopped) = watch::channel(false);
        let mut tasks = JoinSet::new();
        let mut endpoints = Vec::with_capacity(listeners.len());
        for ((transport, (listener, addr)), frontend) in listeners.into_iter().zip(routers) {
            endpoints.push(Endpoint { transport, addr });
            let stopped = stopped.clone();
            let limits = self.state.limits;
            match frontend {
                Frontend::Http(router) => {
                    tasks.spawn(crate::http1::serve(listener, router, limits, stopped));
                }
                Frontend::Http2(router) => {
                    tasks.spawn(crate::http2::serve(listener, router, limits, stopped));
                }
                Frontend::Thrift => {
                    let dispatcher = self.state.dispatcher.clone();
                    tasks.spawn(frontend::thrift::serve(
                        listener,
                        dispatcher,
                        self.rich_demo,
                        limits,
                        self.state.access.clone(),
                        stopped,
                    ));
                }
            }
        }
        Ok(RunningServer {
            endpoints,
            stop,
            tasks,
        })
    }
}

enum Frontend {
    /// HTTP/1.1 and HTTP/2, through axum.
    Http(Router),
    /// HTTP/2 only (gRPC), a task per connection: see [`crate::http2`].
    Http2(frontend::grpc::GrpcService),
    Thrift,
}

/// A started server. Dropping it stops the listeners too.
#[derive(Debug)]
pub struct RunningServer {
    endpoints: Vec<Endpoint>,
    stop: watch::Sender<bool>,
    tasks: JoinSet<()>,
}

impl RunningServer {
    pub fn endpoints(&self) -> &[Endpoint] {
        &self.endpoints
    }

    /// The address a transport is bound to.
    pub fn addr(&self, transport: Transport) -> Option<SocketAddr> {
        self.endpoints
            .iter()
            .find(|e| e.transport == transport)
            .map(|e| e.addr)
    }

    /// Stops accepting, lets in-flight requests finish (open streams are given
    /// `grace` to end), then returns.
    pub async fn shutdown(mut self, grace: Duration) {
        let _ = self.stop.send(true);
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(grace, drain).await.is_err() {
            tracing::warn!("streams still open after {grace:?}; closing them");
            self.tasks.abort_all();
        }
    }
}

/// Resolves once a stop is requested, or once the server's handle is gone.
pub(crate) async fn stop_requested(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}

/// The accept loop every frontend shares: each connection gets
/// `TCP_NODELAY`, [`keep_alive`] and a task of its own running `serve`; once a stop is
/// requested, no more are accepted and the open ones are waited for (each
/// `serve` watches `stopped` itself to wind down). At most
/// [`max_connections`] are open at once: past that a new connection is
/// closed at once, so one listener's flood cannot use up the file
/// descriptors the others need.
pub(crate) async fn accept_until_stopped<F, Fut>(
    listener: TcpListener,
    limits: &Limits,
    stopped: watch::Receiver<bool>,
    serve: F,
) where
    F: Fn(TcpStream, SocketAddr, watch::Receiver<bool>) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let cap = max_connections(limits);
    let mut connections = JoinSet::new();
    let mut stop = stopped.clone();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop_requested(&mut stop) => break,
        };
        // Reap finished connections, so that they no longer count.
        while let Some(ended) = connections.try_join_next() {
            if let Err(error) = ended
                && error.is_panic()
            {
                tracing::error!(%error, "a connection task panicked");
            }
        }
        match accepted {
            Ok((tcp, peer)) if connections.len() >= cap => {
                tracing::warn!(%peer, cap, "connection refused: too many open connections");
                drop(tcp);
            }
            Ok((tcp, peer)) => {
                // Small RPC messages must not wait for Nagle's algorithm.
                if let Err(error) = tcp.set_nodelay(true) {
                    tracing::debug!(%error, "cannot set TCP_NODELAY");
                }
                if let Err(error) = keep_alive(&tcp, limits) {
                    tracing::debug!(%error, "cannot set TCP keep-alive");
                }
                connections.spawn(serve(tcp, peer, stopped.clone()));
            }
            Err(error) if is_per_connection(&error) => {
                tracing::debug!(%error, "accept failed for one connection");
            }
            Err(error) => {
                // Out of file descriptors and the like: wait for some to
                // be released instead of spinning.
                tracing::error!(%error, "accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    drop(listener);
    while connections.join_next().await.is_some() {}
}

/// Probes a peer that has sent nothing for a while, on every transport, and
/// drops it once it has answered no probe for `keepalive_timeout`, or left
/// data unacknowledged for `keepalive_interval` plus that (a peer that is
/// gone while we write: without `TCP_USER_TIMEOUT` the kernel retries for
/// ~15 minutes; Linux only). The kernel counts in whole seconds, up to
/// [`MAX_KEEPALIVE`]: a longer time would be refused and leave the kernel's
/// two hours.
fn keep_alive(tcp: &TcpStream, limits: &Limits) -> io::Result<()> {
    const PROBES: u32 = 4;
    let clamp = |d: Duration| d.clamp(Duration::from_secs(1), MAX_KEEPALIVE);
    let socket = socket2::SockRef::from(tcp);
    let probes = socket.set_tcp_keepalive(
        &socket2::TcpKeepalive::new()
            .with_time(clamp(limits.keepalive_interval))
            .with_interval(clamp(limits.keepalive_timeout / PROBES))
            .with_retries(PROBES),
    );
    // Set even if the probes were refused: the two fail independently.
    #[cfg(any(target_os = "linux", target_os = "android"))]
    socket.set_tcp_user_timeout(Some(
        clamp(limits.keepalive_interval) + clamp(limits.keepalive_timeout),
    ))?;
    probes
}

/// The longest keep-alive time and probe interval the kernel accepts
/// (Linux's `MAX_TCP_KEEPIDLE` and `MAX_TCP_KEEPINTVL`, 32,767 s).
pub const MAX_KEEPALIVE: Duration = Duration::from_secs(32_767);

/// Connections one listener may hold: as configured, else a quarter of the
/// file descriptors the process may open (four listeners share them), less
/// a reserve for everything else.
pub fn max_connections(limits: &Limits) -> usize {
    const RESERVE: u64 = 64;
    const CEILING: usize = 10_000;
    limits.max_connections.unwrap_or_else(|| {
        let (soft, _) = rlimit::Resource::NOFILE.get().unwrap_or((1024, 1024));
        let share = soft.saturating_sub(RESERVE) / 4;
        usize::try_from(share).unwrap_or(CEILING).clamp(8, CEILING)
    })
}

fn is_per_connection(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every listener accepts through `accept_until_stopped`: its sockets
    /// carry the keep-alive the limits ask for.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn accepted_connections_have_tcp_keep_alive_and_a_user_timeout() {
        let limits = Limits {
            keepalive_interval: Duration::from_secs(7),
            keepalive_timeout: Duration::from_secs(8),
            ..Limits::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let (seen, mut settings) = tokio::sync::mpsc::unbounded_channel();
        let accepting = tokio::spawn(async move {
            accept_until_stopped(listener, &limits, stopped, move |tcp, _, _| {
                let socket = socket2::SockRef::from(&tcp);
                let _ = seen.send((
                    socket.keepalive().unwrap(),
                    socket.tcp_keepalive_time().unwrap(),
                    socket.tcp_keepalive_interval().unwrap(),
                    socket.tcp_keepalive_retries().unwrap(),
                    socket.tcp_user_timeout().unwrap(),
                ));
                async {}
            })
            .await;
        });
        let _client = TcpStream::connect(addr).await.unwrap();
        let (on, idle, interval, probes, user_timeout) = settings.recv().await.unwrap();
        assert!(on);
        assert_eq!(idle, Duration::from_secs(7));
        assert_eq!(interval, Duration::from_secs(2), "8 s over 4 probes");
        assert_eq!(probes, 4);
        assert_eq!(user_timeout, Some(Duration::from_secs(15)));
        stop.send(true).unwrap();
        accepting.await.unwrap();
    }

    /// A keep-alive time the kernel would refuse is clamped to its largest,
    /// not left to the kernel's default of two hours.
    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn a_keep_alive_time_past_the_kernels_largest_is_clamped() {
        let limits = Limits {
            keepalive_interval: Duration::from_secs(100_000),
            keepalive_timeout: Duration::from_secs(200_000),
            ..Limits::default()
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let client = TcpStream::connect(listener.local_addr().unwrap());
        let ((tcp, _), _client) = tokio::join!(async { listener.accept().await.unwrap() }, client);
        keep_alive(&tcp, &limits).unwrap();
        let socket = socket2::SockRef::from(&tcp);
        assert_eq!(socket.tcp_keepalive_time().unwrap(), MAX_KEEPALIVE);
        assert_eq!(socket.tcp_keepalive_interval().unwrap(), MAX_KEEPALIVE);
        assert_eq!(socket.tcp_user_timeout().unwrap(), Some(MAX_KEEPALIVE * 2));
    }
}
