//! Send: Aduib v2 calls, and raw requests to any HTTP or JSON-RPC server.
//!
//! - [`AduibClient`] speaks the Aduib v2 envelope over JSON-RPC
//!   (`POST /aduib_rpc`) or REST (`POST /aduib_rpc/v2/...`), unary and server
//!   streams (SSE). Whichever way a server reports an error — a JSON-RPC
//!   `error`, a `result` with `status: "error"`, or a REST 4xx/5xx with an
//!   Aduib body — the caller sees the same [`AduibResponse`] with
//!   `status: "error"`. A [`ClientError`] means no usable reply came at all:
//!   refused connection, deadline, a reply that is not Aduib, a stream cut
//!   mid-event.
//! - [`RawClient`] sends any HTTP request or any JSON-RPC 2.0 payload
//!   (notifications and batches included); `text/event-stream` replies arrive
//!   as events.
//!
//! - Long-running tasks ([`AduibClient::task_submit`] and its siblings) go
//!   through the typed `TaskService` on every transport.
//!
//! One `reqwest` connection pool per client is reused across calls. Load
//! balancing, retry and auth layers come with the discovery work.
//!
//! ```no_run
//! use aduib_client::{AduibClient, ClientConfig, Transport};
//! use aduib_core::AduibRequest;
//! use serde_json::json;
//!
//! # async fn run() -> Result<(), aduib_client::ClientError> {
//! let client = AduibClient::new(ClientConfig {
//!     transport: Transport::JsonRpc,
//!     url: "http://127.0.0.1:17101".into(),
//!     headers: vec![],
//!     timeout: Some(std::time::Duration::from_secs(10)),
//!     limits: aduib_core::Limits::default(),
//!     tls: None,
//! })?;
//! let data = json!({"x": 1, "y": 2}).as_object().cloned().unwrap_or_default();
//! let request = AduibRequest::new("1", "rpc.v2/CaculService/CaculService.add", data);
//! let response = client.call(&request).await?;
//! assert_eq!(response.result, Some(json!(3)));
//! # Ok(()) }
//! ```
//!
//! [`AduibResponse`]: aduib_core::AduibResponse

pub mod aduib;
pub mod anygrpc;
pub mod anythrift;
pub mod deadline;
pub mod error;
pub mod grpc;
pub mod raw;
pub mod sse;
pub mod stack;
pub mod task;
pub mod thrift;
pub mod tls;

pub use aduib::{AduibClient, ClientConfig, RequestStream, ResponseStream, Transport};
pub use error::ClientError;
pub use raw::{HttpReply, HttpRequestSpec, JsonRpcReply, RawClient, ReplyBody, jsonrpc_has_error};
pub use task::TaskEventStream;
pub use tls::{TlsError, TlsOptions};

/// The HTTP client every sender uses; `tls` replaces the default
/// verification (system roots) for `https://` URLs.
fn http_client(tls: Option<&TlsOptions>) -> Result<reqwest::Client, ClientError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("aduib-workbench/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(std::time::Duration::from_secs(10));
    if let Some(tls) = tls {
        let config = tls
            .client_config(tls::ALPN_HTTP)
            .map_err(|e| ClientError::Setup(e.to_string()))?;
        builder = builder.use_preconfigured_tls(config);
    }
    builder
        .build()
        .map_err(|e| ClientError::Setup(e.to_string()))
}
