//! From a parsed request to responses: routing, argument binding, QoS timeout,
//! response metadata. Frontends only frame what this returns.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aduib_core::{
    AduibRequest, AduibResponse, ErrorCode, MethodName, ResponseMetadata, RpcError, now_ms,
};
use futures::stream::{self, BoxStream, StreamExt};
use serde_json::{Map, Value, json};

use crate::args::Args;
use crate::registry::{Handler, HandlerRegistry};

/// The peer caps `qos.timeout_ms` at five minutes; so do we.
const MAX_QOS_TIMEOUT_MS: i64 = 300_000;

/// Responses of a server stream, ending after the first error.
pub type ResponseStream = BoxStream<'static, AduibResponse>;

/// One call the server saw, for a live log (the app's Server view).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct CallSeen {
    /// When it ended (a stream: when it started), ms since the epoch.
    pub at_ms: i64,
    pub method: String,
    pub stream: bool,
    pub ok: bool,
    /// The Aduib error code of a failed call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    pub duration_ms: f64,
}

/// Where the server reports the calls it sees. Sending never waits: a slow
/// listener misses entries, the server never slows down.
pub type CallLog = tokio::sync::broadcast::Sender<CallSeen>;

/// Routes requests to the registry. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Dispatcher {
    registry: Arc<HandlerRegistry>,
    log: Option<CallLog>,
}

impl Dispatcher {
    pub fn new(registry: HandlerRegistry) -> Self {
        Dispatcher {
            registry: Arc::new(registry),
            log: None,
        }
    }

    /// Reports every call to `log`.
    pub fn with_log(mut self, log: Option<CallLog>) -> Self {
        self.log = log;
        self
    }

    fn report(&self, method: &str, stream: bool, response: &AduibResponse, started: Instant) {
        if let Some(log) = &self.log {
            let _ = log.send(CallSeen {
                at_ms: now_ms(),
                method: method.to_owned(),
                stream,
                ok: response.is_success(),
                code: response.error.as_ref().map(|e| e.code),
                duration_ms: started.elapsed().as_secs_f64() * 1000.0,
            });
        }
    }

    pub fn registry(&self) -> &HandlerRegistry {
        &self.registry
    }

    /// Whether `method` names a server-streaming function (the JSON-RPC
    /// frontend answers such calls with SSE whatever the client asked for).
    pub fn is_streaming(&self, method: &str) -> bool {
        self.lookup(method)
            .is_ok_and(|(_, handler)| handler.is_streaming())
    }

    /// Runs a unary call. A streaming function called this way is an error
    /// that tells the caller to stream.
    pub async fn call(&self, mut request: AduibRequest) -> AduibResponse {
        let started = Instant::now();
        let id = response_id(&request);
        let outcome = match self.lookup(&request.method) {
            Err(error) => Err(error),
            Ok((_, Handler::ServerStream(_))) => Err(RpcError::invalid_params(format!(
                "{} is a server-streaming method; call it as a stream",
                request.method
            ))),
            Ok((key, Handler::Unary(f))) => {
                let call = f(Args::new(key, take_data(&mut request)));
                match qos_timeout(&request) {
                    Some(limit) => tokio::time::timeout(limit, call).await.unwrap_or_else(|_| {
                        Err(RpcError::new(
                            ErrorCode::RpcTimeout,
                            format!("request exceeded its timeout of {} ms", limit.as_millis()),
                        ))
                    }),
                    None => call.await,
                }
            }
        };
        let response = finish(id, outcome, started);
        self.report(&request.method, false, &response, started);
        response
    }

    /// Runs a call as a stream: a streaming function yields one response per
    /// item, a unary one exactly one response, a failure one error response.
    pub fn stream(&self, mut request: AduibRequest) -> ResponseStream {
        let started = Instant::now();
        let id = response_id(&request);
        if self.log.is_some() && self.is_streaming(&request.method) {
            let opened = AduibResponse::success(id.clone(), Value::Null);
            self.report(&request.method, true, &opened, started);
        }
        match self.lookup(&request.method) {
            Err(error) => stream::once(async move { finish(id, Err(error), started) }).boxed(),
            Ok((_, Handler::Unary(_))) => {
                let this = self.clone();
                stream::once(async move { this.call(request).await }).boxed()
            }
            Ok((key, Handler::ServerStream(f))) => match f(Args::new(key, take_data(&mut request)))
            {
                Err(error) => stream::once(async move { finish(id, Err(error), started) }).boxed(),
                Ok(items) => items
                    // Stop after the first error: it is the stream's last frame.
                    .scan(false, |failed, item| {
                        let emit = (!*failed).then(|| {
                            *failed = item.is_err();
                            item
                        });
                        async move { emit }
                    })
                    .map(move |item| finish(id.clone(), item, started))
                    .boxed(),
            },
        }
    }

