//! Any gRPC service, no code generation: the schema comes from server
//! reflection, `.proto` files or a descriptor set, and messages are converted
//! between JSON (the canonical protobuf JSON mapping) and protobuf at run time.
//!
//! [`AnyGrpc`] holds one channel to a server; [`AnyGrpc::schema`] resolves a
//! [`SchemaSource`] into a descriptor pool; [`AnyGrpc::call`] runs any of the
//! four call kinds and yields [`Event`]s (headers, messages, trailers) as they
//! arrive. [`describe`] prints descriptors as proto text and [`jsonschema`]
//! writes JSON Schemas and templates for input messages.

pub mod codec;
pub mod describe;
pub mod jsonschema;
pub mod reflection;
pub mod schema;

use std::path::PathBuf;
use std::time::Duration;

use futures::stream::{self, BoxStream, StreamExt};
use prost::Message;
use prost_reflect::{
    DescriptorPool, DynamicMessage, MessageDescriptor, MethodDescriptor, ReflectMessage,
    SerializeOptions,
};
use serde_json::Value;
use thiserror::Error;
use tonic::codec::CompressionEncoding;
use tonic::metadata::MetadataMap;
use tonic::transport::{Channel, Endpoint};

use crate::deadline::Deadline;
use crate::grpc::{grpc_target, metadata_map};
use codec::DynamicCodec;
use reflection::Reflection;

/// Default largest message, each way.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;
/// How long each reflection request may take.
pub const DEFAULT_REFLECTION_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Error)]
pub enum GrpcError {
    #[error("invalid target {0:?}: expected host:port")]
    InvalidTarget(String),
    #[error("{0}")]
    Setup(String),
    #[error("schema: {0}")]
    Schema(String),
    #[error("reflection: {0}")]
    Reflection(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("invalid input for {message}: {reason}")]
    Input { message: String, reason: String },
    #[error("no complete reply within {0:?}")]
    Timeout(Duration),
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    /// The server answered with a non-OK status.
    #[error("{}: {}", .0.code(), .0.message())]
    Status(tonic::Status),
}

/// Where the schema comes from.
#[derive(Debug, Clone)]
pub enum SchemaSource {
    Reflection,
    ProtoFiles {
        protos: Vec<PathBuf>,
        includes: Vec<PathBuf>,
    },
    Protoset(PathBuf),
}

pub use crate::tls::TlsOptions;

/// How to reach a server.
#[derive(Debug, Clone)]
pub struct ConnectOptions {
    /// `host:port`.
    pub target: String,
    pub tls: Option<TlsOptions>,
    /// Sent with every call, reflection included.
    pub metadata: Vec<(String, String)>,
    /// Deadline of each call (sent as `grpc-timeout`).
    pub timeout: Option<Duration>,
    pub max_message_bytes: usize,
    pub reflection_timeout: Duration,
    /// Compress requests with gzip (replies are accepted gzipped regardless).
    pub gzip: bool,
}

impl ConnectOptions {
    pub fn new(target: impl Into<String>) -> Self {
        ConnectOptions {
            target: target.into(),
            tls: None,
            metadata: Vec::new(),
            timeout: None,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            reflection_timeout: DEFAULT_REFLECTION_TIMEOUT,
            gzip: false,
        }
    }
}

/// What a call yields, in order: headers, messages, trailers.
#[derive(Debug, Clone)]
pub enum Event {
    Headers(MetadataMap),
    Message(DynamicMessage),
    Trailers(MetadataMap),
}

pub type Events = BoxStream<'static, Result<Event, GrpcError>>;

/// A connection to one gRPC server, for any of its services.
#[derive(Debug, Clone)]
pub struct AnyGrpc {
    channel: Channel,
    metadata: MetadataMap,
    options: ConnectOptions,
}

