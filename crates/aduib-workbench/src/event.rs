//! What an exchange reports, in order, as it happens.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use ts_rs::TS;

use crate::error::WorkbenchError;
use crate::request::Header;

/// One event of an exchange: its place in the sequence, when it happened
/// (milliseconds from the start), and what it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Event {
    pub seq: u32,
    pub at_ms: f64,
    #[serde(flatten)]
    pub body: EventBody,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventBody {
    /// A message went out.
    Sent {
        #[ts(type = "unknown")]
        body: Value,
        size: u64,
    },
    /// The instance a registry call went to, after how many attempts;
    /// `stale` when the registry could not be asked and its last answer
    /// was used.
    Routed {
        instance: String,
        attempts: u32,
        stale: bool,
    },
    /// Response headers (HTTP status and headers, gRPC initial metadata).
    Headers {
        #[ts(optional)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        status: Option<u16>,
        headers: Vec<Header>,
    },
    /// A message came in.
    Message {
        #[ts(type = "unknown")]
        body: Value,
        size: u64,
        /// `body` is only the payload of the Aduib envelope that came in (its
        /// result, data or error): what the window is sent of a stream, the
        /// whole envelope being kept by [`crate::window::KeptBodies`].
        #[ts(as = "Option<bool>", optional)]
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        preview: bool,
    },
    /// gRPC trailers.
    Trailers { trailers: Vec<Header> },
    /// How the server judged the call: OK, or its error code and name.
    Status { status: CallStatus },
    /// No (complete) answer: what went wrong. What arrived before stays.
    Error { error: WorkbenchError },
    /// The last event of every exchange.
    End { summary: Summary },
}

/// The server's verdict, protocol-neutral.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct CallStatus {
    pub ok: bool,
    /// Aduib error code, gRPC status code, or HTTP status.
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

impl CallStatus {
    pub fn ok() -> Self {
        CallStatus {
            ok: true,
            code: None,
            name: None,
            message: None,
        }
    }

    pub fn error(code: i64, name: impl Into<String>, message: impl Into<String>) -> Self {
        CallStatus {
            ok: false,
            code: Some(code),
            name: Some(name.into()),
            message: Some(message.into()),
        }
    }
}

/// How an exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The server answered, with success.
    Ok,
    /// The server answered, with an error.
    ServerError,
    /// No usable answer.
    Failed,
    /// Cancelled by the user.
    Cancelled,
}

impl Outcome {
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::ServerError => "server_error",
            Outcome::Failed => "failed",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// Totals of an exchange.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Summary {
    pub outcome: Outcome,
    pub total_ms: f64,
    /// Until the first thing came back (headers or a message).
    #[ts(optional)]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_byte_ms: Option<f64>,
    pub messages_sent: u32,
    pub messages_received: u32,
    pub bytes_sent: u64,
    pub bytes_received: u64,
}
