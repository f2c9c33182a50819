//! gRPC frontend: `aduib.rpc.v2.AduibRpcService` and `HealthService`, the
//! standard `grpc.health.v1.Health` (for Kubernetes probes,
//! `grpc_health_probe` and grpcio clients), server reflection (v1 and
//! v1alpha) for everything hosted, gzip both ways.
//!
//! As with the peer, calls complete with gRPC OK and carry failures in
//! `Response.status = ERROR`; the typed services abort with the gRPC status
//! mapped from the Aduib code and the `RpcError` JSON as the message.

use aduib_core::envelope::check_version;
use aduib_core::{AduibRequest, AduibResponse, ErrorCode, Limits, RpcError};
use aduib_proto::convert::{
    health_to_proto, request_from_proto, response_to_proto, struct_entries, struct_to_map,
    task_status_to_proto, task_to_proto,
};
use aduib_proto::v2 as pb;
use aduib_proto::v2::aduib_rpc_service_server::{AduibRpcService, AduibRpcServiceServer};
use aduib_proto::v2::health_service_server::{HealthService, HealthServiceServer};
use aduib_proto::v2::task_service_server::{TaskService, TaskServiceServer};
use futures::stream::{self, BoxStream, StreamExt};
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::{Request, Response, Status, Streaming};

use crate::demo_grpc::RichDemo;
use crate::dispatch::{Dispatcher, fold_client_stream};

type ResponseStream<T> = BoxStream<'static, Result<T, Status>>;

/// Every gRPC service the server hosts, with reflection; messages up to
/// `limits.max_grpc_message_bytes`; with the server token, if there is one,
/// required as [`require_token`] says.
pub async fn service(
    dispatcher: Dispatcher,
    demo: bool,
    limits: Limits,
    access: std::sync::Arc<crate::access::Access>,
) -> Result<GrpcService, tonic_reflection::server::Error> {
    let max_message = limits.max_grpc_message_bytes;
    let frontend = GrpcFrontend {
        dispatcher,
        limits,
        access: access.clone(),
    };
    let aduib = AduibRpcServiceServer::new(frontend.clone())
        .accept_compressed(CompressionEncoding::Gzip)
        .max_decoding_message_size(max_message)
        .max_encoding_message_size(max_message);
    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(aduib_proto::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
    };
    let (health, standard_health) = tonic_health::server::health_reporter();
    let mut served = vec![
        "aduib.rpc.v2.AduibRpcService",
        "aduib.rpc.v2.HealthService",
        "aduib.rpc.v2.TaskService",
    ];
    if demo {
        served.push("aduib.demo.v1.RichService");
    }
    for service in served {
        health
            .set_service_status(service, tonic_health::ServingStatus::Serving)
            .await;
    }
    // Requests may come gzipped (the peer's client sends them so); answers
    // go plain, as grpc-go's do by default. tonic gzips every message of a
    // stream on its own, with a new compressor each time: zeroing its tables
    // was the app's largest cost in a 100,000-message stream, all to save
    // bytes on loopback.
    let mut builder = tonic::service::Routes::builder();
    builder
        .add_service(standard_health)
        .add_service(
            HealthServiceServer::new(frontend.clone()).accept_compressed(CompressionEncoding::Gzip),
        )
        .add_service(TaskServiceServer::new(frontend).accept_compressed(CompressionEncoding::Gzip))
        .add_service(reflection().build_v1()?)
        .add_service(reflection().build_v1alpha()?);
    if demo {
        builder.add_service(
            aduib_proto::demo::rich_service_server::RichServiceServer::new(RichDemo)
                .accept_compressed(CompressionEncoding::Gzip)
                .max_decoding_message_size(max_message)
                .max_encoding_message_size(max_message),
        );
    }
    let router = builder.routes().into_axum_router();
    // The token check costs a layer per call: only when there is one.
    let router = if access.requires_token() {
        router.layer(axum::middleware::from_fn_with_state(access, require_token))
    } else {
        router
    };
    Ok(GrpcService { aduib, router })
}

