//! Thrift frontend: `AduibRpcService`, `HealthService` and `TaskService`, as the
//! peer serves them: strict binary protocol, buffered transport, service names
//! multiplexed (`AduibRpcService:Call`) with `AduibRpcService` also reachable
//! unprefixed. Framed transport and the compact protocol are recognised from
//! a connection's first bytes too.
//!
//! Each connection is a tokio task; calls on it run one after another, as
//! Thrift clients expect. Bad bytes get a `TApplicationException` when the
//! message could be delimited, and a closed connection when not; other
//! connections are unaffected.

use aduib_core::{AduibRequest, ErrorCode, Limits, RpcError};
use aduib_thrift::aduib::{
    self as thrift_aduib, health_to_thrift, priority_from_name, request_from_thrift,
    response_to_thrift, task_status_name, task_to_thrift,
};
use aduib_thrift::message::{decode_args, encode_app_error, encode_reply};
use aduib_thrift::protocol::Reader;
use aduib_thrift::{
    AppError, AppErrorKind, Framing, MessageReader, Outcome, Protocol, ReadLimits, ReadTimeouts,
    Schema, write_message,
};
use futures::StreamExt;
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::access::Access;
use crate::dispatch::{Dispatcher, fold_client_stream, required_task_id};
use crate::server::{accept_until_stopped, stop_requested};

/// The service an unprefixed message name belongs to.
const DEFAULT_SERVICE: &str = "AduibRpcService";

/// The IDLs a server answers for.
#[derive(Debug, Clone)]
struct Hosted {
    aduib: &'static Schema,
    /// The rich demo (`thrift/demo/rich.thrift`), when the workspace hosts it.
    demo: Option<&'static Schema>,
    limits: Limits,
    access: std::sync::Arc<Access>,
}

/// Accepts connections until `stopped` turns true, then waits for open
/// connections to finish their current call.
pub async fn serve(
    listener: TcpListener,
    dispatcher: Dispatcher,
    rich_demo: bool,
    limits: Limits,
    access: std::sync::Arc<Access>,
    stopped: watch::Receiver<bool>,
) {
    let demo = if rich_demo {
        aduib_thrift::idl::demo_schema().map(Some)
    } else {
        Ok(None)
    };
    let schema = match (thrift_aduib::schema(), demo) {
        (Ok(aduib), Ok(demo)) => Hosted {
            aduib,
            demo,
            limits,
            access,
        },
        (Err(error), _) | (_, Err(error)) => {
            tracing::error!(%error, "a built-in Thrift IDL does not parse");
            return;
        }
    };
    accept_until_stopped(listener, &limits, stopped, |stream, peer, stopped| {
        let dispatcher = dispatcher.clone();
        let schema = schema.clone();
        async move {
            if let Err(error) = connection(stream, schema, dispatcher, stopped).await {
                tracing::debug!(%peer, %error, "thrift connection closed");
            }
        }
    })
    .await;
}

/// Framing and protocol from the first byte: 0x80 (strict binary) or 0x82
/// (compact) starts an unframed message; anything else is the start of a
/// frame length, and frames carry their protocol inside.
async fn detect(stream: &TcpStream) -> std::io::Result<(Framing, Protocol)> {
    let mut first = [0u8; 1];
    if stream.peek(&mut first).await? == 0 {
        return Err(std::io::ErrorKind::UnexpectedEof.into());
    }
    let framing = match first[0] {
        0x80 | 0x82 => Framing::Buffered,
        _ => Framing::Framed,
    };
    Ok((framing, protocol_of(&first)))
}

/// A message's protocol, from its first byte.
fn protocol_of(message: &[u8]) -> Protocol {
    match message.first() {
        Some(0x82) => Protocol::Compact,
        _ => Protocol::Binary,
    }
}

