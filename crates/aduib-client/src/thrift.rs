//! Aduib v2 over Thrift: strict binary, buffered, multiplexed names, as the
//! peer's client. One connection is kept and reused; calls on it take turns.
//!
//! A connection goes back in the slot only after a whole exchange: a call
//! that timed out or was cancelled drops its connection, so its late reply
//! can never be read as the answer to the next call. Replies must carry the
//! call's sequence id and name too.

use std::time::Duration;

use aduib_core::task::{TaskCancelReply, TaskEvent, TaskReceipt, TaskRecord, TaskStatus};
use aduib_core::{AduibRequest, AduibResponse, RpcError};
use aduib_thrift::aduib::{
    health_from_thrift, priority_name, request_to_thrift, response_from_thrift, schema,
    task_event_from_thrift, task_from_thrift,
};
use aduib_thrift::message::{decode_reply, encode_call};
use aduib_thrift::protocol::Reader;
use aduib_thrift::{Framing, MessageReader, Outcome, Protocol, ReadLimits, write_message};
use futures::stream::{self, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::Mutex;

use crate::aduib::{ClientConfig, ResponseStream};
use crate::deadline::Deadline;
use crate::error::ClientError;
use crate::grpc::grpc_target;
use crate::task::TaskEventStream;

type Connection = (MessageReader<OwnedReadHalf>, OwnedWriteHalf);

#[derive(Debug)]
pub(crate) struct ThriftAduib {
    target: String,
    timeout: Option<Duration>,
    limits: ReadLimits,
    connection: Mutex<Option<Connection>>,
    seq: std::sync::atomic::AtomicI32,
}

impl ThriftAduib {
    pub(crate) fn new(config: &ClientConfig) -> Result<Self, ClientError> {
        if config.tls.is_some() {
            return Err(ClientError::Setup(
                "TLS is not available on Thrift; use JSON-RPC, REST or gRPC for it".into(),
            ));
        }
        let url = config.url.strip_prefix("thrift://").unwrap_or(&config.url);
        let target = grpc_target(url).map_err(|_| ClientError::InvalidUrl {
            url: config.url.clone(),
            reason: "a Thrift target is host:port (or thrift://host:port)".into(),
        })?;
        Ok(ThriftAduib {
            target,
            timeout: config.timeout,
            limits: ReadLimits::from(&config.limits),
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

    // Not `async fn`: the arguments are built before the future, which is
    // then `Send` for every lifetime (a spawned exchange needs that).
    pub(crate) fn client_stream(
        &self,
        requests: Vec<AduibRequest>,
    ) -> impl Future<Output = Result<AduibResponse, ClientError>> + Send + '_ {
        let requests: Vec<Value> = requests.iter().map(request_to_thrift).collect();
        async move {
            let reply = self
                .invoke(
                    "AduibRpcService",
                    "CallClientStream",
                    json!({ "requests": requests }),
                )
                .await?;
            Ok(self.response(reply))
        }
    }

    pub(crate) fn bidirectional(
        &self,
        requests: Vec<AduibRequest>,
    ) -> impl Future<Output = Result<ResponseStream, ClientError>> + Send + '_ {
        let requests: Vec<Value> = requests.iter().map(request_to_thrift).collect();
        async move {
            let reply = self
                .invoke(
                    "AduibRpcService",
                    "CallBidirectional",
                    json!({ "requests": requests }),
                )
                .await?;
            Ok(self.responses(reply))
        }
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

    pub(crate) async fn task_submit(
        &self,
        request: &AduibRequest,
        priority: u8,
    ) -> Result<TaskReceipt, ClientError> {
        let params =
            serde_json::to_string(request).map_err(|e| ClientError::Encode(e.to_string()))?;
        let submit = json!({
            "target_method": request.method,
            "params_json": params,
            "priority": priority_name(priority),
        });
        let reply = self.task_op("Submit", submit).await?;
        Ok(TaskReceipt {
            task_id: text_field(&reply, "task_id"),
            status: status_field(&reply),
            created_at_ms: reply
                .get("created_at_ms")
                .and_then(Value::as_i64)
                .unwrap_or(0),
        })
    }

    pub(crate) async fn task_query(&self, task_id: &str) -> Result<TaskRecord, ClientError> {
        let reply = self.task_op("Query", json!({ "task_id": task_id })).await?;
        Ok(task_from_thrift(reply.get("task").unwrap_or(&Value::Null)))
    }

    pub(crate) async fn task_cancel(
        &self,
        task_id: &str,
        reason: Option<&str>,
    ) -> Result<TaskCancelReply, ClientError> {
        let mut cancel = json!({ "task_id": task_id });
        if let Some(reason) = reason {
            cancel["reason"] = json!(reason);
        }
        let reply = self.task_op("Cancel", cancel).await?;
        Ok(TaskCancelReply {
            task_id: text_field(&reply, "task_id"),
            status: status_field(&reply),
            canceled: reply
                .get("canceled")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        })
    }

    /// The server answers once the task has ended, with all its events.
    pub(crate) async fn task_subscribe(
        &self,
        task_id: &str,
    ) -> Result<TaskEventStream, ClientError> {
        let reply = self
            .task_op("Subscribe", json!({ "task_id": task_id, "events": [] }))
            .await?;
        let events: Vec<Result<TaskEvent, ClientError>> = match reply {
            Value::Array(items) => items
                .iter()
                .map(|e| Ok(task_event_from_thrift(e)))
                .collect(),
            other => vec![Ok(task_event_from_thrift(&other))],
        };
        Ok(stream::iter(events).boxed())
    }

    async fn task_op(&self, op: &str, request: Value) -> Result<Value, ClientError> {
        self.invoke("TaskService", op, json!({ "request": request }))
            .await?
            .map_err(|error| ClientError::Rpc {
                url: self.target.clone(),
                error,
            })
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
            // Out of the slot until the exchange is whole (see the module doc).
            let connection = match slot.take() {
                Some(connection) => connection,
                None => {
                    let stream = TcpStream::connect(&self.target).await.map_err(|e| {
                        ClientError::Connect {
                            url: self.target.clone(),
                            reason: e.to_string(),
                        }
                    })?;
                    let _ = stream.set_nodelay(true);
                    let (read, write) = stream.into_split();
                    let reader =
                        MessageReader::new(read, Protocol::Binary, Framing::Buffered, self.limits);
                    (reader, write)
                }
            };
            let (mut reader, mut writer) = connection;
            write_message(&mut writer, Framing::Buffered, &bytes)
                .await
                .map_err(|e| self.transport_error(e.to_string()))?;
            let reply = reader
                .next_message()
                .await
                .map_err(|e| self.transport_error(e.to_string()))?;
            // A reply to another call means the connection is out of step:
            // it is dropped, not put back.
            self.check_reply_header(&reply, service, method, seq)?;
            *slot = Some((reader, writer));
            Ok(reply)
        };
        let reply = deadline
            .run(exchange)
            .await
            .map_err(|_| ClientError::Timeout {
                url: self.target.clone(),
                after: self.timeout.unwrap_or_default(),
            })??;
        let (_, outcome) = decode_reply(schema, Protocol::Binary, &reply, function, self.limits)
            .map_err(|e| self.bad_reply(e.to_string()))?;
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

    /// The reply must carry the call's sequence id, and its name (bare or
    /// multiplexed).
    fn check_reply_header(
        &self,
        reply: &[u8],
        service: &str,
        method: &str,
        seq: i32,
    ) -> Result<(), ClientError> {
        let header = Reader::new(Protocol::Binary, reply, self.limits)
            .message_begin()
            .map_err(|e| self.bad_reply(e.to_string()))?;
        let name_matches = header.name == method
            || header
                .name
                .strip_prefix(service)
                .and_then(|n| n.strip_prefix(':'))
                == Some(method);
        if header.seq != seq || !name_matches {
            return Err(self.bad_reply(format!(
                "the reply is to call {} `{}`, not to this call {seq} `{method}`",
                header.seq, header.name
            )));
        }
        Ok(())
    }

    fn bad_reply(&self, reason: String) -> ClientError {
        ClientError::BadReply {
            url: self.target.clone(),
            reason,
        }
    }

    fn transport_error(&self, reason: String) -> ClientError {
        ClientError::Transport {
            url: self.target.clone(),
            reason,
        }
    }
}

fn text_field(value: &Value, name: &str) -> String {
    value
        .get(name)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

fn status_field(value: &Value) -> TaskStatus {
    value
        .get("status")
        .and_then(Value::as_str)
        .and_then(TaskStatus::parse)
        .unwrap_or(TaskStatus::Pending)
}