/// The gRPC listener's service. Aduib calls, the hot path, go straight to
/// `AduibRpcService`; every other call through the router. axum's routing
/// cost each call more than the Aduib handler does (a path match, URL
/// parameters in a new extensions map, a boxed request body, two layers of
/// futures): `scripts/bench-grpc-instructions.sh` counts the difference.
/// Both paths answer through [`size_status`].
#[derive(Debug, Clone)]
pub struct GrpcService {
    aduib: AduibRpcServiceServer<GrpcFrontend>,
    /// Everything else, behind [`require_token`] when the server has a token.
    router: axum::Router,
}

type GrpcAnswer = Result<http::Response<tonic::body::Body>, std::convert::Infallible>;
type RouterAnswer = Result<axum::response::Response, std::convert::Infallible>;

impl<B> tower::Service<http::Request<B>> for GrpcService
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = std::convert::Infallible;
    type Future = futures::future::Either<
        futures::future::Map<
            tonic::codegen::BoxFuture<Self::Response, Self::Error>,
            fn(GrpcAnswer) -> GrpcAnswer,
        >,
        futures::future::Map<
            axum::routing::future::RouteFuture<Self::Error>,
            fn(RouterAnswer) -> GrpcAnswer,
        >,
    >;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        use futures::FutureExt;
        let aduib = request
            .uri()
            .path()
            .strip_prefix('/')
            .and_then(|path| {
                path.strip_prefix(aduib_proto::v2::aduib_rpc_service_server::SERVICE_NAME)
            })
            .is_some_and(|method| method.starts_with('/'));
        if aduib {
            let sized: fn(GrpcAnswer) -> GrpcAnswer = |answer| answer.map(size_status);
            futures::future::Either::Left(self.aduib.call(request).map(sized))
        } else {
            let sized: fn(RouterAnswer) -> GrpcAnswer =
                |answer| answer.map(|response| size_status(response.map(tonic::body::Body::new)));
            futures::future::Either::Right(self.router.call(request).map(sized))
        }
    }
}

/// tonic answers a message over the size limit with OUT_OF_RANGE; gRPC's
/// convention (grpc-go, grpc-java, and what clients retry on) is
/// RESOURCE_EXHAUSTED. This fixes the status of such answers.
pub fn size_status<B>(mut response: http::Response<B>) -> http::Response<B> {
    // A name already parsed: this runs on every call, and parsing a name
    // from `&str` cost more than the lookup.
    static GRPC_STATUS: http::HeaderName = http::HeaderName::from_static("grpc-status");
    let headers = response.headers_mut();
    let over_limit = headers.get(&GRPC_STATUS).is_some_and(|s| s == "11")
        && headers
            .get("grpc-message")
            .and_then(|m| m.to_str().ok())
            .is_some_and(|m| {
                m.contains("message%20length%20too%20large")
                    || m.contains("message length too large")
            });
    if over_limit {
        headers.insert("grpc-status", http::HeaderValue::from_static("8"));
    }
    response
}

/// Every call must present the server's token, if it has one, except
/// health checks (probes carry no credentials). Aduib calls never come
/// here ([`GrpcService`] takes them): their handlers check the token, which
/// may be in the envelope.
pub async fn require_token(
    axum::extract::State(access): axum::extract::State<std::sync::Arc<crate::access::Access>>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let path = request.uri().path();
    // A task's Submit may carry the token in the envelope: checked by
    // TaskService's handlers. Health is open.
    let checked_later = path.starts_with("/grpc.health.v1.Health/")
        || path.starts_with("/aduib.rpc.v2.HealthService/")
        || path.starts_with("/aduib.rpc.v2.TaskService/");
    match access.check_headers(request.headers()) {
        Err(error) if !checked_later => status_for(&error).into_http::<axum::body::Body>(),
        _ => next.run(request).await,
    }
}

/// The status of a client stream that is over a limit.
fn too_much(what: String) -> Status {
    Status::resource_exhausted(what)
}

#[derive(Debug, Clone)]
struct GrpcFrontend {
    dispatcher: Dispatcher,
    limits: Limits,
    access: std::sync::Arc<crate::access::Access>,
}

impl GrpcFrontend {
    /// Whether a request may run: its envelope's version, and the server
    /// token (if there is one) from the call's metadata or the envelope.
    fn admit(&self, metadata: &MetadataMap, request: &AduibRequest) -> Result<(), RpcError> {
        check_version(&request.aduib_rpc)?;
        if !self.access.requires_token() {
            return Ok(());
        }
        let headers = metadata.clone().into_headers();
        self.access.check_call(Some(&headers), request)
    }