    /// `HealthService.Check`: healthy, naming the asked-for service when given.
    pub fn health(&self, service: Option<&str>) -> Value {
        let mut services = Map::new();
        if let Some(service) = service.filter(|s| !s.is_empty()) {
            services.insert(service.to_owned(), json!("healthy"));
        }
        json!({ "status": "healthy", "services": services })
    }

    fn lookup(&self, method: &str) -> Result<(String, &Handler), RpcError> {
        // Fast path, for every call: the canonical name's key is its tail.
        if let Some((service, key)) = method
            .strip_prefix(aduib_core::method::METHOD_PREFIX)
            .and_then(|rest| rest.split_once('/'))
            && !service.is_empty()
            && let Some(handler) = self.registry.get(key)
        {
            return Ok((key.to_owned(), handler));
        }
        let key = handler_key(method)?;
        match self.registry.get(&key) {
            Some(handler) => Ok((key, handler)),
            None => Err(RpcError::new(
                ErrorCode::MethodNotFound,
                format!("no function `{key}` is registered (method {method:?})"),
            )
            .with_field("method", "unknown function")),
        }
    }
}

/// The key under which later messages of a client stream reach the function.
pub const STREAM_ITEMS: &str = "stream_items";

/// Folds a client stream into one request, as the peer does: the first message
/// is the base and names the method; the `data` of every later message is
/// appended to the base's `data.stream_items` (absent when there is none, so
/// a one-message stream calls any function).
pub fn fold_client_stream(
    requests: impl IntoIterator<Item = AduibRequest>,
) -> Result<AduibRequest, RpcError> {
    let mut requests = requests.into_iter();
    let mut base = requests.next().ok_or_else(|| {
        RpcError::new(
            ErrorCode::MissingRequiredField,
            "a client stream needs at least one message",
        )
    })?;
    let later: Vec<Value> = requests
        .map(|r| Value::Object(r.data.unwrap_or_default()))
        .collect();
    if later.is_empty() {
        return Ok(base);
    }
    let mut data = base.data.take().unwrap_or_default();
    let items = data
        .entry(STREAM_ITEMS)
        .or_insert_with(|| Value::Array(Vec::new()));
    let Value::Array(items) = items else {
        return Err(
            RpcError::invalid_params(format!("`{STREAM_ITEMS}` must be an array"))
                .with_field(format!("data.{STREAM_ITEMS}"), "not an array"),
        );
    };
    items.extend(later);
    base.data = Some(data);
    Ok(base)
}

/// `Handler.method` for a canonical name or the legacy `Service.Handler.method`.
fn handler_key(method: &str) -> Result<String, RpcError> {
    let parsed = if method.starts_with(aduib_core::method::METHOD_PREFIX) {
        MethodName::parse(method)
    } else {
        MethodName::parse_lenient(method).and_then(|name| {
            // Only the three-part legacy form is a wire form; `Service.method` is
            // a CLI shorthand the peer rejects, so we reject it too.
            if method.matches('.').count() == 2 {
                Ok(name)
            } else {
                MethodName::parse(method)
            }
        })
    };
    parsed.map(|name| name.handler_key()).map_err(|e| {
        RpcError::new(ErrorCode::MethodNotFound, e.to_string()).with_field("method", e.reason)
    })
}

