//! The Aduib RPC v2 wire model, shared by every other crate of the workbench.
//!
//! Aduib RPC carries one envelope over four transports (JSON-RPC, REST, gRPC,
//! Thrift). This crate holds that envelope and the rules around it, with no I/O
//! and no transport dependencies, so the client, the server, the CLI and the app
//! all agree on the bytes:
//!
//! - [`envelope`]: [`AduibRequest`] and [`AduibResponse`] with metadata, QoS,
//!   auth and trace context, serialized exactly as the Python peer
//!   (`aduib-rpc` 2.0.1) writes them: same field names and order, lowercase
//!   enum strings, absent values omitted.
//! - [`error`]: the [`ErrorCode`] table (code, name, HTTP status, gRPC status)
//!   and [`RpcError`], the error object every transport carries.
//! - [`method`]: [`MethodName`], `rpc.v2/<service>/<Handler>.<method>`.
//! - [`jsonrpc`]: JSON-RPC 2.0 framing, and folding its two error placements
//!   into one response.
//! - [`limits`]: [`Limits`], what one peer may make us spend.
//! - [`rest`]: the REST routes.
//! - [`sse`]: an incremental server-sent-events decoder that notices truncated
//!   streams, and the frames our server writes.
//! - [`pyjson`]: JSON in Python's default layout, where the peer's bytes use it.
//!
//! ```
//! use aduib_core::{AduibRequest, MethodName};
//! use serde_json::json;
//!
//! let method = MethodName::parse_lenient("CaculService.add").unwrap();
//! let data = json!({"x": 1, "y": 2}).as_object().cloned().unwrap();
//! let mut request = AduibRequest::new("req-1", method.to_string(), data);
//! request.metadata = None;
//! assert_eq!(
//!     serde_json::to_string(&request).unwrap(),
//!     r#"{"aduib_rpc":"2.0","id":"req-1","method":"rpc.v2/CaculService/CaculService.add","data":{"x":1,"y":2}}"#,
//! );
//! ```
//!
//! Transports live in `aduib-client` (sending) and `aduib-server` (hosting).

pub mod envelope;
pub mod error;
pub mod jsonrpc;
pub mod limits;
pub mod method;
pub mod pyjson;
pub mod rest;
pub mod sse;
pub mod task;

pub use envelope::{
    AduibRequest, AduibResponse, AuthContext, AuthScheme, Priority, QosConfig, RequestMetadata,
    ResponseMetadata, ResponseStatus, RetryConfig, TraceContext, now_ms,
};
pub use error::{ErrorCode, ErrorDetail, GrpcCode, RpcError};
pub use limits::{JsonShapeError, Limits};
pub use method::{MethodName, MethodNameError};
