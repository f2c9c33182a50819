//! Aduib v2 calls over JSON-RPC and REST.

use std::time::Duration;

use aduib_core::jsonrpc::{JSONRPC_PATH, JsonRpcId, JsonRpcRequest, JsonRpcResponse};
use aduib_core::{AduibRequest, AduibResponse, Limits, rest};
use futures::FutureExt;
use futures::future::BoxFuture;
use futures::stream::{self, BoxStream, StreamExt};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::error::ClientError;
use crate::grpc::GrpcAduib;
use crate::sse;
use crate::task::{TaskEventStream, read_json};
use crate::thrift::ThriftAduib;
use crate::tls::TlsOptions;

/// The Aduib transports this client speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    JsonRpc,
    Rest,
    Grpc,
    Thrift,
}

/// The JSON-RPC method of `HealthService.Check`.
const HEALTH_CHECK_METHOD: &str = "rpc.v2/HealthService/Check";

/// Responses of a server stream, in arrival order.
pub type ResponseStream = BoxStream<'static, Result<AduibResponse, ClientError>>;

/// Requests of a client stream, sent as they are yielded.
pub type RequestStream = BoxStream<'static, AduibRequest>;

/// How to reach one server.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub transport: Transport,
    /// The server's base URL (`http://127.0.0.1:17101`; the transport's path
    /// may be included), or `host:port` for gRPC.
    pub url: String,
    /// Extra HTTP headers sent with every call.
    pub headers: Vec<(String, String)>,
    /// Deadline for a whole exchange, streams included.
    pub timeout: Option<Duration>,
    /// The most a server's replies may make the client hold.
    pub limits: Limits,
    /// TLS for JSON-RPC, REST and gRPC (an `http://` URL is then dialled as
    /// `https://`). Without it, `https://` and `grpcs://` URLs verify
    /// against the system roots.
    pub tls: Option<TlsOptions>,
}

/// A client for one Aduib server. Connections are pooled (HTTP) or
/// multiplexed (gRPC) and reused across calls; clone it freely.
#[derive(Debug, Clone)]
pub struct AduibClient {
    pub(crate) inner: Inner,
}

#[derive(Debug, Clone)]
pub(crate) enum Inner {
    Http(HttpAduib),
    Grpc(GrpcAduib),
    Thrift(std::sync::Arc<ThriftAduib>),
}

impl AduibClient {
    pub fn new(config: ClientConfig) -> Result<Self, ClientError> {
        let inner = match config.transport {
            Transport::Grpc => Inner::Grpc(GrpcAduib::new(&config)?),
            Transport::Thrift => Inner::Thrift(std::sync::Arc::new(ThriftAduib::new(&config)?)),
            Transport::JsonRpc => Inner::Http(HttpAduib::new(HttpFlavor::JsonRpc, config)?),
            Transport::Rest => Inner::Http(HttpAduib::new(HttpFlavor::Rest, config)?),
        };
        Ok(AduibClient { inner })
    }

    /// One unary call. A reply carrying an Aduib error is `Ok` with
    /// `status: "error"`, whichever way the server placed the error.
    pub async fn call(&self, request: &AduibRequest) -> Result<AduibResponse, ClientError> {
        match &self.inner {
            Inner::Http(http) => http.call(request).await,
            Inner::Grpc(grpc) => grpc.call(request).await,
            Inner::Thrift(thrift) => thrift.call(request).await,
        }
    }

    pub async fn stream(&self, request: &AduibRequest) -> Result<ResponseStream, ClientError> {
        match &self.inner {
            Inner::Http(http) => http.stream(request).await,
            Inner::Grpc(grpc) => grpc.stream(request).await,
            Inner::Thrift(thrift) => thrift.stream(request).await,
        }
    }

