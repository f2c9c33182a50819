//! Raw requests to any server: any HTTP request, any JSON-RPC 2.0 payload.
//! Event-stream replies arrive as events, whatever the server.

use std::time::Duration;

use aduib_core::sse::SseEvent;
use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
pub use reqwest::Method;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use serde_json::Value;

use crate::aduib::{header_map, snippet};
use crate::error::ClientError;
use crate::sse;

/// An HTTP request as a person composes it.
#[derive(Debug, Clone)]
pub struct HttpRequestSpec {
    pub method: Method,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Bytes>,
    /// Deadline for the whole exchange, body or stream included.
    pub timeout: Option<Duration>,
}

/// The body of a reply: whole, or events as they arrive.
pub enum ReplyBody {
    Full(Bytes),
    Events(BoxStream<'static, Result<SseEvent, ClientError>>),
}

impl std::fmt::Debug for ReplyBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplyBody::Full(bytes) => write!(f, "Full({} bytes)", bytes.len()),
            ReplyBody::Events(_) => f.write_str("Events(..)"),
        }
    }
}

/// What came back.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    /// Headers in arrival order; values that are not text are shown lossily.
    pub headers: Vec<(String, String)>,
    pub body: ReplyBody,
}

/// Sends any HTTP request.
#[derive(Debug, Clone)]
pub struct RawClient {
    http: reqwest::Client,
    /// Largest reply body, or event, read.
    max_body_bytes: usize,
}

impl RawClient {
    pub fn new() -> Result<Self, ClientError> {
        RawClient::with_tls(None)
    }

    /// A client whose `https://` requests use `tls` instead of the system
    /// roots alone.
    pub fn with_tls(tls: Option<&crate::TlsOptions>) -> Result<Self, ClientError> {
        Ok(RawClient {
            http: crate::http_client(tls)?,
            max_body_bytes: aduib_core::Limits::default().max_body_bytes,
        })
    }

    pub async fn send(&self, spec: HttpRequestSpec) -> Result<HttpReply, ClientError> {
        let url = reqwest::Url::parse(&spec.url).map_err(|e| ClientError::InvalidUrl {
            url: spec.url.clone(),
            reason: e.to_string(),
        })?;
        let mut builder = self
            .http
            .request(spec.method, url)
            .headers(header_map(&spec.headers)?);
        if let Some(body) = spec.body {
            builder = builder.body(body);
        }
        if let Some(timeout) = spec.timeout {
            builder = builder.timeout(timeout);
        }
        let response = builder
            .send()
            .await
            .map_err(|e| ClientError::from_reqwest(&spec.url, spec.timeout, e))?;
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect();
        let body = if sse::is_event_stream(&response) {
            ReplyBody::Events(sse::events(response, spec.timeout, self.max_body_bytes))
        } else {
            ReplyBody::Full(sse::read_body(response, spec.timeout, self.max_body_bytes).await?)
        };
        Ok(HttpReply {
            status,
            headers,
            body,
        })
    }

    /// Posts a JSON-RPC 2.0 payload (a request, a notification or a batch) to
    /// `url` as it is.
    pub async fn jsonrpc(
        &self,
        url: &str,
        payload: &Value,
        headers: &[(String, String)],
        timeout: Option<Duration>,
    ) -> Result<JsonRpcReply, ClientError> {
        let mut headers = headers.to_vec();
        headers.push((CONTENT_TYPE.to_string(), "application/json".to_owned()));
        headers.push((
            ACCEPT.to_string(),
            "application/json, text/event-stream".to_owned(),
        ));
        let body = serde_json::to_vec(payload).map_err(|e| ClientError::Encode(e.to_string()))?;
        let reply = self
            .send(HttpRequestSpec {
                method: Method::POST,
                url: url.to_owned(),
                headers,
                body: Some(body.into()),
                timeout,
            })
            .await?;
        let url = url.to_owned();
        match reply.body {
            ReplyBody::Events(events) => Ok(JsonRpcReply::Events(
                events
                    .map(|event| event.map(|e| parse_or_string(&e.data)))
                    .boxed(),
            )),
            ReplyBody::Full(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => {
                if (200..300).contains(&reply.status) {
                    Ok(JsonRpcReply::Empty)
                } else {
                    Err(ClientError::HttpStatus {
                        url,
                        status: reply.status,
                        body: String::new(),
                    })
                }
            }
            ReplyBody::Full(bytes) => match serde_json::from_slice(&bytes) {
                Ok(value) => Ok(JsonRpcReply::Json(value)),
                Err(_) if !(200..300).contains(&reply.status) => Err(ClientError::HttpStatus {
                    url,
                    status: reply.status,
                    body: snippet(&bytes),
                }),
                Err(e) => Err(ClientError::BadReply {
                    url,
                    reason: format!("not JSON ({e}): {}", snippet(&bytes)),
                }),
            },
        }
    }
}

/// A JSON-RPC reply: a response or batch, nothing (notifications), or events.
pub enum JsonRpcReply {
    Json(Value),
    Empty,
    Events(BoxStream<'static, Result<Value, ClientError>>),
}

impl std::fmt::Debug for JsonRpcReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            JsonRpcReply::Json(v) => write!(f, "Json({v})"),
            JsonRpcReply::Empty => f.write_str("Empty"),
            JsonRpcReply::Events(_) => f.write_str("Events(..)"),
        }
    }
}

/// Whether a JSON-RPC response (or any member of a batch) is an error.
pub fn jsonrpc_has_error(value: &Value) -> bool {
    match value {
        Value::Array(items) => items.iter().any(jsonrpc_has_error),
        Value::Object(fields) => fields.get("error").is_some_and(|e| !e.is_null()),
        _ => false,
    }
}

fn parse_or_string(data: &str) -> Value {
    serde_json::from_str(data).unwrap_or_else(|_| Value::String(data.to_owned()))
}
