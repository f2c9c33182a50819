//! The Aduib v2 envelope: one request and one response shape for every transport.
//!
//! Field order, names and omission of absent values follow the peer's JSON
//! (`model_dump(mode="json", exclude_none=True)`), so our bytes match its bytes.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, RpcError};

/// The protocol version every v2 envelope carries.
pub const PROTOCOL_VERSION: &str = "2.0";

fn protocol_version() -> String {
    PROTOCOL_VERSION.to_owned()
}

/// Milliseconds since the Unix epoch, as the envelope's timestamps use.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// An Aduib v2 request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AduibRequest {
    #[serde(default = "protocol_version")]
    pub aduib_rpc: String,
    /// The peer accepts integer ids and turns them into strings; so do we.
    #[serde(
        default,
        deserialize_with = "string_or_int",
        skip_serializing_if = "Option::is_none"
    )]
    pub id: Option<String>,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_context: Option<TraceContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<RequestMetadata>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qos: Option<QosConfig>,
    /// Free-form client-side hints (the peer reads `timeout_ms`, `headers`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Map<String, Value>>,
}

impl AduibRequest {
    /// A v2 request for `method` with `data` and a fresh timestamp in `metadata`
    /// (servers built on the peer's `RpcApp` read `metadata` unguarded).
    pub fn new(id: impl Into<String>, method: impl Into<String>, data: Map<String, Value>) -> Self {
        AduibRequest {
            aduib_rpc: protocol_version(),
            id: Some(id.into()),
            method: method.into(),
            name: None,
            data: Some(data),
            trace_context: None,
            metadata: Some(RequestMetadata::now()),
            qos: None,
            meta: None,
        }
    }

    /// Parses a request from JSON, reporting shape errors as Aduib errors:
    /// `data` that is not an object and a wrong version are named precisely.
    pub fn from_value(value: Value) -> Result<AduibRequest, RpcError> {
        let Value::Object(fields) = &value else {
            return Err(RpcError::new(
                ErrorCode::InvalidMessage,
                "an Aduib request must be a JSON object",
            ));
        };
        if let Some(data) = fields.get("data")
            && !(data.is_object() || data.is_null())
        {
            return Err(RpcError::invalid_params("`data` must be a JSON object")
                .with_field("data", format!("got {}", json_kind(data))));
        }
        match fields.get("method") {
            Some(Value::String(_)) => {}
            Some(other) => {
                return Err(RpcError::new(
                    ErrorCode::InvalidFieldValue,
                    "`method` must be a string",
                )
                .with_field("method", format!("got {}", json_kind(other))));
            }
            None => {
                return Err(
                    RpcError::new(ErrorCode::MissingRequiredField, "`method` is required")
                        .with_field("method", "missing"),
                );
            }
        }
        if let Some(version) = fields.get("aduib_rpc") {
            check_version(version.as_str().unwrap_or_default())?;
        }
        serde_json::from_value(value)
            .map_err(|e| RpcError::invalid_params(format!("invalid Aduib request: {e}")))
    }
}

/// Accepts `"2.0"` only, the one version this side speaks (the peer does the same).
pub fn check_version(version: &str) -> Result<(), RpcError> {
    if version == PROTOCOL_VERSION {
        return Ok(());
    }
    Err(RpcError::new(
        ErrorCode::UnsupportedVersion,
        format!("unsupported protocol version {version:?}; this side speaks \"2.0\""),
    ))
}

/// The name of a JSON value's type, for error messages.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn string_or_int<'de, D: Deserializer<'de>>(de: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Id {
        Str(String),
        Int(i64),
        UInt(u64),
    }
    Ok(Option::<Id>::deserialize(de)?.map(|id| match id {
        Id::Str(s) => s,
        Id::Int(i) => i.to_string(),
        Id::UInt(u) => u.to_string(),
    }))
}

