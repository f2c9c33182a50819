//! What can go wrong when sending.

use std::time::Duration;

use aduib_core::RpcError;
use aduib_core::sse::SseError;
use thiserror::Error;

/// A call that produced no usable reply. A reply that carries an Aduib error
/// is not a `ClientError`: it is an [`AduibResponse`](aduib_core::AduibResponse)
/// with `status: "error"`.
#[derive(Debug, Error)]
pub enum ClientError {
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    #[error("no complete reply from {url} within {after:?}")]
    Timeout { url: String, after: Duration },
    #[error("request to {url} failed: {reason}")]
    Transport { url: String, reason: String },
    #[error("HTTP {status} from {url} without an Aduib reply: {body}")]
    HttpStatus {
        url: String,
        status: u16,
        body: String,
    },
    #[error("bad reply from {url}: {reason}")]
    BadReply { url: String, reason: String },
    #[error("the reply from {url} is larger than the limit of {limit} bytes")]
    TooLarge { url: String, limit: usize },
    #[error("bad event stream from {url}: {error}")]
    Stream { url: String, error: SseError },
    #[error("{url} answered with an event stream; call it as a stream (`aduib stream`)")]
    UnexpectedStream { url: String },
    #[error("cannot encode the request: {0}")]
    Encode(String),
    #[error("cannot set up the client: {0}")]
    Setup(String),
    #[error("{what} needs gRPC or Thrift; {transport} cannot carry it")]
    Unsupported {
        what: &'static str,
        transport: &'static str,
    },
    /// An answer that is an Aduib error where the call has no response
    /// envelope to carry it (the typed `TaskService`).
    #[error("{url} answered {} {}: {}", error.code, error.name, error.message)]
    Rpc { url: String, error: RpcError },
    #[error("gRPC status {code:?} from {target}: {message}")]
    GrpcStatus {
        target: String,
        code: tonic::Code,
        message: String,
    },
}

impl ClientError {
    /// Classifies a reqwest error for `url` (`timeout` is the deadline in force).
    pub(crate) fn from_reqwest(
        url: &str,
        timeout: Option<Duration>,
        source: reqwest::Error,
    ) -> Self {
        let url = url.to_owned();
        if source.is_timeout() {
            ClientError::Timeout {
                url,
                after: timeout.unwrap_or_default(),
            }
        } else if source.is_connect() {
            ClientError::Connect {
                url,
                reason: root_cause(&source),
            }
        } else {
            ClientError::Transport {
                url,
                reason: root_cause(&source),
            }
        }
    }
}

/// The innermost message of an error chain: reqwest and hyper repeat the URL
/// at every level, while the last one says what actually happened.
fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
