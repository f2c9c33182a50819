//! `aduib grpc ...`: any gRPC service, no code generation.

use std::time::Duration;

use aduib_client::anygrpc::describe::describe;
use aduib_client::anygrpc::{
    self, AnyGrpc, ConnectOptions, Event, GrpcError, SchemaSource, TlsOptions, jsonschema,
};
use anyhow::bail;
use futures::StreamExt;
use prost_reflect::DescriptorPool;
use serde_json::json;

use crate::Outcome;
use crate::cli::{GrpcCommand, GrpcConnArgs};
use crate::input::{parse_headers, read_value};
use crate::output::print_line;

pub async fn run(command: GrpcCommand) -> anyhow::Result<Outcome> {
    match command {
        GrpcCommand::List {
            addr,
            service,
            conn,
        } => list(&addr, service.as_deref(), &conn).await,
        GrpcCommand::Describe { addr, symbol, conn } => {
            let pool = pool(&client(&addr, &conn)?, &conn, &symbol).await?;
            print!("{}", describe(&pool, &symbol)?);
            Ok(Outcome::Success)
        }
        GrpcCommand::Schema {
            addr,
            symbol,
            template,
            conn,
        } => {
            let pool = pool(&client(&addr, &conn)?, &conn, &symbol).await?;
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
        } => call(&addr, &method, data.as_deref(), verbose, &conn).await,
    }
}

async fn list(addr: &str, service: Option<&str>, conn: &GrpcConnArgs) -> anyhow::Result<Outcome> {
    let client = client(addr, conn)?;
    let names: Vec<String> = match service {
        Some(service) => {
            let pool = pool(&client, conn, service).await?;
            let descriptor = pool.get_service_by_name(service).ok_or_else(|| {
                GrpcError::NotFound(format!("service {service} is not in the schema"))
            })?;
            descriptor
                .methods()
                .map(|m| m.full_name().to_owned())
                .collect()
        }
        None => match source(conn) {
            SchemaSource::Reflection => client.list_services().await?,
            offline => {
                let pool = client.schema(&offline, &[]).await?;
                let mut names: Vec<String> =
                    pool.services().map(|s| s.full_name().to_owned()).collect();
                names.sort();
                names
            }
        },
    };
    for name in names {
        println!("{name}");
    }
    Ok(Outcome::Success)
}

async fn call(
    addr: &str,
    symbol: &str,
    data: Option<&str>,
    verbose: bool,
    conn: &GrpcConnArgs,
) -> anyhow::Result<Outcome> {
    let client = client(addr, conn)?;
    let pool = pool(&client, conn, symbol).await?;
    let method = anygrpc::find_method(&pool, symbol)?;
    let text = match data {
        Some(data) => read_value(data, "--data")?,
        None => "{}".to_owned(),
    };
    let inputs = anygrpc::parse_messages(&method.input(), &text)?;
    if inputs.is_empty() && !method.is_client_streaming() {
        bail!("--data holds no message for {}", method.full_name());
    }
    let mut events = match client.call(&method, inputs).await {
        Ok(events) => events,
        Err(GrpcError::Status(status)) => return print_status(&status),
        Err(other) => return Err(other.into()),
    };
    while let Some(event) = events.next().await {
        match event {
            Ok(Event::Message(message)) => {
                let json = anygrpc::message_to_json(&message)?;
                if verbose {
                    print_line(&json!({ "message": json }))?;
                } else {
                    print_line(&json)?;
                }
            }
            Ok(Event::Headers(headers)) if verbose => {
                print_line(&json!({ "headers": anygrpc::metadata_to_json(&headers) }))?;
            }
            Ok(Event::Trailers(trailers)) if verbose => {
                print_line(&json!({ "trailers": anygrpc::metadata_to_json(&trailers) }))?;
            }
            Ok(_) => {}
            Err(GrpcError::Status(status)) => return print_status(&status),
            Err(other) => return Err(other.into()),
        }
    }
    if verbose {
        print_line(&json!({"status": {"code": 0, "name": "OK"}}))?;
    }
    Ok(Outcome::Success)
}

/// A non-OK status is the server's answer: printed, exit 1.
fn print_status(status: &tonic::Status) -> anyhow::Result<Outcome> {
    print_line(&json!({"status": {
        "code": status.code() as i32,
        "name": format!("{:?}", status.code()),
        "message": status.message(),
    }}))?;
    Ok(Outcome::ServerError)
}

fn source(conn: &GrpcConnArgs) -> SchemaSource {
    if let Some(protoset) = &conn.protoset {
        SchemaSource::Protoset(protoset.clone())
    } else if !conn.protos.is_empty() {
        SchemaSource::ProtoFiles {
            protos: conn.protos.clone(),
            includes: conn.includes.clone(),
        }
    } else {
        SchemaSource::Reflection
    }
}

/// The schema, fetching by reflection only the service `symbol` belongs to.
async fn pool(
    client: &AnyGrpc,
    conn: &GrpcConnArgs,
    symbol: &str,
) -> Result<DescriptorPool, GrpcError> {
    let symbol = symbol.trim_start_matches('.');
    let lookup = match anygrpc::split_method(symbol) {
        Ok((service, _)) if symbol.contains('/') => service,
        _ => symbol.to_owned(),
    };
    match client
        .schema(&source(conn), std::slice::from_ref(&lookup))
        .await
    {
        // `pkg.Service.Method` is not a symbol reflection knows; its service is.
        Err(GrpcError::NotFound(_)) if !symbol.contains('/') => {
            let (service, _) = anygrpc::split_method(symbol)?;
            client.schema(&source(conn), &[service]).await
        }
        other => other,
    }
}

fn client(addr: &str, conn: &GrpcConnArgs) -> anyhow::Result<AnyGrpc> {
    let tls =
        (conn.tls || conn.insecure || conn.cacert.is_some() || conn.cert.is_some()).then(|| {
            TlsOptions {
                ca_cert: conn.cacert.clone(),
                client_cert: conn.cert.clone().zip(conn.key.clone()),
                domain: conn.servername.clone(),
                insecure: conn.insecure,
            }
        });
    let mut options = ConnectOptions::new(addr);
    options.tls = tls;
    options.metadata = parse_headers(&conn.headers)?;
    options.timeout = conn.timeout_ms.map(Duration::from_millis);
    options.max_message_bytes = conn.max_msg_mb.saturating_mul(1024 * 1024);
    options.reflection_timeout = Duration::from_millis(conn.reflection_timeout_ms);
    options.gzip = conn.gzip;
    Ok(AnyGrpc::new(options)?)
}