/// An Aduib v2 response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AduibResponse {
    #[serde(default = "protocol_version")]
    pub aduib_rpc: String,
    /// The peer sends `""` when the request had no id, or leaves `id` out.
    #[serde(default, deserialize_with = "null_as_default")]
    pub id: String,
    pub status: ResponseStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<RpcError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace_context: Option<TraceContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<ResponseMetadata>,
}

impl AduibResponse {
    pub fn success(id: impl Into<String>, result: Value) -> Self {
        AduibResponse {
            aduib_rpc: protocol_version(),
            id: id.into(),
            status: ResponseStatus::Success,
            result: (!result.is_null()).then_some(result),
            error: None,
            trace_context: None,
            metadata: None,
        }
    }

    pub fn failure(id: impl Into<String>, error: RpcError) -> Self {
        AduibResponse {
            aduib_rpc: protocol_version(),
            id: id.into(),
            status: ResponseStatus::Error,
            result: None,
            error: Some(error),
            trace_context: None,
            metadata: None,
        }
    }

    pub fn with_metadata(mut self, metadata: ResponseMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    pub fn is_success(&self) -> bool {
        self.status == ResponseStatus::Success
    }
}

/// How a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResponseStatus {
    Success,
    Error,
    Partial,
}

/// What the client tells the server about a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestMetadata {
    /// Required by the peer whenever `metadata` is present.
    pub timestamp_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth: Option<AuthContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
    /// The peer's `dict[str, str] | None`: `null` reads as empty.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_task: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_task_method: Option<String>,
    /// Retention of a task record, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub long_task_timeout: Option<i32>,
}

impl RequestMetadata {
    pub fn now() -> Self {
        RequestMetadata {
            timestamp_ms: now_ms(),
            client_id: None,
            client_version: None,
            auth: None,
            tenant_id: None,
            headers: BTreeMap::new(),
            long_task: None,
            long_task_method: None,
            long_task_timeout: None,
        }
    }
}

/// What the server tells the client about a response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseMetadata {
    pub timestamp_ms: i64,
    /// The peer's `int | None`: `null` reads as 0.
    #[serde(default, deserialize_with = "null_as_default")]
    pub duration_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_version: Option<String>,
}

/// Credentials carried inside the envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuthContext {
    #[serde(default)]
    pub scheme: AuthScheme,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roles: Option<Vec<String>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthScheme {
    #[default]
    Unspecified,
    Bearer,
    ApiKey,
    Mtls,
    Basic,
}

/// W3C-style trace identifiers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TraceContext {
    pub trace_id: String,
    pub span_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_span_id: Option<String>,
    #[serde(default = "yes")]
    pub sampled: bool,
    /// The peer's `dict[str, str] | None`: `null` reads as empty.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub baggage: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
}

/// Reads `null` as the type's default, for the peer's `X | None` fields whose
/// absence we model as an empty value.
pub(crate) fn null_as_default<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// Server-side quality of service, in the peer's JSON form. The peer ignores the
/// whole object when it meets a key it does not know, so only its keys exist here.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QosConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_ttl_s: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry: Option<RetryConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency_key: Option<String>,
}

/// The peer's `RetryPolicy` (`aduib_rpc.resilience.retry_policy`), a dataclass
/// its client writes whole, `null`s included. Its defaults, applied by the
/// peer when a key is absent: `max_attempts` 3, `strategy` `"exponential"`
/// (or `"fixed"`, `"linear"`), `initial_delay_ms` 100, `max_delay_ms` 10000,
/// `backoff_multiplier` 2.0, `jitter` 0.1, `retryable_codes` none (retry on
/// any error), `respect_circuit_breaker` true.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RetryConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_delay_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_delay_ms: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backoff_multiplier: Option<f64>,
    /// A fraction of each delay (0.0-1.0) added or taken at random; the peer
    /// writes a float (`0.1`), not a flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable_codes: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respect_circuit_breaker: Option<bool>,
}

