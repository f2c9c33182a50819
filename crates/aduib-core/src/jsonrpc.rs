//! JSON-RPC 2.0 framing, and how Aduib v2 rides on it.
//!
//! Aduib sends `{"jsonrpc":"2.0","id":..,"method":"rpc.v2/..","params":<AduibRequest>}`
//! to `POST /aduib_rpc`. A failure can come back two ways: as a JSON-RPC `error`
//! whose `data` is the `RpcError`, or as a `result` whose `status` is `"error"`.
//! [`JsonRpcResponse::into_aduib`] folds both into one [`AduibResponse`].

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::envelope::{AduibRequest, AduibResponse};
use crate::error::{ErrorCode, RpcError};

/// The path the JSON-RPC transport is served on.
pub const JSONRPC_PATH: &str = "/aduib_rpc";

/// A JSON-RPC request id: a string, a number or null.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum JsonRpcId {
    Str(String),
    Num(serde_json::Number),
    Null,
}

impl JsonRpcId {
    /// The id as the Aduib envelope writes it (a string).
    pub fn as_aduib_id(&self) -> String {
        match self {
            JsonRpcId::Str(s) => s.clone(),
            JsonRpcId::Num(n) => n.to_string(),
            JsonRpcId::Null => String::new(),
        }
    }
}

/// One JSON-RPC 2.0 request or notification (no `id`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcRequest {
    pub jsonrpc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<JsonRpcId>,
    pub method: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

impl JsonRpcRequest {
    pub fn new(id: Option<JsonRpcId>, method: impl Into<String>, params: Option<Value>) -> Self {
        JsonRpcRequest {
            jsonrpc: "2.0".to_owned(),
            id,
            method: method.into(),
            params,
        }
    }

    /// Wraps an Aduib request the way the peer's client does: outer method =
    /// inner method, outer id supplied by the caller.
    pub fn for_aduib(id: impl Into<String>, request: &AduibRequest) -> Result<Self, RpcError> {
        let params = serde_json::to_value(request)
            .map_err(|e| RpcError::new(ErrorCode::SerializationError, e.to_string()))?;
        Ok(JsonRpcRequest::new(
            Some(JsonRpcId::Str(id.into())),
            request.method.clone(),
            Some(params),
        ))
    }
}

/// The error member of a JSON-RPC response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcError {
    pub code: i64,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

/// A JSON-RPC 2.0 response. Field order matches the peer: `id`, `jsonrpc`, then
/// `result` or `error`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonRpcResponse {
    #[serde(default = "null_id")]
    pub id: JsonRpcId,
    pub jsonrpc: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<JsonRpcError>,
}

fn null_id() -> JsonRpcId {
    JsonRpcId::Null
}

impl JsonRpcResponse {
    pub fn result(id: JsonRpcId, result: Value) -> Self {
        JsonRpcResponse {
            id,
            jsonrpc: "2.0".to_owned(),
            result: Some(result),
            error: None,
        }
    }

    /// An error reply carrying an Aduib error: its code and message at the top,
    /// the whole `RpcError` in `data` (as the peer does).
    pub fn aduib_error(id: JsonRpcId, error: &RpcError) -> Self {
        JsonRpcResponse {
            id,
            jsonrpc: "2.0".to_owned(),
            result: None,
            error: Some(JsonRpcError {
                code: i64::from(error.code),
                message: error.message.clone(),
                data: serde_json::to_value(error).ok(),
            }),
        }
    }

    /// Folds either error placement into one Aduib response. A JSON-RPC error
    /// without an `RpcError` in `data` keeps its code and message.
    pub fn into_aduib(self) -> Result<AduibResponse, RpcError> {
        let aduib_id = self.id.as_aduib_id();
        if let Some(error) = self.error {
            let rpc_error = error
                .data
                .and_then(|data| serde_json::from_value::<RpcError>(data).ok())
                .unwrap_or_else(|| {
                    let code = i32::try_from(error.code).unwrap_or(i32::MIN);
                    RpcError {
                        code,
                        name: ErrorCode::from_code(code)
                            .map_or("JSONRPC_ERROR", ErrorCode::name)
                            .to_owned(),
                        message: error.message,
                        details: Vec::new(),
                        debug: None,
                    }
                });
            return Ok(AduibResponse::failure(aduib_id, rpc_error));
        }
        let result = self.result.ok_or_else(|| {
            RpcError::new(
                ErrorCode::InvalidMessage,
                "JSON-RPC response has neither `result` nor `error`",
            )
        })?;
        serde_json::from_value(result).map_err(|e| {
            RpcError::new(
                ErrorCode::InvalidMessage,
                format!("JSON-RPC `result` is not an Aduib response: {e}"),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::envelope::ResponseStatus;
    use serde_json::json;

    #[test]
    fn wraps_an_aduib_request_like_the_peer_client() {
        let mut req = AduibRequest::new(
            "req-1",
            "rpc.v2/CaculService/CaculService.add",
            json!({"x": 1, "y": 2}).as_object().cloned().unwrap(),
        );
        req.metadata = None;
        let wire = JsonRpcRequest::for_aduib("1", &req).unwrap();
        assert_eq!(
            serde_json::to_string(&wire).unwrap(),
            r#"{"jsonrpc":"2.0","id":"1","method":"rpc.v2/CaculService/CaculService.add","params":{"aduib_rpc":"2.0","id":"req-1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2}}}"#
        );
    }

    #[test]
    fn both_error_placements_fold_to_one_shape() {
        let top: JsonRpcResponse = serde_json::from_value(json!({
            "id": "1", "jsonrpc": "2.0",
            "error": {"code": 5000, "message": "boom",
                      "data": {"code": 5000, "name": "INTERNAL_ERROR", "message": "boom"}}
        }))
        .unwrap();
        let inner: JsonRpcResponse = serde_json::from_value(json!({
            "id": "1", "jsonrpc": "2.0",
            "result": {"aduib_rpc": "2.0", "id": "1", "status": "error",
                       "error": {"code": 5000, "name": "INTERNAL_ERROR", "message": "boom"}}
        }))
        .unwrap();
        let a = top.into_aduib().unwrap();
        let b = inner.into_aduib().unwrap();
        assert_eq!(a.status, ResponseStatus::Error);
        assert_eq!(a.error, b.error);
    }

    #[test]
    fn a_foreign_jsonrpc_error_keeps_its_code() {
        let resp: JsonRpcResponse = serde_json::from_value(json!({
            "id": 1, "jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}
        }))
        .unwrap();
        let aduib = resp.into_aduib().unwrap();
        let err = aduib.error.unwrap();
        assert_eq!(err.code, -32601);
        assert_eq!(err.name, "JSONRPC_ERROR");
        assert_eq!(aduib.id, "1");
    }

    #[test]
    fn serializes_replies_in_the_peer_field_order() {
        let reply = JsonRpcResponse::aduib_error(
            JsonRpcId::Str("1".into()),
            &RpcError::invalid_params("x"),
        );
        assert_eq!(
            serde_json::to_string(&reply).unwrap(),
            r#"{"id":"1","jsonrpc":"2.0","error":{"code":2001,"message":"x","data":{"code":2001,"name":"INVALID_PARAMS","message":"x"}}}"#
        );
    }
}
