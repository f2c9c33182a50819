//! JSON-RPC 2.0 frontend: `POST /aduib_rpc`.
//!
//! Replies are always HTTP 200. A failure is a JSON-RPC `error` whose code is
//! the Aduib code and whose `data` is the `RpcError`. Server streams are SSE
//! with one JSON-RPC response per frame; the stream ends when the response
//! closes. Batches are answered per JSON-RPC 2.0 (the peer answers them with
//! HTTP 500; we do not copy that).

use aduib_core::jsonrpc::{JSONRPC_PATH, JsonRpcId, JsonRpcResponse};
use aduib_core::method::METHOD_PREFIX;
use aduib_core::{AduibRequest, AduibResponse, ErrorCode, RpcError};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::stream::{self, StreamExt};
use http::HeaderMap;
use serde_json::Value;

use super::{FrontendState, read_json_body};
use crate::sse::{sse_response, wants_event_stream};

const CALL: &str = "rpc.v2/AduibRpcService/Call";
const CALL_SERVER_STREAM: &str = "rpc.v2/AduibRpcService/CallServerStream";
const CALL_CLIENT_STREAM: &str = "rpc.v2/AduibRpcService/CallClientStream";
const CALL_BIDIRECTIONAL: &str = "rpc.v2/AduibRpcService/CallBidirectional";
const HEALTH_CHECK: &str = "rpc.v2/HealthService/Check";
const HEALTH_WATCH: &str = "rpc.v2/HealthService/Watch";
const TASK_SERVICE: &str = "rpc.v2/TaskService/";

