//! Server reflection: v1, falling back to v1alpha, every request bounded by a
//! timeout so a server that never answers is an error, not a hang.

use std::collections::{HashSet, VecDeque};
use std::time::Duration;

use futures::stream;
use prost::Message;
use prost_reflect::DescriptorPool;
use tonic::metadata::MetadataMap;
use tonic::transport::Channel;
use tonic_reflection::pb::{v1, v1alpha};

use super::GrpcError;
use super::schema::{pool_from_files, well_known_file};

/// Which reflection service answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReflectionVersion {
    V1,
    V1Alpha,
}

/// A reflection session with one server.
#[derive(Debug, Clone)]
pub struct Reflection {
    channel: Channel,
    metadata: MetadataMap,
    timeout: Duration,
    version: Option<ReflectionVersion>,
}

/// What one reflection request asks.
enum Ask {
    ListServices,
    FileContainingSymbol(String),
    FileByFilename(String),
}

/// What came back: service names or encoded file descriptors.
enum Answer {
    Services(Vec<String>),
    Files(Vec<Vec<u8>>),
}

impl Reflection {
    pub fn new(channel: Channel, metadata: MetadataMap, timeout: Duration) -> Self {
        Reflection {
            channel,
            metadata,
            timeout,
            version: None,
        }
    }

    /// The version in use, once a request has succeeded.
    pub fn version(&self) -> Option<ReflectionVersion> {
        self.version
    }

    /// Every service the server lists, sorted.
    pub async fn list_services(&mut self) -> Result<Vec<String>, GrpcError> {
        match self.ask(Ask::ListServices).await? {
            Answer::Services(mut names) => {
                names.sort();
                Ok(names)
            }
            Answer::Files(_) => Err(GrpcError::Reflection("expected a service list".into())),
        }
    }

    /// A pool holding `symbols` and everything they depend on.
    pub async fn pool_for(&mut self, symbols: &[String]) -> Result<DescriptorPool, GrpcError> {
        let mut files: Vec<prost_types::FileDescriptorProto> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        let mut wanted: VecDeque<String> = VecDeque::new();
        for symbol in symbols {
            let answer = self.ask(Ask::FileContainingSymbol(symbol.clone())).await?;
            self.absorb(answer, &mut files, &mut seen, &mut wanted)?;
        }
        while let Some(name) = wanted.pop_front() {
            if seen.contains(&name) {
                continue;
            }
            if let Some(builtin) = well_known_file(&name) {
                seen.insert(name);
                files.push(builtin);
                continue;
            }
            let answer = self.ask(Ask::FileByFilename(name.clone())).await?;
            self.absorb(answer, &mut files, &mut seen, &mut wanted)?;
            if !seen.contains(&name) {
                return Err(GrpcError::Reflection(format!(
                    "the server did not return {name}, which its schema imports"
                )));
            }
        }
        // Dependencies first, as the pool builder wants them.
        files.reverse();
        pool_from_files(files)
    }

    fn absorb(
        &self,
        answer: Answer,
        files: &mut Vec<prost_types::FileDescriptorProto>,
        seen: &mut HashSet<String>,
        wanted: &mut VecDeque<String>,
    ) -> Result<(), GrpcError> {
        let Answer::Files(encoded) = answer else {
            return Err(GrpcError::Reflection("expected file descriptors".into()));
        };
        for bytes in encoded {
            let file = prost_types::FileDescriptorProto::decode(bytes.as_slice())
                .map_err(|e| GrpcError::Reflection(format!("undecodable file descriptor: {e}")))?;
            if seen.insert(file.name().to_owned()) {
                wanted.extend(file.dependency.iter().cloned());
                files.push(file);
            }
        }
        Ok(())
    }

