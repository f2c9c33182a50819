//! Any gRPC method: schema (by reflection, `.proto` or descriptor set, with a
//! cache per target), method lookup, JSON to messages and back.

use std::path::PathBuf;
use std::time::Duration;

use aduib_client::anygrpc::{
    self, AnyGrpc, ConnectOptions, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_REFLECTION_TIMEOUT, Event,
    GrpcError, SchemaSource, TlsOptions,
};
use futures::StreamExt;
use prost::Message;
use prost_reflect::{DescriptorPool, DynamicMessage, MethodDescriptor};

use crate::error::{ErrorKind, WorkbenchError};
use crate::event::{CallStatus, EventBody};
use crate::exchange::{Emitter, Input, request_messages};
use crate::request::{GrpcCall, GrpcSchema, Header, TlsSettings};
use crate::{Caches, cache_key};

/// How to reach a gRPC server and where its schema comes from: what `grpc
/// list`, `describe`, `schema` and `call` share.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct GrpcTarget {
    pub target: String,
    pub schema: GrpcSchema,
    #[ts(optional)]
    pub tls: Option<TlsSettings>,
    pub headers: Vec<Header>,
    #[ts(optional)]
    pub timeout_ms: Option<u64>,
    #[ts(optional)]
    pub max_message_bytes: Option<u64>,
    pub gzip: bool,
}

impl GrpcTarget {
    pub fn of(call: &GrpcCall) -> Self {
        GrpcTarget {
            target: call.target.clone(),
            schema: call.schema.clone(),
            tls: call.tls.clone(),
            headers: call.options.headers.clone(),
            timeout_ms: call.options.timeout_ms,
            max_message_bytes: call.options.max_message_bytes,
            gzip: call.gzip,
        }
    }

    fn source(&self) -> SchemaSource {
        if let Some(protoset) = &self.schema.protoset {
            SchemaSource::Protoset(protoset.into())
        } else if !self.schema.protos.is_empty() {
            SchemaSource::ProtoFiles {
                protos: self.schema.protos.iter().map(PathBuf::from).collect(),
                includes: self.schema.includes.iter().map(PathBuf::from).collect(),
            }
        } else {
            SchemaSource::Reflection
        }
    }

    fn uses_reflection(&self) -> bool {
        matches!(self.source(), SchemaSource::Reflection)
    }

    fn connect_options(&self) -> ConnectOptions {
        let mut options = ConnectOptions::new(self.target.trim_start_matches("grpc://"));
        options.tls = self.tls.as_ref().map(TlsOptions::from);
        options.metadata = Header::pairs(&self.headers);
        options.timeout = self.timeout_ms.map(Duration::from_millis);
        options.max_message_bytes = self
            .max_message_bytes
            .map_or(DEFAULT_MAX_MESSAGE_BYTES, |n| {
                usize::try_from(n).unwrap_or(usize::MAX)
            });
        options.reflection_timeout = self
            .schema
            .reflection_timeout_ms
            .map_or(DEFAULT_REFLECTION_TIMEOUT, Duration::from_millis);
        options.gzip = self.gzip;
        options
    }
}

impl Caches {
    /// One channel per target and settings, reused by every call.
    pub(crate) fn grpc_client(&self, target: &GrpcTarget) -> Result<AnyGrpc, WorkbenchError> {
        let key = cache_key(target);
        let mut clients = self.lock_grpc();
        if let Some(client) = clients.get(&key) {
            return Ok(client.clone());
        }
        let client = AnyGrpc::new(target.connect_options())?;
        clients.insert(key, client.clone());
        Ok(client)
    }

    /// The schema `symbol` needs; by reflection only its service is fetched,
    /// and kept until the cache is cleared.
    pub(crate) async fn grpc_schema(
        &self,
        target: &GrpcTarget,
        symbol: &str,
    ) -> Result<DescriptorPool, WorkbenchError> {
        let symbol = symbol.trim_start_matches('.');
        let key = format!(
            "{}\u{0}{symbol}",
            cache_key(&(target.target.as_str(), &target.schema))
        );
        if let Some(pool) = self.lock_schemas().get(&key) {
            return Ok(pool.clone());
        }
        let client = self.grpc_client(target)?;
        let source = target.source();
        let lookup = match anygrpc::split_method(symbol) {
            Ok((service, _)) if symbol.contains('/') => service,
            _ => symbol.to_owned(),
        };
        let pool = match client.schema(&source, std::slice::from_ref(&lookup)).await {
            // `pkg.Service.Method` is not a symbol reflection knows; its service is.
            Err(GrpcError::NotFound(_)) if !symbol.contains('/') => {
                let (service, _) = anygrpc::split_method(symbol)?;
                client.schema(&source, &[service]).await
            }
            other => other,
        }
        .map_err(|e| explain_reflection(e, target))?;
        self.lock_schemas().insert(key, pool.clone());
        Ok(pool)
    }

    /// The services a server offers: by reflection, or those of the files.
    pub(crate) async fn grpc_services(
        &self,
        target: &GrpcTarget,
    ) -> Result<Vec<String>, WorkbenchError> {
        let client = self.grpc_client(target)?;
        let mut names = match target.source() {
            SchemaSource::Reflection => client
                .list_services()
                .await
                .map_err(|e| explain_reflection(e, target))?,
            offline => client
                .schema(&offline, &[])
                .await?
                .services()
                .map(|s| s.full_name().to_owned())
                .collect(),
        };
        names.sort();
        Ok(names)
    }
}

