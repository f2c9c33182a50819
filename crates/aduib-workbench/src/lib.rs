//! The application core. The desktop app and the `aduib` command both stand
//! on it; neither repeats what it does.
//!
//! - [`Workbench::send`] takes any [`Request`] (an Aduib call on any of its
//!   four transports and call shapes, raw JSON-RPC, raw HTTP, any gRPC
//!   method, any Thrift function) and returns an [`Exchange`]: its events as
//!   they happen ([`Event`]: sent, headers, each message with its offset and
//!   size, trailers, status, error, end) and an [`ExchangeHandle`] that
//!   cancels it or feeds an interactive client or bidi stream.
//! - Everything that fails is a [`WorkbenchError`]: a kind, one line, causes.
//! - Every exchange is recorded in [`History`] (SQLite), redacted, off the
//!   call's path.
//! - Long-running tasks are submitted, watched (again after a restart) and
//!   kept by the [`tasks::TaskTracker`], in the history database.
//! - Clients, gRPC schemas and parsed IDLs are cached per target while the
//!   workbench lives; [`Workbench::invalidate`] clears them.

pub mod bindings;
pub mod catalog;
pub mod discovery;
pub mod error;
pub mod event;
mod exchange;
pub mod grpc;
pub mod history;
pub mod host;
pub mod redact;
pub mod request;
mod send;
pub mod tasks;
pub mod thrift;
pub mod window;
pub mod workspace;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use aduib_client::anygrpc::AnyGrpc;
use aduib_client::{AduibClient, RawClient};
use prost_reflect::DescriptorPool;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

pub use error::{ErrorKind, WorkbenchError};
pub use event::{CallStatus, Event, EventBody, Outcome, Summary};
pub use exchange::{Exchange, ExchangeHandle};
pub use grpc::GrpcTarget;
pub use history::{Detail, Entry, History, HistoryError, Query, Record};
pub use request::Request;
pub use tasks::{TaskChange, TaskTracker, TrackedTask};

/// The engine of one app window or one command.
#[derive(Debug, Clone)]
pub struct Workbench {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    caches: Caches,
    history: Option<History>,
    /// The task tracker, in the history database.
    tasks: Option<Arc<tasks::TaskTracker>>,
}

/// What is kept per target between calls.
#[derive(Debug)]
pub(crate) struct Caches {
    pub(crate) raw: RawClient,
    aduib: Mutex<HashMap<String, AduibClient>>,
    grpc: Mutex<HashMap<String, AnyGrpc>>,
    schemas: Mutex<HashMap<String, DescriptorPool>>,
    thrift: Mutex<HashMap<String, Arc<aduib_thrift::Schema>>>,
    services: Mutex<HashMap<String, aduib_client::stack::ServiceClient>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Caches {
    fn new() -> Result<Self, WorkbenchError> {
        Ok(Caches {
            raw: RawClient::new()?,
            aduib: Mutex::default(),
            grpc: Mutex::default(),
            schemas: Mutex::default(),
            thrift: Mutex::default(),
            services: Mutex::default(),
        })
    }

    pub(crate) fn lock_aduib(&self) -> MutexGuard<'_, HashMap<String, AduibClient>> {
        lock(&self.aduib)
    }

    pub(crate) fn lock_grpc(&self) -> MutexGuard<'_, HashMap<String, AnyGrpc>> {
        lock(&self.grpc)
    }

    pub(crate) fn lock_schemas(&self) -> MutexGuard<'_, HashMap<String, DescriptorPool>> {
        lock(&self.schemas)
    }

    pub(crate) fn lock_services(
        &self,
    ) -> MutexGuard<'_, HashMap<String, aduib_client::stack::ServiceClient>> {
        lock(&self.services)
    }

    pub(crate) fn lock_thrift(&self) -> MutexGuard<'_, HashMap<String, Arc<aduib_thrift::Schema>>> {
        lock(&self.thrift)
    }
}

/// A cache key: the settings that make two clients differ, as JSON.
pub(crate) fn cache_key<T: serde::Serialize>(settings: &T) -> String {
    serde_json::to_string(settings).unwrap_or_default()
}

impl Workbench {
    /// A workbench that records into `history` (none: records nothing).
    /// Tasks are tracked in the same database.
    pub fn new(history: Option<History>) -> Result<Self, WorkbenchError> {
        // Like history, the tracker is not worth failing a call over.
        let tasks =
            history
                .as_ref()
                .and_then(|history| match tasks::TaskTracker::open(history.path()) {
                    Ok(tracker) => Some(Arc::new(tracker)),
                    Err(error) => {
                        tracing::warn!(%error, "tasks are not tracked for this run");
                        None
                    }
                });
        Ok(Workbench {
            inner: Arc::new(Inner {
                caches: Caches::new()?,
                history,
                tasks,
            }),
        })
    }

