//! The HTTP frontends. Each turns its framing into dispatcher calls and back.

pub mod grpc;
pub mod jsonrpc;
pub mod rest;
pub mod thrift;

use std::time::Duration;

use aduib_core::{ErrorCode, Limits, RpcError};
use axum::body::Body;
use http::HeaderMap;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde_json::Value;

use crate::dispatch::Dispatcher;

/// What every frontend handler shares.
#[derive(Debug, Clone)]
pub struct FrontendState {
    pub dispatcher: Dispatcher,
    pub limits: Limits,
    pub keep_alive: Duration,
    pub access: std::sync::Arc<crate::access::Access>,
}

/// Reads a JSON body within the limits. Each way a body can be unusable
/// becomes its own Aduib error: too large, too deep or too many values
/// (2004), not UTF-8 or not JSON (1003), not all sent within the body
/// timeout (1000).
pub async fn read_json_body(
    headers: &HeaderMap,
    body: Body,
    limits: &Limits,
) -> Result<Value, RpcError> {
    let limit = limits.max_body_bytes;
    let too_large = || {
        RpcError::new(
            ErrorCode::RequestTooLarge,
            format!("request body exceeds the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return Err(too_large());
    }
    let collected = tokio::time::timeout(limits.body_timeout, Limited::new(body, limit).collect());
    let bytes = match collected.await {
        Ok(Ok(collected)) => collected.to_bytes(),
        Ok(Err(e)) if e.downcast_ref::<LengthLimitError>().is_some() => return Err(too_large()),
        Ok(Err(e)) => {
            return Err(RpcError::new(
                ErrorCode::ProtocolError,
                format!("could not read the request body: {e}"),
            ));
        }
        Err(_) => {
            return Err(RpcError::new(
                ErrorCode::ProtocolError,
                format!(
                    "the request body was not received within {} ms",
                    limits.body_timeout.as_millis()
                ),
            ));
        }
    };
    limits
        .check_json(&bytes)
        .map_err(|e| RpcError::new(ErrorCode::RequestTooLarge, format!("request body: {e}")))?;
    let text = std::str::from_utf8(&bytes).map_err(|e| {
        RpcError::new(
            ErrorCode::SerializationError,
            format!(
                "request body is not valid UTF-8 (first bad byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    serde_json::from_str(text).map_err(|e| {
        RpcError::new(
            ErrorCode::SerializationError,
            format!("request body is not valid JSON: {e}"),
        )
    })
}
