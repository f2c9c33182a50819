//! Any Thrift function from its IDL, with parsed IDLs cached per file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use aduib_client::anythrift::{self, ThriftCallOptions};
use aduib_thrift::value::type_name;
use aduib_thrift::{Framing, Outcome, Protocol, Schema};
use serde_json::json;

use crate::Caches;
use crate::error::{ErrorKind, WorkbenchError};
use crate::event::CallStatus;
use crate::exchange::Emitter;
use crate::request::{ThriftCall, ThriftFraming, ThriftProtocol};

/// `idl` as given, else the first `includes` folder that has it, as
/// `--proto` is looked up.
pub fn find_idl(idl: &str, includes: &[String]) -> Result<PathBuf, WorkbenchError> {
    let given = Path::new(idl);
    if given.is_file() || given.is_absolute() {
        return Ok(given.to_path_buf());
    }
    includes
        .iter()
        .map(|dir| Path::new(dir).join(idl))
        .find(|candidate| candidate.is_file())
        .ok_or_else(|| {
            let searched = if includes.is_empty() {
                String::new()
            } else {
                format!(" (searched {})", includes.join(", "))
            };
            WorkbenchError::new(ErrorKind::NotFound, format!("no IDL file {idl}{searched}"))
        })
}

/// `thrift://host:port` or `host:port` → `host:port`.
pub fn thrift_target(target: &str) -> &str {
    target
        .strip_prefix("thrift://")
        .unwrap_or(target)
        .trim_end_matches('/')
}

impl Caches {
    /// The parsed IDL, kept until the cache is cleared.
    pub(crate) fn thrift_schema(
        &self,
        idl: &str,
        includes: &[String],
    ) -> Result<Arc<Schema>, WorkbenchError> {
        let path = find_idl(idl, includes)?;
        let key = crate::cache_key(&(&path, includes));
        if let Some(schema) = self.lock_thrift().get(&key) {
            return Ok(schema.clone());
        }
        let includes: Vec<PathBuf> = includes.iter().map(PathBuf::from).collect();
        let schema = Arc::new(Schema::load(&path, &includes)?);
        self.lock_thrift().insert(key, schema.clone());
        Ok(schema)
    }
}

pub(crate) async fn run(
    caches: &Caches,
    call: &ThriftCall,
    emitter: &Emitter,
) -> Result<(), WorkbenchError> {
    let schema = caches.thrift_schema(&call.idl, &call.includes)?;
    let function = anythrift::find_function(&schema, &call.method)?;
    if !call.args.is_object() {
        return Err(WorkbenchError::bad_input(
            "the arguments must be a JSON object",
        ));
    }
    let options = ThriftCallOptions {
        target: thrift_target(&call.target).to_owned(),
        protocol: match call.protocol {
            ThriftProtocol::Binary => Protocol::Binary,
            ThriftProtocol::Compact => Protocol::Compact,
        },
        framing: match call.framing {
            ThriftFraming::Buffered => Framing::Buffered,
            ThriftFraming::Framed => Framing::Framed,
        },
        multiplexed: call.multiplexed.clone(),
        timeout: call.options.timeout_ms.map(Duration::from_millis),
    };
    emitter.sent(call.args.clone());
    let outcome = anythrift::call(&schema, function, &call.args, &options)
        .await
        .map_err(|error| suggest_flags(error.into(), call))?;
    match outcome {
        Outcome::Success(value) => {
            emitter.received(value, None);
            emitter.status(CallStatus::ok());
        }
        Outcome::Declared { name, value } => {
            let ty = function
                .throws
                .iter()
                .find(|f| f.name == name)
                .map(|f| type_name(&f.ty))
                .unwrap_or_default();
            emitter.received(
                json!({"exception": {"field": name, "type": ty, "value": value}}),
                None,
            );
            emitter.status(CallStatus {
                ok: false,
                code: None,
                name: Some(ty),
                message: Some(format!("declared exception {name}")),
            });
        }
        Outcome::Application(error) => {
            emitter.received(
                json!({"application_exception": {
                    "type": error.kind, "name": error.kind_name(), "message": error.message,
                }}),
                None,
            );
            emitter.status(CallStatus::error(
                i64::from(error.kind),
                error.kind_name(),
                error.message.clone(),
            ));
        }
    }
    Ok(())
}

/// A server speaking another protocol or framing closes the connection or
/// answers garbage; say which flags to try.
fn suggest_flags(error: WorkbenchError, call: &ThriftCall) -> WorkbenchError {
    if error.kind != ErrorKind::Protocol {
        return error;
    }
    let other_protocol = match call.protocol {
        ThriftProtocol::Binary => "--protocol compact",
        ThriftProtocol::Compact => "--protocol binary",
    };
    let other_framing = match call.framing {
        ThriftFraming::Buffered => "--transport framed",
        ThriftFraming::Framed => "--transport buffered",
    };
    let multiplexed = if call.multiplexed.is_none() {
        ", or --multiplexed SERVICE"
    } else {
        ""
    };
    error.with_cause(format!(
        "the server may speak another protocol or framing: try {other_framing}, {other_protocol}{multiplexed}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_idl_is_found_in_the_include_folders() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("x.thrift"), "service S {}").unwrap();
        let found = find_idl("x.thrift", &[dir.path().display().to_string()]).unwrap();
        assert_eq!(found, dir.path().join("x.thrift"));
        let missing = find_idl("y.thrift", &["/nowhere".into()]).unwrap_err();
        assert_eq!(missing.kind, ErrorKind::NotFound);
        assert!(missing.message.contains("/nowhere"), "{}", missing.message);
    }

    #[test]
    fn a_thrift_url_reads_as_host_and_port() {
        assert_eq!(thrift_target("thrift://127.0.0.1:9090"), "127.0.0.1:9090");
        assert_eq!(thrift_target("127.0.0.1:9090"), "127.0.0.1:9090");
    }
}