impl AnyGrpc {
    /// Prepares a channel; it connects on first use.
    pub fn new(options: ConnectOptions) -> Result<Self, GrpcError> {
        let target = grpc_target(&options.target)
            .map_err(|_| GrpcError::InvalidTarget(options.target.clone()))?;
        let endpoint = Endpoint::from_shared(format!("http://{target}"))
            .map_err(|_| GrpcError::InvalidTarget(options.target.clone()))?
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true);
        // Connects on first use, so the call that needs it reports a failure.
        let channel = match &options.tls {
            Some(tls) => tls
                .grpc_channel(endpoint, &target)
                .map_err(|e| GrpcError::Setup(e.to_string()))?,
            None => endpoint.connect_lazy(),
        };
        let metadata =
            metadata_map(&options.metadata).map_err(|e| GrpcError::Setup(e.to_string()))?;
        Ok(AnyGrpc {
            channel,
            metadata,
            options: ConnectOptions { target, ..options },
        })
    }

    /// A reflection session on this connection.
    pub fn reflection(&self) -> Reflection {
        Reflection::new(
            self.channel.clone(),
            self.metadata.clone(),
            self.options.reflection_timeout,
        )
    }

    /// The services the server lists by reflection.
    pub async fn list_services(&self) -> Result<Vec<String>, GrpcError> {
        self.reflection()
            .list_services()
            .await
            .map_err(|e| self.connect_error(e))
    }

    /// The schema from `source`; by reflection, only what `symbols` need.
    pub async fn schema(
        &self,
        source: &SchemaSource,
        symbols: &[String],
    ) -> Result<DescriptorPool, GrpcError> {
        match source {
            SchemaSource::ProtoFiles { protos, includes } => {
                schema::from_proto_files(protos, includes)
            }
            SchemaSource::Protoset(path) => schema::from_protoset(path),
            SchemaSource::Reflection => {
                let mut reflection = self.reflection();
                reflection
                    .pool_for(symbols)
                    .await
                    .map_err(|e| self.connect_error(e))
            }
        }
    }

    /// Runs `method` with `inputs` (exactly one unless the method streams
    /// requests). Events arrive as the server sends them.
    pub async fn call(
        &self,
        method: &MethodDescriptor,
        inputs: Vec<DynamicMessage>,
    ) -> Result<Events, GrpcError> {
        if !method.is_client_streaming() && inputs.len() != 1 {
            return Err(GrpcError::Input {
                message: method.input().full_name().to_owned(),
                reason: format!(
                    "{} takes exactly one message, got {}",
                    method.full_name(),
                    inputs.len()
                ),
            });
        }
        // Refuse here what the encoder would refuse mid-stream, with a reason.
        if let Some(too_big) = inputs
            .iter()
            .find(|m| m.encoded_len() > self.options.max_message_bytes)
        {
            return Err(GrpcError::Input {
                message: method.input().full_name().to_owned(),
                reason: format!(
                    "the message is {} bytes, over the limit of {} (raise it with --max-msg-mb)",
                    too_big.encoded_len(),
                    self.options.max_message_bytes
                ),
            });
        }
        self.call_stream(method, stream::iter(inputs).boxed()).await
    }

    /// Runs `method` with messages sent as `inputs` yields them (a live
    /// client or bidi stream). The server sees the request stream end when
    /// `inputs` does.
    pub async fn call_stream(
        &self,
        method: &MethodDescriptor,
        inputs: BoxStream<'static, DynamicMessage>,
    ) -> Result<Events, GrpcError> {
        let path = format!("/{}/{}", method.parent_service().full_name(), method.name())
            .parse()
            .map_err(|e| GrpcError::Setup(format!("bad method path: {e}")))?;
        let codec = DynamicCodec::new(method.output());
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .accept_compressed(CompressionEncoding::Gzip)
            .max_decoding_message_size(self.options.max_message_bytes)
            .max_encoding_message_size(self.options.max_message_bytes);
        if self.options.gzip {
            grpc = grpc.send_compressed(CompressionEncoding::Gzip);
        }
        let deadline = Deadline::after(self.options.timeout);
        let ready = deadline
            .run(grpc.ready())
            .await
            .map_err(|_| self.timed_out())?;
        ready.map_err(|e| GrpcError::Connect {
            target: self.options.target.clone(),
            reason: root_cause(&e),
        })?;
        // Every call kind is the same on the wire: a stream of requests and a
        // stream of replies, so one path serves all four, and trailers are
        // reported for unary calls too.
        let reply = deadline
            .run(grpc.streaming(self.request(inputs), path, codec))
            .await
            .map_err(|_| self.timed_out())?
            .map_err(|s| self.status(s))?;
        let (metadata, messages, _) = reply.into_parts();
        let this = self.clone();
        let body = stream::unfold(Some(messages), move |messages| {
            let this = this.clone();
            async move {
                let mut messages = messages?;
                match messages.message().await {
                    Ok(Some(message)) => Some((Ok(Event::Message(message)), Some(messages))),
                    Ok(None) => match messages.trailers().await {
                        Ok(Some(trailers)) => Some((Ok(Event::Trailers(trailers)), None)),
                        Ok(None) => None,
                        Err(status) => Some((Err(this.status(status)), None)),
                    },
                    Err(status) => Some((Err(this.status(status)), None)),
                }
            }
        });
        let timeout = self.options.timeout.unwrap_or_default();
        let events = deadline.bound(
            stream::once(async move { Ok(Event::Headers(metadata)) }).chain(body),
            move || Err(GrpcError::Timeout(timeout)),
        );
        Ok(events)
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = self.metadata.clone();
        if let Some(timeout) = self.options.timeout {
            request.set_timeout(timeout);
        }
        request
    }

    fn timed_out(&self) -> GrpcError {
        GrpcError::Timeout(self.options.timeout.unwrap_or_default())
    }

    /// A status from the server, or a failure to reach it.
    fn status(&self, status: tonic::Status) -> GrpcError {
        match crate::grpc::status_error(&self.options.target, self.options.timeout, status.clone())
        {
            crate::ClientError::Connect { url, reason } => GrpcError::Connect {
                target: url,
                reason,
            },
            crate::ClientError::Timeout { after, .. } => GrpcError::Timeout(after),
            _ => GrpcError::Status(status),
        }
    }

    /// Reflection errors caused by an unreachable server read as such.
    fn connect_error(&self, error: GrpcError) -> GrpcError {
        match error {
            GrpcError::Status(status) => self.status(status),
            other => other,
        }
    }
}

