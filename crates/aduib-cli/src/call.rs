//! `aduib call` and `aduib stream`.

use std::time::Duration;

use aduib_client::{AduibClient, ClientConfig, Transport};
use aduib_core::{AduibRequest, AduibResponse, MethodName};
use anyhow::Context;
use futures::StreamExt;

use crate::Outcome;
use crate::cli::{AduibTransport, CallArgs, HealthArgs};
use crate::input::{parse_headers, read_object};
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
    let mut responses = client.stream(&request).await?;
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
    })?)
}

pub fn transport(t: AduibTransport) -> Transport {
    match t {
        AduibTransport::Jsonrpc => Transport::JsonRpc,
        AduibTransport::Rest => Transport::Rest,
    }
}
