//! A request: a serializable description of any call the engine can make.
//! The UI builds one, history stores one, `rerun` sends one again.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

/// Any call, on any transport.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Request {
    /// An Aduib v2 call on one of its four transports.
    Aduib(AduibCall),
    /// Any JSON-RPC 2.0 payload (request, notification or batch) to any server.
    Jsonrpc(JsonRpcCall),
    /// Any HTTP request.
    Http(HttpCall),
    /// Any method of any gRPC service.
    Grpc(GrpcCall),
    /// Any function of any Thrift service.
    Thrift(ThriftCall),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum AduibTransport {
    Jsonrpc,
    Rest,
    Grpc,
    Thrift,
}

impl AduibTransport {
    pub fn name(self) -> &'static str {
        match self {
            AduibTransport::Jsonrpc => "jsonrpc",
            AduibTransport::Rest => "rest",
            AduibTransport::Grpc => "grpc",
            AduibTransport::Thrift => "thrift",
        }
    }
}

/// Which of the four call shapes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum CallMode {
    #[default]
    Unary,
    ServerStream,
    ClientStream,
    Bidi,
}

impl CallMode {
    /// Whether the caller sends a stream of messages.
    pub fn streams_requests(self) -> bool {
        matches!(self, CallMode::ClientStream | CallMode::Bidi)
    }
}

/// A header or metadata entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Header {
    pub name: String,
    pub value: String,
}

impl Header {
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        Header {
            name: name.into(),
            value: value.into(),
        }
    }

    pub fn pairs(headers: &[Header]) -> Vec<(String, String)> {
        headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect()
    }
}

/// What every call may set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct CallOptions {
    /// Deadline for the whole exchange, streams included.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
    /// HTTP headers or gRPC metadata.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<Header>,
    /// Largest message either way (gRPC; the engine's default otherwise).
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_message_bytes: Option<u64>,
}

/// An Aduib call. `data` is the first (or only) message's data; for client
/// and bidi streams, `messages` are sent first and, when `interactive`, more
/// follow through the exchange handle until it half-closes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct AduibCall {
    pub transport: AduibTransport,
    /// `http://host:port` (JSON-RPC, REST), `host:port` (gRPC, Thrift).
    pub url: String,
    /// `rpc.v2/Service/Handler.method`, or the short `Service.method`.
    pub method: String,
    #[serde(default)]
    pub mode: CallMode,
    /// The data object of a unary or server-stream call.
    #[serde(default = "empty_object")]
    #[ts(type = "Record<string, unknown>")]
    pub data: Value,
    /// Data objects sent at once on a client or bidi stream.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[ts(type = "Array<Record<string, unknown>>")]
    pub messages: Vec<Value>,
    /// Keep a client or bidi stream open for messages sent later.
    #[serde(default)]
    pub interactive: bool,
    /// The request id; a fresh UUID when absent.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default)]
    pub options: CallOptions,
    /// TLS for JSON-RPC, REST and gRPC; with it an `http://` URL is dialled
    /// as `https://`.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    /// Call a service found in a registry instead of `url` (unary calls).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery: Option<Discovery>,
}

/// Where a service is found, and how its instances are called.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Discovery {
    /// The registry: `host:port`, or `nacos://host:port?namespace=..&group=..`.
    pub registry: String,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The service's name in the registry.
    pub service: String,
    /// `round_robin` (default), `weighted_round_robin`, `random`,
    /// `weighted_random`, `least_requests` or `consistent_hash`.
    #[serde(default = "default_strategy")]
    pub strategy: String,
    /// Only this instance (its id, or `host:port`).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance: Option<String>,
    /// Instances of any Aduib transport, not only the call's.
    #[serde(default)]
    pub any_transport: bool,
    /// The call may run twice: retried on any retryable failure.
    #[serde(default)]
    pub idempotent: bool,
    /// Attempts after the first.
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// `bearer:TOKEN`, `api-key:KEY`, `basic:USER:PASSWORD` or
    /// `aduib:SCHEME:CREDENTIALS[:PRINCIPAL[:ROLES]]`; write secrets as
    /// `${env:NAME}`.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
}

fn default_strategy() -> String {
    "round_robin".to_owned()
}

fn default_retries() -> u32 {
    2
}

/// A raw JSON-RPC 2.0 payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct JsonRpcCall {
    pub url: String,
    #[ts(type = "unknown")]
    pub payload: Value,
    #[serde(default)]
    pub options: CallOptions,
}

/// A raw HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct HttpCall {
    /// `GET`, `POST`, ...
    pub method: String,
    pub url: String,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
    #[serde(default)]
    pub options: CallOptions,
}

/// Where a gRPC schema comes from: `.proto` files, a descriptor set, or
/// (neither given) server reflection.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct GrpcSchema {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub protos: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protoset: Option<String>,
    /// How long each reflection request may take.
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reflection_timeout_ms: Option<u64>,
}

/// TLS for JSON-RPC, REST and gRPC; absent means plaintext (or the system
/// roots for an `https://` URL). Paths name PEM files.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct TlsSettings {
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_key: Option<String>,
    #[ts(optional)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_name: Option<String>,
    pub insecure: bool,
}