    pub fn history(&self) -> Option<&History> {
        self.inner.history.as_ref()
    }

    /// Forgets cached clients, schemas and IDLs: all of them, or those whose
    /// key mentions `target`.
    pub fn invalidate(&self, target: Option<&str>) {
        let keep = |key: &String| target.is_some_and(|t| !key.contains(t));
        let caches = &self.inner.caches;
        caches.lock_aduib().retain(|k, _| keep(k));
        caches.lock_grpc().retain(|k, _| keep(k));
        caches.lock_schemas().retain(|k, _| keep(k));
        caches.lock_thrift().retain(|k, _| keep(k));
        caches.lock_services().retain(|k, _| keep(k));
    }

    /// Starts `request`; its events arrive on the exchange as they happen.
    /// Must be called within a tokio runtime.
    pub fn send(&self, request: Request) -> Exchange {
        self.send_resolved(workspace::Resolved {
            request,
            secrets: Vec::new(),
        })
    }

    /// Starts a request resolved from a workspace's environment; what came
    /// from `${env:NAME}` is recorded as that reference, never in clear.
    pub fn send_resolved(&self, resolved: workspace::Resolved) -> Exchange {
        let workspace::Resolved { request, secrets } = resolved;
        let id = uuid::Uuid::new_v4().to_string();
        let (events_tx, events) = mpsc::unbounded_channel();
        let (input_tx, input) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let handle = ExchangeHandle {
            cancel: cancel.clone(),
            input: input_tx,
        };
        let inner = self.inner.clone();
        let exchange_id = id.clone();
        tokio::spawn(async move {
            let started_at_ms = aduib_core::envelope::now_ms();
            let emitter = exchange::Emitter::new(events_tx);
            let outcome = tokio::select! {
                // The call's future is dropped: its connection or stream goes.
                () = cancel.cancelled() => None,
                result = inner.run(&request, &emitter, input) => Some(result),
            };
            let cancelled = match outcome {
                None => {
                    emitter.emit(EventBody::Error {
                        error: WorkbenchError::cancelled(),
                    });
                    true
                }
                Some(Err(error)) => {
                    emitter.emit(EventBody::Error { error });
                    false
                }
                Some(Ok(())) => false,
            };
            let finished = emitter.finish(cancelled);
            if let Some(history) = &inner.history {
                history.record(Record {
                    id: exchange_id,
                    started_at_ms,
                    request: workspace::unresolve(request, &secrets),
                    events: workspace::unresolve(finished.events, &secrets),
                    dropped: finished.dropped,
                    summary: finished.summary,
                    status: finished.status,
                });
            }
            emitter.end(finished.end);
        });
        Exchange { id, events, handle }
    }

    /// The services a gRPC server offers (reflection, or the given files).
    pub async fn grpc_services(&self, target: &GrpcTarget) -> Result<Vec<String>, WorkbenchError> {
        self.inner.caches.grpc_services(target).await
    }

    /// The schema holding `symbol` (a service, method or message).
    pub async fn grpc_schema(
        &self,
        target: &GrpcTarget,
        symbol: &str,
    ) -> Result<DescriptorPool, WorkbenchError> {
        self.inner.caches.grpc_schema(target, symbol).await
    }

    /// A parsed Thrift IDL (`idl` searched in `includes`).
    pub fn thrift_schema(
        &self,
        idl: &str,
        includes: &[String],
    ) -> Result<Arc<aduib_thrift::Schema>, WorkbenchError> {
        self.inner.caches.thrift_schema(idl, includes)
    }
}

impl Inner {
    // Boxed as `Send` futures: the compiler cannot prove it of the nested
    // async fns through the borrowed stream adapters on its own.
    fn run<'a>(
        &'a self,
        request: &'a Request,
        emitter: &'a exchange::Emitter,
        input: mpsc::UnboundedReceiver<exchange::Input>,
    ) -> futures::future::BoxFuture<'a, Result<(), WorkbenchError>> {
        use futures::FutureExt;
        let caches = &self.caches;
        match request {
            Request::Aduib(call) => send::aduib(caches, call, emitter, input).boxed(),
            Request::Jsonrpc(call) => send::jsonrpc(caches, call, emitter).boxed(),
            Request::Http(call) => send::http(caches, call, emitter).boxed(),
            Request::Grpc(call) => grpc::run(caches, call, emitter, input).boxed(),
            Request::Thrift(call) => thrift::run(caches, call, emitter).boxed(),
        }
    }
}