    /// A unary call's answer, or why it may not run.
    async fn answer(&self, metadata: &MetadataMap, request: AduibRequest) -> pb::Response {
        response_to_proto(match self.admit(metadata, &request) {
            Ok(()) => self.dispatcher.call(request).await,
            Err(error) => AduibResponse::failure(request.id.unwrap_or_default(), error),
        })
    }

    /// A streamed call's answers, or one that says why it may not run.
    fn answers(
        &self,
        metadata: &MetadataMap,
        request: AduibRequest,
    ) -> ResponseStream<pb::Response> {
        match self.admit(metadata, &request) {
            Ok(()) => self
                .dispatcher
                .stream(request)
                .map(|response| Ok(response_to_proto(response)))
                .boxed(),
            Err(error) => one(rejection((request.id.unwrap_or_default(), error))),
        }
    }
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

/// Reads every message of a client stream, at most `max_stream_items` of
/// them and `max_grpc_message_bytes` in all (a stream that never ends must
/// not grow without bound). A message that does not decode ends the call
/// with the decoder's status.
async fn collect(
    mut stream: Streaming<pb::Request>,
    limits: &Limits,
) -> Result<Result<AduibRequest, Rejected>, Status> {
    let mut messages: Vec<pb::Request> = Vec::new();
    let mut bytes = 0usize;
    while let Some(message) = stream.message().await.map_err(resource_status)? {
        bytes = bytes.saturating_add(prost::Message::encoded_len(&message));
        if messages.len() == limits.max_stream_items {
            return Err(too_much(format!(
                "a client stream may hold at most {} messages",
                limits.max_stream_items
            )));
        }
        if bytes > limits.max_grpc_message_bytes {
            return Err(too_much(format!(
                "a client stream may hold at most {} bytes in all",
                limits.max_grpc_message_bytes
            )));
        }
        messages.push(message);
    }
    let requests: Result<Vec<AduibRequest>, Rejected> =
        messages.into_iter().map(envelope).collect();
    Ok(requests
        .and_then(|requests| fold_client_stream(requests).map_err(|error| (String::new(), error))))
}

/// A client-stream message over the size limit is RESOURCE_EXHAUSTED too
/// (see [`size_status`]).
fn resource_status(status: Status) -> Status {
    if status.code() == tonic::Code::OutOfRange
        && status.message().contains("message length too large")
    {
        return too_much(status.message().to_owned());
    }
    status
}

fn rejection((id, error): Rejected) -> pb::Response {
    response_to_proto(AduibResponse::failure(id, error))
}

fn one(response: pb::Response) -> ResponseStream<pb::Response> {
    stream::once(async move { Ok(response) }).boxed()
}

// Client streams are admitted once folded, with the call's metadata: the
// token may be in either.
#[tonic::async_trait]
impl AduibRpcService for GrpcFrontend {
    async fn call(&self, request: Request<pb::Request>) -> Result<Response<pb::Response>, Status> {
        // As `answer` does, written out: the hot path, where each move of
        // the envelope into another future's state shows.
        let (metadata, _, mut message) = request.into_parts();
        // The arguments go to the function straight from the Struct.
        let data = message.data.take();
        let request = request_from_proto(message);
        let admitted = self.admit(&metadata, &request);
        drop(metadata);
        let response = match admitted {
            Ok(()) => {
                self.dispatcher
                    .call_with_data(request, data.into_iter().flat_map(struct_entries))
                    .await
            }
            Err(error) => AduibResponse::failure(request.id.unwrap_or_default(), error),
        };
        Ok(Response::new(response_to_proto(response)))
    }

    type CallServerStreamStream = ResponseStream<pb::Response>;

    async fn call_server_stream(
        &self,
        request: Request<pb::Request>,
    ) -> Result<Response<Self::CallServerStreamStream>, Status> {
        let (metadata, _, message) = request.into_parts();
        Ok(Response::new(
            self.answers(&metadata, request_from_proto(message)),
        ))
    }

    async fn call_client_stream(
        &self,
        request: Request<Streaming<pb::Request>>,
    ) -> Result<Response<pb::Response>, Status> {
        let (metadata, _, messages) = request.into_parts();
        Ok(Response::new(
            match collect(messages, &self.limits).await? {
                Ok(request) => self.answer(&metadata, request).await,
                Err(rejected) => rejection(rejected),
            },
        ))
    }

