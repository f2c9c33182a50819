//! Aduib v2 over gRPC (`aduib.rpc.v2.AduibRpcService`, `HealthService`).

use std::time::Duration;

use aduib_core::task::{TaskCancelReply, TaskReceipt, TaskRecord, TaskStatus};
use aduib_core::{AduibRequest, AduibResponse, RpcError};
use aduib_proto::convert::{
    health_from_proto, map_to_struct, request_to_proto, response_from_proto, task_event_from_proto,
    task_from_proto, task_status_from_proto,
};
use aduib_proto::v2 as pb;
use aduib_proto::v2::aduib_rpc_service_client::AduibRpcServiceClient;
use aduib_proto::v2::health_service_client::HealthServiceClient;
use aduib_proto::v2::task_service_client::TaskServiceClient;
use futures::stream::{self, StreamExt};
use tonic::codec::CompressionEncoding;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use crate::aduib::{ClientConfig, RequestStream, ResponseStream};
use crate::deadline::Deadline;
use crate::error::ClientError;
use crate::task::TaskEventStream;
use crate::tls::TlsOptions;

#[derive(Debug, Clone)]
pub(crate) struct GrpcAduib {
    target: String,
    channel: Channel,
    metadata: MetadataMap,
    timeout: Option<Duration>,
    /// Largest message sent or accepted.
    max_message_bytes: usize,
}