impl From<&TlsSettings> for aduib_client::TlsOptions {
    fn from(tls: &TlsSettings) -> Self {
        aduib_client::TlsOptions {
            ca_cert: tls.ca_cert.as_ref().map(PathBuf::from),
            client_cert: (tls.client_cert.as_ref().map(PathBuf::from))
                .zip(tls.client_key.as_ref().map(PathBuf::from)),
            domain: tls.server_name.clone(),
            insecure: tls.insecure,
        }
    }
}

/// Any gRPC method. `body` holds one JSON message, or several (one after
/// another) for a request stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct GrpcCall {
    /// `host:port`.
    pub target: String,
    /// `package.Service/Method` or `package.Service.Method`.
    pub method: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub schema: GrpcSchema,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSettings>,
    #[serde(default)]
    pub gzip: bool,
    /// Keep a request stream open for messages sent later.
    #[serde(default)]
    pub interactive: bool,
    #[serde(default)]
    pub options: CallOptions,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ThriftProtocol {
    #[default]
    Binary,
    Compact,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ThriftFraming {
    #[default]
    Buffered,
    Framed,
}

/// Any Thrift function, from its IDL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct ThriftCall {
    /// `host:port` or `thrift://host:port`.
    pub target: String,
    /// The `.thrift` file; searched in `includes` when not found as given.
    pub idl: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub includes: Vec<String>,
    /// `Service.function`.
    pub method: String,
    /// Arguments by name.
    #[serde(default = "empty_object")]
    #[ts(type = "Record<string, unknown>")]
    pub args: Value,
    #[serde(default)]
    pub protocol: ThriftProtocol,
    #[serde(default)]
    pub framing: ThriftFraming,
    /// The service name on a multiplexed server.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multiplexed: Option<String>,
    #[serde(default)]
    pub options: CallOptions,
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

impl Request {
    /// The transport, as history files it.
    pub fn transport(&self) -> &'static str {
        match self {
            Request::Aduib(call) => call.transport.name(),
            Request::Jsonrpc(_) => "jsonrpc",
            Request::Http(_) => "http",
            Request::Grpc(_) => "grpc",
            Request::Thrift(_) => "thrift",
        }
    }

    /// Where it goes.
    pub fn target(&self) -> &str {
        match self {
            Request::Aduib(call) => &call.url,
            Request::Jsonrpc(call) => &call.url,
            Request::Http(call) => &call.url,
            Request::Grpc(call) => &call.target,
            Request::Thrift(call) => &call.target,
        }
    }

    /// What it calls: the method, or `GET /path` for HTTP.
    pub fn method(&self) -> String {
        match self {
            Request::Aduib(call) => call.method.clone(),
            Request::Jsonrpc(call) => jsonrpc_methods(&call.payload),
            Request::Http(call) => call.method.to_uppercase(),
            Request::Grpc(call) => call.method.clone(),
            Request::Thrift(call) => call.method.clone(),
        }
    }

    pub fn options(&self) -> &CallOptions {
        match self {
            Request::Aduib(call) => &call.options,
            Request::Jsonrpc(call) => &call.options,
            Request::Http(call) => &call.options,
            Request::Grpc(call) => &call.options,
            Request::Thrift(call) => &call.options,
        }
    }

    pub fn options_mut(&mut self) -> &mut CallOptions {
        match self {
            Request::Aduib(call) => &mut call.options,
            Request::Jsonrpc(call) => &mut call.options,
            Request::Http(call) => &mut call.options,
            Request::Grpc(call) => &mut call.options,
            Request::Thrift(call) => &mut call.options,
        }
    }
}

/// The method names in a JSON-RPC payload (a batch lists each once).
fn jsonrpc_methods(payload: &Value) -> String {
    let name = |v: &Value| v.get("method").and_then(Value::as_str).map(str::to_owned);
    match payload {
        Value::Array(items) => {
            let mut names: Vec<String> = items.iter().filter_map(name).collect();
            names.dedup();
            names.join(", ")
        }
        other => name(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_request_round_trips_through_json_with_defaults_filled() {
        let request: Request = serde_json::from_value(json!({
            "kind": "aduib", "transport": "jsonrpc", "url": "http://127.0.0.1:17101",
            "method": "CaculService.add", "data": {"x": 1, "y": 2}
        }))
        .unwrap();
        let Request::Aduib(call) = &request else {
            panic!("not an Aduib call: {request:?}");
        };
        assert_eq!(call.mode, CallMode::Unary);
        assert_eq!(call.options, CallOptions::default());
        let again: Request =
            serde_json::from_value(serde_json::to_value(&request).unwrap()).unwrap();
        assert_eq!(again, request);
    }

    #[test]
    fn a_batch_lists_its_methods() {
        let request = Request::Jsonrpc(JsonRpcCall {
            url: "http://x".into(),
            payload: json!([{"method": "a"}, {"method": "a"}, {"method": "b"}]),
            options: CallOptions::default(),
        });
        assert_eq!(request.method(), "a, b");
    }
}
