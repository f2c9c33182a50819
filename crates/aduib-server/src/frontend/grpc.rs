//! gRPC frontend: `aduib.rpc.v2.AduibRpcService` and `HealthService`, server
//! reflection (v1 and v1alpha) for everything hosted, gzip both ways.
//!
//! As with the peer, calls complete with gRPC OK and carry failures in
//! `Response.status = ERROR`; the typed services abort with the gRPC status
//! mapped from the Aduib code and the `RpcError` JSON as the message.

use aduib_core::envelope::check_version;
use aduib_core::{AduibRequest, AduibResponse, ErrorCode, RpcError};
use aduib_proto::convert::{health_to_proto, request_from_proto, response_to_proto};
use aduib_proto::v2 as pb;
use aduib_proto::v2::aduib_rpc_service_server::{AduibRpcService, AduibRpcServiceServer};
use aduib_proto::v2::health_service_server::{HealthService, HealthServiceServer};
use aduib_proto::v2::task_service_server::{TaskService, TaskServiceServer};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};
use tonic::codec::CompressionEncoding;
use tonic::service::Routes;
use tonic::{Request, Response, Status, Streaming};

use crate::demo_grpc::RichDemo;
use crate::dispatch::{Dispatcher, fold_client_stream};

/// Largest message accepted or sent (the peer allows 100 MiB; 64 MiB is
/// the workbench-wide default).
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

type ResponseStream<T> = BoxStream<'static, Result<T, Status>>;

/// Every gRPC service the server hosts, with reflection.
pub fn routes(
    dispatcher: Dispatcher,
    demo: bool,
) -> Result<Routes, tonic_reflection::server::Error> {
    let frontend = GrpcFrontend { dispatcher };
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(aduib_proto::FILE_DESCRIPTOR_SET)
    };
    let mut builder = Routes::builder();
    builder
        .add_service(
            AduibRpcServiceServer::new(frontend.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_MESSAGE_BYTES)
                .max_encoding_message_size(MAX_MESSAGE_BYTES),
        )
        .add_service(
            HealthServiceServer::new(frontend.clone())
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip),
        )
        .add_service(
            TaskServiceServer::new(frontend)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip),
        )
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    if demo {
        builder.add_service(
            aduib_proto::demo::rich_service_server::RichServiceServer::new(RichDemo)
                .accept_compressed(CompressionEncoding::Gzip)
                .send_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(MAX_MESSAGE_BYTES),
        );
    }
    Ok(builder.routes())
}

#[derive(Debug, Clone)]
struct GrpcFrontend {
    dispatcher: Dispatcher,
}

/// A request that cannot be run: its id, and why.
type Rejected = (String, RpcError);

/// A request's protobuf form as an envelope, or why it is rejected.
fn envelope(request: pb::Request) -> Result<AduibRequest, Rejected> {
    let request = request_from_proto(request);
    match check_version(&request.aduib_rpc) {
        Ok(()) => Ok(request),
        Err(error) => Err((request.id.unwrap_or_default(), error)),
    }
}

/// Reads every message of a client stream. A message that does not decode ends
/// the call with the decoder's status.
async fn collect(stream: Streaming<pb::Request>) -> Result<Result<AduibRequest, Rejected>, Status> {
    let messages: Vec<pb::Request> = stream.try_collect().await?;
    let requests: Result<Vec<AduibRequest>, Rejected> =
        messages.into_iter().map(envelope).collect();
    Ok(requests
        .and_then(|requests| fold_client_stream(requests).map_err(|error| (String::new(), error))))
}

fn rejection((id, error): Rejected) -> pb::Response {
    response_to_proto(&AduibResponse::failure(id, error))
}

fn one(response: pb::Response) -> ResponseStream<pb::Response> {
    stream::once(async move { Ok(response) }).boxed()
}

