//! `aduib jsonrpc` and `aduib http`: raw requests to any server.

use aduib_workbench::event::EventBody;
use aduib_workbench::request::{CallOptions, HttpCall, JsonRpcCall};
use aduib_workbench::{Request, Workbench};
use anyhow::bail;
use serde_json::{Map, Value, json};

use crate::Outcome;
use crate::call::headers;
use crate::cli::{HttpArgs, JsonRpcArgs};
use crate::input::{read_json, read_value};
use crate::output::print_line;
use crate::session::{self, drive};

pub async fn jsonrpc(workbench: &Workbench, args: JsonRpcArgs) -> anyhow::Result<Outcome> {
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
    let exchange = workbench.send(Request::Jsonrpc(JsonRpcCall {
        url: args.url,
        payload,
        options: CallOptions {
            timeout_ms: args.timeout_ms,
            headers: headers(&args.headers)?,
            max_message_bytes: None,
        },
    }));
    drive(exchange, session::messages).await
}

pub async fn http(workbench: &Workbench, args: HttpArgs) -> anyhow::Result<Outcome> {
    let body = args
        .data
        .as_deref()
        .map(|d| read_value(d, "--data"))
        .transpose()?;
    let exchange = workbench.send(Request::Http(HttpCall {
        method: args.method,
        url: args.url,
        body,
        options: CallOptions {
            timeout_ms: args.timeout_ms,
            headers: headers(&args.headers)?,
            max_message_bytes: None,
        },
    }));
    // A whole body prints as one line with the status and headers; an event
    // stream prints them first, then one line per event.
    let mut head: Option<(u16, Value, bool)> = None;
    drive(exchange, |event| {
        match &event.body {
            EventBody::Headers { status, headers } => {
                let events = headers.iter().any(|h| {
                    h.name.eq_ignore_ascii_case("content-type")
                        && h.value.starts_with("text/event-stream")
                });
                let object: Map<String, Value> = headers
                    .iter()
                    .map(|h| (h.name.clone(), json!(h.value)))
                    .collect();
                let status = status.unwrap_or_default();
                if events {
                    print_line(&json!({"status": status, "headers": object}))?;
                }
                head = Some((status, Value::Object(object), events));
            }
            EventBody::Message { body, .. } => match &head {
                Some((_, _, true)) => print_line(body)?,
                Some((status, headers, false)) => {
                    print_line(&json!({"status": status, "headers": headers, "body": body}))?;
                }
                None => print_line(body)?,
            },
            _ => {}
        }
        Ok(())
    })
    .await
}