    /// A client-streaming call (gRPC, or Thrift's list form): every request
    /// is sent, one response comes back. gRPC sends each request as it is
    /// yielded; Thrift carries them as one list, sent when the stream ends.
    ///
    /// The future owns what it needs (`'static`), so an exchange can be
    /// spawned with it.
    pub fn client_stream(
        &self,
        requests: RequestStream,
    ) -> BoxFuture<'static, Result<AduibResponse, ClientError>> {
        let inner = self.inner.clone();
        async move {
            match inner {
                Inner::Grpc(grpc) => grpc.client_stream(requests).await,
                Inner::Thrift(thrift) => {
                    let requests = requests.collect().await;
                    thrift.client_stream(requests).await
                }
                Inner::Http(_) => Err(unsupported("client streaming")),
            }
        }
        .boxed()
    }

    /// A bidirectional call (gRPC live, or Thrift's list form).
    pub fn bidirectional(
        &self,
        requests: RequestStream,
    ) -> BoxFuture<'static, Result<ResponseStream, ClientError>> {
        let inner = self.inner.clone();
        async move {
            match inner {
                Inner::Grpc(grpc) => grpc.bidirectional(requests).await,
                Inner::Thrift(thrift) => {
                    let requests = requests.collect().await;
                    thrift.bidirectional(requests).await
                }
                Inner::Http(_) => Err(unsupported("bidirectional streaming")),
            }
        }
        .boxed()
    }

    pub async fn health(&self, service: Option<&str>) -> Result<AduibResponse, ClientError> {
        match &self.inner {
            Inner::Http(http) => http.health(service).await,
            Inner::Grpc(grpc) => grpc.health(service).await,
            Inner::Thrift(thrift) => thrift.health(service).await,
        }
    }
}

fn unsupported(what: &'static str) -> ClientError {
    ClientError::Unsupported {
        what,
        transport: "HTTP (JSON-RPC and REST)",
    }
}

/// The two Aduib-over-HTTP framings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HttpFlavor {
    JsonRpc,
    Rest,
}

/// Aduib over JSON-RPC or REST.
#[derive(Debug, Clone)]
pub(crate) struct HttpAduib {
    http: reqwest::Client,
    flavor: HttpFlavor,
    base: String,
    unary_url: String,
    stream_url: String,
    headers: HeaderMap,
    timeout: Option<Duration>,
    limits: Limits,
}

impl HttpAduib {
    fn new(flavor: HttpFlavor, config: ClientConfig) -> Result<Self, ClientError> {
        let mut base = base_url(&config.url, flavor)?;
        if config.tls.is_some()
            && let Some(rest) = base.strip_prefix("http://")
        {
            base = format!("https://{rest}");
        }
        let (unary_url, stream_url) = match flavor {
            HttpFlavor::JsonRpc => {
                let url = format!("{base}{JSONRPC_PATH}");
                (url.clone(), url)
            }
            HttpFlavor::Rest => (
                format!("{base}{}", rest::RPC),
                format!("{base}{}", rest::RPC_STREAM),
            ),
        };
        Ok(HttpAduib {
            http: crate::http_client(config.tls.as_ref())?,
            flavor,
            base,
            unary_url,
            stream_url,
            headers: header_map(&config.headers)?,
            timeout: config.timeout,
            limits: config.limits,
        })
    }

    async fn call(&self, request: &AduibRequest) -> Result<AduibResponse, ClientError> {
        let url = &self.unary_url;
        let response = self.post(url, request, "application/json").await?;
        if sse::is_event_stream(&response) {
            return Err(ClientError::UnexpectedStream { url: url.clone() });
        }
        self.read_reply(response).await
    }

    async fn stream(&self, request: &AduibRequest) -> Result<ResponseStream, ClientError> {
        let url = self.stream_url.clone();
        let response = self.post(&url, request, "text/event-stream").await?;
        if !sse::is_event_stream(&response) {
            let reply = self.read_reply(response).await;
            return Ok(stream::once(async move { reply }).boxed());
        }
        let flavor = self.flavor;
        Ok(
            sse::events(response, self.timeout, self.limits.max_body_bytes)
                .map(move |event| {
                    let data = event?.data;
                    parse_reply(flavor, &url, data.as_bytes())
                })
                .boxed(),
        )
    }

    async fn health(&self, service: Option<&str>) -> Result<AduibResponse, ClientError> {
        let query = match service {
            Some(service) => serde_json::json!({ "service": service }),
            None => serde_json::json!({}),
        };
        let id = uuid::Uuid::new_v4().to_string();
        let (url, body) = match self.flavor {
            HttpFlavor::JsonRpc => {
                let envelope = JsonRpcRequest::new(
                    Some(JsonRpcId::Str(id.clone())),
                    HEALTH_CHECK_METHOD,
                    Some(query),
                );
                (self.unary_url.clone(), to_body(&envelope)?)
            }
            HttpFlavor::Rest => (
                format!("{}{}", self.base, rest::HEALTH_CHECK),
                to_body(&query)?,
            ),
        };
        let response = self.post_body(&url, body, "application/json").await?;
        let status = response.status();
        let bytes = sse::read_body(response, self.timeout, self.limits.max_body_bytes).await?;
        match self.flavor {
            HttpFlavor::JsonRpc => match parse_json::<JsonRpcResponse>(&url, &bytes)? {
                JsonRpcResponse {
                    error: None,
                    result: Some(health),
                    ..
                } => Ok(AduibResponse::success(id, health)),
                other => other.into_aduib().map_err(|e| ClientError::BadReply {
                    url,
                    reason: e.message,
                }),
            },
            HttpFlavor::Rest if status.is_success() => {
                Ok(AduibResponse::success(id, parse_json(&url, &bytes)?))
            }
            HttpFlavor::Rest => parse_reply(HttpFlavor::Rest, &url, &bytes),
        }
    }