/// `pkg.Service/Method` (or `pkg.Service.Method`) → (service, method).
pub fn split_method(symbol: &str) -> Result<(String, String), GrpcError> {
    let (service, method) = symbol
        .rsplit_once('/')
        .or_else(|| symbol.rsplit_once('.'))
        .filter(|(s, m)| !s.is_empty() && !m.is_empty())
        .ok_or_else(|| {
            GrpcError::NotFound(format!("{symbol:?}: expected package.Service/Method"))
        })?;
    Ok((
        service.trim_start_matches('/').to_owned(),
        method.to_owned(),
    ))
}

/// Finds a method in `pool`.
pub fn find_method(pool: &DescriptorPool, symbol: &str) -> Result<MethodDescriptor, GrpcError> {
    let (service_name, method_name) = split_method(symbol)?;
    let service = pool.get_service_by_name(&service_name).ok_or_else(|| {
        GrpcError::NotFound(format!("service {service_name} is not in the schema"))
    })?;
    service
        .methods()
        .find(|m| m.name() == method_name)
        .ok_or_else(|| {
            let known: Vec<String> = service.methods().map(|m| m.name().to_owned()).collect();
            GrpcError::NotFound(format!(
                "{service_name} has no method {method_name} (it has {})",
                known.join(", ")
            ))
        })
}

/// Parses JSON text into messages of `descriptor`: one JSON value, or several
/// (one per line, or simply one after another) for request streams.
pub fn parse_messages(
    descriptor: &MessageDescriptor,
    text: &str,
) -> Result<Vec<DynamicMessage>, GrpcError> {
    let bad = |reason: String| GrpcError::Input {
        message: descriptor.full_name().to_owned(),
        reason,
    };
    let values = serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .collect::<Result<Vec<Value>, _>>()
        .map_err(|e| bad(format!("not valid JSON: {e}")))?;
    let single = values.len() == 1;
    values
        .into_iter()
        .enumerate()
        .map(|(i, value)| {
            // Track where in the JSON a value was rejected, to name it.
            let mut track = serde_path_to_error::Track::new();
            let tracked = serde_path_to_error::Deserializer::new(value, &mut track);
            DynamicMessage::deserialize(descriptor.clone(), tracked).map_err(|e| {
                let path = track.path().to_string();
                let at = if path == "." {
                    String::new()
                } else {
                    format!(" at {path}")
                };
                bad(if single {
                    format!("{e}{at}")
                } else {
                    format!("message {}{at}: {e}", i + 1)
                })
            })
        })
        .collect()
}

/// A message as canonical protobuf JSON (64-bit integers as strings, enums by
/// name, well-known types in their JSON forms).
pub fn message_to_json(message: &DynamicMessage) -> Result<Value, GrpcError> {
    message
        .serialize_with_options(serde_json::value::Serializer, &SerializeOptions::new())
        .map_err(|e| GrpcError::Input {
            message: message.descriptor().full_name().to_owned(),
            reason: format!("cannot render as JSON: {e}"),
        })
}

/// Metadata as a JSON object (binary values base64, as on the wire).
pub fn metadata_to_json(metadata: &MetadataMap) -> Value {
    let map = metadata.clone().into_headers();
    let mut object = serde_json::Map::new();
    for (name, value) in &map {
        let value = Value::String(String::from_utf8_lossy(value.as_bytes()).into_owned());
        match object.get_mut(name.as_str()) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.clone(), value]),
            None => {
                object.insert(name.as_str().to_owned(), value);
            }
        }
    }
    Value::Object(object)
}

fn root_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut current = error;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}
