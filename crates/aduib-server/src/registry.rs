//! The handler registry: every frontend dispatches into this one table.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;

use aduib_core::{ErrorCode, RpcError};
use futures::FutureExt;
use futures::future::{self, BoxFuture};
use futures::stream::{BoxStream, Stream, StreamExt};
use serde_json::Value;

use crate::args::Args;

/// The items of a server stream, as a handler yields them.
pub type ValueStream = BoxStream<'static, Result<Value, RpcError>>;

type UnaryFn = dyn Fn(Args) -> BoxFuture<'static, Result<Value, RpcError>> + Send + Sync;
type StreamFn = dyn Fn(Args) -> Result<ValueStream, RpcError> + Send + Sync;

/// One registered function, unary or server-streaming.
#[derive(Clone)]
pub enum Handler {
    Unary(Arc<UnaryFn>),
    ServerStream(Arc<StreamFn>),
}

impl Handler {
    pub fn is_streaming(&self) -> bool {
        matches!(self, Handler::ServerStream(_))
    }
}

impl fmt::Debug for Handler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Handler::Unary(_) => "Handler::Unary",
            Handler::ServerStream(_) => "Handler::ServerStream",
        })
    }
}

/// The error a call gets when its function panicked.
fn panicked(key: &str, payload: Box<dyn Any + Send>) -> RpcError {
    let reason = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("no message");
    tracing::error!(function = key, reason, "a function panicked");
    RpcError::new(
        ErrorCode::InternalError,
        format!("function `{key}` panicked: {reason}"),
    )
}

/// Functions keyed by `Handler.method`, the part of a method name after the
/// service segment (`rpc.v2/<service>/<Handler>.<method>`).
///
/// Every call looks its function up here. The keys are the server's own and
/// callers only look up, so a caller cannot grow a bucket: foldhash (seeded
/// per process) serves as well as SipHash at a fraction of its cost.
#[derive(Debug, Clone, Default)]
pub struct HandlerRegistry {
    /// The key is shared with every call of its function (its errors name it).
    handlers: HashMap<Arc<str>, Handler, foldhash::fast::RandomState>,
}

impl HandlerRegistry {
    pub fn new() -> Self {
        HandlerRegistry::default()
    }

    /// Registers a unary function under `key` (`"CaculService.add"`). A
    /// panic in the function answers the call with `INTERNAL_ERROR`; it
    /// never takes the connection, or other calls on it, down.
    pub fn unary<F, Fut>(&mut self, key: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(Args) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, RpcError>> + Send + 'static,
    {
        let key: Arc<str> = key.into().into();
        let name = key.clone();
        let f =
            Arc::new(move |args: Args| -> BoxFuture<'static, _> {
                match panic::catch_unwind(AssertUnwindSafe(|| f(args))) {
                    Ok(call) => {
                        let name = name.clone();
                        Box::pin(AssertUnwindSafe(call).catch_unwind().map(move |outcome| {
                            outcome.unwrap_or_else(|p| Err(panicked(&name, p)))
                        }))
                    }
                    Err(payload) => Box::pin(future::ready(Err(panicked(&name, payload)))),
                }
            });
        self.handlers.insert(key, Handler::Unary(f));
        self
    }

    /// Registers a server-streaming function under `key`. The function checks its
    /// arguments up front, so a bad call fails before any item is sent.
    pub fn server_stream<F, S>(&mut self, key: impl Into<String>, f: F) -> &mut Self
    where
        F: Fn(Args) -> Result<S, RpcError> + Send + Sync + 'static,
        S: Stream<Item = Result<Value, RpcError>> + Send + 'static,
    {
        let key: Arc<str> = key.into().into();
        let name = key.clone();
        let f = Arc::new(move |args: Args| {
            let items = panic::catch_unwind(AssertUnwindSafe(|| f(args)))
                .unwrap_or_else(|payload| Err(panicked(&name, payload)))?;
            let name = name.clone();
            // A panic mid-stream becomes the stream's last, error, item.
            Ok(AssertUnwindSafe(items)
                .catch_unwind()
                .map(move |item| item.unwrap_or_else(|p| Err(panicked(&name, p))))
                .boxed())
        });
        self.handlers.insert(key, Handler::ServerStream(f));
        self
    }

    /// Adds every function of `other`.
    pub fn merge(&mut self, other: HandlerRegistry) -> &mut Self {
        self.handlers.extend(other.handlers);
        self
    }

    /// The function registered under `key`, and the key as it is shared.
    pub fn get(&self, key: &str) -> Option<(&Arc<str>, &Handler)> {
        self.handlers.get_key_value(key)
    }

    /// Registered keys, sorted.
    pub fn keys(&self) -> Vec<&str> {
        let mut keys: Vec<&str> = self.handlers.keys().map(AsRef::as_ref).collect();
        keys.sort_unstable();
        keys
    }

    /// Distinct handler names (`CaculService`), sorted.
    pub fn services(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .handlers
            .keys()
            .filter_map(|key| key.rsplit_once('.').map(|(handler, _)| handler))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }
}