/// Request priority. In JSON it is the peer's 0-based integer (LOW=0), which
/// is what we write; we also read the names `"low"` .. `"critical"` (any case),
/// which the peer's own converters accept. The protobuf and Thrift enums are
/// 1-based, see [`Priority::wire_number`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Priority {
    Low,
    #[default]
    Normal,
    High,
    Critical,
}

impl Priority {
    /// The JSON integer (0-3).
    pub fn json_number(self) -> u8 {
        match self {
            Priority::Low => 0,
            Priority::Normal => 1,
            Priority::High => 2,
            Priority::Critical => 3,
        }
    }

    /// The protobuf/Thrift enum number (1-4; 0 is "unspecified").
    pub fn wire_number(self) -> i32 {
        i32::from(self.json_number()) + 1
    }

    pub fn from_json_number(n: u64) -> Option<Priority> {
        Priority::ALL.get(usize::try_from(n).ok()?).copied()
    }

    /// The lowercase name, as the peer's enum member names it.
    pub fn name(self) -> &'static str {
        match self {
            Priority::Low => "low",
            Priority::Normal => "normal",
            Priority::High => "high",
            Priority::Critical => "critical",
        }
    }

    /// A priority from its name, in any case.
    pub fn from_name(name: &str) -> Option<Priority> {
        Priority::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }

    const ALL: [Priority; 4] = [
        Priority::Low,
        Priority::Normal,
        Priority::High,
        Priority::Critical,
    ];
}

