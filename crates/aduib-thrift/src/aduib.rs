//! The Aduib v2 envelope in its Thrift form (`thrift/aduib_rpc_v2.thrift`):
//! `data` and `result` travel as JSON text (`data_json`, `result_json`) in
//! Python's layout, as the peer writes them, and enums as their Thrift names.

use std::sync::OnceLock;

use aduib_core::envelope as core;
use aduib_core::pyjson::to_python_string;
use aduib_core::task::{TaskEvent, TaskProgress, TaskRecord, TaskStatus};
use aduib_core::{ErrorCode, RpcError};
use serde_json::{Map, Value, json};

use crate::idl::{ADUIB_IDL, IdlError, Schema};

/// The stem the built-in IDL is keyed under.
pub const ADUIB_STEM: &str = "aduib_rpc_v2";

/// The built-in Aduib IDL, parsed once.
pub fn schema() -> Result<&'static Schema, IdlError> {
    static SCHEMA: OnceLock<Result<Schema, String>> = OnceLock::new();
    SCHEMA
        .get_or_init(|| Schema::parse_str(ADUIB_STEM, ADUIB_IDL).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| IdlError::Syntax(e.clone()))
}

fn text(value: &Value) -> String {
    to_python_string(value).unwrap_or_else(|_| value.to_string())
}

pub fn request_to_thrift(request: &core::AduibRequest) -> Value {
    let mut object = Map::new();
    object.insert("aduib_rpc".into(), json!(request.aduib_rpc));
    object.insert("id".into(), json!(request.id.clone().unwrap_or_default()));
    object.insert("method".into(), json!(request.method));
    if let Some(name) = &request.name {
        object.insert("name".into(), json!(name));
    }
    let data = Value::Object(request.data.clone().unwrap_or_default());
    object.insert("data_json".into(), json!(text(&data)));
    if let Some(trace) = &request.trace_context {
        object.insert("trace_context".into(), trace_to_thrift(trace));
    }
    if let Some(m) = &request.metadata {
        let mut metadata = Map::new();
        metadata.insert("timestamp_ms".into(), json!(m.timestamp_ms));
        let optional = [
            ("client_id", m.client_id.clone().map(Value::from)),
            ("client_version", m.client_version.clone().map(Value::from)),
            ("tenant_id", m.tenant_id.clone().map(Value::from)),
            ("long_task", m.long_task.map(Value::from)),
            (
                "long_task_method",
                m.long_task_method.clone().map(Value::from),
            ),
            ("long_task_timeout", m.long_task_timeout.map(Value::from)),
        ];
        for (key, value) in optional {
            if let Some(value) = value {
                metadata.insert(key.into(), value);
            }
        }
        metadata.insert("headers".into(), json!(m.headers));
        if let Some(auth) = &m.auth {
            let scheme = match auth.scheme {
                core::AuthScheme::Bearer => "AUTH_SCHEME_BEARER",
                core::AuthScheme::ApiKey => "AUTH_SCHEME_API_KEY",
                core::AuthScheme::Mtls => "AUTH_SCHEME_MTLS",
                core::AuthScheme::Unspecified | core::AuthScheme::Basic => {
                    "AUTH_SCHEME_UNSPECIFIED"
                }
            };
            let mut a = Map::new();
            a.insert("scheme".into(), json!(scheme));
            if let Some(c) = &auth.credentials {
                a.insert("credentials".into(), json!(c));
            }
            if let Some(p) = &auth.principal {
                a.insert("principal".into(), json!(p));
            }
            a.insert(
                "roles".into(),
                json!(auth.roles.clone().unwrap_or_default()),
            );
            metadata.insert("auth".into(), Value::Object(a));
        }
        object.insert("metadata".into(), Value::Object(metadata));
    }
    if let Some(q) = &request.qos {
        let mut qos = Map::new();
        qos.insert(
            "priority".into(),
            json!(q.priority.map_or(0, core::Priority::wire_number)),
        );
        if let Some(t) = q.timeout_ms {
            qos.insert("timeout_ms".into(), json!(t));
        }
        if let Some(k) = &q.idempotency_key {
            qos.insert("idempotency_key".into(), json!(k));
        }
        if let Some(r) = &q.retry {
            qos.insert(
                "retry_config".into(),
                json!({
                    "max_attempts": r.max_attempts.unwrap_or_default(),
                    "initial_delay_ms": r.initial_delay_ms.unwrap_or_default(),
                    "max_delay_ms": r.max_delay_ms.unwrap_or_default(),
                    "backoff_multiplier": r.backoff_multiplier.unwrap_or_default(),
                    "retryable_codes": r.retryable_codes.clone().unwrap_or_default(),
                }),
            );
        }
        object.insert("qos".into(), Value::Object(qos));
    }
    Value::Object(object)
}

