//! `aduib thrift ...`: any Thrift service from its IDL.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use aduib_client::anythrift;
use aduib_thrift::Schema;
use aduib_thrift::idl::{Field, Function, Requiredness};
use aduib_thrift::value::{template, type_name};
use aduib_workbench::request::{CallOptions, ThriftCall, ThriftFraming, ThriftProtocol};
use aduib_workbench::{Request, Workbench};
use serde_json::{Map, Value, json};

use crate::Outcome as Exit;
use crate::cli::{ThriftCommand, ThriftProtocolArg, ThriftTransportArg};
use crate::input::{parse_object, read_value};
use crate::session::{self, drive};

pub async fn run(workbench: &Workbench, command: ThriftCommand) -> anyhow::Result<Exit> {
    match command {
        ThriftCommand::List { idl, includes } => {
            let schema = load(workbench, &idl, &includes)?;
            for name in schema.service_names() {
                println!("service {name}");
                if let Some(service) = schema.service(&name) {
                    for function in &service.functions {
                        println!("  {}", signature(function));
                    }
                }
            }
            Ok(Exit::Success)
        }
        ThriftCommand::Template {
            idl,
            includes,
            method,
        } => {
            let schema = load(workbench, &idl, &includes)?;
            let function = anythrift::find_function(&schema, &method)?;
            let args: Map<String, Value> = function
                .args
                .iter()
                .map(|a| (a.name.clone(), template(&schema, &a.ty, &mut Vec::new())))
                .collect();
            println!("{}", serde_json::to_string_pretty(&Value::Object(args))?);
            Ok(Exit::Success)
        }
        ThriftCommand::Call {
            addr,
            idl,
            includes,
            method,
            data,
            protocol,
            transport,
            multiplexed,
            timeout_ms,
        } => {
            let args = match data {
                Some(data) => Value::Object(parse_object(&read_value(&data, "--data")?, "--data")?),
                None => json!({}),
            };
            let exchange = workbench.send(Request::Thrift(ThriftCall {
                target: addr,
                idl: idl.display().to_string(),
                includes: folders(&includes),
                method,
                args,
                protocol: match protocol {
                    ThriftProtocolArg::Binary => ThriftProtocol::Binary,
                    ThriftProtocolArg::Compact => ThriftProtocol::Compact,
                },
                framing: match transport {
                    ThriftTransportArg::Buffered => ThriftFraming::Buffered,
                    ThriftTransportArg::Framed => ThriftFraming::Framed,
                },
                multiplexed,
                options: CallOptions {
                    timeout_ms,
                    ..CallOptions::default()
                },
            }));
            drive(exchange, session::messages).await
        }
    }
}

fn folders(includes: &[PathBuf]) -> Vec<String> {
    includes.iter().map(|p| p.display().to_string()).collect()
}

/// The IDL, found as given or in an `-I` folder.
fn load(workbench: &Workbench, idl: &Path, includes: &[PathBuf]) -> anyhow::Result<Arc<Schema>> {
    Ok(workbench.thrift_schema(&idl.display().to_string(), &folders(includes))?)
}

fn signature(function: &Function) -> String {
    let fields = |fields: &[Field]| {
        fields
            .iter()
            .map(|f| {
                let label = match f.requiredness {
                    Requiredness::Required => "required ",
                    Requiredness::Optional => "optional ",
                    Requiredness::Default => "",
                };
                format!("{}: {label}{} {}", f.id, type_name(&f.ty), f.name)
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let result = function
        .result
        .as_ref()
        .map_or_else(|| "void".to_owned(), type_name);
    let oneway = if function.oneway { "oneway " } else { "" };
    let throws = if function.throws.is_empty() {
        String::new()
    } else {
        format!(" throws ({})", fields(&function.throws))
    };
    format!(
        "{oneway}{result} {}({}){throws}",
        function.name,
        fields(&function.args)
    )
}