#[tonic::async_trait]
impl AduibRpcService for GrpcFrontend {
    async fn call(&self, request: Request<pb::Request>) -> Result<Response<pb::Response>, Status> {
        Ok(Response::new(match envelope(request.into_inner()) {
            Ok(request) => response_to_proto(&self.dispatcher.call(request).await),
            Err(rejected) => rejection(rejected),
        }))
    }

    type CallServerStreamStream = ResponseStream<pb::Response>;

    async fn call_server_stream(
        &self,
        request: Request<pb::Request>,
    ) -> Result<Response<Self::CallServerStreamStream>, Status> {
        Ok(Response::new(match envelope(request.into_inner()) {
            Ok(request) => self.stream(request),
            Err(rejected) => one(rejection(rejected)),
        }))
    }

    async fn call_client_stream(
        &self,
        request: Request<Streaming<pb::Request>>,
    ) -> Result<Response<pb::Response>, Status> {
        Ok(Response::new(match collect(request.into_inner()).await? {
            Ok(request) => response_to_proto(&self.dispatcher.call(request).await),
            Err(rejected) => rejection(rejected),
        }))
    }

    type CallBidirectionalStream = ResponseStream<pb::Response>;

    async fn call_bidirectional(
        &self,
        request: Request<Streaming<pb::Request>>,
    ) -> Result<Response<Self::CallBidirectionalStream>, Status> {
        Ok(Response::new(match collect(request.into_inner()).await? {
            Ok(request) => self.stream(request),
            Err(rejected) => one(rejection(rejected)),
        }))
    }
}

impl GrpcFrontend {
    fn stream(&self, request: AduibRequest) -> ResponseStream<pb::Response> {
        self.dispatcher
            .stream(request)
            .map(|response| Ok(response_to_proto(&response)))
            .boxed()
    }
}

#[tonic::async_trait]
impl HealthService for GrpcFrontend {
    async fn check(
        &self,
        request: Request<pb::HealthCheckRequest>,
    ) -> Result<Response<pb::HealthCheckResponse>, Status> {
        let health = self.dispatcher.health(request.get_ref().service.as_deref());
        Ok(Response::new(health_to_proto(&health)))
    }

    type WatchStream = ResponseStream<pb::HealthCheckResponse>;

    async fn watch(
        &self,
        request: Request<pb::HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let health = health_to_proto(&self.dispatcher.health(request.get_ref().service.as_deref()));
        Ok(Response::new(
            stream::once(async move { Ok(health) }).boxed(),
        ))
    }
}

/// The status the peer aborts typed services with: the mapped gRPC code, and
/// the `RpcError` as JSON in the message.
pub fn status_for(error: &RpcError) -> Status {
    let code = tonic::Code::from_i32(aduib_core::error::grpc_code_for(error.code) as i32);
    let message = serde_json::to_string(error).unwrap_or_else(|_| error.message.clone());
    Status::new(code, message)
}

fn tasks_not_served() -> Status {
    status_for(&RpcError::new(
        ErrorCode::NotImplemented,
        "TaskService is not served yet",
    ))
}

#[tonic::async_trait]
impl TaskService for GrpcFrontend {
    async fn submit(
        &self,
        _: Request<pb::TaskSubmitRequest>,
    ) -> Result<Response<pb::TaskSubmitResponse>, Status> {
        Err(tasks_not_served())
    }

    async fn query(
        &self,
        _: Request<pb::TaskQueryRequest>,
    ) -> Result<Response<pb::TaskQueryResponse>, Status> {
        Err(tasks_not_served())
    }

    async fn cancel(
        &self,
        _: Request<pb::TaskCancelRequest>,
    ) -> Result<Response<pb::TaskCancelResponse>, Status> {
        Err(tasks_not_served())
    }

    type SubscribeStream = ResponseStream<pb::TaskEvent>;

    async fn subscribe(
        &self,
        _: Request<pb::TaskSubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        Err(tasks_not_served())
    }
}
