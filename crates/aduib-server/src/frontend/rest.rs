//! REST frontend: `POST /aduib_rpc/v2/...`.
//!
//! Unary routes answer an `AduibResponse` as JSON, with the HTTP status mapped
//! from the error code. Stream routes answer SSE whose frames are
//! `AduibResponse`s written in Python's JSON layout, byte-for-byte as the peer.
//! Every error, unknown routes included, has an Aduib error body.

use aduib_core::pyjson::to_python_string;
use aduib_core::rest;
use aduib_core::{AduibRequest, AduibResponse, ErrorCode, RpcError};
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use futures::stream::{self, StreamExt};
use http::{HeaderMap, StatusCode};
use serde_json::Value;

use super::{FrontendState, read_json_body};
use crate::dispatch::ResponseStream;
use crate::sse::sse_response;

pub fn router(state: FrontendState) -> Router {
    Router::new()
        .route(rest::RPC, post(unary))
        .route(rest::CALL, post(unary))
        .route(rest::RPC_STREAM, post(server_stream))
        .route(rest::CALL_SERVER_STREAM, post(server_stream))
        .route(rest::CALL_CLIENT_STREAM, post(client_stream))
        .route(rest::CALL_BIDIRECTIONAL, post(bidirectional))
        .route(rest::HEALTH_CHECK, post(health_check))
        .route(rest::HEALTH_WATCH, post(health_watch))
        .route("/aduib_rpc/v2/TaskService/{op}", post(task_service))
        .method_not_allowed_fallback(method_not_allowed)
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), guard))
        .with_state(state)
}

/// Browser-origin rules, before anything is read. (The token is checked per
/// call, in [`read_request`]: it may travel in the envelope, and health is
/// open.)
async fn guard(
    State(state): State<FrontendState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match state.access.check_browser(request.headers(), request.uri()) {
        Err(refusal) => {
            let mut response = error_reply(refusal.error);
            *response.status_mut() = refusal.status;
            response
        }
        Ok(()) => next.run(request).await,
    }
}

async fn unary(State(state): State<FrontendState>, headers: HeaderMap, body: Body) -> Response {
    match read_request(&state, &headers, body).await {
        Ok(request) => reply(state.dispatcher.call(request).await),
        Err(error) => error_reply(error),
    }
}

async fn server_stream(
    State(state): State<FrontendState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match read_request(&state, &headers, body).await {
        Ok(request) => sse(&state, state.dispatcher.stream(request)),
        Err(error) => error_reply(error),
    }
}

async fn client_stream() -> Response {
    error_reply(client_streaming_unsupported("CallClientStream"))
}

async fn bidirectional(State(state): State<FrontendState>) -> Response {
    let response = AduibResponse::failure("", client_streaming_unsupported("CallBidirectional"));
    sse(&state, stream::once(async move { response }).boxed())
}

async fn health_check(
    State(state): State<FrontendState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match health_service(&state, &headers, body).await {
        Ok(health) => (StatusCode::OK, axum::Json(health)).into_response(),
        Err(error) => error_reply(error),
    }
}

async fn health_watch(
    State(state): State<FrontendState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match health_service(&state, &headers, body).await {
        Ok(health) => {
            let frame = to_python_string(&health).unwrap_or_default();
            sse_response(stream::once(async move { frame }).boxed(), state.keep_alive)
        }
        Err(error) => error_reply(error),
    }
}

