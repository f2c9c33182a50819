//! One error type for everything a person sees go wrong: a kind to branch on,
//! a one-line message, and the causes under it.

use aduib_client::ClientError;
use aduib_client::anygrpc::GrpcError;
use aduib_client::anythrift::ThriftCallError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What kind of failure, so the UI can offer the right next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Nothing answered at the address (refused, unreachable, DNS).
    Connect,
    /// The TLS handshake or certificate check failed.
    Tls,
    /// The deadline passed before the exchange finished.
    Timeout,
    /// Something answered, but not in the protocol expected.
    Protocol,
    /// The server answered with an error status.
    Server,
    /// The request itself is wrong (bad JSON, a field of the wrong type).
    BadInput,
    /// A method, service or file that does not exist.
    NotFound,
    /// The user cancelled the exchange.
    Cancelled,
    /// A failure on our side (history database, set-up).
    Internal,
}

/// An error as the UI and the CLI show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS, thiserror::Error)]
#[error("{message}")]
pub struct WorkbenchError {
    pub kind: ErrorKind,
    /// One line, saying what happened.
    pub message: String,
    /// The causes under `message`, outermost first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub causes: Vec<String>,
    /// The Aduib error code or gRPC status code, when the server sent one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    /// That code's name (`METHOD_NOT_FOUND`, `Unavailable`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_name: Option<String>,
    /// Where in the request a bad input is (`.x`, `message 2 at .point`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

impl WorkbenchError {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        WorkbenchError {
            kind,
            message: message.into(),
            causes: Vec::new(),
            code: None,
            code_name: None,
            path: None,
        }
    }

    pub fn bad_input(message: impl Into<String>) -> Self {
        WorkbenchError::new(ErrorKind::BadInput, message)
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::NotFound, message)
    }

    pub fn internal(message: impl Into<String>) -> Self {
        WorkbenchError::new(ErrorKind::Internal, message)
    }

    pub fn cancelled() -> Self {
        WorkbenchError::new(ErrorKind::Cancelled, "cancelled")
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The message and every cause, on one line.
    pub fn chain(&self) -> String {
        let mut line = self.message.clone();
        for cause in &self.causes {
            line.push_str(": ");
            line.push_str(cause);
        }
        line
    }
}

/// A TLS failure reads as one, whichever layer reported it.
fn connect_kind(reason: &str) -> ErrorKind {
    let lower = reason.to_ascii_lowercase();
    if ["certificate", "tls", "handshake", "x509"]
        .iter()
        .any(|word| lower.contains(word))
    {
        ErrorKind::Tls
    } else {
        ErrorKind::Connect
    }
}

impl From<ClientError> for WorkbenchError {
    fn from(error: ClientError) -> Self {
        let kind = match &error {
            ClientError::InvalidUrl { .. } | ClientError::Encode(_) => ErrorKind::BadInput,
            ClientError::Connect { reason, .. } => connect_kind(reason),
            ClientError::Timeout { .. } => ErrorKind::Timeout,
            ClientError::Transport { reason, .. } => match connect_kind(reason) {
                ErrorKind::Tls => ErrorKind::Tls,
                _ => ErrorKind::Protocol,
            },
            ClientError::HttpStatus { .. }
            | ClientError::BadReply { .. }
            | ClientError::TooLarge { .. }
            | ClientError::Stream { .. }
            | ClientError::UnexpectedStream { .. } => ErrorKind::Protocol,
            ClientError::Setup(_) => ErrorKind::Internal,
            ClientError::Unsupported { .. } => ErrorKind::BadInput,
            ClientError::GrpcStatus { .. } | ClientError::Rpc { .. } => ErrorKind::Server,
        };
        let mut out = WorkbenchError::new(kind, error.to_string());
        if let ClientError::GrpcStatus { code, .. } = &error {
            out.code = Some(*code as i32);
            out.code_name = Some(format!("{code:?}"));
        }
        if let ClientError::Rpc { error, .. } = &error {
            out.code = Some(error.code);
            out.code_name = Some(error.name.clone());
        }
        out
    }
}

