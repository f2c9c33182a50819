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
use crate::tasks::{self, TaskConfig, TaskEvent, TaskManager, TaskRecord, TaskStatus};

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
    tasks: TaskManager,
}

impl Dispatcher {
    pub fn new(registry: HandlerRegistry) -> Self {
        Dispatcher {
            registry: Arc::new(registry),
            log: None,
            tasks: TaskManager::new(TaskConfig::default()),
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

    /// The tasks submitted to this server.
    pub fn tasks(&self) -> &TaskManager {
        &self.tasks
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
        let data = take_data(&mut request);
        self.call_with_data(request, data).await
    }

    /// [`call`](Self::call) for a request whose `data` is apart from it, in
    /// another form (gRPC's Struct): the function takes its arguments from
    /// it without their becoming a map first.
    pub async fn call_with_data<D>(&self, mut request: AduibRequest, data: D) -> AduibResponse
    where
        D: IntoIterator<Item = (String, Value)>,
    {
        let started = Instant::now();
        if let Some(op) = task_op(&request) {
            request.data = Some(data.into_iter().collect());
            let id = response_id(&request);
            let outcome = self.task_call(op, request);
            return finish(id, outcome, started);
        }
        // Only the data goes to the function: the id can move to the answer.
        let id = request.id.take().unwrap_or_else(new_id);
        let outcome = match self.lookup(&request.method) {
            Err(error) => Err(error),
            Ok((_, Handler::ServerStream(_))) => Err(RpcError::invalid_params(format!(
                "{} is a server-streaming method; call it as a stream",
                request.method
            ))),
            Ok((key, Handler::Unary(f))) => {
                let call = f(Args::new(key, data));
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
        match task_op(&request) {
            Some(TaskOp::Subscribe) => {
                return match task_id(&request).and_then(|t| Ok(self.tasks.subscribe(&t)?)) {
                    Ok(events) => events
                        .map(move |event| finish(id.clone(), Ok(event_reply(&event)), started))
                        .boxed(),
                    Err(error) => {
                        stream::once(async move { finish(id, Err(error), started) }).boxed()
                    }
                };
            }
            Some(op) => {
                let outcome = self.task_call(op, request);
                return stream::once(async move { finish(id, outcome, started) }).boxed();
            }
            None => {}
        }
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

    /// The `metadata.long_task` surface: `task/submit` runs the request's
    /// own method once, as a task (the peer re-submits it forever); the
    /// other operations read or cancel a task by `data.task_id`.
    fn task_call(&self, op: TaskOp, request: AduibRequest) -> Result<Value, RpcError> {
        match op {
            TaskOp::Submit => {
                let task = self.submit_task(request, None)?;
                Ok(json!({
                    "task_id": task.task_id,
                    "status": task.status,
                    "created_at_ms": task.created_at_ms,
                }))
            }
            TaskOp::Status => Ok(status_reply(&self.tasks.get(&task_id(&request)?)?, false)),
            TaskOp::Result => Ok(status_reply(&self.tasks.get(&task_id(&request)?)?, true)),
            TaskOp::Query => Ok(json!({ "task": self.tasks.get(&task_id(&request)?)? })),
            TaskOp::Cancel => {
                let (task, canceled) = self.tasks.cancel(&task_id(&request)?)?;
                Ok(json!({ "task_id": task.task_id, "status": task.status, "canceled": canceled }))
            }
            TaskOp::List => Ok(json!({ "tasks": self.tasks.list() })),
            TaskOp::Subscribe => {
                // Called unary: the task's state now, as one event.
                let task = self.tasks.get(&task_id(&request)?)?;
                Ok(event_reply(&TaskEvent {
                    event: String::new(),
                    task,
                    timestamp_ms: now_ms(),
                }))
            }
        }
    }

    /// Runs `request`'s own method as a task (priority 0-3; without one, the
    /// request's `qos.priority`). The record's result is the method's whole
    /// response, as the peer keeps it.
    pub fn submit_task(
        &self,
        mut request: AduibRequest,
        priority: Option<u8>,
    ) -> Result<TaskRecord, RpcError> {
        let priority = priority
            .or_else(|| {
                request
                    .qos
                    .as_ref()
                    .and_then(|q| q.priority)
                    .map(|p| p.json_number())
            })
            .unwrap_or(1)
            .min(3);
        let ttl = request
            .metadata
            .as_ref()
            .and_then(|m| m.long_task_timeout)
            .and_then(|s| u64::try_from(s).ok())
            .map(Duration::from_secs);
        // The task runs the method itself, never another submit.
        if let Some(metadata) = request.metadata.as_mut() {
            metadata.long_task = None;
            metadata.long_task_method = None;
        }
        // Refuse an unknown method now, not as a failed task later.
        self.lookup(&request.method)?;
        let method = request.method.clone();
        let this = self.clone();
        Ok(self.tasks.submit(
            Some(method),
            priority,
            ttl,
            tasks::job(move |context| async move {
                // The handler reports progress through the task it runs in.
                let response = context.scope(this.call(request)).await;
                match &response.error {
                    Some(error) => Err(error.clone()),
                    None => serde_json::to_value(&response)
                        .map_err(|e| RpcError::new(ErrorCode::SerializationError, e.to_string())),
                }
            }),
        )?)
    }

    /// The typed `TaskService` (`Submit`, `Query`, `Cancel`; ours: `Status`,
    /// `Result`, `List`), its request as the peer's clients send it.
    pub fn task_service(&self, op: &str, params: &Value) -> Result<Value, RpcError> {
        let task_id = || required_task_id(params.get("task_id"), "task_id");
        match op {
            "Submit" => {
                let inner = params.get("params").cloned().ok_or_else(|| {
                    RpcError::new(
                        ErrorCode::MissingRequiredField,
                        "params must hold the Aduib request to run",
                    )
                    .with_field("params", "missing")
                })?;
                let request = AduibRequest::from_value(inner)?;
                let priority = params
                    .get("priority")
                    .and_then(Value::as_u64)
                    .and_then(|p| u8::try_from(p).ok());
                let task = self.submit_task(request, priority)?;
                Ok(json!({
                    "task_id": task.task_id,
                    "status": task.status,
                    "created_at_ms": task.created_at_ms,
                }))
            }
            "Query" => Ok(json!({ "task": self.tasks.get(&task_id()?)? })),
            "Status" => Ok(status_reply(&self.tasks.get(&task_id()?)?, false)),
            "Result" => Ok(status_reply(&self.tasks.get(&task_id()?)?, true)),
            "Cancel" => {
                let (task, canceled) = self.tasks.cancel(&task_id()?)?;
                Ok(json!({ "task_id": task.task_id, "status": task.status, "canceled": canceled }))
            }
            "List" => Ok(json!({ "tasks": self.tasks.list() })),
            other => Err(RpcError::new(
                ErrorCode::MethodNotFound,
                format!("TaskService has no operation {other:?}"),
            )
            .with_field(
                "method",
                "Submit, Query, Cancel, Subscribe, Status, Result or List",
            )),
        }
    }

    /// `TaskService.Subscribe`: the peer's `TaskEvent`s, a snapshot first,
    /// until the task ends.
    pub fn task_events(&self, params: &Value) -> Result<BoxStream<'static, Value>, RpcError> {
        let task_id = required_task_id(params.get("task_id"), "task_id")?;
        Ok(self
            .tasks
            .subscribe(&task_id)?
            .map(|event| serde_json::to_value(&event).unwrap_or(Value::Null))
            .boxed())
    }

    /// `HealthService.Check`: healthy, naming the asked-for service when given.
    pub fn health(&self, service: Option<&str>) -> Value {
        let mut services = Map::new();
        if let Some(service) = service.filter(|s| !s.is_empty()) {
            services.insert(service.to_owned(), json!("healthy"));
        }
        json!({ "status": "healthy", "services": services })
    }

    fn lookup(&self, method: &str) -> Result<(Arc<str>, &Handler), RpcError> {
        // Fast path, for every call: the canonical name's key is its tail.
        if let Some((service, key)) = method
            .strip_prefix(aduib_core::method::METHOD_PREFIX)
            .and_then(|rest| rest.split_once('/'))
            && !service.is_empty()
            && let Some((key, handler)) = self.registry.get(key)
        {
            return Ok((key.clone(), handler));
        }
        let key = handler_key(method)?;
        match self.registry.get(&key) {
            Some((key, handler)) => Ok((key.clone(), handler)),
            None => Err(RpcError::new(
                ErrorCode::MethodNotFound,
                format!("no function `{key}` is registered (method {method:?})"),
            )
            .with_field("method", "unknown function")),
        }
    }
}

/// A `metadata.long_task_method` operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TaskOp {
    Submit,
    Status,
    Result,
    Query,
    Cancel,
    Subscribe,
    /// Ours: every task kept.
    List,
}

/// The task operation a request asks for: with `metadata.long_task` set,
/// `long_task_method` (else the method itself) names it, `task/submit` by
/// default.
fn task_op(request: &AduibRequest) -> Option<TaskOp> {
    let metadata = request.metadata.as_ref()?;
    if metadata.long_task != Some(true) {
        return None;
    }
    let name = metadata
        .long_task_method
        .as_deref()
        .or_else(|| {
            request
                .method
                .starts_with("task/")
                .then_some(request.method.as_str())
        })
        .unwrap_or("task/submit");
    Some(match name {
        "task/status" => TaskOp::Status,
        "task/result" => TaskOp::Result,
        "task/query" => TaskOp::Query,
        "task/cancel" => TaskOp::Cancel,
        "task/subscribe" => TaskOp::Subscribe,
        "task/list" => TaskOp::List,
        _ => TaskOp::Submit,
    })
}

fn task_id(request: &AduibRequest) -> Result<String, RpcError> {
    required_task_id(
        request.data.as_ref().and_then(|d| d.get("task_id")),
        "data.task_id",
    )
}

/// The task id `field` must hold.
pub(crate) fn required_task_id(value: Option<&Value>, field: &str) -> Result<String, RpcError> {
    match value {
        Some(Value::String(id)) if !id.is_empty() => Ok(id.clone()),
        _ => Err(RpcError::new(
            ErrorCode::MissingRequiredField,
            format!("{field} is required"),
        )
        .with_field(field, "missing or not a string")),
    }
}

/// `{task_id, status, created_at_ms, updated_at_ms[, error][, value]}`.
fn status_reply(task: &TaskRecord, with_value: bool) -> Value {
    let mut reply = json!({
        "task_id": task.task_id,
        "status": task.status,
        "created_at_ms": task.created_at_ms,
        "updated_at_ms": task.updated_at_ms,
    });
    if let Some(progress) = &task.progress {
        reply["progress"] = json!(progress);
    }
    if let Some(error) = &task.error {
        reply["error"] = json!(error);
    }
    if with_value && task.status == TaskStatus::Succeeded {
        // The record keeps the whole response; the value is its result.
        reply["value"] = task
            .result
            .as_ref()
            .and_then(|r| r.get("result"))
            .cloned()
            .unwrap_or(Value::Null);
    }
    reply
}

fn event_reply(event: &TaskEvent) -> Value {
    json!({ "event": event.event, "task": status_reply(&event.task, true) })
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
    request.id.clone().unwrap_or_else(new_id)
}

/// The id of an answer to a request that had none.
fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
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
    fn task_request(op: &str, method: &str, data: Value) -> AduibRequest {
        let mut request = request(method, data);
        request.metadata = Some(aduib_core::envelope::RequestMetadata {
            long_task: Some(true),
            long_task_method: Some(op.to_owned()),
            ..aduib_core::envelope::RequestMetadata::now()
        });
        request
    }

    /// The peer's e2e form: `long_task: true` with `task/submit` on a normal
    /// method answers a task id at once, runs the method exactly once, and
    /// Subscribe streams its events to `completed`.
    #[tokio::test]
    async fn long_task_submit_runs_the_method_once_and_subscribe_ends_completed() {
        static RUNS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let mut registry = HandlerRegistry::new();
        registry.unary("Count.once", |_: Args| async {
            RUNS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(json!({"ran": true}))
        });
        let d = Dispatcher::new(registry);
        let submitted = d
            .call(task_request(
                "task/submit",
                "rpc.v2/Count/Count.once",
                json!({}),
            ))
            .await;
        let reply = submitted.result.expect("a receipt");
        assert_eq!(reply["status"], "pending");
        let task_id = reply["task_id"].as_str().unwrap().to_owned();

        let events: Vec<AduibResponse> = d
            .stream(task_request(
                "task/subscribe",
                "task/subscribe",
                json!({"task_id": task_id}),
            ))
            .collect()
            .await;
        let last = events.last().unwrap().result.clone().unwrap();
        assert_eq!(last["event"], "completed");
        assert_eq!(last["task"]["value"], json!({"ran": true}));
        assert_eq!(
            RUNS.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "no recursion"
        );

        let result = d
            .call(task_request(
                "task/result",
                "task/result",
                json!({"task_id": task_id}),
            ))
            .await;
        assert_eq!(result.result.unwrap()["value"], json!({"ran": true}));
        let query = d
            .call(task_request(
                "task/query",
                "task/query",
                json!({"task_id": task_id}),
            ))
            .await;
        assert_eq!(query.result.unwrap()["task"]["status"], "succeeded");
        let cancel = d
            .call(task_request(
                "task/cancel",
                "task/cancel",
                json!({"task_id": task_id}),
            ))
            .await;
        assert_eq!(cancel.result.unwrap()["canceled"], false, "it had ended");
    }

    #[tokio::test]
    async fn cancel_stops_a_long_task_and_bad_task_requests_say_why() {
        let d = dispatcher();
        let submitted = d
            .call(task_request(
                "task/submit",
                "rpc.v2/CaculService/CaculService.slow",
                json!({"x": 1, "delay_ms": 10_000}),
            ))
            .await;
        let task_id = submitted.result.unwrap()["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let cancel = d
            .call(task_request(
                "task/cancel",
                "task/cancel",
                json!({"task_id": task_id}),
            ))
            .await;
        let cancel = cancel.result.unwrap();
        assert_eq!(
            (cancel["canceled"].clone(), cancel["status"].clone()),
            (json!(true), json!("canceled"))
        );

        let unknown = d
            .call(task_request(
                "task/status",
                "task/status",
                json!({"task_id": "nope"}),
            ))
            .await;
        assert_eq!(unknown.error.unwrap().code, 4000);
        let missing = d
            .call(task_request("task/status", "task/status", json!({})))
            .await;
        assert_eq!(missing.error.unwrap().code, 2002);
        let no_such = d
            .call(task_request(
                "task/submit",
                "rpc.v2/Nope/Nope.nothing",
                json!({}),
            ))
            .await;
        assert_eq!(
            no_such.error.unwrap().code,
            4001,
            "refused at submit, not as a task"
        );
    }

    /// BatchService.process reports progress after each item; subscribers
    /// see it climb to the total, then `completed`.
    #[tokio::test]
    async fn a_handler_reports_progress_to_subscribers() {
        let mut registry = HandlerRegistry::new();
        crate::demo::register_batch_service(&mut registry);
        let d = Dispatcher::new(registry);
        let submitted = d
            .call(task_request(
                "task/submit",
                "rpc.v2/BatchService/BatchService.process",
                json!({"items": [1, 2, 3, 4], "item_ms": 5}),
            ))
            .await;
        let task_id = submitted.result.unwrap()["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let events: Vec<Value> = d
            .task_events(&json!({ "task_id": task_id }))
            .unwrap()
            .collect()
            .await;
        let currents: Vec<u64> = events
            .iter()
            .filter_map(|e| e["task"]["progress"]["current"].as_u64())
            .collect();
        assert_eq!(currents.last(), Some(&4), "{events:?}");
        assert!(currents.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(events.last().unwrap()["event"], "completed");

        let failing = d
            .call(task_request(
                "task/submit",
                "rpc.v2/BatchService/BatchService.fail_midway",
                json!({"steps": 4, "item_ms": 1}),
            ))
            .await;
        let task_id = failing.result.unwrap()["task_id"]
            .as_str()
            .unwrap()
            .to_owned();
        let events: Vec<Value> = d
            .task_events(&json!({ "task_id": task_id }))
            .unwrap()
            .collect()
            .await;
        let last = events.last().unwrap();
        assert_eq!(last["event"], "failed");
        assert_eq!(last["task"]["status"], "failed");
        assert_eq!(
            last["task"]["progress"]["current"], 2,
            "progress stopped halfway"
        );
        assert!(
            last["task"]["error"]["message"]
                .as_str()
                .unwrap()
                .contains("step 3")
        );
    }
}