    /// Asks with the known version, or tries v1 then v1alpha.
    async fn ask(&mut self, ask: Ask) -> Result<Answer, GrpcError> {
        match self.version {
            Some(ReflectionVersion::V1) => self.ask_v1(&ask).await,
            Some(ReflectionVersion::V1Alpha) => self.ask_v1alpha(&ask).await,
            None => match self.ask_v1(&ask).await {
                Ok(answer) => {
                    self.version = Some(ReflectionVersion::V1);
                    Ok(answer)
                }
                Err(GrpcError::Status(status)) if status.code() == tonic::Code::Unimplemented => {
                    let answer = self.ask_v1alpha(&ask).await?;
                    self.version = Some(ReflectionVersion::V1Alpha);
                    Ok(answer)
                }
                Err(other) => Err(other),
            },
        }
    }

    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = tonic::Request::new(message);
        *request.metadata_mut() = self.metadata.clone();
        request.set_timeout(self.timeout);
        request
    }

    async fn bounded<T>(
        &self,
        work: impl Future<Output = Result<T, tonic::Status>>,
    ) -> Result<T, GrpcError> {
        let silent = || {
            GrpcError::Reflection(format!(
                "the server did not answer reflection within {:?}; is reflection enabled? \
                 (or give the schema with --proto or --protoset)",
                self.timeout
            ))
        };
        match tokio::time::timeout(self.timeout, work).await {
            Ok(Ok(answer)) => Ok(answer),
            // Our own `grpc-timeout` firing first reads the same as silence.
            Ok(Err(status))
                if matches!(
                    status.code(),
                    tonic::Code::Cancelled | tonic::Code::DeadlineExceeded
                ) =>
            {
                Err(silent())
            }
            Ok(Err(status)) => Err(GrpcError::Status(status)),
            Err(_) => Err(silent()),
        }
    }
}

/// One reflection round trip; v1 and v1alpha have the same shape in two
/// packages, so one body serves both.
macro_rules! ask_with {
    ($name:ident, $pb:ident) => {
        async fn $name(&self, ask: &Ask) -> Result<Answer, GrpcError> {
            use $pb::server_reflection_request::MessageRequest as Req;
            use $pb::server_reflection_response::MessageResponse as Res;
            let message_request = match ask {
                Ask::ListServices => Req::ListServices(String::new()),
                Ask::FileContainingSymbol(s) => Req::FileContainingSymbol(s.clone()),
                Ask::FileByFilename(f) => Req::FileByFilename(f.clone()),
            };
            let request = $pb::ServerReflectionRequest {
                host: String::new(),
                message_request: Some(message_request),
            };
            let mut client =
                $pb::server_reflection_client::ServerReflectionClient::new(self.channel.clone());
            let response = self
                .bounded(async {
                    let mut replies = client
                        .server_reflection_info(self.request(stream::iter([request])))
                        .await?
                        .into_inner();
                    replies.message().await
                })
                .await?;
            match response.and_then(|r| r.message_response) {
                Some(Res::ListServicesResponse(list)) => Ok(Answer::Services(
                    list.service.into_iter().map(|s| s.name).collect(),
                )),
                Some(Res::FileDescriptorResponse(files)) => {
                    Ok(Answer::Files(files.file_descriptor_proto))
                }
                Some(Res::ErrorResponse(error)) => Err(reflection_error(
                    ask,
                    error.error_code,
                    &error.error_message,
                )),
                _ => Err(GrpcError::Reflection("empty reflection answer".into())),
            }
        }
    };
}

impl Reflection {
    ask_with!(ask_v1, v1);
    ask_with!(ask_v1alpha, v1alpha);
}

fn reflection_error(ask: &Ask, code: i32, message: &str) -> GrpcError {
    let what = match ask {
        Ask::ListServices => "listing services".to_owned(),
        Ask::FileContainingSymbol(s) => format!("symbol {s}"),
        Ask::FileByFilename(f) => format!("file {f}"),
    };
    if code == tonic::Code::NotFound as i32 {
        return GrpcError::NotFound(format!("{what}: the server does not know it ({message})"));
    }
    GrpcError::Reflection(format!("{what}: {message} (code {code})"))
}