impl GrpcAduib {
    pub(crate) fn new(config: &ClientConfig) -> Result<Self, ClientError> {
        let target = grpc_target(&config.url)?;
        let endpoint = Endpoint::from_shared(format!("http://{target}"))
            .map_err(|e| ClientError::InvalidUrl {
                url: config.url.clone(),
                reason: e.to_string(),
            })?
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true);
        let tls = (config.tls.clone())
            .or_else(|| scheme_asks_for_tls(&config.url).then(TlsOptions::default));
        // Connects on first use, so a refused connection is reported by the
        // call that needed it.
        let channel = match tls {
            Some(tls) => tls
                .grpc_channel(endpoint, &target)
                .map_err(|e| ClientError::Setup(e.to_string()))?,
            None => endpoint.connect_lazy(),
        };
        Ok(GrpcAduib {
            target,
            channel,
            metadata: metadata_map(&config.headers)?,
            timeout: config.timeout,
            max_message_bytes: config.limits.max_grpc_message_bytes,
        })
    }

    fn aduib(&self) -> AduibRpcServiceClient<Channel> {
        AduibRpcServiceClient::new(self.channel.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(self.max_message_bytes)
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = self.metadata.clone();
        if let Some(timeout) = self.timeout {
            request.set_timeout(timeout);
        }
        request
    }

    pub(crate) async fn call(&self, request: &AduibRequest) -> Result<AduibResponse, ClientError> {
        let mut client = self.aduib();
        let call = client.call(self.request(request_to_proto(request)));
        let reply = self.within(Deadline::after(self.timeout), call).await?;
        self.response(reply.map(tonic::Response::into_inner))
    }

    pub(crate) async fn stream(
        &self,
        request: &AduibRequest,
    ) -> Result<ResponseStream, ClientError> {
        let deadline = Deadline::after(self.timeout);
        let mut client = self.aduib();
        let call = client.call_server_stream(self.request(request_to_proto(request)));
        let reply = self.within(deadline, call).await?;
        Ok(self.bounded(self.responses(reply)?, deadline))
    }

    pub(crate) async fn client_stream(
        &self,
        requests: RequestStream,
    ) -> Result<AduibResponse, ClientError> {
        let messages = forward(requests);
        let mut client = self.aduib();
        let request = self.request(messages);
        // The client moves into the call, so the future borrows nothing.
        let call = async move { client.call_client_stream(request).await };
        let timed_out = self.timed_out();
        let reply = Deadline::after(self.timeout)
            .run(call)
            .await
            .map_err(|_| timed_out)?;
        self.response(reply.map(tonic::Response::into_inner))
    }

    pub(crate) async fn bidirectional(
        &self,
        requests: RequestStream,
    ) -> Result<ResponseStream, ClientError> {
        let deadline = Deadline::after(self.timeout);
        let messages = forward(requests);
        let mut client = self.aduib();
        let request = self.request(messages);
        let call = async move { client.call_bidirectional(request).await };
        let timed_out = self.timed_out();
        let reply = deadline.run(call).await.map_err(|_| timed_out)?;
        Ok(self.bounded(self.responses(reply)?, deadline))
    }

    fn timed_out(&self) -> ClientError {
        ClientError::Timeout {
            url: self.target.clone(),
            after: self.timeout.unwrap_or_default(),
        }
    }

    pub(crate) async fn health(&self, service: Option<&str>) -> Result<AduibResponse, ClientError> {
        let query = pb::HealthCheckRequest {
            service: service.map(str::to_owned),
        };
        let mut client = HealthServiceClient::new(self.channel.clone())
            .accept_compressed(CompressionEncoding::Gzip);
        let reply = self
            .within(
                Deadline::after(self.timeout),
                client.check(self.request(query)),
            )
            .await?;
        let id = uuid::Uuid::new_v4().to_string();
        match reply {
            Ok(health) => Ok(AduibResponse::success(
                id,
                health_from_proto(health.get_ref()),
            )),
            Err(status) => self
                .failure(status)
                .map(|error| AduibResponse::failure(id, error)),
        }
    }

    fn tasks(&self) -> TaskServiceClient<Channel> {
        TaskServiceClient::new(self.channel.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(self.max_message_bytes)
            .max_encoding_message_size(self.max_message_bytes)
    }

    /// A TaskService answer, or the error its status is.
    fn task_answer<T>(
        &self,
        reply: Result<tonic::Response<T>, tonic::Status>,
    ) -> Result<T, ClientError> {
        reply
            .map(tonic::Response::into_inner)
            .map_err(|status| self.task_failure(status))
    }

    fn task_failure(&self, status: tonic::Status) -> ClientError {
        match self.failure(status) {
            Ok(error) => ClientError::Rpc {
                url: self.target.clone(),
                error,
            },
            Err(error) => error,
        }
    }

    pub(crate) async fn task_submit(
        &self,
        request: &AduibRequest,
        priority: u8,
    ) -> Result<TaskReceipt, ClientError> {
        let serde_json::Value::Object(params) =
            serde_json::to_value(request).map_err(|e| ClientError::Encode(e.to_string()))?
        else {
            return Err(ClientError::Encode("a request is a JSON object".into()));
        };
        let submit = pb::TaskSubmitRequest {
            target_method: request.method.clone(),
            params: Some(map_to_struct(params)),
            // The enum's 1-4 are the peer's 0-3.
            priority: i32::from(priority) + 1,
        };
        let mut client = self.tasks();
        let reply = self
            .within(
                Deadline::after(self.timeout),
                client.submit(self.request(submit)),
            )
            .await?;
        let receipt = self.task_answer(reply)?;
        Ok(TaskReceipt {
            task_id: receipt.task_id,
            status: task_status_from_proto(receipt.status).unwrap_or(TaskStatus::Pending),
            created_at_ms: receipt.created_at_ms,
        })
    }

    pub(crate) async fn task_query(&self, task_id: &str) -> Result<TaskRecord, ClientError> {
        let query = pb::TaskQueryRequest {
            task_id: task_id.to_owned(),
        };
        let mut client = self.tasks();
        let reply = self
            .within(
                Deadline::after(self.timeout),
                client.query(self.request(query)),
            )
            .await?;
        let task = self
            .task_answer(reply)?
            .task
            .ok_or_else(|| ClientError::BadReply {
                url: self.target.clone(),
                reason: "TaskQueryResponse without a task".into(),
            })?;
        Ok(task_from_proto(task))
    }

    pub(crate) async fn task_cancel(
        &self,
        task_id: &str,
        reason: Option<&str>,
    ) -> Result<TaskCancelReply, ClientError> {
        let cancel = pb::TaskCancelRequest {
            task_id: task_id.to_owned(),
            reason: reason.map(str::to_owned),
        };
        let mut client = self.tasks();
        let reply = self
            .within(
                Deadline::after(self.timeout),
                client.cancel(self.request(cancel)),
            )
            .await?;
        let reply = self.task_answer(reply)?;
        Ok(TaskCancelReply {
            task_id: reply.task_id,
            status: task_status_from_proto(reply.status).unwrap_or(TaskStatus::Pending),
            canceled: reply.canceled,
        })
    }

    pub(crate) async fn task_subscribe(
        &self,
        task_id: &str,
    ) -> Result<TaskEventStream, ClientError> {
        let deadline = Deadline::after(self.timeout);
        let subscribe = pb::TaskSubscribeRequest {
            task_id: task_id.to_owned(),
            events: Vec::new(),
        };
        let mut client = self.tasks();
        let reply = self
            .within(deadline, client.subscribe(self.request(subscribe)))
            .await?;
        let events = self.task_answer(reply)?;
        let this = self.clone();
        let events = events
            .map(move |event| {
                event
                    .map(task_event_from_proto)
                    .map_err(|status| this.task_failure(status))
            })
            .boxed();
        let timed_out = self.timed_out();
        Ok(deadline.bound(events, move || Err(timed_out)))
    }

    async fn within<T>(
        &self,
        deadline: Deadline,
        work: impl Future<Output = T>,
    ) -> Result<T, ClientError> {
        deadline.run(work).await.map_err(|_| self.timed_out())
    }

    fn bounded(&self, responses: ResponseStream, deadline: Deadline) -> ResponseStream {
        let timed_out = self.timed_out();
        deadline.bound(responses, move || Err(timed_out))
    }

    fn response(
        &self,
        reply: Result<pb::Response, tonic::Status>,
    ) -> Result<AduibResponse, ClientError> {
        match reply {
            Ok(response) => Ok(response_from_proto(response)),
            Err(status) => self
                .failure(status)
                .map(|error| AduibResponse::failure("", error)),
        }
    }

    fn responses(
        &self,
        reply: Result<tonic::Response<tonic::Streaming<pb::Response>>, tonic::Status>,
    ) -> Result<ResponseStream, ClientError> {
        let this = self.clone();
        match reply {
            Ok(stream) => Ok(stream
                .into_inner()
                .map(move |item| this.response(item))
                .boxed()),
            Err(status) => {
                let one = self.response(Err(status));
                Ok(stream::once(async move { one }).boxed())
            }
        }
    }

    /// A non-OK status: an Aduib error when the message carries one (the
    /// typed services abort that way), otherwise no usable reply.
    fn failure(&self, status: tonic::Status) -> Result<RpcError, ClientError> {
        if let Ok(error) = serde_json::from_str::<RpcError>(status.message()) {
            return Ok(error);
        }
        Err(status_error(&self.target, self.timeout, status))
    }
}

/// Classifies a status that carries no Aduib error.
pub(crate) fn status_error(
    target: &str,
    timeout: Option<Duration>,
    status: tonic::Status,
) -> ClientError {
    let target = target.to_owned();
    match status.code() {
        // Servers enforcing our `grpc-timeout` answer DEADLINE_EXCEEDED, or
        // CANCELLED (tonic) when their timer wins the race with ours.
        tonic::Code::DeadlineExceeded => ClientError::Timeout {
            url: target,
            after: timeout.unwrap_or_default(),
        },
        tonic::Code::Cancelled if timeout.is_some() => ClientError::Timeout {
            url: target,
            after: timeout.unwrap_or_default(),
        },
        tonic::Code::Unavailable if is_connect_failure(&status) => ClientError::Connect {
            url: target,
            reason: root_message(&status),
        },
        code => ClientError::GrpcStatus {
            target,
            code,
            message: status.message().to_owned(),
        },
    }
}

fn is_connect_failure(status: &tonic::Status) -> bool {
    use std::error::Error;
    let mut source = status.source();
    while let Some(error) = source {
        if error.downcast_ref::<tonic::transport::Error>().is_some()
            || error.downcast_ref::<std::io::Error>().is_some()
        {
            return true;
        }
        source = error.source();
    }
    status.message().contains("connect")
}

fn root_message(status: &tonic::Status) -> String {
    use std::error::Error;
    let mut current: Option<&(dyn Error + 'static)> = status.source();
    let mut message = status.message().to_owned();
    while let Some(error) = current {
        message = error.to_string();
        current = error.source();
    }
    message
}

/// `host:port` from what a person may type: `host:port`, `grpc://host:port`
/// or `http://host:port`.
/// `grpcs://` or `https://` before a gRPC target asks for TLS.
pub(crate) fn scheme_asks_for_tls(url: &str) -> bool {
    url.starts_with("grpcs://") || url.starts_with("https://")
}

pub(crate) fn grpc_target(url: &str) -> Result<String, ClientError> {
    let bare = ["grpc://", "grpcs://", "http://", "https://"]
        .iter()
        .find_map(|scheme| url.strip_prefix(scheme))
        .unwrap_or(url)
        .trim_end_matches('/');
    let valid = bare
        .rsplit_once(':')
        .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
        && !bare.contains('/');
    if !valid {
        return Err(ClientError::InvalidUrl {
            url: url.to_owned(),
            reason: "a gRPC target is host:port".to_owned(),
        });
    }
    Ok(bare.to_owned())
}

/// HTTP-style headers as gRPC metadata (ASCII values; `-bin` keys are base64).
pub(crate) fn metadata_map(headers: &[(String, String)]) -> Result<MetadataMap, ClientError> {
    let mut map = MetadataMap::new();
    for (name, value) in headers {
        let bad = |reason: String| ClientError::Encode(format!("metadata {name:?}: {reason}"));
        let key = name.trim().to_ascii_lowercase();
        if key.ends_with("-bin") {
            let key = MetadataKey::from_bytes(key.as_bytes()).map_err(|e| bad(e.to_string()))?;
            let value =
                MetadataValue::try_from(value.trim().as_bytes()).map_err(|e| bad(e.to_string()))?;
            map.append_bin(key, value);
        } else {
            let key = MetadataKey::from_bytes(key.as_bytes()).map_err(|e| bad(e.to_string()))?;
            let value: MetadataValue<_> =
                value.trim().parse().map_err(|_| bad("not ASCII".into()))?;
            map.append(key, value);
        }
    }
    Ok(map)
}

/// The requests as protobuf messages, handed over through a channel by a
/// task of their own: tonic's request stream must be `Send` for every
/// lifetime, which the compiler cannot prove of a boxed stream held across
/// its awaits (rust-lang/rust#110338). The task ends with the stream or the
/// call, whichever goes first.
fn forward(mut requests: RequestStream) -> tokio_stream::wrappers::ReceiverStream<pb::Request> {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    tokio::spawn(async move {
        loop {
            let request = tokio::select! {
                () = tx.closed() => break,
                request = requests.next() => request,
            };
            let Some(request) = request else { break };
            if tx.send(request_to_proto(&request)).await.is_err() {
                break;
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_host_port() {
        assert_eq!(grpc_target("127.0.0.1:50051").unwrap(), "127.0.0.1:50051");
        assert_eq!(grpc_target("grpc://h:1/").unwrap(), "h:1");
        assert_eq!(grpc_target("http://h:1").unwrap(), "h:1");
        for bad in ["h", ":1", "h:x", "http://h:1/path"] {
            assert!(grpc_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_accepts_ascii_and_names_bad_entries() {
        let map = metadata_map(&[("X-Tenant-ID".into(), "t1".into())]).unwrap();
        assert_eq!(map.get("x-tenant-id").unwrap(), "t1");
        assert!(metadata_map(&[("bad key".into(), "v".into())]).is_err());
    }
}
