//! Aduib v2 over Thrift: strict binary, buffered, multiplexed names, as the
//! peer's client. One connection is kept and reused; calls on it take turns.

use std::time::Duration;

use aduib_core::{AduibRequest, AduibResponse, RpcError};
use aduib_thrift::aduib::{health_from_thrift, request_to_thrift, response_from_thrift, schema};
use aduib_thrift::message::{decode_reply, encode_call};
use aduib_thrift::{Framing, MessageReader, Outcome, Protocol, write_message};
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

use crate::aduib::{ClientConfig, ResponseStream};
use crate::deadline::Deadline;
use crate::error::ClientError;
use crate::grpc::grpc_target;

type Connection = (MessageReader<OwnedReadHalf>, OwnedWriteHalf);

#[derive(Debug)]
pub(crate) struct ThriftAduib {
    target: String,
    timeout: Option<Duration>,
    connection: Mutex<Option<Connection>>,
    seq: std::sync::atomic::AtomicI32,
}

impl ThriftAduib {
    pub(crate) fn new(config: &ClientConfig) -> Result<Self, ClientError> {
        let url = config.url.strip_prefix("thrift://").unwrap_or(&config.url);
        let target = grpc_target(url).map_err(|_| ClientError::InvalidUrl {
            url: config.url.clone(),
            reason: "a Thrift target is host:port (or thrift://host:port)".into(),
        })?;
        Ok(ThriftAduib {
            target,
            timeout: config.timeout,
            connection: Mutex::new(None),
            seq: std::sync::atomic::AtomicI32::new(0),
        })
    }

    pub(crate) async fn call(&self, request: &AduibRequest) -> Result<AduibResponse, ClientError> {
        let reply = self
            .invoke(
                "AduibRpcService",
                "Call",
                json!({ "request": request_to_thrift(request) }),
            )
            .await?;
        Ok(self.response(reply))
    }

    /// Thrift has no streams: the server answers with the whole list.
    pub(crate) async fn stream(
        &self,
        request: &AduibRequest,
    ) -> Result<ResponseStream, ClientError> {
        let reply = self
            .invoke(
                "AduibRpcService",
                "CallServerStream",
                json!({ "request": request_to_thrift(request) }),
            )
            .await?;
        Ok(self.responses(reply))
    }

    pub(crate) async fn client_stream(
        &self,
        requests: Vec<AduibRequest>,
    ) -> Result<AduibResponse, ClientError> {
        let requests: Vec<Value> = requests.iter().map(request_to_thrift).collect();
        let reply = self
            .invoke(
                "AduibRpcService",
                "CallClientStream",
                json!({ "requests": requests }),
            )
            .await?;
        Ok(self.response(reply))
    }

    pub(crate) async fn bidirectional(
        &self,
        requests: Vec<AduibRequest>,
    ) -> Result<ResponseStream, ClientError> {
        let requests: Vec<Value> = requests.iter().map(request_to_thrift).collect();
        let reply = self
            .invoke(
                "AduibRpcService",
                "CallBidirectional",
                json!({ "requests": requests }),
            )
            .await?;
        Ok(self.responses(reply))
    }

    pub(crate) async fn health(&self, service: Option<&str>) -> Result<AduibResponse, ClientError> {
        let request = match service {
            Some(service) => json!({ "service_name": service }),
            None => json!({}),
        };
        let id = uuid::Uuid::new_v4().to_string();
        Ok(
            match self
                .invoke("HealthService", "Check", json!({ "request": request }))
                .await?
            {
                Ok(health) => AduibResponse::success(id, health_from_thrift(&health)),
                Err(error) => AduibResponse::failure(id, error),
            },
        )
    }

    fn response(&self, reply: Result<Value, RpcError>) -> AduibResponse {
        match reply {
            Ok(value) => response_from_thrift(&value),
            Err(error) => AduibResponse::failure("", error),
        }
    }

    fn responses(&self, reply: Result<Value, RpcError>) -> ResponseStream {
        let responses: Vec<Result<AduibResponse, ClientError>> = match reply {
            Ok(Value::Array(items)) => items
                .iter()
                .map(|item| Ok(response_from_thrift(item)))
                .collect(),
            Ok(other) => vec![Ok(response_from_thrift(&other))],
            Err(error) => vec![Ok(AduibResponse::failure("", error))],
        };
        stream::iter(responses).boxed()
    }

    /// One call of `service.method`. `Ok(Err(_))` is the server's answer as
    /// an Aduib error (a `TApplicationException`, whose message is the
    /// `RpcError` JSON when the peer raised it).
    async fn invoke(
        &self,
        service: &str,
        method: &str,
        args: Value,
    ) -> Result<Result<Value, RpcError>, ClientError> {
        let schema = schema().map_err(|e| ClientError::Setup(e.to_string()))?;
        let function = schema
            .service(service)
            .and_then(|s| s.function(method))
            .ok_or_else(|| {
                ClientError::Setup(format!("{service}.{method} is not in the Aduib IDL"))
            })?;
        let seq = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let bytes = encode_call(
            schema,
            Protocol::Binary,
            &format!("{service}:{method}"),
            function,
            &args,
            seq,
        )
        .map_err(|e| ClientError::Encode(e.to_string()))?;
        let deadline = Deadline::after(self.timeout);
        let exchange = async {
            let mut slot = self.connection.lock().await;
            if slot.is_none() {
                let stream =
                    TcpStream::connect(&self.target)
                        .await
                        .map_err(|e| ClientError::Connect {
                            url: self.target.clone(),
                            reason: e.to_string(),
                        })?;
                let _ = stream.set_nodelay(true);
                let (read, write) = stream.into_split();
                *slot = Some((
                    MessageReader::new(
                        read,
                        Protocol::Binary,
                        Framing::Buffered,
                        aduib_thrift::DEFAULT_MAX_MESSAGE_BYTES,
                    ),
                    write,
                ));
            }
            let Some((reader, writer)) = slot.as_mut() else {
                return Err(ClientError::Setup("no connection".into()));
            };
            let result = async {
                write_message(writer, Framing::Buffered, &bytes)
                    .await
                    .map_err(|e| self.transport_error(e.to_string()))?;
                reader
                    .next_message()
                    .await
                    .map_err(|e| self.transport_error(e.to_string()))
            }
            .await;
            if result.is_err() {
                // A broken connection is not reused.
                *slot = None;
            }
            result
        };
        let reply = deadline
            .run(exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                url: self.target.clone(),
                after: self.timeout.unwrap_or_default(),
            })??;
        let (_, outcome) = decode_reply(
            schema,
            Protocol::Binary,
            &reply,
            function,
            aduib_thrift::DEFAULT_MAX_MESSAGE_BYTES,
        )
        .map_err(|e| ClientError::BadReply {
            url: self.target.clone(),
            reason: e.to_string(),
        })?;
        Ok(match outcome {
            Outcome::Success(value) => Ok(value),
            Outcome::Declared { value, .. } => Err(RpcError::internal(value.to_string())),
            Outcome::Application(error) => Err(serde_json::from_str::<RpcError>(&error.message)
                .unwrap_or_else(|_| {
                    RpcError::internal(format!(
                        "TApplicationException (type {}): {}",
                        error.kind, error.message
                    ))
                })),
        })
    }

    fn transport_error(&self, reason: String) -> ClientError {
        ClientError::Transport {
            url: self.target.clone(),
            reason,
        }
    }
}
