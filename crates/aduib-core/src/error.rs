//! Aduib v2 errors: the code table and the `RpcError` that crosses every transport.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// A gRPC status code, by its wire number. Kept here (not tonic's `Code`) so the
/// wire model stays free of transport crates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum GrpcCode {
    Ok = 0,
    Cancelled = 1,
    Unknown = 2,
    InvalidArgument = 3,
    DeadlineExceeded = 4,
    NotFound = 5,
    AlreadyExists = 6,
    PermissionDenied = 7,
    ResourceExhausted = 8,
    FailedPrecondition = 9,
    Aborted = 10,
    OutOfRange = 11,
    Unimplemented = 12,
    Internal = 13,
    Unavailable = 14,
    DataLoss = 15,
    Unauthenticated = 16,
}

macro_rules! error_codes {
    ($($variant:ident = $code:literal, $name:literal;)*) => {
        /// Every error code Aduib RPC 2.0.1 defines, with its wire name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum ErrorCode {
            $($variant,)*
        }

        impl ErrorCode {
            /// All codes, in numeric order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The numeric code sent on the wire.
            pub const fn code(self) -> i32 {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The upper-case name sent on the wire (`"INVALID_PARAMS"`).
            pub const fn name(self) -> &'static str {
                match self { $(ErrorCode::$variant => $name,)* }
            }

            /// The code for a wire number, if it is one Aduib defines.
            pub fn from_code(code: i32) -> Option<ErrorCode> {
                match code { $($code => Some(ErrorCode::$variant),)* _ => None }
            }
        }
    };
}

error_codes! {
    Canceled = 499, "CANCELED";
    ProtocolError = 1000, "PROTOCOL_ERROR";
    UnsupportedVersion = 1001, "UNSUPPORTED_VERSION";
    InvalidMessage = 1002, "INVALID_MESSAGE";
    SerializationError = 1003, "SERIALIZATION_ERROR";
    CompressionError = 1004, "COMPRESSION_ERROR";
    BadRequest = 2000, "BAD_REQUEST";
    InvalidParams = 2001, "INVALID_PARAMS";
    MissingRequiredField = 2002, "MISSING_REQUIRED_FIELD";
    InvalidFieldValue = 2003, "INVALID_FIELD_VALUE";
    RequestTooLarge = 2004, "REQUEST_TOO_LARGE";
    Unauthenticated = 3000, "UNAUTHENTICATED";
    InvalidToken = 3001, "INVALID_TOKEN";
    TokenExpired = 3002, "TOKEN_EXPIRED";
    Unauthorized = 3010, "UNAUTHORIZED";
    PermissionDenied = 3011, "PERMISSION_DENIED";
    InsufficientScope = 3012, "INSUFFICIENT_SCOPE";
    ResourceNotFound = 4000, "RESOURCE_NOT_FOUND";
    MethodNotFound = 4001, "METHOD_NOT_FOUND";
    ServiceNotFound = 4002, "SERVICE_NOT_FOUND";
    AlreadyExists = 4010, "ALREADY_EXISTS";
    Conflict = 4011, "CONFLICT";
    Gone = 4020, "GONE";
    InternalError = 5000, "INTERNAL_ERROR";
    NotImplemented = 5001, "NOT_IMPLEMENTED";
    ServiceUnavailable = 5002, "SERVICE_UNAVAILABLE";
    RpcTimeout = 5003, "RPC_TIMEOUT";
    CircuitBreakerOpen = 5010, "CIRCUIT_BREAKER_OPEN";
    RateLimited = 5020, "RATE_LIMITED";
    ResourceExhausted = 5021, "RESOURCE_EXHAUSTED";
    DependencyError = 6000, "DEPENDENCY_ERROR";
    UpstreamTimeout = 6001, "UPSTREAM_TIMEOUT";
    UpstreamUnavailable = 6002, "UPSTREAM_UNAVAILABLE";
}

impl ErrorCode {
    /// The HTTP status the REST transport answers with for this code.
    pub fn http_status(self) -> u16 {
        http_status_for(self.code())
    }

    /// The gRPC status the typed gRPC services abort with for this code.
    pub fn grpc_code(self) -> GrpcCode {
        grpc_code_for(self.code())
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code(), self.name())
    }
}

/// HTTP status for any numeric code, by the ranges the peer uses (codes outside
/// every range are a server fault: 500).
pub fn http_status_for(code: i32) -> u16 {
    match code {
        499 => 499,
        1000..=2999 => 400,
        3000..=3002 => 401,
        3010..=3012 => 403,
        4000..=4002 => 404,
        4010..=4011 => 409,
        4020 => 410,
        5001 => 501,
        5002 | 5010 => 503,
        5003 | 6001 => 504,
        5020..=5021 => 429,
        6000 | 6002 => 502,
        _ => 500,
    }
}