async fn connection(
    stream: TcpStream,
    schema: Hosted,
    dispatcher: Dispatcher,
    mut stopped: watch::Receiver<bool>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // Buffered messages are delimited by parsing them, so their protocol must
    // be known up front; frames carry their own length.
    let limits = schema.limits;
    let (framing, protocol) = tokio::select! {
        detected = tokio::time::timeout(limits.header_timeout, detect(&stream)) => match detected {
            Ok(detected) => detected?,
            // A connection that never speaks is closed.
            Err(_) => return Ok(()),
        },
        // A connection that never speaks must not hold up a stop.
        () = stop_requested(&mut stopped) => return Ok(()),
    };
    let (read, write) = stream.into_split();
    // A peer that stops reading our replies must not hold the connection.
    let mut write = crate::io::WriteDeadline::new(write, limits.body_timeout);
    let mut messages = MessageReader::new(read, protocol, framing, ReadLimits::from(&limits))
        .with_timeouts(ReadTimeouts {
            idle: limits.idle_timeout,
            head: limits.header_timeout,
            message: limits.body_timeout,
        });
    loop {
        let message = tokio::select! {
            message = messages.next_message() => message?,
            // Between calls a stop closes the connection.
            () = stop_requested(&mut stopped) => return Ok(()),
        };
        let protocol = protocol_of(&message);
        let reply = tokio::select! {
            reply = handle(&schema, &dispatcher, protocol, &message) => reply?,
            // A client that hangs up cancels its call (dropping the handler).
            () = hung_up(messages.get_mut()) => return Ok(()),
        };
        if let Some(reply) = reply {
            write_message(&mut write, framing, &reply).await?;
        }
    }
}

/// Resolves when the peer closes the connection (or it fails). Bytes of a
/// next, pipelined call are left unread: then the peer is still there.
async fn hung_up(read: &mut tokio::net::tcp::OwnedReadHalf) {
    let mut probe = [0u8; 1];
    match read.peek(&mut probe).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}

/// One message → its reply (none for oneway calls). An error closes the
/// connection: the message could not even be read as a call.
async fn handle(
    hosted: &Hosted,
    dispatcher: &Dispatcher,
    protocol: Protocol,
    message: &[u8],
) -> Result<Option<Vec<u8>>, aduib_thrift::ReadError> {
    let mut reader = Reader::new(protocol, message, ReadLimits::from(&hosted.limits));
    let header = reader.message_begin()?;
    let (service_name, method) = header
        .name
        .split_once(':')
        .unwrap_or((DEFAULT_SERVICE, header.name.as_str()));
    let reply_error =
        |error: AppError| Some(encode_app_error(protocol, method, header.seq, &error));
    let aduib = hosted
        .aduib
        .service(service_name)
        .and_then(|s| s.function(method))
        .map(|f| (hosted.aduib, f, false));
    // The demo answers by its own names, and unprefixed when Aduib does not.
    let demo_service = if header.name.contains(':') {
        service_name
    } else {
        DEMO_SERVICE
    };
    let demo = || {
        let schema = hosted.demo?;
        let function = schema.service(demo_service)?.function(method)?;
        Some((schema, function, true))
    };
    let Some((schema, function, is_demo)) = aduib.or_else(demo) else {
        return Ok(reply_error(AppError::new(
            AppErrorKind::UnknownMethod,
            format!("unknown method {}", header.name),
        )));
    };
    let args = match decode_args(schema, &mut reader, function) {
        Ok(args) => args,
        Err(error) => {
            return Ok(reply_error(AppError::new(
                AppErrorKind::ProtocolError,
                format!("cannot read the arguments of {}: {error}", header.name),
            )));
        }
    };
    let outcome = if is_demo && hosted.access.requires_token() {
        // The demo has no envelope to carry the token in.
        Outcome::Application(AppError::new(
            AppErrorKind::UnknownMethod,
            format!(
                "{} is not served while the server requires a token",
                header.name
            ),
        ))
    } else if is_demo {
        demo_call(method, &args)
    } else {
        match call(dispatcher, hosted, service_name, method, &args).await {
            Ok(value) => Outcome::Success(value),
            Err(error) => Outcome::Application(error),
        }
    };
    if function.oneway {
        return Ok(None);
    }
    Ok(Some(
        encode_reply(schema, protocol, method, function, &outcome, header.seq).unwrap_or_else(
            |error| {
                encode_app_error(
                    protocol,
                    method,
                    header.seq,
                    &AppError::new(
                        AppErrorKind::InternalError,
                        format!("cannot encode the reply: {error}"),
                    ),
                )
            },
        ),
    ))
}

