//! The Aduib envelope between its JSON model (`aduib-core`) and protobuf.
//!
//! `data` travels as a `Struct` and results as `Value`s, whose only number type
//! is a double. Going back to JSON, a whole double within ±2^53 becomes an
//! integer, so `add(1, 2)` reads `3` over every transport.

use std::collections::BTreeMap;

use aduib_core::envelope as core;
use aduib_core::task::{TaskEvent, TaskProgress, TaskRecord, TaskStatus};
use aduib_core::{ErrorCode, RpcError};
use prost_types::value::Kind;
use serde_json::{Map, Number, Value};

use crate::v2 as pb;

/// Largest integer a double holds exactly.
const MAX_EXACT: f64 = 9_007_199_254_740_992.0;

// The conversions take their input by value: every caller owns it, and
// moving strings out of it saves a copy of each per call.

pub fn json_to_value(json: Value) -> prost_types::Value {
    let kind = match json {
        Value::Null => Kind::NullValue(0),
        Value::Bool(b) => Kind::BoolValue(b),
        Value::Number(n) => Kind::NumberValue(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => Kind::StringValue(s),
        Value::Array(items) => Kind::ListValue(prost_types::ListValue {
            values: items.into_iter().map(json_to_value).collect(),
        }),
        Value::Object(map) => Kind::StructValue(map_to_struct(map)),
    };
    prost_types::Value { kind: Some(kind) }
}

pub fn map_to_struct(map: Map<String, Value>) -> prost_types::Struct {
    prost_types::Struct {
        fields: map
            .into_iter()
            .map(|(k, v)| (k, json_to_value(v)))
            .collect(),
    }
}

pub fn value_to_json(value: prost_types::Value) -> Value {
    match value.kind {
        None | Some(Kind::NullValue(_)) => Value::Null,
        Some(Kind::BoolValue(b)) => Value::Bool(b),
        Some(Kind::NumberValue(n)) => number_to_json(n),
        Some(Kind::StringValue(s)) => Value::String(s),
        Some(Kind::ListValue(list)) => {
            Value::Array(list.values.into_iter().map(value_to_json).collect())
        }
        Some(Kind::StructValue(s)) => Value::Object(struct_to_map(s)),
    }
}

pub fn struct_to_map(s: prost_types::Struct) -> Map<String, Value> {
    struct_entries(s).collect()
}

/// A Struct's fields as JSON, in key order (its fields are a BTreeMap: sort
/// order is the best a Struct can keep).
pub fn struct_entries(s: prost_types::Struct) -> impl Iterator<Item = (String, Value)> {
    s.fields.into_iter().map(|(k, v)| (k, value_to_json(v)))
}

fn number_to_json(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() <= MAX_EXACT {
        // Exact: the range check above keeps the cast lossless.
        #[allow(clippy::cast_possible_truncation)]
        return Value::Number(Number::from(n as i64));
    }
    Number::from_f64(n).map_or(Value::Null, Value::Number)
}

pub fn request_to_proto(request: &core::AduibRequest) -> pb::Request {
    pb::Request {
        aduib_rpc: request.aduib_rpc.clone(),
        id: request.id.clone().unwrap_or_default(),
        method: request.method.clone(),
        name: request.name.clone(),
        data: Some(map_to_struct(request.data.clone().unwrap_or_default())),
        trace_context: request.trace_context.as_ref().map(trace_to_proto),
        metadata: request.metadata.as_ref().map(|m| pb::RequestMetadata {
            timestamp_ms: m.timestamp_ms,
            client_id: m.client_id.clone(),
            client_version: m.client_version.clone(),
            auth: m.auth.as_ref().map(|a| pb::AuthContext {
                scheme: auth_scheme_to_proto(a.scheme) as i32,
                credentials: a.credentials.clone(),
                principal: a.principal.clone(),
                roles: a.roles.clone().unwrap_or_default(),
            }),
            tenant_id: m.tenant_id.clone(),
            headers: m.headers.clone().into_iter().collect(),
            long_task: m.long_task,
            long_task_method: m.long_task_method.clone(),
            long_task_timeout: m.long_task_timeout,
        }),
        qos: request.qos.as_ref().map(|q| pb::QosConfig {
            priority: q.priority.map_or(0, core::Priority::wire_number),
            timeout_ms: q.timeout_ms,
            retry: q.retry.as_ref().map(|r| pb::RetryConfig {
                max_attempts: r.max_attempts.unwrap_or_default(),
                initial_delay_ms: r.initial_delay_ms.unwrap_or_default(),
                max_delay_ms: r.max_delay_ms.unwrap_or_default(),
                backoff_multiplier: r.backoff_multiplier.unwrap_or_default(),
                retryable_codes: r.retryable_codes.clone().unwrap_or_default(),
            }),
            idempotency_key: q.idempotency_key.clone(),
        }),
    }
}

pub fn request_from_proto(request: pb::Request) -> core::AduibRequest {
    core::AduibRequest {
        aduib_rpc: if request.aduib_rpc.is_empty() {
            core::PROTOCOL_VERSION.to_owned()
        } else {
            request.aduib_rpc
        },
        id: (!request.id.is_empty()).then_some(request.id),
        method: request.method,
        name: request.name,
        data: request.data.map(struct_to_map),
        trace_context: request.trace_context.map(trace_from_proto),
        metadata: request.metadata.map(|m| core::RequestMetadata {
            timestamp_ms: m.timestamp_ms,
            client_id: m.client_id,
            client_version: m.client_version,
            auth: m.auth.map(|a| core::AuthContext {
                scheme: auth_scheme_from_proto(a.scheme),
                credentials: a.credentials,
                principal: a.principal,
                principal_type: None,
                roles: (!a.roles.is_empty()).then_some(a.roles),
            }),
            tenant_id: m.tenant_id,
            headers: m.headers.into_iter().collect(),
            long_task: m.long_task,
            long_task_method: m.long_task_method,
            long_task_timeout: m.long_task_timeout,
        }),
        qos: request.qos.map(|q| core::QosConfig {
            // Wire numbers are 1-4 (0 is unspecified); any i32 may arrive.
            priority: q
                .priority
                .checked_sub(1)
                .and_then(|n| u64::try_from(n).ok())
                .and_then(core::Priority::from_json_number),
            timeout_ms: q.timeout_ms,
            retry: q.retry.map(|r| core::RetryConfig {
                max_attempts: Some(r.max_attempts),
                initial_delay_ms: Some(r.initial_delay_ms),
                max_delay_ms: Some(r.max_delay_ms),
                backoff_multiplier: Some(r.backoff_multiplier),
                retryable_codes: Some(r.retryable_codes),
                ..core::RetryConfig::default()
            }),
            idempotency_key: q.idempotency_key,
            ..core::QosConfig::default()
        }),
        meta: None,
    }
}

pub fn response_to_proto(response: core::AduibResponse) -> pb::Response {
    let payload = match (&response.error, response.result) {
        (Some(error), _) => Some(pb::response::Payload::Error(error_to_proto(error))),
        (None, Some(result)) => Some(pb::response::Payload::Result(json_to_value(result))),
        (None, None) => None,
    };
    pb::Response {
        aduib_rpc: response.aduib_rpc,
        id: response.id,
        status: match response.status {
            core::ResponseStatus::Success => pb::ResponseStatus::Success,
            core::ResponseStatus::Error => pb::ResponseStatus::Error,
            core::ResponseStatus::Partial => pb::ResponseStatus::Partial,
        } as i32,
        payload,
        trace_context: response.trace_context.as_ref().map(trace_to_proto),
        metadata: response.metadata.map(|m| pb::ResponseMetadata {
            timestamp_ms: m.timestamp_ms,
            duration_ms: m.duration_ms,
            server_id: m.server_id,
            server_version: m.server_version,
        }),
    }
}

/// Reads a protobuf response. An unspecified status with an error payload is
/// an error; with anything else, a success.
pub fn response_from_proto(response: pb::Response) -> core::AduibResponse {
    let (result, error) = match response.payload {
        Some(pb::response::Payload::Result(value)) => (Some(value_to_json(value)), None),
        Some(pb::response::Payload::Error(error)) => (None, Some(error_from_proto(error))),
        None => (None, None),
    };
    let status = match pb::ResponseStatus::try_from(response.status) {
        Ok(pb::ResponseStatus::Error) => core::ResponseStatus::Error,
        Ok(pb::ResponseStatus::Partial) => core::ResponseStatus::Partial,
        Ok(pb::ResponseStatus::Success) => core::ResponseStatus::Success,
        _ if error.is_some() => core::ResponseStatus::Error,
        _ => core::ResponseStatus::Success,
    };
    core::AduibResponse {
        aduib_rpc: response.aduib_rpc,
        id: response.id,
        status,
        result: result.filter(|r| !r.is_null()),
        error,
        trace_context: response.trace_context.map(trace_from_proto),
        metadata: response.metadata.map(|m| core::ResponseMetadata {
            timestamp_ms: m.timestamp_ms,
            duration_ms: m.duration_ms,
            server_id: m.server_id,
            server_version: m.server_version,
        }),
    }
}

pub fn error_to_proto(error: &RpcError) -> pb::RpcError {
    pb::RpcError {
        code: error.code,
        name: error.name.clone(),
        message: error.message.clone(),
        details: error
            .details
            .iter()
            .map(|d| pb::ErrorDetail {
                r#type: d.kind.clone(),
                field: d.field.clone(),
                reason: d.reason.clone(),
                metadata: d.metadata.clone().into_iter().collect(),
            })
            .collect(),
        debug: error.debug.as_ref().map(|d| pb::DebugInfo {
            stack_trace: d.stack_trace.clone(),
            internal_message: d.internal_message.clone(),
            timestamp_ms: d.timestamp_ms,
        }),
    }
}

pub fn error_from_proto(error: pb::RpcError) -> RpcError {
    RpcError {
        code: error.code,
        name: if error.name.is_empty() {
            ErrorCode::from_code(error.code)
                .map_or("UNKNOWN", ErrorCode::name)
                .to_owned()
        } else {
            error.name
        },
        message: error.message,
        details: error
            .details
            .into_iter()
            .map(|d| aduib_core::ErrorDetail {
                kind: d.r#type,
                field: d.field,
                reason: d.reason,
                metadata: d.metadata.into_iter().collect::<BTreeMap<_, _>>(),
            })
            .collect(),
        debug: error.debug.map(|d| {
            Box::new(aduib_core::error::DebugInfo {
                stack_trace: d.stack_trace,
                internal_message: d.internal_message,
                timestamp_ms: d.timestamp_ms,
            })
        }),
    }
}

fn trace_to_proto(t: &core::TraceContext) -> pb::TraceContext {
    pb::TraceContext {
        trace_id: t.trace_id.clone(),
        span_id: t.span_id.clone(),
        parent_span_id: t.parent_span_id.clone(),
        sampled: t.sampled,
        baggage: t.baggage.clone().into_iter().collect(),
    }
}

fn trace_from_proto(t: pb::TraceContext) -> core::TraceContext {
    core::TraceContext {
        trace_id: t.trace_id,
        span_id: t.span_id,
        parent_span_id: t.parent_span_id,
        sampled: t.sampled,
        baggage: t.baggage.into_iter().collect(),
    }
}

fn auth_scheme_to_proto(scheme: core::AuthScheme) -> pb::AuthScheme {
    match scheme {
        core::AuthScheme::Bearer => pb::AuthScheme::Bearer,
        core::AuthScheme::ApiKey => pb::AuthScheme::ApiKey,
        core::AuthScheme::Mtls => pb::AuthScheme::Mtls,
        // `basic` exists only in the JSON form.
        core::AuthScheme::Unspecified | core::AuthScheme::Basic => pb::AuthScheme::Unspecified,
    }
}

fn auth_scheme_from_proto(scheme: i32) -> core::AuthScheme {
    match pb::AuthScheme::try_from(scheme) {
        Ok(pb::AuthScheme::Bearer) => core::AuthScheme::Bearer,
        Ok(pb::AuthScheme::ApiKey) => core::AuthScheme::ApiKey,
        Ok(pb::AuthScheme::Mtls) => core::AuthScheme::Mtls,
        _ => core::AuthScheme::Unspecified,
    }
}

/// The JSON health answer (`{"status":"healthy","services":{..}}`) as protobuf.
pub fn health_to_proto(health: &Value) -> pb::HealthCheckResponse {
    let status = |v: Option<&Value>| -> i32 {
        let status = match v.and_then(Value::as_str) {
            Some("healthy") => pb::HealthStatus::Healthy,
            Some("unhealthy") => pb::HealthStatus::Unhealthy,
            Some("degraded") => pb::HealthStatus::Degraded,
            Some("unknown") => pb::HealthStatus::Unknown,
            _ => pb::HealthStatus::Unspecified,
        };
        status as i32
    };
    pb::HealthCheckResponse {
        status: status(health.get("status")),
        services: health
            .get("services")
            .and_then(Value::as_object)
            .map(|services| {
                services
                    .iter()
                    .map(|(name, s)| (name.clone(), status(Some(s))))
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A protobuf health answer as the JSON the other transports send.
pub fn health_from_proto(health: &pb::HealthCheckResponse) -> Value {
    let name = |s: i32| -> Value {
        let name = match pb::HealthStatus::try_from(s) {
            Ok(pb::HealthStatus::Healthy) => "healthy",
            Ok(pb::HealthStatus::Unhealthy) => "unhealthy",
            Ok(pb::HealthStatus::Degraded) => "degraded",
            Ok(pb::HealthStatus::Unknown) => "unknown",
            _ => "unspecified",
        };
        Value::String(name.to_owned())
    };
    let services: Map<String, Value> = health
        .services
        .iter()
        .map(|(k, v)| (k.clone(), name(*v)))
        .collect();
    serde_json::json!({ "status": name(health.status), "services": services })
}

pub fn task_status_to_proto(status: TaskStatus) -> i32 {
    (match status {
        TaskStatus::Pending => pb::TaskStatus::Pending,
        TaskStatus::Scheduled => pb::TaskStatus::Scheduled,
        TaskStatus::Retrying => pb::TaskStatus::Retrying,
        TaskStatus::Running => pb::TaskStatus::Running,
        TaskStatus::Succeeded => pb::TaskStatus::Succeeded,
        TaskStatus::Failed => pb::TaskStatus::Failed,
        TaskStatus::Canceled => pb::TaskStatus::Canceled,
    }) as i32
}

/// `None` for `TASK_STATUS_UNSPECIFIED` and numbers the enum lacks.
pub fn task_status_from_proto(status: i32) -> Option<TaskStatus> {
    pb::TaskStatus::try_from(status)
        .ok()
        .and_then(|status| TaskStatus::parse(status.as_str_name()))
}

pub fn task_to_proto(task: &TaskRecord) -> pb::TaskRecord {
    pb::TaskRecord {
        task_id: task.task_id.clone(),
        status: task_status_to_proto(task.status),
        // Ours are 0-3 (low..critical); the enum's 0 is "unspecified".
        priority: i32::from(task.priority) + 1,
        created_at_ms: task.created_at_ms,
        started_at_ms: task.started_at_ms,
        completed_at_ms: task.completed_at_ms,
        attempt: i32::try_from(task.attempt).unwrap_or(i32::MAX),
        max_attempts: i32::try_from(task.max_attempts).unwrap_or(i32::MAX),
        // The method's response as a structured value (the peer sends a
        // Python repr string here).
        result: task.result.clone().map(json_to_value),
        error: task.error.as_ref().map(error_to_proto),
        progress: task.progress.as_ref().map(|p| pb::TaskProgress {
            current: i64::try_from(p.current).unwrap_or(i64::MAX),
            total: i64::try_from(p.total).unwrap_or(i64::MAX),
            message: p.message.clone(),
            percentage: (p.total > 0).then(|| p.current as f64 * 100.0 / p.total as f64),
        }),
        ..pb::TaskRecord::default()
    }
}

/// A record from any gRPC server. An unspecified status reads as pending; a
/// `result` the peer sends as a Python repr string stays that string.
pub fn task_from_proto(task: pb::TaskRecord) -> TaskRecord {
    let status = task_status_from_proto(task.status).unwrap_or(TaskStatus::Pending);
    let mut record = TaskRecord {
        task_id: task.task_id,
        status,
        priority: u8::try_from(task.priority - 1).unwrap_or(1).min(3),
        created_at_ms: task.created_at_ms,
        updated_at_ms: 0,
        started_at_ms: task.started_at_ms,
        completed_at_ms: task.completed_at_ms,
        attempt: u32::try_from(task.attempt).unwrap_or(1),
        max_attempts: u32::try_from(task.max_attempts).unwrap_or(1),
        progress: task.progress.map(|p| TaskProgress {
            current: u64::try_from(p.current).unwrap_or(0),
            total: u64::try_from(p.total).unwrap_or(0),
            message: p.message,
        }),
        result: task.result.map(value_to_json),
        error: task.error.map(error_from_proto),
        method: None,
    };
    record.updated_at_ms = record.last_change_ms();
    record
}

pub fn task_event_from_proto(event: pb::TaskEvent) -> TaskEvent {
    TaskEvent {
        event: event.event,
        task: task_from_proto(event.task.unwrap_or_default()),
        timestamp_ms: event.timestamp_ms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn json_round_trips_with_integers_restored() {
        let original = json!({"i": 3, "f": 1.5, "neg": -7, "s": "x", "b": true, "n": null,
                               "list": [1, [2.25], {"k": "v"}], "big": 100000000000000001i64});
        let back = Value::Object(struct_to_map(map_to_struct(
            original.as_object().unwrap().clone(),
        )));
        assert_eq!(back["i"], json!(3));
        assert_eq!(back["f"], json!(1.5));
        assert_eq!(back["neg"], json!(-7));
        assert_eq!(back["list"], json!([1, [2.25], {"k": "v"}]));
        assert_eq!(back["n"], Value::Null);
        // Beyond 2^53 a double cannot say which integer it was.
        assert!(back["big"].is_f64());
    }

    #[test]
    fn the_envelope_round_trips() {
        let mut request = core::AduibRequest::new(
            "r1",
            "rpc.v2/CaculService/CaculService.add",
            json!({"x": 1, "y": 2}).as_object().cloned().unwrap(),
        );
        request.qos = Some(core::QosConfig {
            priority: Some(core::Priority::High),
            timeout_ms: Some(50),
            ..Default::default()
        });
        let wire = request_to_proto(&request);
        assert_eq!(
            wire.qos.as_ref().unwrap().priority,
            pb::Priority::High as i32
        );
        assert_eq!(request_from_proto(wire), request);

        let response =
            core::AduibResponse::failure("r1", RpcError::internal("boom").with_field("f", "r"));
        assert_eq!(
            response_from_proto(response_to_proto(response.clone())),
            response
        );
        let response = core::AduibResponse::success("r1", json!({"n": 2}));
        assert_eq!(
            response_from_proto(response_to_proto(response.clone())),
            response
        );
    }

    #[test]
    fn health_round_trips() {
        let health = json!({"status": "healthy", "services": {"a": "degraded"}});
        assert_eq!(health_from_proto(&health_to_proto(&health)), health);
    }

    #[test]
    fn any_wire_priority_is_read_without_overflow() {
        // Found by fuzzing: `i32::MIN - 1` overflowed (a panic in debug builds).
        for (wire, expected) in [
            (i32::MIN, None),
            (0, None),
            (1, Some(core::Priority::Low)),
            (4, Some(core::Priority::Critical)),
            (5, None),
            (i32::MAX, None),
        ] {
            let request = pb::Request {
                qos: Some(pb::QosConfig {
                    priority: wire,
                    ..Default::default()
                }),
                ..Default::default()
            };
            let qos = request_from_proto(request).qos.unwrap_or_default();
            assert_eq!(qos.priority, expected, "wire {wire}");
        }
    }
}