    /// One unary `TaskService.<op>` with `params` (the typed request as
    /// JSON); its answer, or the Aduib error it is.
    pub(crate) async fn task_op(&self, op: &str, params: Value) -> Result<Value, ClientError> {
        let (url, body) = self.task_body(op, params)?;
        let response = self.post_body(&url, body, "application/json").await?;
        let bytes = sse::read_body(response, self.timeout, self.limits.max_body_bytes).await?;
        self.task_answer(&url, &bytes)
    }

    pub(crate) async fn task_subscribe(
        &self,
        task_id: &str,
    ) -> Result<TaskEventStream, ClientError> {
        let (url, body) = self.task_body("Subscribe", json!({ "task_id": task_id }))?;
        let response = self.post_body(&url, body, "text/event-stream").await?;
        if !sse::is_event_stream(&response) {
            // An error before the stream began (an unknown task).
            let bytes = sse::read_body(response, self.timeout, self.limits.max_body_bytes).await?;
            let answer = self.task_answer(&url, &bytes).and_then(read_json);
            return Ok(stream::once(async move { answer }).boxed());
        }
        let this = self.clone();
        Ok(
            sse::events(response, self.timeout, self.limits.max_body_bytes)
                .map(move |event| {
                    let data = event?.data;
                    this.task_answer(&url, data.as_bytes()).and_then(read_json)
                })
                .boxed(),
        )
    }

    fn task_body(&self, op: &str, params: Value) -> Result<(String, Vec<u8>), ClientError> {
        Ok(match self.flavor {
            HttpFlavor::JsonRpc => {
                let envelope = JsonRpcRequest::new(
                    Some(JsonRpcId::Str(uuid::Uuid::new_v4().to_string())),
                    format!("rpc.v2/TaskService/{op}"),
                    Some(params),
                );
                (self.unary_url.clone(), to_body(&envelope)?)
            }
            HttpFlavor::Rest => (
                format!("{}{}/TaskService/{op}", self.base, rest::REST_PREFIX),
                to_body(&params)?,
            ),
        })
    }

    /// A TaskService answer: JSON-RPC carries it as `result` (an error as
    /// `error`); REST as the body, an error as an Aduib error response.
    fn task_answer(&self, url: &str, body: &[u8]) -> Result<Value, ClientError> {
        let rpc = |error| ClientError::Rpc {
            url: url.to_owned(),
            error,
        };
        match self.flavor {
            HttpFlavor::JsonRpc => match parse_json::<JsonRpcResponse>(url, body)? {
                JsonRpcResponse {
                    error: None,
                    result: Some(result),
                    ..
                } => Ok(result),
                other => match other.into_aduib() {
                    Ok(AduibResponse {
                        error: Some(error), ..
                    }) => Err(rpc(error)),
                    Ok(_) => Err(ClientError::BadReply {
                        url: url.to_owned(),
                        reason: "a JSON-RPC reply with neither result nor error".into(),
                    }),
                    Err(error) => Err(rpc(error)),
                },
            },
            HttpFlavor::Rest => {
                let value: Value = parse_json(url, body)?;
                let is_error = value.get("aduib_rpc").is_some()
                    && value.get("status").and_then(Value::as_str) == Some("error");
                match value.get("error") {
                    Some(error) if is_error => Err(rpc(serde_json::from_value(error.clone())
                        .map_err(|e| ClientError::BadReply {
                            url: url.to_owned(),
                            reason: format!("an error that is not an Aduib error: {e}"),
                        })?)),
                    _ => Ok(value),
                }
            }
        }
    }

    async fn post(
        &self,
        url: &str,
        request: &AduibRequest,
        accept: &'static str,
    ) -> Result<reqwest::Response, ClientError> {
        let body = match self.flavor {
            HttpFlavor::JsonRpc => {
                let envelope = JsonRpcRequest::for_aduib(uuid::Uuid::new_v4().to_string(), request)
                    .map_err(|e| ClientError::Encode(e.message))?;
                to_body(&envelope)?
            }
            HttpFlavor::Rest => to_body(request)?,
        };
        self.post_body(url, body, accept).await
    }

