//! `aduib thrift ...`: any Thrift service from its IDL.

use std::path::{Path, PathBuf};
use std::time::Duration;

use aduib_client::anythrift::{self, ThriftCallOptions};
use aduib_thrift::idl::{Field, Function, Requiredness};
use aduib_thrift::value::{template, type_name};
use aduib_thrift::{Framing, Outcome, Protocol, Schema};
use serde_json::{Map, Value, json};

use crate::Outcome as Exit;
use crate::cli::{ThriftCommand, ThriftProtocolArg, ThriftTransportArg};
use crate::input::{parse_object, read_value};
use crate::output::print_line;

pub async fn run(command: ThriftCommand) -> anyhow::Result<Exit> {
    match command {
        ThriftCommand::List { idl, includes } => {
            let schema = load(&idl, &includes)?;
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
            let schema = load(&idl, &includes)?;
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
            let schema = load(&idl, &includes)?;
            let function = anythrift::find_function(&schema, &method)?;
            let args = match data {
                Some(data) => Value::Object(parse_object(&read_value(&data, "--data")?, "--data")?),
                None => json!({}),
            };
            let options = ThriftCallOptions {
                target: addr,
                protocol: match protocol {
                    ThriftProtocolArg::Binary => Protocol::Binary,
                    ThriftProtocolArg::Compact => Protocol::Compact,
                },
                framing: match transport {
                    ThriftTransportArg::Buffered => Framing::Buffered,
                    ThriftTransportArg::Framed => Framing::Framed,
                },
                multiplexed,
                timeout: timeout_ms.map(Duration::from_millis),
            };
            match anythrift::call(&schema, function, &args, &options).await? {
                Outcome::Success(value) => {
                    print_line(&value)?;
                    Ok(Exit::Success)
                }
                Outcome::Declared { name, value } => {
                    let ty = function
                        .throws
                        .iter()
                        .find(|f| f.name == name)
                        .map(|f| type_name(&f.ty))
                        .unwrap_or_default();
                    print_line(&json!({"exception": {"field": name, "type": ty, "value": value}}))?;
                    Ok(Exit::ServerError)
                }
                Outcome::Application(error) => {
                    print_line(
                        &json!({"application_exception": {"type": error.kind, "message": error.message}}),
                    )?;
                    Ok(Exit::ServerError)
                }
            }
        }
    }
}

fn load(idl: &Path, includes: &[PathBuf]) -> anyhow::Result<Schema> {
    Ok(Schema::load(idl, includes)?)
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
