//! `aduib grpc ...`: any gRPC service, no code generation.

use aduib_client::anygrpc::describe::describe;
use aduib_client::anygrpc::{self, GrpcError, jsonschema};
use aduib_workbench::event::EventBody;
use aduib_workbench::request::{GrpcCall, GrpcSchema};
use aduib_workbench::{GrpcTarget, Outcome as Ended, Request, Workbench};
use serde_json::{Value, json};

use crate::Outcome;
use crate::cli::{GrpcCommand, GrpcConnArgs};
use crate::input::read_value;
use crate::output::print_line;
use crate::session::{self, drive};

pub async fn run(workbench: &Workbench, command: GrpcCommand) -> anyhow::Result<Outcome> {
    match command {
        GrpcCommand::List {
            addr,
            service,
            conn,
        } => {
            let target = target(&addr, &conn)?;
            let names: Vec<String> = match service {
                Some(service) => {
                    let pool = workbench.grpc_schema(&target, &service).await?;
                    let descriptor = pool.get_service_by_name(&service).ok_or_else(|| {
                        GrpcError::NotFound(format!("service {service} is not in the schema"))
                    })?;
                    descriptor
                        .methods()
                        .map(|m| m.full_name().to_owned())
                        .collect()
                }
                None => workbench.grpc_services(&target).await?,
            };
            for name in names {
                println!("{name}");
            }
            Ok(Outcome::Success)
        }
        GrpcCommand::Describe { addr, symbol, conn } => {
            let pool = workbench
                .grpc_schema(&target(&addr, &conn)?, &symbol)
                .await?;
            print!("{}", describe(&pool, &symbol)?);
            Ok(Outcome::Success)
        }
        GrpcCommand::Schema {
            addr,
            symbol,
            template,
            conn,
        } => {
            let pool = workbench
                .grpc_schema(&target(&addr, &conn)?, &symbol)
                .await?;
            let message = match anygrpc::find_method(&pool, &symbol) {
                Ok(method) => method.input(),
                Err(_) => pool
                    .get_message_by_name(symbol.trim_start_matches('.'))
                    .ok_or_else(|| {
                        GrpcError::NotFound(format!("{symbol} is not a method or message"))
                    })?,
            };
            let value = if template {
                jsonschema::template(&message)
            } else {
                jsonschema::schema(&message)
            };
            println!("{}", serde_json::to_string_pretty(&value)?);
            Ok(Outcome::Success)
        }
        GrpcCommand::Call {
            addr,
            method,
            data,
            verbose,
            conn,
        } => call(workbench, &addr, &method, data.as_deref(), verbose, &conn).await,
    }
}

async fn call(
    workbench: &Workbench,
    addr: &str,
    symbol: &str,
    data: Option<&str>,
    verbose: bool,
    conn: &GrpcConnArgs,
) -> anyhow::Result<Outcome> {
    let target = target(addr, conn)?;
    // `-d -` on a request stream sends each stdin line as it arrives.
    let from_stdin = if data == Some("-") {
        let pool = workbench.grpc_schema(&target, symbol).await?;
        anygrpc::find_method(&pool, symbol)?.is_client_streaming()
    } else {
        false
    };
    let body = match data {
        Some(_) if from_stdin => String::new(),
        Some(data) => read_value(data, "--data")?,
        None => String::new(),
    };
    let exchange = workbench.send(Request::Grpc(GrpcCall {
        target: target.target,
        method: symbol.to_owned(),
        body,
        schema: target.schema,
        tls: target.tls,
        gzip: target.gzip,
        interactive: from_stdin,
        options: aduib_workbench::request::CallOptions {
            timeout_ms: target.timeout_ms,
            headers: target.headers,
            max_message_bytes: target.max_message_bytes,
        },
    }));
    if from_stdin {
        session::feed_stdin(&exchange, "--data");
    }
    // The status is printed when it is known to be the server's: a status
    // followed by an error is a deadline, shown with -v only.
    let mut status = None;
    drive(exchange, |event| {
        match &event.body {
            EventBody::Headers { headers, .. } if verbose => {
                print_line(&json!({ "headers": pairs(headers) }))?;
            }
            EventBody::Message { body, .. } => {
                if verbose {
                    print_line(&json!({ "message": body }))?;
                } else {
                    print_line(body)?;
                }
            }
            EventBody::Trailers { trailers } if verbose => {
                print_line(&json!({ "trailers": pairs(trailers) }))?;
            }
            EventBody::Status { status: s } => status = Some(s.clone()),
            EventBody::End { summary } => {
                if let Some(s) = status.take()
                    && (verbose || summary.outcome == Ended::ServerError)
                {
                    let mut line = json!({
                        "code": s.code.unwrap_or(0),
                        "name": s.name.clone().unwrap_or_else(|| "OK".into()),
                    });
                    if let Some(message) = &s.message {
                        line["message"] = json!(message);
                    }
                    print_line(&json!({ "status": line }))?;
                }
            }
            _ => {}
        }
        Ok(())
    })
    .await
}

/// Metadata as a JSON object (a repeated key becomes an array).
fn pairs(headers: &[aduib_workbench::request::Header]) -> Value {
    let mut object = serde_json::Map::new();
    for header in headers {
        let value = Value::String(header.value.clone());
        match object.get_mut(&header.name) {
            Some(Value::Array(values)) => values.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.clone(), value]),
            None => {
                object.insert(header.name.clone(), value);
            }
        }
    }
    Value::Object(object)
}

fn target(addr: &str, conn: &GrpcConnArgs) -> anyhow::Result<GrpcTarget> {
    let path = |p: &std::path::PathBuf| p.display().to_string();
    Ok(GrpcTarget {
        target: addr.to_owned(),
        schema: GrpcSchema {
            protos: conn.protos.iter().map(path).collect(),
            includes: conn.includes.iter().map(path).collect(),
            protoset: conn.protoset.as_ref().map(path),
            reflection_timeout_ms: Some(conn.reflection_timeout_ms),
        },
        tls: conn.tls.settings(),
        headers: crate::call::headers(&conn.headers)?,
        timeout_ms: conn.timeout_ms,
        max_message_bytes: Some((conn.max_msg_mb as u64).saturating_mul(1024 * 1024)),
        gzip: conn.gzip,
    })
}