impl From<GrpcError> for WorkbenchError {
    fn from(error: GrpcError) -> Self {
        match error {
            GrpcError::InvalidTarget(_) => WorkbenchError::bad_input(error.to_string()),
            GrpcError::Setup(ref reason) => {
                WorkbenchError::new(connect_kind(reason), error.to_string())
            }
            GrpcError::Schema(_) => WorkbenchError::bad_input(error.to_string()),
            GrpcError::Reflection(_) => WorkbenchError::new(ErrorKind::Protocol, error.to_string()),
            GrpcError::NotFound(_) => WorkbenchError::new(ErrorKind::NotFound, error.to_string()),
            GrpcError::Input { message, reason } => {
                // `parse_messages` ends its reason with ` at <path>`.
                let path = reason.rsplit_once(" at ").map(|(_, path)| path.to_owned());
                let error = WorkbenchError::bad_input(format!("invalid {message}: {reason}"));
                match path {
                    Some(path) if !path.contains(' ') => {
                        let path = if path.starts_with('.') {
                            path
                        } else {
                            format!(".{path}")
                        };
                        error.with_path(path)
                    }
                    _ => error,
                }
            }
            GrpcError::Timeout(_) => WorkbenchError::new(ErrorKind::Timeout, error.to_string()),
            GrpcError::Connect { ref reason, .. } => {
                WorkbenchError::new(connect_kind(reason), error.to_string())
            }
            GrpcError::Status(status) => {
                let mut out = WorkbenchError::new(
                    ErrorKind::Server,
                    format!("{:?}: {}", status.code(), status.message()),
                );
                out.code = Some(status.code() as i32);
                out.code_name = Some(format!("{:?}", status.code()));
                out
            }
        }
    }
}

impl From<ThriftCallError> for WorkbenchError {
    fn from(error: ThriftCallError) -> Self {
        let kind = match &error {
            ThriftCallError::NotFound(_) => ErrorKind::NotFound,
            ThriftCallError::Input(_) => ErrorKind::BadInput,
            ThriftCallError::Connect { .. } => ErrorKind::Connect,
            ThriftCallError::Timeout { .. } => ErrorKind::Timeout,
            ThriftCallError::Closed { .. } | ThriftCallError::BadReply { .. } => {
                ErrorKind::Protocol
            }
        };
        let mut out = WorkbenchError::new(kind, error.to_string());
        let mut source = std::error::Error::source(&error);
        while let Some(cause) = source {
            out.causes.push(cause.to_string());
            source = cause.source();
        }
        out
    }
}

impl From<aduib_thrift::idl::IdlError> for WorkbenchError {
    fn from(error: aduib_thrift::idl::IdlError) -> Self {
        WorkbenchError::bad_input(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_connection_is_a_connect_error_and_a_bad_certificate_a_tls_one() {
        let refused: WorkbenchError = ClientError::Connect {
            url: "http://127.0.0.1:1".into(),
            reason: "Connection refused (os error 111)".into(),
        }
        .into();
        assert_eq!(refused.kind, ErrorKind::Connect);
        let tls: WorkbenchError = GrpcError::Connect {
            target: "127.0.0.1:1".into(),
            reason: "invalid peer certificate: UnknownIssuer".into(),
        }
        .into();
        assert_eq!(tls.kind, ErrorKind::Tls);
    }

    #[test]
    fn a_bad_grpc_field_names_its_path() {
        let error: WorkbenchError = GrpcError::Input {
            message: "demo.Point".into(),
            reason: "invalid type: string \"x\", expected i32 at .latitude".into(),
        }
        .into();
        assert_eq!(error.kind, ErrorKind::BadInput);
        assert_eq!(error.path.as_deref(), Some(".latitude"));
    }

    #[test]
    fn a_grpc_status_carries_its_code_and_name() {
        let error: WorkbenchError =
            GrpcError::Status(tonic::Status::unavailable("try later")).into();
        assert_eq!(error.kind, ErrorKind::Server);
        assert_eq!(error.code, Some(14));
        assert_eq!(error.code_name.as_deref(), Some("Unavailable"));
    }
}