/// `TaskService.<op>`: Submit, Query, Cancel (and ours: Status, Result,
/// List) answer JSON; Subscribe streams the task's events as SSE.
async fn task_service(
    State(state): State<FrontendState>,
    axum::extract::Path(op): axum::extract::Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let params = match read_json_body(&headers, body, &state.limits).await {
        Ok(params) => params,
        Err(error) => return error_reply(error),
    };
    // A submitted request may carry the token in its envelope.
    let carrier = match params.get("params").cloned().map(AduibRequest::from_value) {
        Some(Ok(inner)) => inner,
        _ => AduibRequest::new(
            String::new(),
            format!("rpc.v2/TaskService/{op}"),
            Default::default(),
        ),
    };
    if let Err(error) = state.access.check_call(Some(&headers), &carrier) {
        return error_reply(error);
    }
    if op == "Subscribe" {
        return match state.dispatcher.task_events(&params) {
            Ok(events) => sse_response(
                events
                    .map(|event| to_python_string(&event).unwrap_or_default())
                    .boxed(),
                state.keep_alive,
            ),
            Err(error) => error_reply(error),
        };
    }
    match state.dispatcher.task_service(&op, &params) {
        Ok(reply) => (StatusCode::OK, axum::Json(reply)).into_response(),
        Err(error) => error_reply(error),
    }
}

async fn not_found(uri: http::Uri) -> Response {
    error_reply(RpcError::new(
        ErrorCode::MethodNotFound,
        format!(
            "no REST route {}; routes live under {}",
            uri.path(),
            rest::REST_PREFIX
        ),
    ))
}

async fn method_not_allowed() -> Response {
    let mut response = error_reply(RpcError::new(
        ErrorCode::BadRequest,
        "REST routes accept POST only",
    ));
    *response.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    response
}

async fn read_request(
    state: &FrontendState,
    headers: &HeaderMap,
    body: Body,
) -> Result<AduibRequest, RpcError> {
    let request = AduibRequest::from_value(read_json_body(headers, body, &state.limits).await?)?;
    state.access.check_call(Some(headers), &request)?;
    Ok(request)
}

/// `{"service"?}` → the health answer. An empty body means "the server".
async fn health_service(
    state: &FrontendState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Value, RpcError> {
    let empty = headers
        .get(http::header::CONTENT_LENGTH)
        .is_some_and(|len| len == "0");
    let query = if empty {
        Value::Null
    } else {
        read_json_body(headers, body, &state.limits).await?
    };
    let service = match &query {
        Value::Null => None,
        Value::Object(fields) => match fields.get("service") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.as_str()),
            Some(_) => {
                return Err(RpcError::invalid_params("`service` must be a string")
                    .with_field("service", "wrong type"));
            }
        },
        _ => return Err(RpcError::invalid_params("the body must be a JSON object")),
    };
    Ok(state.dispatcher.health(service))
}

fn client_streaming_unsupported(call: &str) -> RpcError {
    RpcError::new(
        ErrorCode::NotImplemented,
        format!("{call} needs a streaming transport (gRPC); REST cannot carry it"),
    )
}

fn sse(state: &FrontendState, responses: ResponseStream) -> Response {
    let frames = responses
        .map(|response| {
            to_python_string(&response).unwrap_or_else(|e| {
                let error = RpcError::new(ErrorCode::SerializationError, e.to_string());
                to_python_string(&AduibResponse::failure(response.id, error)).unwrap_or_default()
            })
        })
        .boxed();
    sse_response(frames, state.keep_alive)
}

/// A unary answer. An error envelope has the keys the peer's has: no
/// `metadata`, and no `id` when the request's id is unknown.
fn reply(mut response: AduibResponse) -> Response {
    let Some(status) = response
        .error
        .as_ref()
        .filter(|_| !response.is_success())
        .map(status_for)
    else {
        return (StatusCode::OK, axum::Json(response)).into_response();
    };
    response.metadata = None;
    let mut body = serde_json::to_value(&response).unwrap_or_default();
    if response.id.is_empty()
        && let Value::Object(fields) = &mut body
    {
        // Keeps the other keys in order (`remove` would swap the last one in).
        fields.shift_remove("id");
    }
    (status, axum::Json(body)).into_response()
}

fn error_reply(error: RpcError) -> Response {
    reply(AduibResponse::failure("", error))
}

fn status_for(error: &RpcError) -> StatusCode {
    StatusCode::from_u16(error.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}
