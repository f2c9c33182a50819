//! Any Thrift service from its IDL: arguments as JSON, encoded by the IDL at
//! run time, over either protocol and either transport.

use std::time::Duration;

use aduib_thrift::frame::FrameError;
use aduib_thrift::idl::Function;
use aduib_thrift::message::{decode_reply, encode_call};
use aduib_thrift::{Framing, MessageReader, Outcome, Protocol, Schema, write_message};
use serde_json::Value;
use thiserror::Error;
use tokio::net::TcpStream;

use crate::deadline::Deadline;

/// How to call.
#[derive(Debug, Clone)]
pub struct ThriftCallOptions {
    /// `host:port`.
    pub target: String,
    pub protocol: Protocol,
    pub framing: Framing,
    /// Service name for a multiplexed server (`Name:method` on the wire).
    pub multiplexed: Option<String>,
    pub timeout: Option<Duration>,
}

#[derive(Debug, Error)]
pub enum ThriftCallError {
    #[error("{0}")]
    NotFound(String),
    #[error("invalid arguments")]
    Input(#[from] aduib_thrift::value::EncodeError),
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("no reply from {target} within {after:?}")]
    Timeout { target: String, after: Duration },
    #[error("{target} closed the connection before a whole reply arrived ({received} bytes)")]
    Closed { target: String, received: usize },
    #[error("bad reply from {target}: {reason}")]
    BadReply { target: String, reason: String },
}

/// `Service.method` in `schema`.
pub fn find_function<'s>(
    schema: &'s Schema,
    symbol: &str,
) -> Result<&'s Function, ThriftCallError> {
    let (service, method) = symbol
        .rsplit_once('.')
        .ok_or_else(|| ThriftCallError::NotFound(format!("{symbol:?}: expected Service.method")))?;
    let def = schema.service(service).ok_or_else(|| {
        ThriftCallError::NotFound(format!(
            "no service {service} in the IDL (it has {})",
            schema.service_names().join(", ")
        ))
    })?;
    let function = def.function(method).ok_or_else(|| {
        let names: Vec<&str> = def.functions.iter().map(|f| f.name.as_str()).collect();
        ThriftCallError::NotFound(format!(
            "{service} has no method {method} (it has {})",
            names.join(", ")
        ))
    })?;
    Ok(function)
}

/// Calls `function` with `args` (an object keyed by argument name). A oneway
/// call returns `Success(null)` once sent.
pub async fn call(
    schema: &Schema,
    function: &Function,
    args: &Value,
    options: &ThriftCallOptions,
) -> Result<Outcome, ThriftCallError> {
    let name = match &options.multiplexed {
        Some(service) => format!("{service}:{}", function.name),
        None => function.name.clone(),
    };
    let message = encode_call(schema, options.protocol, &name, function, args, 1)?;
    let target = options.target.clone();
    let deadline = Deadline::after(options.timeout);
    let exchange = async {
        let stream = TcpStream::connect(&target)
            .await
            .map_err(|e| ThriftCallError::Connect {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        let _ = stream.set_nodelay(true);
        let (read, mut write) = stream.into_split();
        let io_error = |e: std::io::Error| ThriftCallError::BadReply {
            target: target.clone(),
            reason: e.to_string(),
        };
        write_message(&mut write, options.framing, &message)
            .await
            .map_err(io_error)?;
        if function.oneway {
            return Ok(None);
        }
        let mut reader = MessageReader::new(
            read,
            options.protocol,
            options.framing,
            aduib_thrift::ReadLimits::default(),
        );
        match reader.next_message().await {
            Ok(reply) => Ok(Some(reply)),
            Err(FrameError::Closed) => Err(ThriftCallError::Closed {
                target: target.clone(),
                received: 0,
            }),
            Err(FrameError::Truncated(received)) => Err(ThriftCallError::Closed {
                target: target.clone(),
                received,
            }),
            Err(other) => Err(ThriftCallError::BadReply {
                target: target.clone(),
                reason: other.to_string(),
            }),
        }
    };
    let reply = deadline
        .run(exchange)
        .await
        .map_err(|_| ThriftCallError::Timeout {
            target: options.target.clone(),
            after: options.timeout.unwrap_or_default(),
        })??;
    let Some(reply) = reply else {
        return Ok(Outcome::Success(Value::Null));
    };
    let (_, outcome) = decode_reply(
        schema,
        options.protocol,
        &reply,
        function,
        aduib_thrift::ReadLimits::default(),
    )
    .map_err(|e| ThriftCallError::BadReply {
        target: options.target.clone(),
        reason: e.to_string(),
    })?;
    Ok(outcome)
}