/// A decoded Thrift `Request` as an envelope. `data_json` must hold a JSON
/// object.
pub fn request_from_thrift(value: &Value) -> Result<core::AduibRequest, RpcError> {
    let get_str = |key: &str| value.get(key).and_then(Value::as_str).map(str::to_owned);
    let data = match get_str("data_json").filter(|s| !s.trim().is_empty()) {
        None => Map::new(),
        Some(text) => match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => map,
            Ok(other) => {
                return Err(RpcError::invalid_params(format!(
                    "`data_json` must hold a JSON object, got {}",
                    aduib_core::envelope::json_kind(&other)
                ))
                .with_field("data_json", "not an object"));
            }
            Err(e) => {
                return Err(RpcError::new(
                    ErrorCode::SerializationError,
                    format!("`data_json` is not JSON: {e}"),
                )
                .with_field("data_json", "not JSON"));
            }
        },
    };
    let metadata = value.get("metadata").map(|m| core::RequestMetadata {
        timestamp_ms: m
            .get("timestamp_ms")
            .and_then(Value::as_i64)
            .unwrap_or_default(),
        client_id: m
            .get("client_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        client_version: m
            .get("client_version")
            .and_then(Value::as_str)
            .map(str::to_owned),
        auth: m.get("auth").map(auth_from_thrift),
        tenant_id: m
            .get("tenant_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        headers: m
            .get("headers")
            .and_then(Value::as_object)
            .map(|h| {
                h.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
        long_task: m.get("long_task").and_then(Value::as_bool),
        long_task_method: m
            .get("long_task_method")
            .and_then(Value::as_str)
            .map(str::to_owned),
        long_task_timeout: m
            .get("long_task_timeout")
            .and_then(Value::as_i64)
            .and_then(|t| i32::try_from(t).ok()),
    });
    let qos = value.get("qos").map(|q| core::QosConfig {
        priority: q.get("priority").and_then(priority_from_thrift),
        timeout_ms: q.get("timeout_ms").and_then(Value::as_i64),
        retry: q.get("retry_config").map(retry_from_thrift),
        idempotency_key: q
            .get("idempotency_key")
            .and_then(Value::as_str)
            .map(str::to_owned),
        ..core::QosConfig::default()
    });
    Ok(core::AduibRequest {
        aduib_rpc: get_str("aduib_rpc")
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| core::PROTOCOL_VERSION.to_owned()),
        id: get_str("id").filter(|id| !id.is_empty()),
        method: get_str("method").unwrap_or_default(),
        name: get_str("name"),
        data: Some(data),
        trace_context: value.get("trace_context").and_then(trace_from_thrift),
        metadata,
        qos,
        meta: None,
    })
}

/// An enum the decoder named (`AUTH_SCHEME_BEARER`); a number the IDL does
/// not know is no name.
fn enum_name(value: &Value) -> Option<&str> {
    value.as_str()
}

fn auth_from_thrift(auth: &Value) -> core::AuthContext {
    let scheme = match auth.get("scheme").and_then(enum_name) {
        Some("AUTH_SCHEME_BEARER") => core::AuthScheme::Bearer,
        Some("AUTH_SCHEME_API_KEY") => core::AuthScheme::ApiKey,
        Some("AUTH_SCHEME_MTLS") => core::AuthScheme::Mtls,
        _ => core::AuthScheme::Unspecified,
    };
    let text = |key: &str| auth.get(key).and_then(Value::as_str).map(str::to_owned);
    let roles: Vec<String> = auth
        .get("roles")
        .and_then(Value::as_array)
        .map(|roles| {
            roles
                .iter()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    core::AuthContext {
        scheme,
        credentials: text("credentials"),
        principal: text("principal"),
        principal_type: None,
        roles: (!roles.is_empty()).then_some(roles),
    }
}

/// `PRIORITY_LOW`.. `PRIORITY_CRITICAL` (or their numbers, 1-4);
/// unspecified is no priority.
fn priority_from_thrift(priority: &Value) -> Option<core::Priority> {
    if let Some(number) = priority.as_u64() {
        return core::Priority::from_json_number(number.checked_sub(1)?);
    }
    Some(match enum_name(priority)? {
        "PRIORITY_LOW" => core::Priority::Low,
        "PRIORITY_NORMAL" => core::Priority::Normal,
        "PRIORITY_HIGH" => core::Priority::High,
        "PRIORITY_CRITICAL" => core::Priority::Critical,
        _ => return None,
    })
}

fn retry_from_thrift(retry: &Value) -> core::RetryConfig {
    let int = |key: &str| retry.get(key).and_then(Value::as_i64);
    core::RetryConfig {
        max_attempts: int("max_attempts").and_then(|n| i32::try_from(n).ok()),
        initial_delay_ms: int("initial_delay_ms"),
        max_delay_ms: int("max_delay_ms"),
        backoff_multiplier: retry.get("backoff_multiplier").and_then(Value::as_f64),
        retryable_codes: retry
            .get("retryable_codes")
            .and_then(Value::as_array)
            .map(|codes| {
                codes
                    .iter()
                    .filter_map(|c| c.as_i64().and_then(|c| i32::try_from(c).ok()))
                    .collect()
            }),
        ..core::RetryConfig::default()
    }
}

pub fn response_to_thrift(response: &core::AduibResponse) -> Value {
    let status = match response.status {
        core::ResponseStatus::Success => "RESPONSE_STATUS_SUCCESS",
        core::ResponseStatus::Error => "RESPONSE_STATUS_ERROR",
        core::ResponseStatus::Partial => "RESPONSE_STATUS_PARTIAL",
    };
    let mut object = Map::new();
    object.insert("aduib_rpc".into(), json!(response.aduib_rpc));
    object.insert("id".into(), json!(response.id));
    object.insert("status".into(), json!(status));
    let payload = match (&response.error, &response.result) {
        (Some(error), _) => Some(json!({ "error": error_to_thrift(error) })),
        (None, Some(result)) => Some(json!({ "result_json": text(result) })),
        (None, None) => None,
    };
    if let Some(payload) = payload {
        object.insert("payload".into(), payload);
    }
    if let Some(m) = &response.metadata {
        let mut metadata = Map::new();
        metadata.insert("timestamp_ms".into(), json!(m.timestamp_ms));
        metadata.insert("duration_ms".into(), json!(m.duration_ms));
        if let Some(s) = &m.server_id {
            metadata.insert("server_id".into(), json!(s));
        }
        if let Some(s) = &m.server_version {
            metadata.insert("server_version".into(), json!(s));
        }
        object.insert("metadata".into(), Value::Object(metadata));
    }
    Value::Object(object)
}

pub fn response_from_thrift(value: &Value) -> core::AduibResponse {
    let payload = value.get("payload");
    let error = payload.and_then(|p| p.get("error")).map(error_from_thrift);
    let result = payload
        .and_then(|p| p.get("result_json"))
        .and_then(Value::as_str)
        .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())))
        .filter(|r| !r.is_null());
    let status = match value.get("status").and_then(Value::as_str) {
        Some("RESPONSE_STATUS_ERROR") => core::ResponseStatus::Error,
        Some("RESPONSE_STATUS_PARTIAL") => core::ResponseStatus::Partial,
        Some("RESPONSE_STATUS_SUCCESS") => core::ResponseStatus::Success,
        _ if error.is_some() => core::ResponseStatus::Error,
        _ => core::ResponseStatus::Success,
    };
    core::AduibResponse {
        aduib_rpc: value
            .get("aduib_rpc")
            .and_then(Value::as_str)
            .unwrap_or(core::PROTOCOL_VERSION)
            .to_owned(),
        id: value
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        status,
        result,
        error,
        trace_context: value.get("trace_context").and_then(trace_from_thrift),
        metadata: value.get("metadata").map(|m| core::ResponseMetadata {
            timestamp_ms: m
                .get("timestamp_ms")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            duration_ms: m
                .get("duration_ms")
                .and_then(Value::as_i64)
                .unwrap_or_default(),
            server_id: m
                .get("server_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
            server_version: m
                .get("server_version")
                .and_then(Value::as_str)
                .map(str::to_owned),
        }),
    }
}

pub fn error_to_thrift(error: &RpcError) -> Value {
    let details: Vec<Value> = error
        .details
        .iter()
        .map(|d| {
            let mut detail = Map::new();
            detail.insert("type".into(), json!(d.kind));
            if let Some(field) = &d.field {
                detail.insert("field".into(), json!(field));
            }
            detail.insert("reason".into(), json!(d.reason));
            detail.insert("metadata".into(), json!(d.metadata));
            Value::Object(detail)
        })
        .collect();
    json!({ "code": error.code, "name": error.name, "message": error.message, "details": details })
}

fn error_from_thrift(value: &Value) -> RpcError {
    let code = value
        .get("code")
        .and_then(Value::as_i64)
        .and_then(|c| i32::try_from(c).ok())
        .unwrap_or_default();
    RpcError {
        code,
        name: value
            .get("name")
            .and_then(Value::as_str)
            .filter(|n| !n.is_empty())
            .map(str::to_owned)
            .unwrap_or_else(|| {
                ErrorCode::from_code(code)
                    .map_or("UNKNOWN", ErrorCode::name)
                    .to_owned()
            }),
        message: value
            .get("message")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        details: value
            .get("details")
            .and_then(Value::as_array)
            .map(|details| {
                details
                    .iter()
                    .map(|d| aduib_core::ErrorDetail {
                        kind: d
                            .get("type")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        field: d.get("field").and_then(Value::as_str).map(str::to_owned),
                        reason: d
                            .get("reason")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_owned(),
                        metadata: d
                            .get("metadata")
                            .and_then(Value::as_object)
                            .map(|m| {
                                m.iter()
                                    .filter_map(|(k, v)| {
                                        v.as_str().map(|v| (k.clone(), v.to_owned()))
                                    })
                                    .collect()
                            })
                            .unwrap_or_default(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        debug: None,
    }
}

fn trace_to_thrift(t: &core::TraceContext) -> Value {
    let mut object = Map::new();
    object.insert("trace_id".into(), json!(t.trace_id));
    object.insert("span_id".into(), json!(t.span_id));
    if let Some(p) = &t.parent_span_id {
        object.insert("parent_span_id".into(), json!(p));
    }
    object.insert("sampled".into(), json!(t.sampled));
    object.insert("baggage".into(), json!(t.baggage));
    Value::Object(object)
}

fn trace_from_thrift(value: &Value) -> Option<core::TraceContext> {
    Some(core::TraceContext {
        trace_id: value.get("trace_id")?.as_str()?.to_owned(),
        span_id: value.get("span_id")?.as_str()?.to_owned(),
        parent_span_id: value
            .get("parent_span_id")
            .and_then(Value::as_str)
            .map(str::to_owned),
        sampled: value
            .get("sampled")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        baggage: value
            .get("baggage")
            .and_then(Value::as_object)
            .map(|b| {
                b.iter()
                    .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                    .collect()
            })
            .unwrap_or_default(),
    })
}

/// The JSON health answer in its Thrift form, and back.
pub fn health_to_thrift(health: &Value) -> Value {
    let name = |s: Option<&Value>| match s.and_then(Value::as_str) {
        Some("healthy") => "HEALTH_STATUS_HEALTHY",
        Some("unhealthy") => "HEALTH_STATUS_UNHEALTHY",
        Some("degraded") => "HEALTH_STATUS_DEGRADED",
        Some("unknown") => "HEALTH_STATUS_UNKNOWN",
        _ => "HEALTH_STATUS_UNSPECIFIED",
    };
    let services: Map<String, Value> = health
        .get("services")
        .and_then(Value::as_object)
        .map(|s| {
            s.iter()
                .map(|(k, v)| (k.clone(), json!(name(Some(v)))))
                .collect()
        })
        .unwrap_or_default();
    json!({ "status": name(health.get("status")), "services": services })
}

pub fn health_from_thrift(value: &Value) -> Value {
    let name = |s: Option<&Value>| -> Value {
        let text = s
            .and_then(Value::as_str)
            .unwrap_or("HEALTH_STATUS_UNSPECIFIED");
        json!(
            text.strip_prefix("HEALTH_STATUS_")
                .unwrap_or(text)
                .to_ascii_lowercase()
        )
    };
    let services: Map<String, Value> = value
        .get("services")
        .and_then(Value::as_object)
        .map(|s| s.iter().map(|(k, v)| (k.clone(), name(Some(v)))).collect())
        .unwrap_or_default();
    json!({ "status": name(value.get("status")), "services": services })
}

pub fn task_status_name(status: TaskStatus) -> &'static str {
    match status {
        TaskStatus::Pending => "TASK_STATUS_PENDING",
        TaskStatus::Scheduled => "TASK_STATUS_SCHEDULED",
        TaskStatus::Retrying => "TASK_STATUS_RETRYING",
        TaskStatus::Running => "TASK_STATUS_RUNNING",
        TaskStatus::Succeeded => "TASK_STATUS_SUCCEEDED",
        TaskStatus::Failed => "TASK_STATUS_FAILED",
        TaskStatus::Canceled => "TASK_STATUS_CANCELED",
    }
}

/// A `TaskRecord` as the IDL has it; `result` is the method's response as
/// JSON text.
pub fn task_to_thrift(task: &TaskRecord) -> Value {
    let priority = priority_name(task.priority);
    let mut record = json!({
        "task_id": task.task_id,
        "status": task_status_name(task.status),
        "priority": priority,
        "created_at_ms": task.created_at_ms,
        "attempt": task.attempt,
        "max_attempts": task.max_attempts,
        "metadata": {},
        "tags": [],
    });
    if let Some(at) = task.started_at_ms {
        record["started_at_ms"] = json!(at);
    }
    if let Some(at) = task.completed_at_ms {
        record["completed_at_ms"] = json!(at);
    }
    if let Some(result) = &task.result {
        record["result"] = json!(result.to_string());
    }
    if let Some(error) = &task.error {
        record["error"] = error_to_thrift(error);
    }
    if let Some(progress) = &task.progress {
        record["progress"] = json!({ "current": progress.current, "total": progress.total });
        if let Some(message) = &progress.message {
            record["progress"]["message"] = json!(message);
        }
    }
    record
}

const PRIORITIES: [&str; 4] = [
    "PRIORITY_LOW",
    "PRIORITY_NORMAL",
    "PRIORITY_HIGH",
    "PRIORITY_CRITICAL",
];

/// Our 0-3 priority as the IDL's enum name.
pub fn priority_name(priority: u8) -> &'static str {
    PRIORITIES
        .get(usize::from(priority))
        .copied()
        .unwrap_or("PRIORITY_NORMAL")
}

/// The 0-3 priority an IDL enum name stands for.
pub fn priority_from_name(name: &str) -> Option<u8> {
    PRIORITIES
        .iter()
        .position(|p| *p == name)
        .and_then(|p| u8::try_from(p).ok())
}

/// A record from any Thrift server. `result` is JSON text in ours; text
/// that is not JSON stays a string.
pub fn task_from_thrift(value: &Value) -> TaskRecord {
    let int = |name: &str| value.get(name).and_then(Value::as_i64);
    let status = enum_name(value.get("status").unwrap_or(&Value::Null))
        .and_then(TaskStatus::parse)
        .unwrap_or(TaskStatus::Pending);
    let priority = enum_name(value.get("priority").unwrap_or(&Value::Null))
        .and_then(priority_from_name)
        .unwrap_or(1);
    let result = value
        .get("result")
        .and_then(Value::as_str)
        .map(|text| serde_json::from_str(text).unwrap_or_else(|_| Value::String(text.to_owned())));
    let progress = value
        .get("progress")
        .filter(|p| p.is_object())
        .map(|p| TaskProgress {
            current: p.get("current").and_then(Value::as_u64).unwrap_or(0),
            total: p.get("total").and_then(Value::as_u64).unwrap_or(0),
            message: p.get("message").and_then(Value::as_str).map(str::to_owned),
        });
    let mut record = TaskRecord {
        task_id: value
            .get("task_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        status,
        priority,
        created_at_ms: int("created_at_ms").unwrap_or(0),
        updated_at_ms: 0,
        started_at_ms: int("started_at_ms"),
        completed_at_ms: int("completed_at_ms"),
        attempt: int("attempt")
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(1),
        max_attempts: int("max_attempts")
            .and_then(|a| u32::try_from(a).ok())
            .unwrap_or(1),
        progress,
        result,
        error: value
            .get("error")
            .filter(|e| e.is_object())
            .map(error_from_thrift),
        method: None,
    };
    record.updated_at_ms = record.last_change_ms();
    record
}

pub fn task_event_from_thrift(value: &Value) -> TaskEvent {
    TaskEvent {
        event: value
            .get("event")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
        task: task_from_thrift(value.get("task").unwrap_or(&Value::Null)),
        timestamp_ms: value
            .get("timestamp_ms")
            .and_then(Value::as_i64)
            .unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::encode_call;
    use crate::protocol::Protocol;

    #[test]
    fn a_call_encodes_to_the_peer_bytes() {
        // aduib-protocol.md §4: multiplexed Call of add(1, 2).
        let mut request = core::AduibRequest::new(
            "t1",
            "rpc.v2/CaculService/CaculService.add",
            json!({"x": 1, "y": 2}).as_object().cloned().unwrap(),
        );
        request.metadata = None;
        let schema = schema().unwrap();
        let call = schema
            .service("AduibRpcService")
            .unwrap()
            .function("Call")
            .unwrap();
        let bytes = encode_call(
            schema,
            Protocol::Binary,
            "AduibRpcService:Call",
            call,
            &json!({ "request": request_to_thrift(&request) }),
            0,
        )
        .unwrap();
        let mut expected = vec![0x80, 0x01, 0x00, 0x01, 0, 0, 0, 20];
        expected.extend_from_slice(b"AduibRpcService:Call");
        expected.extend_from_slice(&[0, 0, 0, 0, 0x0c, 0, 1]);
        for (id, text) in [
            (1u8, "2.0"),
            (2, "t1"),
            (3, "rpc.v2/CaculService/CaculService.add"),
            (5, r#"{"x": 1, "y": 2}"#),
        ] {
            expected.extend_from_slice(&[0x0b, 0, id]);
            expected.extend_from_slice(&(text.len() as u32).to_be_bytes());
            expected.extend_from_slice(text.as_bytes());
        }
        expected.extend_from_slice(&[0, 0]);
        assert_eq!(bytes, expected);
    }

    #[test]
    fn envelopes_round_trip() {
        let request = core::AduibRequest::new(
            "r1",
            "rpc.v2/CaculService/CaculService.add",
            json!({"x": 1.5, "y": [1, {"z": null}]})
                .as_object()
                .cloned()
                .unwrap(),
        );
        let back = request_from_thrift(&request_to_thrift(&request)).unwrap();
        assert_eq!(back.data, request.data);
        assert_eq!(back.id, request.id);
        let response =
            core::AduibResponse::failure("r1", RpcError::internal("boom").with_field("f", "r"));
        assert_eq!(
            response_from_thrift(&response_to_thrift(&response)),
            response
        );
        let ok = core::AduibResponse::success("r1", json!({"n": 3}));
        assert_eq!(response_from_thrift(&response_to_thrift(&ok)), ok);
        let bad = request_from_thrift(&json!({"method": "m", "data_json": "[1]"})).unwrap_err();
        assert_eq!(bad.code, 2001);
    }

    #[test]
    fn auth_priority_and_retry_survive_the_wire() {
        use crate::protocol::{Protocol, ReadLimits, Reader, Writer};
        use crate::value::{Decoder, Encoder};
        let mut request =
            core::AduibRequest::new("r1", "rpc.v2/CaculService/CaculService.add", Map::new());
        request.metadata.as_mut().unwrap().auth = Some(core::AuthContext {
            scheme: core::AuthScheme::Bearer,
            credentials: Some(format!("credential-{}", std::process::id())),
            principal: Some("alice".into()),
            principal_type: None,
            roles: Some(vec!["admin".into()]),
        });
        request.qos = Some(core::QosConfig {
            priority: Some(core::Priority::High),
            timeout_ms: Some(1500),
            retry: Some(core::RetryConfig {
                max_attempts: Some(4),
                initial_delay_ms: Some(100),
                max_delay_ms: Some(2000),
                backoff_multiplier: Some(2.0),
                retryable_codes: Some(vec![5002, 5003]),
                ..core::RetryConfig::default()
            }),
            idempotency_key: Some("k1".into()),
            ..core::QosConfig::default()
        });
        let schema = schema().unwrap();
        let def = schema.struct_def("aduib_rpc_v2.Request").unwrap();
        for protocol in [Protocol::Binary, Protocol::Compact] {
            let mut w = Writer::new(protocol);
            Encoder { schema }
                .write_struct(&mut w, def, &request_to_thrift(&request), "request")
                .unwrap();
            let bytes = w.into_bytes();
            let mut r = Reader::new(protocol, &bytes, ReadLimits::default());
            let decoded = Decoder { schema }
                .read_struct(&mut r, def, "request")
                .unwrap();
            let back = request_from_thrift(&decoded).unwrap();
            assert_eq!(
                back.metadata.as_ref().unwrap().auth,
                metadata_auth(&request)
            );
            assert_eq!(back.qos, request.qos, "{protocol:?}");
        }
    }

    fn metadata_auth(request: &core::AduibRequest) -> Option<core::AuthContext> {
        request.metadata.as_ref().and_then(|m| m.auth.clone())
    }
}