pub fn router(state: FrontendState) -> Router {
    Router::new()
        .route(JSONRPC_PATH, post(handle))
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Browser-origin rules, before anything is read. (The token is checked per
/// call, in [`plan`]: it may travel in the envelope, and health is open.)
async fn guard(
    State(state): State<FrontendState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match state.access.check_browser(request.headers(), request.uri()) {
        Err(refusal) => {
            let error = JsonRpcResponse::aduib_error(JsonRpcId::Null, &refusal.error);
            let mut response = json(&error);
            *response.status_mut() = refusal.status;
            response
        }
        Ok(()) => next.run(request).await,
    }
}

/// What one JSON-RPC request asks for, once validated.
enum Plan {
    Unary(JsonRpcId, AduibRequest),
    Stream(JsonRpcId, AduibRequest),
    Health {
        id: JsonRpcId,
        service: Option<String>,
        watch: bool,
    },
    /// `rpc.v2/TaskService/<op>`, its params as the peer's clients send them.
    Task {
        id: JsonRpcId,
        op: String,
        params: Value,
    },
    Fail(JsonRpcId, RpcError),
}

async fn handle(State(state): State<FrontendState>, headers: HeaderMap, body: Body) -> Response {
    let value = match read_json_body(&headers, body, &state.limits).await {
        Ok(value) => value,
        Err(error) => return json(&JsonRpcResponse::aduib_error(JsonRpcId::Null, &error)),
    };
    match value {
        Value::Array(items) => batch(&state, &headers, items).await,
        single => match plan(single, &headers, Member::Single, &state) {
            Plan::Stream(id, request) => {
                let frames = state
                    .dispatcher
                    .stream(request)
                    .map(move |response| frame(&to_jsonrpc(id.clone(), response)))
                    .boxed();
                sse_response(frames, state.keep_alive)
            }
            Plan::Task { id, op, params } if op == "Subscribe" => {
                match state.dispatcher.task_events(&params) {
                    Ok(events) => sse_response(
                        events
                            .map(move |event| frame(&JsonRpcResponse::result(id.clone(), event)))
                            .boxed(),
                        state.keep_alive,
                    ),
                    Err(error) => json(&JsonRpcResponse::aduib_error(id, &error)),
                }
            }
            Plan::Health {
                id,
                service,
                watch: true,
            } => {
                let reply =
                    JsonRpcResponse::result(id, state.dispatcher.health(service.as_deref()));
                sse_response(
                    stream::once(async move { frame(&reply) }).boxed(),
                    state.keep_alive,
                )
            }
            unary => json(&run(&state, unary).await),
        },
    }
}

async fn batch(state: &FrontendState, headers: &HeaderMap, items: Vec<Value>) -> Response {
    if items.is_empty() {
        let error = RpcError::new(
            ErrorCode::InvalidMessage,
            "a JSON-RPC batch must not be empty",
        );
        return json(&JsonRpcResponse::aduib_error(JsonRpcId::Null, &error));
    }
    if items.len() > state.limits.max_batch {
        let error = RpcError::new(
            ErrorCode::RequestTooLarge,
            format!(
                "a JSON-RPC batch may hold at most {} calls, this one has {}",
                state.limits.max_batch,
                items.len()
            ),
        );
        return json(&JsonRpcResponse::aduib_error(JsonRpcId::Null, &error));
    }
    let plans = items
        .into_iter()
        .map(|item| match plan(item, headers, Member::OfBatch, state) {
            Plan::Stream(id, _)
            | Plan::Health {
                id, watch: true, ..
            } => Plan::Fail(
                id,
                RpcError::new(
                    ErrorCode::BadRequest,
                    "a streaming call cannot be part of a batch; send it on its own",
                ),
            ),
            Plan::Task { id, op, .. } if op == "Subscribe" => Plan::Fail(
                id,
                RpcError::new(
                    ErrorCode::BadRequest,
                    "a streaming call cannot be part of a batch; send it on its own",
                ),
            ),
            other => other,
        });
    // In order, a few at a time: a batch must not start a thousand calls at once.
    let replies: Vec<JsonRpcResponse> = stream::iter(plans)
        .map(|plan| run(state, plan))
        .buffered(state.limits.batch_concurrency.max(1))
        .collect()
        .await;
    json(&replies)
}

async fn run(state: &FrontendState, plan: Plan) -> JsonRpcResponse {
    match plan {
        Plan::Unary(id, request) => to_jsonrpc(id, state.dispatcher.call(request).await),
        Plan::Health { id, service, .. } => {
            JsonRpcResponse::result(id, state.dispatcher.health(service.as_deref()))
        }
        Plan::Task { id, op, params } => match state.dispatcher.task_service(&op, &params) {
            Ok(reply) => JsonRpcResponse::result(id, reply),
            Err(error) => JsonRpcResponse::aduib_error(id, &error),
        },
        Plan::Fail(id, error) => JsonRpcResponse::aduib_error(id, &error),
        Plan::Stream(id, _) => JsonRpcResponse::aduib_error(
            id,
            &RpcError::new(ErrorCode::InternalError, "stream planned as unary"),
        ),
    }
}

/// Whether a request is the whole body or one member of a batch (which
/// never streams).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Member {
    Single,
    OfBatch,
}

fn plan(value: Value, headers: &HeaderMap, member: Member, state: &FrontendState) -> Plan {
    let Value::Object(mut fields) = value else {
        return Plan::Fail(
            JsonRpcId::Null,
            RpcError::new(
                ErrorCode::InvalidMessage,
                "a JSON-RPC request must be an object",
            ),
        );
    };
    let id = match fields.remove("id") {
        None => {
            return Plan::Fail(
                JsonRpcId::Null,
                RpcError::invalid_params("a JSON-RPC request needs an `id`")
                    .with_field("id", "missing"),
            );
        }
        Some(Value::String(s)) => JsonRpcId::Str(s),
        Some(Value::Number(n)) => JsonRpcId::Num(n),
        Some(Value::Null) => JsonRpcId::Null,
        Some(_) => {
            return Plan::Fail(
                JsonRpcId::Null,
                RpcError::new(
                    ErrorCode::InvalidFieldValue,
                    "`id` must be a string or a number",
                )
                .with_field("id", "wrong type"),
            );
        }
    };
    if fields.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Plan::Fail(
            id,
            RpcError::new(ErrorCode::ProtocolError, "`jsonrpc` must be \"2.0\"")
                .with_field("jsonrpc", "must be \"2.0\""),
        );
    }
    let method = match fields.remove("method") {
        Some(Value::String(method)) => method,
        _ => {
            return Plan::Fail(
                id,
                RpcError::new(ErrorCode::MissingRequiredField, "`method` must be a string")
                    .with_field("method", "missing or not a string"),
            );
        }
    };
    if !method.starts_with(METHOD_PREFIX) {
        return Plan::Fail(
            id,
            RpcError::new(
                ErrorCode::MethodNotFound,
                format!("JSON-RPC method {method:?} must start with {METHOD_PREFIX:?}"),
            ),
        );
    }
    let params = fields.remove("params");
    match method.as_str() {
        HEALTH_CHECK | HEALTH_WATCH => {
            let service = params
                .as_ref()
                .and_then(|p| p.get("service"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            return Plan::Health {
                id,
                service,
                watch: method == HEALTH_WATCH,
            };
        }
        CALL_CLIENT_STREAM | CALL_BIDIRECTIONAL => {
            return Plan::Fail(
                id,
                RpcError::new(
                    ErrorCode::NotImplemented,
                    format!(
                        "{method} needs a streaming transport (gRPC); JSON-RPC cannot carry it"
                    ),
                ),
            );
        }
        m if m.starts_with(TASK_SERVICE) => {
            let op = m[TASK_SERVICE.len()..].to_owned();
            let params = params.unwrap_or(Value::Object(serde_json::Map::new()));
            // A submitted request may carry the token in its envelope.
            let carrier = match params.get("params").cloned().map(AduibRequest::from_value) {
                Some(Ok(inner)) => inner,
                _ => AduibRequest::new(String::new(), m, serde_json::Map::new()),
            };
            if let Err(error) = state.access.check_call(Some(headers), &carrier) {
                return Plan::Fail(id, error);
            }
            return Plan::Task { id, op, params };
        }
        _ => {}
    }
    let request = match params {
        Some(params) => match AduibRequest::from_value(params) {
            Ok(request) => request,
            Err(error) => return Plan::Fail(id, error),
        },
        None => {
            return Plan::Fail(
                id,
                RpcError::new(
                    ErrorCode::MissingRequiredField,
                    "`params` must hold the Aduib request",
                )
                .with_field("params", "missing"),
            );
        }
    };
    if let Err(error) = state.access.check_call(Some(headers), &request) {
        return Plan::Fail(id, error);
    }
    let wants_stream = member == Member::Single && wants_event_stream(headers);
    let stream = match method.as_str() {
        CALL => wants_stream,
        CALL_SERVER_STREAM => true,
        // A plain call streams when its function does, as with the peer.
        _ => wants_stream || state.dispatcher.is_streaming(&request.method),
    };
    if stream {
        Plan::Stream(id, request)
    } else {
        Plan::Unary(id, request)
    }
}

/// A success becomes `result`; a failure the JSON-RPC `error` the peer sends.
fn to_jsonrpc(id: JsonRpcId, response: AduibResponse) -> JsonRpcResponse {
    match (&response.error, response.is_success()) {
        (Some(error), false) => JsonRpcResponse::aduib_error(id, error),
        _ => match serde_json::to_value(&response) {
            Ok(value) => JsonRpcResponse::result(id, value),
            Err(e) => JsonRpcResponse::aduib_error(
                id,
                &RpcError::new(ErrorCode::SerializationError, e.to_string()),
            ),
        },
    }
}

fn frame<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|e| {
        format!(
            r#"{{"id":null,"jsonrpc":"2.0","error":{{"code":1003,"message":{}}}}}"#,
            Value::String(e.to_string())
        )
    })
}

fn json<T: serde::Serialize>(value: &T) -> Response {
    (
        [(http::header::CONTENT_TYPE, "application/json")],
        frame(value),
    )
        .into_response()
}
