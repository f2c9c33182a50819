//! Aduib calls and raw JSON-RPC and HTTP requests, reported as events.

use std::time::Duration;

use aduib_client::TlsOptions;
use aduib_client::raw::Method;
use aduib_client::stack::{Auth, RetryPolicy, Route, ServiceClient, ServiceTarget, StackConfig};
use aduib_client::{
    AduibClient, ClientConfig, HttpRequestSpec, JsonRpcReply, ReplyBody, Transport,
    jsonrpc_has_error,
};
use aduib_core::{AduibRequest, AduibResponse, MethodName};
use aduib_registry::balance::Strategy;
use futures::{FutureExt, StreamExt};
use serde_json::{Map, Value, json};
use std::sync::Arc;
use tokio::sync::mpsc;

use crate::Caches;
use crate::error::WorkbenchError;
use crate::event::{CallStatus, EventBody};
use crate::exchange::{Emitter, Input, request_messages};
use crate::request::{
    AduibCall, AduibTransport, CallMode, Discovery, Header, HttpCall, JsonRpcCall,
};

impl Caches {
    /// One client (and its connection pool) per target and settings.
    pub(crate) fn aduib_client(&self, call: &AduibCall) -> Result<AduibClient, WorkbenchError> {
        let key = crate::cache_key(&(call.transport, &call.url, &call.options, &call.tls));
        let mut clients = self.lock_aduib();
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = AduibClient::new(client_config(call))?;
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// How to reach the server `call` names, with its options.
pub(crate) fn client_config(call: &AduibCall) -> ClientConfig {
    let mut limits = aduib_core::Limits::default();
    if let Some(max) = call.options.max_message_bytes {
        limits.max_grpc_message_bytes = usize::try_from(max).unwrap_or(usize::MAX);
    }
    ClientConfig {
        transport: match call.transport {
            AduibTransport::Jsonrpc => Transport::JsonRpc,
            AduibTransport::Rest => Transport::Rest,
            AduibTransport::Grpc => Transport::Grpc,
            AduibTransport::Thrift => Transport::Thrift,
        },
        url: call.url.clone(),
        headers: Header::pairs(&call.options.headers),
        timeout: call.options.timeout_ms.map(Duration::from_millis),
        limits,
        tls: call.tls.as_ref().map(TlsOptions::from),
    }
}

/// The Aduib request of a unary or server-stream `call`.
pub(crate) fn aduib_request(call: &AduibCall) -> Result<AduibRequest, WorkbenchError> {
    let method = MethodName::parse_lenient(&call.method)
        .map_err(|e| WorkbenchError::bad_input(format!("method {:?}: {e}", call.method)))?
        .to_string();
    let id = call
        .id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    Ok(AduibRequest::new(
        id,
        method,
        object(call.data.clone(), "data")?,
    ))
}

fn object(value: Value, what: &str) -> Result<Map<String, Value>, WorkbenchError> {
    match value {
        Value::Object(map) => Ok(map),
        other => Err(WorkbenchError::bad_input(format!(
            "{what} must be a JSON object, got {}",
            aduib_core::envelope::json_kind(&other)
        ))),
    }
}

pub(crate) async fn aduib(
    caches: &Caches,
    call: &AduibCall,
    emitter: &Emitter,
    input: mpsc::UnboundedReceiver<Input>,
) -> Result<(), WorkbenchError> {
    if let Some(discovery) = &call.discovery {
        return discovered(caches, call, discovery, emitter).await;
    }
    let first = aduib_request(call)?;
    let client = caches.aduib_client(call)?;
    let mut verdict = Verdict::default();
    match call.mode {
        CallMode::Unary | CallMode::ServerStream => {
            let request = first;
            emitter.sent(to_json(&request));
            if call.mode == CallMode::Unary {
                verdict.report(emitter, client.call(&request).boxed().await?);
            } else {
                let mut responses = client.stream(&request).boxed().await?;
                while let Some(response) = responses.next().await {
                    verdict.report(emitter, response?);
                }
            }
        }
        CallMode::ClientStream | CallMode::Bidi => {
            for (i, data) in call.messages.iter().enumerate() {
                object(data.clone(), &format!("message {}", i + 1))?;
            }
            let messages = request_messages(call.messages.clone(), input, call.interactive);
            let (id, method) = (first.id.unwrap_or_default(), first.method);
            let sender = emitter.clone();
            let mut n = 0;
            let requests = messages
                .filter_map(move |data| {
                    n += 1;
                    let request = match data {
                        Value::Object(data) => {
                            let request =
                                AduibRequest::new(format!("{id}-{n}"), method.clone(), data);
                            sender.sent(to_json(&request));
                            Some(request)
                        }
                        // `ExchangeHandle::send_message` lets only objects through.
                        _ => None,
                    };
                    std::future::ready(request)
                })
                .boxed();
            if call.mode == CallMode::ClientStream {
                verdict.report(emitter, client.client_stream(requests).boxed().await?);
            } else {
                let mut responses = client.bidirectional(requests).boxed().await?;
                while let Some(response) = responses.next().await {
                    verdict.report(emitter, response?);
                }
            }
        }
    }
    emitter.status(verdict.status());
    Ok(())
}

/// A unary call or a server stream to a service found in a registry,
/// through the client stack.
async fn discovered(
    caches: &Caches,
    call: &AduibCall,
    discovery: &Discovery,
    emitter: &Emitter,
) -> Result<(), WorkbenchError> {
    if !matches!(call.mode, CallMode::Unary | CallMode::ServerStream) {
        return Err(WorkbenchError::bad_input(
            "client and bidi streams go to one instance: call it by its URL (pick it in the Registry view)",
        ));
    }
    let request = aduib_request(call)?;
    let client = caches.service_client(call, discovery)?;
    emitter.sent(to_json(&request));
    let routed = |route: Route| EventBody::Routed {
        instance: route.instance,
        attempts: route.attempts,
        stale: route.stale,
    };
    let mut verdict = Verdict::default();
    let opened = match call.mode {
        CallMode::ServerStream => client.stream(&request).await.map(|(responses, route)| {
            emitter.emit(routed(route));
            Some(responses)
        }),
        _ => client.call(&request).await.map(|(response, route)| {
            emitter.emit(routed(route));
            verdict.report(emitter, response);
            None
        }),
    };
    match opened {
        Ok(responses) => {
            if let Some(mut responses) = responses {
                while let Some(response) = responses.next().await {
                    verdict.report(emitter, response?);
                }
            }
            emitter.status(verdict.status());
            Ok(())
        }
        Err(failure) => {
            if let Some(route) = failure.route {
                emitter.emit(routed(route));
            }
            Err(failure.error.into())
        }
    }
}

impl Caches {
    /// One stack (and its balancer's state) per service and settings.
    fn service_client(
        &self,
        call: &AduibCall,
        discovery: &Discovery,
    ) -> Result<ServiceClient, WorkbenchError> {
        let key = crate::cache_key(&(call.transport, discovery, &call.options, &call.tls));
        let mut clients = self.lock_services();
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let bad = |what: &str, e: String| WorkbenchError::bad_input(format!("{what}: {e}"));
        let (registry, scope) = crate::discovery::RegistryTarget::of(discovery).open()?;
        let strategy: Strategy = discovery.strategy.parse().map_err(|e| bad("strategy", e))?;
        let auth = discovery
            .auth
            .as_deref()
            .map(Auth::parse)
            .transpose()
            .map_err(|e| bad("auth", e))?;
        let config = client_config(call);
        let client = ServiceClient::new(
            Arc::new(registry),
            StackConfig {
                target: ServiceTarget {
                    scope,
                    service: discovery.service.clone(),
                    strategy,
                    instance: discovery.instance.clone(),
                    transport: (!discovery.any_transport).then_some(config.transport),
                    hash_field: None,
                },
                retry: RetryPolicy::new(discovery.retries.saturating_add(1), discovery.idempotent),
                timeout: config.timeout,
                auth,
                headers: config.headers,
                limits: config.limits,
                tls: config.tls,
                refresh: Duration::from_secs(5),
            },
        );
        clients.insert(key, client.clone());
        Ok(client)
    }
}

/// The status of a call: the first Aduib error among its responses, else OK.
#[derive(Default)]
struct Verdict(Option<CallStatus>);

impl Verdict {
    fn report(&mut self, emitter: &Emitter, response: AduibResponse) {
        if self.0.is_none()
            && let Some(error) = response.error.as_ref().filter(|_| !response.is_success())
        {
            self.0 = Some(CallStatus::error(
                i64::from(error.code),
                error.name.clone(),
                error.message.clone(),
            ));
        }
        emitter.received(to_json(&response), None);
    }

    fn status(self) -> CallStatus {
        self.0.unwrap_or_else(CallStatus::ok)
    }
}

fn to_json<T: serde::Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

pub(crate) async fn jsonrpc(
    caches: &Caches,
    call: &JsonRpcCall,
    emitter: &Emitter,
) -> Result<(), WorkbenchError> {
    emitter.sent(call.payload.clone());
    let reply = caches
        .raw
        .jsonrpc(
            &call.url,
            &call.payload,
            &Header::pairs(&call.options.headers),
            call.options.timeout_ms.map(Duration::from_millis),
        )
        .await?;
    let mut status = CallStatus::ok();
    let mut judge = |value: &Value| {
        if status.ok && jsonrpc_has_error(value) {
            status = jsonrpc_error_status(value);
        }
    };
    match reply {
        JsonRpcReply::Empty => {}
        JsonRpcReply::Json(value) => {
            judge(&value);
            emitter.received(value, None);
        }
        JsonRpcReply::Events(mut events) => {
            while let Some(value) = events.next().await {
                let value = value?;
                judge(&value);
                emitter.received(value, None);
            }
        }
    }
    emitter.status(status);
    Ok(())
}

/// The first error of a JSON-RPC response or batch.
fn jsonrpc_error_status(value: &Value) -> CallStatus {
    let first = match value {
        Value::Array(items) => items.iter().find(|v| jsonrpc_has_error(v)),
        other => Some(other),
    };
    let error = first
        .and_then(|v| v.get("error"))
        .cloned()
        .unwrap_or(Value::Null);
    CallStatus {
        ok: false,
        code: error.get("code").and_then(Value::as_i64),
        name: error
            .pointer("/data/name")
            .and_then(Value::as_str)
            .map(str::to_owned),
        message: error
            .get("message")
            .and_then(Value::as_str)
            .map(str::to_owned),
    }
}

pub(crate) async fn http(
    caches: &Caches,
    call: &HttpCall,
    emitter: &Emitter,
) -> Result<(), WorkbenchError> {
    let method = Method::from_bytes(call.method.to_uppercase().as_bytes()).map_err(|_| {
        WorkbenchError::bad_input(format!("{:?} is not an HTTP method", call.method))
    })?;
    if let Some(body) = &call.body {
        let shown = serde_json::from_str(body).unwrap_or_else(|_| json!(body));
        emitter.emit(EventBody::Sent {
            body: shown,
            size: body.len() as u64,
        });
    }
    let reply = caches
        .raw
        .send(HttpRequestSpec {
            method,
            url: call.url.clone(),
            headers: Header::pairs(&call.options.headers),
            body: call.body.clone().map(Into::into),
            timeout: call.options.timeout_ms.map(Duration::from_millis),
        })
        .await?;
    emitter.emit(EventBody::Headers {
        status: Some(reply.status),
        headers: reply
            .headers
            .iter()
            .map(|(name, value)| Header::new(name, value))
            .collect(),
    });
    match reply.body {
        ReplyBody::Full(bytes) => {
            let body = serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
            emitter.received(body, Some(bytes.len() as u64));
        }
        ReplyBody::Events(mut events) => {
            while let Some(event) = events.next().await {
                let event = event?;
                let size = event.data.len() as u64;
                emitter.received(
                    json!({
                        "event": event.event.as_deref().unwrap_or("message"),
                        "id": event.id,
                        "data": event.data,
                    }),
                    Some(size),
                );
            }
        }
    }
    emitter.status(if (200..300).contains(&reply.status) {
        CallStatus::ok()
    } else {
        CallStatus {
            ok: false,
            code: Some(i64::from(reply.status)),
            name: http::StatusCode::from_u16(reply.status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .map(str::to_owned),
            message: None,
        }
    });
    Ok(())
}
