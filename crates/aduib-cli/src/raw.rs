//! `aduib jsonrpc` and `aduib http`: raw requests to any server.

use std::time::Duration;

use aduib_client::raw::Method;
use aduib_client::{HttpRequestSpec, JsonRpcReply, RawClient, ReplyBody, jsonrpc_has_error};
use anyhow::{Context, bail};
use futures::StreamExt;
use serde_json::{Map, Value, json};

use crate::Outcome;
use crate::cli::{HttpArgs, JsonRpcArgs};
use crate::input::{parse_headers, read_json, read_value};
use crate::output::print_line;

pub async fn jsonrpc(args: JsonRpcArgs) -> anyhow::Result<Outcome> {
    let payload = match (&args.payload, &args.method) {
        (Some(payload), _) => read_json(payload, "--payload")?,
        (None, Some(method)) => {
            let mut request = Map::new();
            request.insert("jsonrpc".into(), json!("2.0"));
            if !args.notify {
                let id = args.id.as_deref().unwrap_or("1");
                let id = id.parse::<i64>().map_or_else(|_| json!(id), |n| json!(n));
                request.insert("id".into(), id);
            }
            request.insert("method".into(), json!(method));
            if let Some(params) = &args.params {
                let params = read_json(params, "--params")?;
                if !(params.is_object() || params.is_array()) {
                    bail!("--params must be a JSON object or array");
                }
                request.insert("params".into(), params);
            }
            Value::Object(request)
        }
        (None, None) => bail!("give --method or --payload"),
    };
    let client = RawClient::new()?;
    let reply = client
        .jsonrpc(
            &args.url,
            &payload,
            &parse_headers(&args.headers)?,
            args.timeout_ms.map(Duration::from_millis),
        )
        .await?;
    let mut outcome = Outcome::Success;
    match reply {
        JsonRpcReply::Empty => {}
        JsonRpcReply::Json(value) => {
            print_line(&value)?;
            if jsonrpc_has_error(&value) {
                outcome = Outcome::ServerError;
            }
        }
        JsonRpcReply::Events(mut events) => {
            while let Some(value) = events.next().await {
                let value = value?;
                print_line(&value)?;
                if jsonrpc_has_error(&value) {
                    outcome = Outcome::ServerError;
                }
            }
        }
    }
    Ok(outcome)
}

pub async fn http(args: HttpArgs) -> anyhow::Result<Outcome> {
    let method = Method::from_bytes(args.method.to_uppercase().as_bytes())
        .with_context(|| format!("-X {:?} is not an HTTP method", args.method))?;
    let body = args
        .data
        .as_deref()
        .map(|d| read_value(d, "--data"))
        .transpose()?;
    let reply = RawClient::new()?
        .send(HttpRequestSpec {
            method,
            url: args.url,
            headers: parse_headers(&args.headers)?,
            body: body.map(Into::into),
            timeout: args.timeout_ms.map(Duration::from_millis),
        })
        .await?;
    let headers: Map<String, Value> = reply
        .headers
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let outcome = if (200..300).contains(&reply.status) {
        Outcome::Success
    } else {
        Outcome::ServerError
    };
    match reply.body {
        ReplyBody::Full(bytes) => {
            let body = serde_json::from_slice::<Value>(&bytes)
                .unwrap_or_else(|_| json!(String::from_utf8_lossy(&bytes)));
            print_line(&json!({"status": reply.status, "headers": headers, "body": body}))?;
        }
        ReplyBody::Events(mut events) => {
            print_line(&json!({"status": reply.status, "headers": headers}))?;
            while let Some(event) = events.next().await {
                let event = event?;
                print_line(&json!({
                    "event": event.event.as_deref().unwrap_or("message"),
                    "id": event.id,
                    "data": event.data,
                }))?;
            }
        }
    }
    Ok(outcome)
}