    type CallBidirectionalStream = ResponseStream<pb::Response>;

    async fn call_bidirectional(
        &self,
        request: Request<Streaming<pb::Request>>,
    ) -> Result<Response<Self::CallBidirectionalStream>, Status> {
        let (metadata, _, messages) = request.into_parts();
        Ok(Response::new(
            match collect(messages, &self.limits).await? {
                Ok(request) => self.answers(&metadata, request),
                Err(rejected) => one(rejection(rejected)),
            },
        ))
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

/// The token check for a TaskService call; a submit may carry the token in
/// the envelope it submits.
fn authorize_task<T>(
    frontend: &GrpcFrontend,
    call: &Request<T>,
    carrier: Option<&AduibRequest>,
) -> Result<(), Status> {
    if !frontend.access.requires_token() {
        return Ok(());
    }
    let headers = call.metadata().clone().into_headers();
    let empty = AduibRequest::new(String::new(), "rpc.v2/TaskService/Call", Default::default());
    frontend
        .access
        .check_call(Some(&headers), carrier.unwrap_or(&empty))
        .map_err(|error| status_for(&error))
}

#[tonic::async_trait]
impl TaskService for GrpcFrontend {
    async fn submit(
        &self,
        call: Request<pb::TaskSubmitRequest>,
    ) -> Result<Response<pb::TaskSubmitResponse>, Status> {
        let params = call
            .get_ref()
            .params
            .clone()
            .map(struct_to_map)
            .ok_or_else(|| {
                status_for(
                    &RpcError::new(
                        ErrorCode::MissingRequiredField,
                        "params must hold the Aduib request to run",
                    )
                    .with_field("params", "missing"),
                )
            })?;
        let request = AduibRequest::from_value(serde_json::Value::Object(params))
            .map_err(|error| status_for(&error))?;
        authorize_task(self, &call, Some(&request))?;
        // The enum's 1-4 are our 0-3; unspecified leaves the request's own.
        let priority = u8::try_from(call.get_ref().priority - 1).ok();
        let task = self
            .dispatcher
            .submit_task(request, priority)
            .map_err(|error| status_for(&error))?;
        Ok(Response::new(pb::TaskSubmitResponse {
            task_id: task.task_id,
            status: task_status_to_proto(task.status),
            created_at_ms: task.created_at_ms,
        }))
    }

    async fn query(
        &self,
        call: Request<pb::TaskQueryRequest>,
    ) -> Result<Response<pb::TaskQueryResponse>, Status> {
        authorize_task(self, &call, None)?;
        let task = self
            .dispatcher
            .tasks()
            .get(&call.get_ref().task_id)
            .map_err(|error| status_for(&error.into()))?;
        Ok(Response::new(pb::TaskQueryResponse {
            task: Some(task_to_proto(&task)),
        }))
    }

    async fn cancel(
        &self,
        call: Request<pb::TaskCancelRequest>,
    ) -> Result<Response<pb::TaskCancelResponse>, Status> {
        authorize_task(self, &call, None)?;
        let (task, canceled) = self
            .dispatcher
            .tasks()
            .cancel(&call.get_ref().task_id)
            .map_err(|error| status_for(&error.into()))?;
        Ok(Response::new(pb::TaskCancelResponse {
            task_id: task.task_id,
            status: task_status_to_proto(task.status),
            canceled,
        }))
    }

    type SubscribeStream = ResponseStream<pb::TaskEvent>;

    async fn subscribe(
        &self,
        call: Request<pb::TaskSubscribeRequest>,
    ) -> Result<Response<Self::SubscribeStream>, Status> {
        authorize_task(self, &call, None)?;
        let events = self
            .dispatcher
            .tasks()
            .subscribe(&call.get_ref().task_id)
            .map_err(|error| status_for(&error.into()))?;
        Ok(Response::new(
            events
                .map(|event| {
                    Ok(pb::TaskEvent {
                        event: event.event,
                        task: Some(task_to_proto(&event.task)),
                        timestamp_ms: event.timestamp_ms,
                    })
                })
                .boxed(),
        ))
    }
}