/// The rich demo's service (`BaseService` functions are inherited).
const DEMO_SERVICE: &str = "RichService";

/// `RichService` of the demo IDL.
fn demo_call(method: &str, args: &Value) -> Outcome {
    let demo_error = |code: i64, message: &str| Outcome::Declared {
        name: "error".into(),
        value: json!({"code": code, "message": message}),
    };
    match method {
        "ping" => Outcome::Success(json!("pong")),
        "echo" => Outcome::Success(args.get("rich").cloned().unwrap_or(Value::Null)),
        "add" => {
            let number = |name: &str| args.get(name).and_then(Value::as_i64).unwrap_or_default();
            match number("a").checked_add(number("b")) {
                Some(sum) => Outcome::Success(json!(sum)),
                None => demo_error(1, "the sum overflows i64"),
            }
        }
        "fail" => demo_error(
            args.get("code").and_then(Value::as_i64).unwrap_or_default(),
            "fail() always fails",
        ),
        // `notify` is oneway: nothing is sent back.
        _ => Outcome::Success(Value::Null),
    }
}

/// As the peer: typed-service failures are `TApplicationException`s
/// (INTERNAL_ERROR) whose message is the `RpcError` JSON.
fn rpc_app_error(error: &RpcError) -> AppError {
    AppError::new(
        AppErrorKind::InternalError,
        serde_json::to_string(error).unwrap_or_else(|_| error.message.clone()),
    )
}

fn requests(args: &Value, limits: &Limits) -> Result<Vec<AduibRequest>, RpcError> {
    let Some(items) = args.get("requests").and_then(Value::as_array) else {
        return Err(RpcError::new(
            ErrorCode::MissingRequiredField,
            "`requests` is required",
        ));
    };
    if items.len() > limits.max_stream_items {
        return Err(too_many_items(limits.max_stream_items));
    }
    items.iter().map(request_from_thrift).collect()
}

/// A client stream's `requests`, each authorized, folded into one request.
fn client_stream(args: &Value, hosted: &Hosted) -> Result<AduibRequest, RpcError> {
    let requests = requests(args, &hosted.limits)?
        .into_iter()
        .map(|request| authorized(&hosted.access, request))
        .collect::<Result<Vec<_>, _>>()?;
    fold_client_stream(requests)
}

/// Thrift carries the server token in the envelope: `metadata.auth.credentials`.
fn authorized(access: &Access, request: AduibRequest) -> Result<AduibRequest, RpcError> {
    access.check_call(None, &request)?;
    Ok(request)
}

fn too_many_items(limit: usize) -> RpcError {
    RpcError::new(
        ErrorCode::RequestTooLarge,
        format!("a stream may hold at most {limit} messages"),
    )
}

