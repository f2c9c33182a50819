//! `aduib call` and `aduib stream`.

use std::time::Duration;

use aduib_client::{AduibClient, ClientConfig, ResponseStream, Transport};
use aduib_core::{AduibRequest, AduibResponse, MethodName};
use anyhow::Context;
use futures::StreamExt;

use crate::Outcome;
use crate::cli::{AduibTransport, CallArgs, HealthArgs};
use crate::input::{parse_headers, parse_object, read_object, read_value};
use crate::output::print_line;

pub async fn call(args: CallArgs) -> anyhow::Result<Outcome> {
    let (client, request) = prepare(&args)?;
    report(&client.call(&request).await?)
}

pub async fn health(args: HealthArgs) -> anyhow::Result<Outcome> {
    let client = client(args.transport, &args.url, &args.headers, args.timeout_ms)?;
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

pub async fn stream(args: CallArgs) -> anyhow::Result<Outcome> {
    let (client, request) = prepare(&args)?;
    print_stream(client.stream(&request).await?).await
}

pub async fn client_stream(args: CallArgs) -> anyhow::Result<Outcome> {
    let (client, requests) = prepare_many(&args)?;
    report(&client.client_stream(requests).await?)
}

pub async fn bidi(args: CallArgs) -> anyhow::Result<Outcome> {
    let (client, requests) = prepare_many(&args)?;
    print_stream(client.bidirectional(requests).await?).await
}

async fn print_stream(mut responses: ResponseStream) -> anyhow::Result<Outcome> {
    let mut outcome = Outcome::Success;
    while let Some(response) = responses.next().await {
        let response = response?;
        print_line(&response)?;
        if !response.is_success() {
            outcome = Outcome::ServerError;
        }
    }
    Ok(outcome)
}

fn prepare(args: &CallArgs) -> anyhow::Result<(AduibClient, AduibRequest)> {
    let method = MethodName::parse_lenient(&args.method).context("--method")?;
    let data = read_object(args.data.as_deref(), "--data")?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let client = client(args.transport, &args.url, &args.headers, args.timeout_ms)?;
    Ok((client, AduibRequest::new(id, method.to_string(), data)))
}

/// Requests for a client stream: one per NDJSON line of `--data` (default
/// stdin), all to the same method and with ids `<id>-1`, `<id>-2`, ...
fn prepare_many(args: &CallArgs) -> anyhow::Result<(AduibClient, Vec<AduibRequest>)> {
    let method = MethodName::parse_lenient(&args.method).context("--method")?;
    let text = read_value(args.data.as_deref().unwrap_or("-"), "--data")?;
    let id = args
        .id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let requests = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| {
            let flag = format!("--data line {}", i + 1);
            let data = parse_object(line, &flag)?;
            Ok(AduibRequest::new(
                format!("{id}-{}", i + 1),
                method.to_string(),
                data,
            ))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    if requests.is_empty() {
        anyhow::bail!("--data holds no messages: give one JSON object per line");
    }
    let client = client(args.transport, &args.url, &args.headers, args.timeout_ms)?;
    Ok((client, requests))
}

fn client(
    transport_arg: AduibTransport,
    url: &str,
    headers: &[String],
    timeout_ms: Option<u64>,
) -> anyhow::Result<AduibClient> {
    Ok(AduibClient::new(ClientConfig {
        transport: transport(transport_arg),
        url: url.to_owned(),
        headers: parse_headers(headers)?,
        timeout: timeout_ms.map(Duration::from_millis),
        limits: aduib_core::Limits::default(),
    })?)
}

pub fn transport(t: AduibTransport) -> Transport {
    match t {
        AduibTransport::Jsonrpc => Transport::JsonRpc,
        AduibTransport::Rest => Transport::Rest,
        AduibTransport::Grpc => Transport::Grpc,
        AduibTransport::Thrift => Transport::Thrift,
    }
}