fn response_id(request: &AduibRequest) -> String {
    request
        .id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

fn take_data(request: &mut AduibRequest) -> Map<String, Value> {
    request.data.take().unwrap_or_default()
}

fn qos_timeout(request: &AduibRequest) -> Option<Duration> {
    let ms = request
        .qos
        .as_ref()?
        .timeout_ms?
        .clamp(1, MAX_QOS_TIMEOUT_MS);
    Some(Duration::from_millis(u64::try_from(ms).unwrap_or(1)))
}

fn finish(id: String, outcome: Result<Value, RpcError>, started: Instant) -> AduibResponse {
    let response = match outcome {
        Ok(value) => AduibResponse::success(id, value),
        Err(error) => AduibResponse::failure(id, error),
    };
    response.with_metadata(ResponseMetadata {
        timestamp_ms: now_ms(),
        duration_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
        server_id: None,
        server_version: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::register_cacul_service;
    use aduib_core::ResponseStatus;

    fn dispatcher() -> Dispatcher {
        let mut registry = HandlerRegistry::new();
        register_cacul_service(&mut registry);
        Dispatcher::new(registry)
    }

    fn request(method: &str, data: Value) -> AduibRequest {
        AduibRequest::new("t", method, data.as_object().cloned().unwrap())
    }

    #[tokio::test]
    async fn a_panicking_function_answers_internal_error() {
        let mut registry = HandlerRegistry::new();
        registry
            .unary("Boom.sync", |_: Args| -> std::future::Ready<_> {
                panic!("at once")
            })
            .unary("Boom.later", |_: Args| async { panic!("{}", "later") })
            .server_stream("Boom.stream", |_: Args| {
                Ok(stream::iter([Ok(json!(1)), Ok(json!(2))]).map(|item| {
                    assert_ne!(item, Ok(json!(2)), "mid-stream");
                    item
                }))
            });
        let d = Dispatcher::new(registry);
        for (method, reason) in [("Boom.sync", "at once"), ("Boom.later", "later")] {
            let resp = d
                .call(request(&format!("rpc.v2/Boom/{method}"), json!({})))
                .await;
            let error = resp.error.unwrap();
            assert_eq!(error.code, 5000);
            assert!(error.message.contains(reason), "{}", error.message);
        }
        let items: Vec<_> = d
            .stream(request("rpc.v2/Boom/Boom.stream", json!({})))
            .collect()
            .await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].result, Some(json!(1)));
        let error = items[1].error.as_ref().unwrap();
        assert_eq!(error.code, 5000);
        assert!(error.message.contains("mid-stream"), "{}", error.message);
    }

    #[tokio::test]
    async fn routes_canonical_and_legacy_names() {
        let d = dispatcher();
        for method in [
            "rpc.v2/CaculService/CaculService.add",
            "rpc.v2/AnyInstanceName/CaculService.add",
            "CaculService.CaculService.add",
        ] {
            let resp = d.call(request(method, json!({"x": 1, "y": 2}))).await;
            assert_eq!(resp.result, Some(json!(3)), "{method}");
        }
        let resp = d
            .call(request("CaculService.add", json!({"x": 1, "y": 2})))
            .await;
        assert_eq!(resp.error.unwrap().code, 4001);
    }

    #[tokio::test]
    async fn a_client_stream_folds_into_stream_items() {
        let method = "rpc.v2/CaculService/CaculService.sum";
        let folded = fold_client_stream([
            request(method, json!({"x": 1})),
            request(method, json!({"x": 2})),
            request(method, json!({"x": 3.5})),
        ])
        .unwrap();
        assert_eq!(
            folded.data.clone().unwrap()["stream_items"],
            json!([{"x": 2}, {"x": 3.5}])
        );
        assert_eq!(dispatcher().call(folded).await.result, Some(json!(6.5)));
        assert_eq!(fold_client_stream([]).unwrap_err().code, 2002);
        let single = fold_client_stream([request(method, json!({"x": 1}))]).unwrap();
        assert_eq!(
            single.data,
            Some(json!({"x": 1}).as_object().cloned().unwrap())
        );
    }

    #[tokio::test]
    async fn unknown_function_is_method_not_found() {
        let resp = dispatcher()
            .call(request("rpc.v2/CaculService/CaculService.nope", json!({})))
            .await;
        assert_eq!(resp.status, ResponseStatus::Error);
        assert_eq!(resp.error.unwrap().code, 4001);
    }

    #[tokio::test]
    async fn qos_timeout_is_enforced() {
        let mut req = request(
            "rpc.v2/CaculService/CaculService.slow",
            json!({"x": 1, "delay_ms": 2000}),
        );
        req.qos = Some(aduib_core::QosConfig {
            timeout_ms: Some(20),
            ..Default::default()
        });
        let resp = dispatcher().call(req).await;
        assert_eq!(resp.error.unwrap().code, 5003);
    }

    #[tokio::test]
    async fn a_stream_yields_every_item_and_a_unary_one_item() {
        let d = dispatcher();
        let items: Vec<_> = d
            .stream(request(
                "rpc.v2/CaculService/CaculService.countdown",
                json!({"start": 2, "interval_ms": 0}),
            ))
            .map(|r| r.result.unwrap())
            .collect()
            .await;
        assert_eq!(items, [json!({"n": 2}), json!({"n": 1}), json!({"n": 0})]);
        let one: Vec<_> = d
            .stream(request(
                "rpc.v2/CaculService/CaculService.add",
                json!({"x": 1, "y": 1}),
            ))
            .collect()
            .await;
        assert_eq!(one.len(), 1);
        let bad: Vec<_> = d
            .stream(request(
                "rpc.v2/CaculService/CaculService.countdown",
                json!({"start": "x"}),
            ))
            .collect()
            .await;
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].error.as_ref().unwrap().code, 2001);
    }
}