/// gRPC status for any numeric code, by the ranges the peer uses.
pub fn grpc_code_for(code: i32) -> GrpcCode {
    match code {
        499 => GrpcCode::Cancelled,
        2000..=2999 => GrpcCode::InvalidArgument,
        3000..=3002 => GrpcCode::Unauthenticated,
        3010..=3012 => GrpcCode::PermissionDenied,
        4000..=4002 | 4020 => GrpcCode::NotFound,
        4010..=4011 => GrpcCode::AlreadyExists,
        5000 => GrpcCode::Internal,
        5001 => GrpcCode::Unimplemented,
        5002 => GrpcCode::Unavailable,
        5003 => GrpcCode::DeadlineExceeded,
        5020..=5021 => GrpcCode::ResourceExhausted,
        _ => GrpcCode::Unknown,
    }
}

/// The error object of the Aduib v2 envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RpcError {
    pub code: i32,
    pub name: String,
    pub message: String,
    /// The peer's `list[ErrorDetail] | None`: `null` reads as empty.
    #[serde(
        default,
        deserialize_with = "crate::envelope::null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub details: Vec<ErrorDetail>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debug: Option<Box<DebugInfo>>,
}

/// One structured reason attached to an [`RpcError`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ErrorDetail {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub reason: String,
    /// `null` reads as empty.
    #[serde(
        default,
        deserialize_with = "crate::envelope::null_as_default",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub metadata: BTreeMap<String, String>,
}

/// Diagnostics a server adds in development mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DebugInfo {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_trace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub internal_message: Option<String>,
    #[serde(default)]
    pub timestamp_ms: i64,
}

impl RpcError {
    /// An error with the code's own name.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        RpcError {
            code: code.code(),
            name: code.name().to_owned(),
            message: message.into(),
            details: Vec::new(),
            debug: None,
        }
    }

    /// Adds a detail naming the offending field (`type` is `aduib.rpc/validation`).
    pub fn with_field(mut self, field: impl Into<String>, reason: impl Into<String>) -> Self {
        self.details.push(ErrorDetail {
            kind: "aduib.rpc/validation".to_owned(),
            field: Some(field.into()),
            reason: reason.into(),
            metadata: BTreeMap::new(),
        });
        self
    }

    /// The known code, if this error carries one Aduib defines.
    pub fn error_code(&self) -> Option<ErrorCode> {
        ErrorCode::from_code(self.code)
    }

    /// HTTP status for this error (see [`http_status_for`]).
    pub fn http_status(&self) -> u16 {
        http_status_for(self.code)
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        RpcError::new(ErrorCode::InvalidParams, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        RpcError::new(ErrorCode::InternalError, message)
    }
}

impl fmt::Display for RpcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}: {}", self.code, self.name, self.message)
    }
}

impl std::error::Error for RpcError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_round_trips_through_its_number() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_code(code.code()), Some(code));
        }
        assert_eq!(ErrorCode::from_code(1234), None);
    }

    #[test]
    fn http_mapping_follows_the_peer_table() {
        let cases = [
            (ErrorCode::UnsupportedVersion, 400),
            (ErrorCode::InvalidParams, 400),
            (ErrorCode::RequestTooLarge, 400),
            (ErrorCode::TokenExpired, 401),
            (ErrorCode::PermissionDenied, 403),
            (ErrorCode::MethodNotFound, 404),
            (ErrorCode::Conflict, 409),
            (ErrorCode::Gone, 410),
            (ErrorCode::InternalError, 500),
            (ErrorCode::NotImplemented, 501),
            (ErrorCode::ServiceUnavailable, 503),
            (ErrorCode::CircuitBreakerOpen, 503),
            (ErrorCode::RpcTimeout, 504),
            (ErrorCode::UpstreamTimeout, 504),
            (ErrorCode::RateLimited, 429),
            (ErrorCode::DependencyError, 502),
            (ErrorCode::UpstreamUnavailable, 502),
        ];
        for (code, status) in cases {
            assert_eq!(code.http_status(), status, "{code}");
        }
    }

    #[test]
    fn grpc_mapping_follows_the_peer_table() {
        assert_eq!(ErrorCode::ResourceNotFound.grpc_code(), GrpcCode::NotFound);
        assert_eq!(ErrorCode::Gone.grpc_code(), GrpcCode::NotFound);
        assert_eq!(
            ErrorCode::InvalidFieldValue.grpc_code(),
            GrpcCode::InvalidArgument
        );
        assert_eq!(
            ErrorCode::RpcTimeout.grpc_code(),
            GrpcCode::DeadlineExceeded
        );
        assert_eq!(
            ErrorCode::ResourceExhausted.grpc_code(),
            GrpcCode::ResourceExhausted
        );
        // Outside the peer's table: unknown, as the peer does.
        assert_eq!(ErrorCode::ProtocolError.grpc_code(), GrpcCode::Unknown);
        assert_eq!(ErrorCode::CircuitBreakerOpen.grpc_code(), GrpcCode::Unknown);
    }

    #[test]
    fn serializes_without_empty_optionals() {
        let err = RpcError::new(ErrorCode::InternalError, "boom");
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":5000,"name":"INTERNAL_ERROR","message":"boom"}"#
        );
        let err = RpcError::invalid_params("bad").with_field("data.x", "must be a number");
        assert_eq!(
            serde_json::to_string(&err).unwrap(),
            r#"{"code":2001,"name":"INVALID_PARAMS","message":"bad","details":[{"type":"aduib.rpc/validation","field":"data.x","reason":"must be a number"}]}"#
        );
    }
}
