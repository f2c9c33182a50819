//! `aduib call`, `stream`, `client-stream`, `bidi` and `health`.

use std::time::Duration;

use aduib_client::{AduibClient, ClientConfig, Transport};
use aduib_core::AduibResponse;
use aduib_workbench::Workbench;
use aduib_workbench::request::{
    AduibCall, AduibTransport as Wire, CallMode, CallOptions, Discovery, Header,
};
use anyhow::bail;
use serde_json::Value;

use crate::Outcome;
use crate::cli::{AduibTransport, CallArgs, HealthArgs};
use crate::input::{parse_headers, parse_object, read_object, read_value};
use crate::output::print_line;
use crate::session::{self, drive};

/// Sends an Aduib call of `mode`; prints each response as one JSON line.
pub async fn send(
    workbench: &Workbench,
    args: CallArgs,
    mode: CallMode,
) -> anyhow::Result<Outcome> {
    let mut call = aduib_call(&args, mode)?;
    // Request streams read NDJSON: from stdin line by line as it arrives, or
    // all at once from a literal or a file.
    let from_stdin = mode.streams_requests() && args.data.as_deref().is_none_or(|d| d == "-");
    if !mode.streams_requests() {
        call.data = Value::Object(read_object(args.data.as_deref(), "--data")?);
    } else if !from_stdin {
        call.messages = ndjson(args.data.as_deref().unwrap_or("-"))?;
    }
    call.interactive = from_stdin;
    // `${env:NAME}` in --auth is resolved here, in memory; history keeps
    // the reference.
    let request = aduib_workbench::Request::Aduib(call);
    let resolved = if args
        .discovery
        .auth
        .as_deref()
        .is_some_and(|a| a.contains("${env:"))
    {
        aduib_workbench::workspace::resolve(request, &Default::default())?
    } else {
        aduib_workbench::workspace::Resolved {
            request,
            secrets: Vec::new(),
        }
    };
    if args.repeat > 1 && from_stdin {
        bail!("--repeat needs the messages in --data, not from stdin");
    }
    let mut worst = Outcome::Success;
    for _ in 0..args.repeat {
        let exchange = workbench.send_resolved(resolved.clone());
        if from_stdin {
            session::feed_stdin(&exchange, "--data");
        }
        if drive(exchange, session::messages).await? == Outcome::ServerError {
            worst = Outcome::ServerError;
        }
    }
    Ok(worst)
}

/// The call the flags describe, without its data.
pub fn aduib_call(args: &CallArgs, mode: CallMode) -> anyhow::Result<AduibCall> {
    let d = &args.discovery;
    let discovery = match (&d.nacos, &d.service) {
        (Some(registry), Some(service)) => Some(Discovery {
            registry: registry.clone(),
            namespace: d.namespace.clone(),
            group: d.group.clone(),
            service: service.clone(),
            strategy: d.lb.clone(),
            instance: d.instance.clone(),
            any_transport: args.transport.is_none(),
            idempotent: d.idempotent,
            retries: d.retries,
            auth: d.auth.clone(),
        }),
        _ => None,
    };
    Ok(AduibCall {
        discovery,
        tls: args.tls.settings(),
        transport: wire(args.transport.unwrap_or(AduibTransport::Jsonrpc)),
        url: args.url.clone().unwrap_or_default(),
        method: args.method.clone(),
        mode,
        data: Value::Object(serde_json::Map::new()),
        messages: Vec::new(),
        interactive: false,
        id: args.id.clone(),
        options: CallOptions {
            timeout_ms: args.timeout_ms,
            headers: headers(&args.headers)?,
            max_message_bytes: None,
        },
    })
}

fn ndjson(arg: &str) -> anyhow::Result<Vec<Value>> {
    let text = read_value(arg, "--data")?;
    let messages = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            Ok(Value::Object(parse_object(
                line,
                &format!("--data line {}", i + 1),
            )?))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if messages.is_empty() {
        bail!("--data holds no messages: give one JSON object per line");
    }
    Ok(messages)
}

pub fn headers(args: &[String]) -> anyhow::Result<Vec<Header>> {
    Ok(parse_headers(args)?
        .into_iter()
        .map(|(name, value)| Header::new(name, value))
        .collect())
}

pub async fn health(args: HealthArgs) -> anyhow::Result<Outcome> {
    let client = AduibClient::new(ClientConfig {
        transport: transport(args.transport),
        url: args.url.clone(),
        headers: parse_headers(&args.headers)?,
        timeout: args.timeout_ms.map(Duration::from_millis),
        limits: aduib_core::Limits::default(),
        tls: None,
    })?;
    report(&client.health(args.service.as_deref()).await?)
}

fn report(response: &AduibResponse) -> anyhow::Result<Outcome> {
    print_line(response)?;
    Ok(if response.is_success() {
        Outcome::Success
    } else {
        Outcome::ServerError
    })
}

pub fn wire(t: AduibTransport) -> Wire {
    match t {
        AduibTransport::Jsonrpc => Wire::Jsonrpc,
        AduibTransport::Rest => Wire::Rest,
        AduibTransport::Grpc => Wire::Grpc,
        AduibTransport::Thrift => Wire::Thrift,
    }
}

pub fn transport(t: AduibTransport) -> Transport {
    match t {
        AduibTransport::Jsonrpc => Transport::JsonRpc,
        AduibTransport::Rest => Transport::Rest,
        AduibTransport::Grpc => Transport::Grpc,
        AduibTransport::Thrift => Transport::Thrift,
    }
}
