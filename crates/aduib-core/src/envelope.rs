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
    /// The peer sends `""` when the request had no id.
    #[serde(default)]
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
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
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
    #[serde(default)]
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
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub baggage: BTreeMap<String, String>,
}

fn yes() -> bool {
    true
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jitter: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable_codes: Option<Vec<i32>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub respect_circuit_breaker: Option<bool>,
}

/// Request priority. In JSON it is the peer's 0-based integer (LOW=0); the
/// protobuf and Thrift enums are 1-based, see [`Priority::wire_number`].
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
        [
            Priority::Low,
            Priority::Normal,
            Priority::High,
            Priority::Critical,
        ]
        .get(usize::try_from(n).ok()?)
        .copied()
    }
}

impl Serialize for Priority {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.json_number())
    }
}

impl<'de> Deserialize<'de> for Priority {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let n = u64::deserialize(de)?;
        Priority::from_json_number(n)
            .ok_or_else(|| serde::de::Error::custom(format!("priority must be 0-3, got {n}")))
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
}