impl Serialize for Priority {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.json_number())
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct PriorityVisitor;

        impl serde::de::Visitor<'_> for PriorityVisitor {
            type Value = Priority;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a priority: 0-3 or \"low\", \"normal\", \"high\", \"critical\"")
            }

            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Priority, E> {
                Priority::from_json_number(n)
                    .ok_or_else(|| E::custom(format!("priority must be 0-3, got {n}")))
            }

            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Priority, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("priority must be 0-3, got {n}"))),
                }
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Priority, E> {
                Priority::from_name(name).ok_or_else(|| {
                    E::custom(format!(
                        "priority must be low, normal, high or critical, got {name:?}"
                    ))
                })
            }
        }

        de.deserialize_any(PriorityVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_serializes_like_the_peer() {
        let mut req = AduibRequest::new(
            "req-1",
            "rpc.v2/CaculService/CaculService.add",
            json!({"x": 1, "y": 2}).as_object().cloned().unwrap(),
        );
        req.metadata = None;
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"aduib_rpc":"2.0","id":"req-1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2}}"#
        );
    }

    #[test]
    fn response_serializes_like_the_peer() {
        let resp = AduibResponse::success("req-1", json!(3)).with_metadata(ResponseMetadata {
            timestamp_ms: 1795855839262,
            duration_ms: 0,
            server_id: None,
            server_version: None,
        });
        assert_eq!(
            serde_json::to_string(&resp).unwrap(),
            r#"{"aduib_rpc":"2.0","id":"req-1","status":"success","result":3,"metadata":{"timestamp_ms":1795855839262,"duration_ms":0}}"#
        );
        let resp = AduibResponse::failure("r", RpcError::internal("Oops!"));
        assert_eq!(
            serde_json::to_string(&resp).unwrap(),
            r#"{"aduib_rpc":"2.0","id":"r","status":"error","error":{"code":5000,"name":"INTERNAL_ERROR","message":"Oops!"}}"#
        );
    }

    #[test]
    fn request_accepts_integer_ids_and_missing_optionals() {
        let req = AduibRequest::from_value(json!({"id": 7, "method": "rpc.v2/A/A.b"})).unwrap();
        assert_eq!(req.id.as_deref(), Some("7"));
        assert_eq!(req.aduib_rpc, "2.0");
        assert!(req.data.is_none());
    }

    #[test]
    fn request_shape_errors_are_aduib_errors() {
        let err = AduibRequest::from_value(json!({"method": "m", "data": [1]})).unwrap_err();
        assert_eq!(err.code, 2001);
        assert_eq!(err.details[0].field.as_deref(), Some("data"));
        let err = AduibRequest::from_value(json!({"data": {}})).unwrap_err();
        assert_eq!(err.code, 2002);
        let err = AduibRequest::from_value(json!({"method": 3})).unwrap_err();
        assert_eq!(err.code, 2003);
        let err = AduibRequest::from_value(json!({"aduib_rpc": "1.0", "method": "m"})).unwrap_err();
        assert_eq!(err.code, 1001);
        let err = AduibRequest::from_value(json!([1])).unwrap_err();
        assert_eq!(err.code, 1002);
        let err = AduibRequest::from_value(json!({"method": "m", "metadata": {}})).unwrap_err();
        assert_eq!(err.code, 2001, "metadata without timestamp_ms: {err}");
    }

    #[test]
    fn enums_are_lowercase_strings_and_priority_is_an_int() {
        assert_eq!(
            serde_json::to_value(ResponseStatus::Partial).unwrap(),
            "partial"
        );
        assert_eq!(serde_json::to_value(AuthScheme::ApiKey).unwrap(), "api_key");
        let qos: QosConfig = serde_json::from_value(json!({"priority": 3})).unwrap();
        assert_eq!(qos.priority, Some(Priority::Critical));
        assert_eq!(Priority::Critical.wire_number(), 4);
        assert!(serde_json::from_value::<QosConfig>(json!({"priority": 4})).is_err());
    }

    // The JSON below was printed by the peer (aduib-rpc 2.0.1, pydantic 2.11.7):
    // its JSON-RPC and REST clients send `model_dump(mode="json", exclude_none=True)`
    // of an `AduibRpcRequest` built with its own models. `qos` is a dataclass in an
    // `Any` field, so it goes out whole, `null`s included.

    /// The inner request of a JSON-RPC message, parsed as our server parses it.
    fn peer_params(message: &str) -> AduibRequest {
        let message: Value = serde_json::from_str(message).unwrap();
        AduibRequest::from_value(message["params"].clone()).unwrap()
    }

    fn peer_qos(message: &str) -> QosConfig {
        peer_params(message).qos.unwrap()
    }

    #[test]
    fn peer_qos_defaults_are_read() {
        // QosConfig()
        let qos = peer_qos(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"qos":{"enabled":false,"priority":1,"timeout_ms":60000,"idempotency_ttl_s":300,"retry":null,"idempotency_key":null}}}"#,
        );
        assert_eq!(
            qos,
            QosConfig {
                enabled: Some(false),
                priority: Some(Priority::Normal),
                timeout_ms: Some(60000),
                idempotency_ttl_s: Some(300),
                retry: None,
                idempotency_key: None,
            }
        );
    }

    #[test]
    fn peer_retry_policy_with_a_float_jitter_is_read() {
        // QosConfig(retry=RetryPolicy()), as the REST client sends it.
        let request = AduibRequest::from_value(
            serde_json::from_str(
                r#"{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"qos":{"enabled":false,"priority":1,"timeout_ms":60000,"idempotency_ttl_s":300,"retry":{"max_attempts":3,"strategy":"exponential","initial_delay_ms":100,"max_delay_ms":10000,"backoff_multiplier":2.0,"jitter":0.1,"retryable_codes":null,"respect_circuit_breaker":true},"idempotency_key":null}}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert_eq!(
            request.qos.unwrap().retry.unwrap(),
            RetryConfig {
                max_attempts: Some(3),
                strategy: Some("exponential".into()),
                initial_delay_ms: Some(100),
                max_delay_ms: Some(10000),
                backoff_multiplier: Some(2.0),
                jitter: Some(0.1),
                retryable_codes: None,
                respect_circuit_breaker: Some(true),
            }
        );
    }

    #[test]
    fn peer_qos_with_every_field_set_is_read() {
        // QosConfig(enabled=True, priority=Priority.CRITICAL, timeout_ms=5000,
        //   idempotency_ttl_s=60, idempotency_key="k1", retry=RetryPolicy(max_attempts=5,
        //   strategy=LINEAR, initial_delay_ms=10, max_delay_ms=50, backoff_multiplier=1.5,
        //   jitter=0.0, retryable_codes={5002}, respect_circuit_breaker=False))
        let qos = peer_qos(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"qos":{"enabled":true,"priority":3,"timeout_ms":5000,"idempotency_ttl_s":60,"retry":{"max_attempts":5,"strategy":"linear","initial_delay_ms":10,"max_delay_ms":50,"backoff_multiplier":1.5,"jitter":0.0,"retryable_codes":[5002],"respect_circuit_breaker":false},"idempotency_key":"k1"}}}"#,
        );
        assert_eq!(
            qos,
            QosConfig {
                enabled: Some(true),
                priority: Some(Priority::Critical),
                timeout_ms: Some(5000),
                idempotency_ttl_s: Some(60),
                retry: Some(RetryConfig {
                    max_attempts: Some(5),
                    strategy: Some("linear".into()),
                    initial_delay_ms: Some(10),
                    max_delay_ms: Some(50),
                    backoff_multiplier: Some(1.5),
                    jitter: Some(0.0),
                    retryable_codes: Some(vec![5002]),
                    respect_circuit_breaker: Some(false),
                }),
                idempotency_key: Some("k1".into()),
            }
        );
    }

    #[test]
    fn peer_client_decorator_qos_with_a_null_timeout_is_read() {
        // What the peer's `@client` path builds: QosConfig(timeout_ms=None,
        // idempotency_key=None, retry=RetryPolicy()).
        let qos = peer_qos(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"qos":{"enabled":false,"priority":1,"timeout_ms":null,"idempotency_ttl_s":300,"retry":{"max_attempts":3,"strategy":"exponential","initial_delay_ms":100,"max_delay_ms":10000,"backoff_multiplier":2.0,"jitter":0.1,"retryable_codes":null,"respect_circuit_breaker":true},"idempotency_key":null}}}"#,
        );
        assert_eq!(qos.timeout_ms, None);
        assert_eq!(qos.retry.unwrap().jitter, Some(0.1));
    }

    #[test]
    fn peer_priorities_are_read() {
        // Priority.LOW .. CRITICAL are written as 0 .. 3.
        for (n, priority) in [
            (0, Priority::Low),
            (1, Priority::Normal),
            (2, Priority::High),
            (3, Priority::Critical),
        ] {
            let qos: QosConfig = serde_json::from_value(json!({"priority": n})).unwrap();
            assert_eq!(qos.priority, Some(priority));
            assert_eq!(serde_json::to_value(priority).unwrap(), json!(n));
            // The names, which the peer's converters also take.
            for name in [priority.name().to_owned(), priority.name().to_uppercase()] {
                let qos: QosConfig = serde_json::from_value(json!({"priority": name})).unwrap();
                assert_eq!(qos.priority, Some(priority));
            }
        }
        let qos: QosConfig = serde_json::from_value(json!({"priority": null})).unwrap();
        assert_eq!(qos.priority, None);
        for bad in [
            json!(-1),
            json!(4),
            json!("urgent"),
            json!(true),
            json!(1.5),
        ] {
            assert!(
                serde_json::from_value::<QosConfig>(json!({ "priority": bad })).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn qos_is_written_like_the_peer_without_its_nulls() {
        let qos = peer_qos(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"qos":{"enabled":false,"priority":1,"timeout_ms":60000,"idempotency_ttl_s":300,"retry":{"max_attempts":3,"strategy":"exponential","initial_delay_ms":100,"max_delay_ms":10000,"backoff_multiplier":2.0,"jitter":0.1,"retryable_codes":null,"respect_circuit_breaker":true},"idempotency_key":null}}}"#,
        );
        assert_eq!(
            serde_json::to_string(&qos).unwrap(),
            r#"{"enabled":false,"priority":1,"timeout_ms":60000,"idempotency_ttl_s":300,"retry":{"max_attempts":3,"strategy":"exponential","initial_delay_ms":100,"max_delay_ms":10000,"backoff_multiplier":2.0,"jitter":0.1,"respect_circuit_breaker":true}}"#
        );
    }

    #[test]
    fn peer_metadata_with_every_field_set_is_read() {
        // RequestMetadata(timestamp_ms=..., client_id, client_version, tenant_id, headers,
        //   long_task_method, long_task_timeout, auth=AuthContext.create(BEARER, ...)).
        let request = peer_params(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"metadata":{"timestamp_ms":1700000000000,"client_id":"client-a","client_version":"2.0.0","auth":{"scheme":"bearer","credentials":"test-token","principal":"alice","principal_type":"user","roles":["admin"]},"tenant_id":"tenant-a","headers":{"x-request-source":"interop"},"long_task":false,"long_task_method":"task/submit","long_task_timeout":600}}}"#,
        );
        assert_eq!(
            request.metadata.unwrap(),
            RequestMetadata {
                timestamp_ms: 1_700_000_000_000,
                client_id: Some("client-a".into()),
                client_version: Some("2.0.0".into()),
                auth: Some(AuthContext {
                    scheme: AuthScheme::Bearer,
                    credentials: Some("test-token".into()),
                    principal: Some("alice".into()),
                    principal_type: Some("user".into()),
                    roles: Some(vec!["admin".into()]),
                }),
                tenant_id: Some("tenant-a".into()),
                headers: BTreeMap::from([("x-request-source".into(), "interop".into())]),
                long_task: Some(false),
                long_task_method: Some("task/submit".into()),
                long_task_timeout: Some(600),
            }
        );
    }

    #[test]
    fn peer_minimal_metadata_and_every_auth_scheme_are_read() {
        // RequestMetadata(timestamp_ms=...): the peer always writes long_task.
        let request = peer_params(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"metadata":{"timestamp_ms":1700000000000,"long_task":false}}}"#,
        );
        let metadata = request.metadata.unwrap();
        assert_eq!(metadata.long_task, Some(false));
        assert!(metadata.headers.is_empty());
        // AuthContext(scheme=s) for each AuthScheme member.
        for (name, scheme) in [
            ("unspecified", AuthScheme::Unspecified),
            ("bearer", AuthScheme::Bearer),
            ("api_key", AuthScheme::ApiKey),
            ("mtls", AuthScheme::Mtls),
            ("basic", AuthScheme::Basic),
        ] {
            let auth: AuthContext = serde_json::from_value(json!({ "scheme": name })).unwrap();
            assert_eq!(auth.scheme, scheme);
            assert_eq!(
                serde_json::to_string(&auth).unwrap(),
                format!(r#"{{"scheme":"{name}"}}"#)
            );
        }
    }

    #[test]
    fn peer_trace_contexts_are_read() {
        // TraceContext(trace_id, span_id, parent_span_id, sampled=False, baggage={"k": "v"})
        let request = peer_params(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"trace_context":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","parent_span_id":"b7ad6b7169203331","sampled":false,"baggage":{"k":"v"}}}}"#,
        );
        assert_eq!(
            request.trace_context.unwrap(),
            TraceContext {
                trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
                span_id: "00f067aa0ba902b7".into(),
                parent_span_id: Some("b7ad6b7169203331".into()),
                sampled: false,
                baggage: BTreeMap::from([("k".into(), "v".into())]),
            }
        );
        // TraceContext(trace_id, span_id)
        let request = peer_params(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2},"trace_context":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","sampled":true}}}"#,
        );
        let trace = request.trace_context.unwrap();
        assert!(trace.sampled);
        assert_eq!(trace.parent_span_id, None);
        assert_eq!(
            serde_json::to_string(&trace).unwrap(),
            r#"{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","sampled":true}"#
        );
    }

    #[test]
    fn peer_name_meta_and_supported_versions_are_read() {
        // AduibRpcRequest(name=..., supported_versions=["2.0"], meta={...}); we have no
        // use for supported_versions and skip it, as the peer's server does.
        let request = peer_params(
            r#"{"id":"o1","jsonrpc":"2.0","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","name":"CaculService","data":{"x":1,"y":2},"supported_versions":["2.0"],"meta":{"timeout_ms":5000,"headers":{"X-Tenant-ID":"tenant-a"}}}}"#,
        );
        assert_eq!(request.name.as_deref(), Some("CaculService"));
        assert_eq!(
            Value::Object(request.meta.unwrap()),
            json!({"timeout_ms": 5000, "headers": {"X-Tenant-ID": "tenant-a"}})
        );
    }

    #[test]
    fn peer_dump_with_its_nulls_is_read() {
        // `model_dump(mode="json")` without exclude_none, as the peer's long-running
        // `@client` path dumps the request it puts in a task's `params`.
        let request = AduibRequest::from_value(
            serde_json::from_str(
                r#"{"aduib_rpc":"2.0","id":"r1","method":"rpc.v2/CaculService/CaculService.add","name":null,"data":{"x":1,"y":2},"supported_versions":null,"trace_context":{"trace_id":"4bf92f3577b34da6a3ce929d0e0e4736","span_id":"00f067aa0ba902b7","parent_span_id":null,"sampled":true,"baggage":null},"metadata":{"timestamp_ms":1700000000000,"client_id":null,"client_version":null,"auth":null,"tenant_id":null,"headers":null,"long_task":true,"long_task_method":"task/submit","long_task_timeout":null},"qos":{"enabled":false,"priority":1,"timeout_ms":60000,"idempotency_ttl_s":300,"retry":{"max_attempts":3,"strategy":"exponential","initial_delay_ms":100,"max_delay_ms":10000,"backoff_multiplier":2.0,"jitter":0.1,"retryable_codes":null,"respect_circuit_breaker":true},"idempotency_key":null},"meta":null}"#,
            )
            .unwrap(),
        )
        .unwrap();
        assert!(request.trace_context.unwrap().baggage.is_empty());
        let metadata = request.metadata.unwrap();
        assert!(metadata.headers.is_empty());
        assert_eq!(metadata.long_task, Some(true));
        assert!(request.meta.is_none());
        assert_eq!(request.qos.unwrap().retry.unwrap().jitter, Some(0.1));
    }

    #[test]
    fn peer_responses_with_their_nulls_are_read() {
        // AduibRpcResponse(...).model_dump(mode="json"): id None is "", absent fields null.
        let response: AduibResponse = serde_json::from_str(
            r#"{"aduib_rpc":"2.0","id":"","status":"error","result":null,"error":{"code":2001,"name":"INVALID_PARAMS","message":"m","details":null,"debug":null},"negotiated_version":null,"trace_context":null,"metadata":null}"#,
        )
        .unwrap();
        assert_eq!(response.error.unwrap().code, 2001);
        assert_eq!(response.result, None);
        let response: AduibResponse = serde_json::from_str(
            r#"{"aduib_rpc":"2.0","id":"r1","status":"success","result":3,"error":null,"negotiated_version":null,"trace_context":null,"metadata":{"timestamp_ms":1,"duration_ms":null,"server_id":null,"server_version":null}}"#,
        )
        .unwrap();
        assert_eq!(response.metadata.unwrap().duration_ms, 0);
        // The peer's REST error for a request it could not parse has no id at all.
        let response: AduibResponse = serde_json::from_str(
            r#"{"aduib_rpc":"2.0","status":"error","error":{"code":2001,"name":"INVALID_PARAMS","message":"m"}}"#,
        )
        .unwrap();
        assert_eq!(response.id, "");
        let response: AduibResponse = serde_json::from_value(
            json!({"id": null, "status": "error", "error": {"code": 1, "name": "n", "message": "m", "details": [{"type": "t", "reason": "r", "metadata": null}]}}),
        )
        .unwrap();
        assert_eq!(response.id, "");
    }
}