/// A server without reflection says UNIMPLEMENTED; say what to do instead.
fn explain_reflection(error: GrpcError, target: &GrpcTarget) -> WorkbenchError {
    let unimplemented =
        matches!(&error, GrpcError::Status(s) if s.code() == tonic::Code::Unimplemented);
    let mut out = WorkbenchError::from(error);
    if unimplemented && target.uses_reflection() {
        out = WorkbenchError::new(
            ErrorKind::NotFound,
            format!(
                "{} does not offer server reflection; give the schema with --proto FILE (and -I DIR) or --protoset FILE",
                target.target
            ),
        )
        .with_cause(out.message);
    }
    out
}

pub(crate) async fn run(
    caches: &Caches,
    call: &GrpcCall,
    emitter: &Emitter,
    input: tokio::sync::mpsc::UnboundedReceiver<Input>,
) -> Result<(), WorkbenchError> {
    let target = GrpcTarget::of(call);
    let client = caches.grpc_client(&target)?;
    let pool = caches.grpc_schema(&target, &call.method).await?;
    let method = anygrpc::find_method(&pool, &call.method)?;
    // No body: an empty message, or none at all on a request stream.
    let initial = match call.body.trim() {
        "" if method.is_client_streaming() => Vec::new(),
        "" => anygrpc::parse_messages(&method.input(), "{}")?,
        text => anygrpc::parse_messages(&method.input(), text)?,
    };
    if !method.is_client_streaming() && initial.len() != 1 {
        return Err(WorkbenchError::bad_input(format!(
            "{} takes exactly one message, got {}",
            method.full_name(),
            initial.len()
        )));
    }
    let initial: Vec<serde_json::Value> = initial
        .iter()
        .map(anygrpc::message_to_json)
        .collect::<Result<_, _>>()?;
    let interactive = call.interactive && method.is_client_streaming();
    let inputs = request_messages(initial, input, interactive);
    let events = match client
        .call_stream(&method, outgoing(&method, inputs, emitter.clone()))
        .await
    {
        Ok(events) => events,
        Err(error) => return report_failure(error, emitter),
    };
    receive(events, emitter).await
}

/// Each outgoing JSON message as a protobuf message, reported as sent. A
/// message that does not fit the schema is reported and skipped.
fn outgoing(
    method: &MethodDescriptor,
    inputs: futures::stream::BoxStream<'static, serde_json::Value>,
    emitter: Emitter,
) -> futures::stream::BoxStream<'static, DynamicMessage> {
    let descriptor = method.input();
    inputs
        .filter_map(move |value| {
            let parsed = anygrpc::parse_messages(&descriptor, &value.to_string())
                .map(|mut messages| messages.pop());
            let emitter = emitter.clone();
            async move {
                match parsed {
                    Ok(Some(message)) => {
                        emitter.emit(EventBody::Sent {
                            body: value,
                            size: message.encoded_len() as u64,
                        });
                        Some(message)
                    }
                    Ok(None) => None,
                    Err(error) => {
                        emitter.emit(EventBody::Error {
                            error: error.into(),
                        });
                        None
                    }
                }
            }
        })
        .boxed()
}

async fn receive(mut events: anygrpc::Events, emitter: &Emitter) -> Result<(), WorkbenchError> {
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Headers(headers)) => emitter.emit(EventBody::Headers {
                status: None,
                headers: metadata_headers(&headers),
            }),
            Ok(Event::Message(message)) => {
                let size = message.encoded_len() as u64;
                emitter.received(anygrpc::message_to_json(&message)?, Some(size));
            }
            Ok(Event::Trailers(trailers)) => emitter.emit(EventBody::Trailers {
                trailers: metadata_headers(&trailers),
            }),
            Err(error) => return report_failure(error, emitter),
        }
    }
    emitter.status(CallStatus::ok());
    Ok(())
}

/// A non-OK status is the server's answer (with its trailers); a deadline is
/// reported as the status a gRPC client sees, then as the error it is.
fn report_failure(error: GrpcError, emitter: &Emitter) -> Result<(), WorkbenchError> {
    match error {
        GrpcError::Status(status) => {
            let trailers = metadata_headers(status.metadata());
            if !trailers.is_empty() {
                emitter.emit(EventBody::Trailers { trailers });
            }
            emitter.status(CallStatus::error(
                status.code() as i64,
                format!("{:?}", status.code()),
                status.message(),
            ));
            Ok(())
        }
        GrpcError::Timeout(after) => {
            emitter.status(CallStatus::error(
                tonic::Code::DeadlineExceeded as i64,
                "DeadlineExceeded",
                format!("no complete reply within {after:?}"),
            ));
            Err(GrpcError::Timeout(after).into())
        }
        other => Err(other.into()),
    }
}

fn metadata_headers(metadata: &tonic::metadata::MetadataMap) -> Vec<Header> {
    metadata
        .clone()
        .into_headers()
        .iter()
        .map(|(name, value)| Header::new(name.as_str(), String::from_utf8_lossy(value.as_bytes())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_without_reflection_is_told_to_give_the_schema() {
        let target = GrpcTarget {
            target: "127.0.0.1:50051".into(),
            ..GrpcTarget::default()
        };
        let unimplemented = GrpcError::Status(tonic::Status::unimplemented("unknown service"));
        let error = explain_reflection(unimplemented, &target);
        assert_eq!(error.kind, ErrorKind::NotFound);
        assert!(error.message.contains("--proto"), "{}", error.message);
        assert!(error.message.contains("does not offer server reflection"));
        // With files given, the same status is the server's answer, as is.
        let with_files = GrpcTarget {
            schema: GrpcSchema {
                protos: vec!["a.proto".into()],
                ..GrpcSchema::default()
            },
            ..target
        };
        let unimplemented = GrpcError::Status(tonic::Status::unimplemented("unknown service"));
        assert_eq!(
            explain_reflection(unimplemented, &with_files).kind,
            ErrorKind::Server
        );
    }
}