async fn call(
    dispatcher: &Dispatcher,
    hosted: &Hosted,
    service: &str,
    method: &str,
    args: &Value,
) -> Result<Value, AppError> {
    let limits = &hosted.limits;
    let single = || match args.get("request") {
        Some(request) => request_from_thrift(request).and_then(|r| authorized(&hosted.access, r)),
        None => Err(RpcError::new(
            ErrorCode::MissingRequiredField,
            "`request` is required",
        )),
    };
    let failure = |error: RpcError| aduib_core::AduibResponse::failure("", error);
    // Thrift returns a stream whole, so it is bounded: past the limit the
    // stream is dropped (which stops its handler) and an error ends the list.
    let max_items = limits.max_stream_items;
    let collect = |request: AduibRequest| async move {
        let mut stream = dispatcher.stream(request);
        let mut responses = Vec::new();
        while let Some(response) = stream.next().await {
            if responses.len() == max_items {
                let error = RpcError::new(
                    ErrorCode::ResourceExhausted,
                    format!(
                        "the stream has more than {max_items} items; Thrift returns streams \
                         whole, use gRPC, JSON-RPC or REST for longer ones"
                    ),
                );
                responses.push(response_to_thrift(&failure(error)));
                break;
            }
            responses.push(response_to_thrift(&response));
        }
        Value::Array(responses)
    };
    Ok(match (service, method) {
        ("AduibRpcService", "Call") => response_to_thrift(&match single() {
            Ok(request) => dispatcher.call(request).await,
            Err(error) => failure(error),
        }),
        ("AduibRpcService", "CallServerStream") => match single() {
            Ok(request) => collect(request).await,
            Err(error) => json!([response_to_thrift(&failure(error))]),
        },
        ("AduibRpcService", "CallClientStream") => {
            response_to_thrift(&match client_stream(args, hosted) {
                Ok(request) => dispatcher.call(request).await,
                Err(error) => failure(error),
            })
        }
        ("AduibRpcService", "CallBidirectional") => match client_stream(args, hosted) {
            Ok(request) => collect(request).await,
            Err(error) => json!([response_to_thrift(&failure(error))]),
        },
        ("HealthService", "Check" | "Watch") => {
            let service = args
                .get("request")
                .and_then(|r| r.get("service_name"))
                .and_then(Value::as_str);
            let health = health_to_thrift(&dispatcher.health(service));
            if method == "Watch" {
                json!([health])
            } else {
                health
            }
        }
        ("TaskService", op) => task_service(dispatcher, hosted, op, args)
            .await
            .map_err(|error| rpc_app_error(&error))?,
        _ => {
            return Err(rpc_app_error(&RpcError::new(
                ErrorCode::NotImplemented,
                format!("{service}.{method} is not served yet"),
            )));
        }
    })
}

/// `TaskService` over Thrift: Submit takes the request to run as
/// `params_json`; Subscribe answers the task's events as a list once it ends
/// (Thrift has no streams), as the peer's IDL has it. Thrift carries the
/// server token only in envelopes, so with a token only Submit is allowed.
async fn task_service(
    dispatcher: &Dispatcher,
    hosted: &Hosted,
    op: &str,
    args: &Value,
) -> Result<Value, RpcError> {
    let request = args.get("request").cloned().unwrap_or(Value::Null);
    let task_id = || required_task_id(request.get("task_id"), "request.task_id");
    if op != "Submit" {
        let carrier =
            AduibRequest::new(String::new(), "rpc.v2/TaskService/Call", Default::default());
        hosted.access.check_call(None, &carrier)?;
    }
    let tasks = dispatcher.tasks();
    Ok(match op {
        "Submit" => {
            let text = request
                .get("params_json")
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    RpcError::new(
                        ErrorCode::MissingRequiredField,
                        "params_json must hold the Aduib request to run",
                    )
                    .with_field("request.params_json", "missing")
                })?;
            let inner: Value = serde_json::from_str(text).map_err(|e| {
                RpcError::new(ErrorCode::SerializationError, format!("params_json: {e}"))
                    .with_field("request.params_json", "not JSON")
            })?;
            let inner = authorized(&hosted.access, AduibRequest::from_value(inner)?)?;
            let priority = request
                .get("priority")
                .and_then(Value::as_str)
                .and_then(priority_from_name);
            let task = dispatcher.submit_task(inner, priority)?;
            json!({
                "task_id": task.task_id,
                "status": task_status_name(task.status),
                "created_at_ms": task.created_at_ms,
            })
        }
        "Query" => json!({ "task": task_to_thrift(&tasks.get(&task_id()?)?) }),
        "Cancel" => {
            let (task, canceled) = tasks.cancel(&task_id()?)?;
            json!({
                "task_id": task.task_id,
                "status": task_status_name(task.status),
                "canceled": canceled,
            })
        }
        "Subscribe" => {
            let events: Vec<Value> = tasks
                .subscribe(&task_id()?)?
                .map(|event| {
                    json!({
                        "event": event.event,
                        "task": task_to_thrift(&event.task),
                        "timestamp_ms": event.timestamp_ms,
                    })
                })
                .collect()
                .await;
            Value::Array(events)
        }
        other => {
            return Err(RpcError::new(
                ErrorCode::MethodNotFound,
                format!("TaskService has no function {other:?}"),
            ));
        }
    })
}