    async fn post_body(
        &self,
        url: &str,
        body: Vec<u8>,
        accept: &'static str,
    ) -> Result<reqwest::Response, ClientError> {
        let mut builder = self
            .http
            .post(url)
            .headers(self.headers.clone())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, accept)
            .body(body);
        if let Some(timeout) = self.timeout {
            builder = builder.timeout(timeout);
        }
        builder
            .send()
            .await
            .map_err(|e| ClientError::from_reqwest(url, self.timeout, e))
    }

    /// Reads a whole JSON reply. REST error replies carry an Aduib response
    /// under a 4xx/5xx status; that is a reply, not a failure.
    async fn read_reply(&self, response: reqwest::Response) -> Result<AduibResponse, ClientError> {
        let url = response.url().to_string();
        let status = response.status();
        let body = sse::read_body(response, self.timeout, self.limits.max_body_bytes).await?;
        parse_reply(self.flavor, &url, &body).map_err(|error| {
            if status.is_success() {
                error
            } else {
                ClientError::HttpStatus {
                    url: url.clone(),
                    status: status.as_u16(),
                    body: snippet(&body),
                }
            }
        })
    }
}

fn to_body<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, ClientError> {
    serde_json::to_vec(value).map_err(|e| ClientError::Encode(e.to_string()))
}

fn parse_reply(flavor: HttpFlavor, url: &str, body: &[u8]) -> Result<AduibResponse, ClientError> {
    match flavor {
        HttpFlavor::JsonRpc => {
            let reply: JsonRpcResponse = parse_json(url, body)?;
            reply.into_aduib().map_err(|e| ClientError::BadReply {
                url: url.to_owned(),
                reason: e.message,
            })
        }
        HttpFlavor::Rest => parse_json(url, body),
    }
}

fn parse_json<T: DeserializeOwned>(url: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::BadReply {
        url: url.to_owned(),
        reason: format!("{e} in {}", snippet(body)),
    })
}

/// The start of a body, for error messages.
pub(crate) fn snippet(body: &[u8]) -> String {
    const MAX: usize = 200;
    let text = String::from_utf8_lossy(&body[..body.len().min(MAX)]);
    if body.len() > MAX {
        format!("{text:?}…")
    } else {
        format!("{text:?}")
    }
}

/// The scheme-host-port part of `url`, with a transport path the user may have
/// included removed (`…/aduib_rpc`, `…/aduib_rpc/v2`).
fn base_url(url: &str, flavor: HttpFlavor) -> Result<String, ClientError> {
    let parsed = reqwest::Url::parse(url).map_err(|e| ClientError::InvalidUrl {
        url: url.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(ClientError::InvalidUrl {
            url: url.to_owned(),
            reason: format!("the {flavor:?} transport needs http:// or https://"),
        });
    }
    let trimmed = url.trim_end_matches('/');
    let suffixes: &[&str] = match flavor {
        HttpFlavor::JsonRpc => &[JSONRPC_PATH],
        HttpFlavor::Rest => &[rest::REST_PREFIX, JSONRPC_PATH],
    };
    Ok(suffixes
        .iter()
        .find_map(|suffix| trimmed.strip_suffix(suffix))
        .unwrap_or(trimmed)
        .to_owned())
}

/// Parses `name: value` pairs into headers, naming the bad one.
pub(crate) fn header_map(headers: &[(String, String)]) -> Result<HeaderMap, ClientError> {
    let mut map = HeaderMap::new();
    for (name, value) in headers {
        let bad = |reason: String| ClientError::Encode(format!("header {name:?}: {reason}"));
        let name =
            HeaderName::from_bytes(name.trim().as_bytes()).map_err(|e| bad(e.to_string()))?;
        let value = HeaderValue::from_str(value.trim()).map_err(|e| bad(e.to_string()))?;
        map.append(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_accepts_the_transport_path() {
        let j = HttpFlavor::JsonRpc;
        assert_eq!(base_url("http://h:1", j).unwrap(), "http://h:1");
        assert_eq!(base_url("http://h:1/aduib_rpc/", j).unwrap(), "http://h:1");
        let r = HttpFlavor::Rest;
        assert_eq!(
            base_url("http://h:1/aduib_rpc/v2", r).unwrap(),
            "http://h:1"
        );
        assert!(matches!(
            base_url("h:1", r),
            Err(ClientError::InvalidUrl { .. })
        ));
        assert!(matches!(
            base_url("ftp://h:1", r),
            Err(ClientError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn bad_headers_are_named() {
        let err = header_map(&[("bad name".into(), "v".into())]).unwrap_err();
        assert!(err.to_string().contains("\"bad name\""));
    }
}
