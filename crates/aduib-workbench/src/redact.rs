//! Credentials never reach history, logs or files in clear: header values
//! and Aduib `metadata.auth` credentials are replaced before anything is kept.

use serde_json::Value;

use crate::event::{Event, EventBody};
use crate::request::{Header, Request};

/// What a redacted value reads as.
pub const REDACTED: &str = "••••••";

/// Header names whose values are credentials.
pub fn is_secret_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    matches!(
        name.as_str(),
        "authorization" | "proxy-authorization" | "cookie" | "set-cookie" | "x-api-key" | "api-key"
    ) || [
        "token",
        "secret",
        "password",
        "passwd",
        "credential",
        "session",
    ]
    .iter()
    .any(|word| name.contains(word))
}

fn headers(headers: &mut [Header]) {
    for header in headers {
        if is_secret_header(&header.name) && header.value != REDACTED {
            header.value = REDACTED.to_owned();
        }
    }
}

/// Keys under which JSON bodies carry credentials (Aduib envelopes carry
/// them in `metadata.auth.credentials`).
fn is_secret_key(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    matches!(
        lower.as_str(),
        "credentials" | "password" | "api_key" | "apikey"
    ) || lower.ends_with("token") && lower != "tokens"
}

fn body(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                if is_secret_key(key) && !field.is_null() {
                    *field = Value::String(REDACTED.to_owned());
                } else {
                    body(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(body),
        _ => {}
    }
}

/// `request` with every credential replaced.
pub fn request(mut request: Request) -> Request {
    headers(&mut request.options_mut().headers);
    match &mut request {
        Request::Aduib(call) => {
            body(&mut call.data);
            call.messages.iter_mut().for_each(body);
            if let Some(auth) = call.discovery.as_mut().and_then(|d| d.auth.as_mut())
                && auth_in_clear(auth)
            {
                // The kind stays readable: `bearer:••••••`.
                let kind = auth.split(':').next().unwrap_or_default().to_owned();
                *auth = format!("{kind}:{REDACTED}");
            }
        }
        Request::Jsonrpc(call) => body(&mut call.payload),
        Request::Http(call) => {
            if let Some(text) = &mut call.body
                && let Ok(mut value) = serde_json::from_str::<Value>(text)
            {
                body(&mut value);
                *text = value.to_string();
            }
        }
        Request::Grpc(call) => {
            if let Ok(mut value) = serde_json::from_str::<Value>(&call.body) {
                body(&mut value);
                call.body = value.to_string();
            }
        }
        Request::Thrift(call) => body(&mut call.args),
    }
    request
}

/// Whether an auth spec (`KIND:VALUE…`) holds its credential in clear.
fn auth_in_clear(spec: &str) -> bool {
    let value = spec.split_once(':').map(|(_, v)| v).unwrap_or(spec);
    // `basic:USER:${env:P}` and `aduib:bearer:${env:T}:alice`: the secret
    // part must be a reference.
    let secret = match spec.split(':').next() {
        Some("basic") => value.split_once(':').map(|(_, p)| p).unwrap_or(value),
        Some("aduib") => value.split_once(':').map(|(_, c)| c).unwrap_or(value),
        _ => value,
    };
    let secret = secret
        .split_once("}:")
        .map(|(s, _)| format!("{s}}}"))
        .unwrap_or_else(|| secret.to_owned());
    !is_reference(&secret)
}

/// Whether `value` only refers to a secret (`${env:NAME}`, `{{variable}}`)
/// rather than holding one.
fn is_reference(value: &str) -> bool {
    let rest = value
        .trim()
        .trim_start_matches(|c: char| c.is_ascii_alphabetic())
        .trim();
    let whole = |s: &str, open: &str, close: &str| s.starts_with(open) && s.ends_with(close);
    value.is_empty() || whole(rest, "${env:", "}") || whole(rest, "{{", "}}") || value == REDACTED
}

/// Where `request` holds a credential in clear: the paths of secret
/// headers and secret body fields whose values are not references.
pub fn credentials_in_clear(request: &Request) -> Vec<String> {
    fn walk(value: &Value, path: &str, found: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, field) in map {
                    let path = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    match field {
                        Value::String(text) if is_secret_key(key) && !is_reference(text) => {
                            found.push(path)
                        }
                        _ => walk(field, &path, found),
                    }
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    walk(item, &format!("{path}[{i}]"), found);
                }
            }
            _ => {}
        }
    }
    let mut found: Vec<String> = request
        .options()
        .headers
        .iter()
        .filter(|h| is_secret_header(&h.name) && !is_reference(&h.value))
        .map(|h| format!("header {}", h.name))
        .collect();
    let body = match request {
        Request::Aduib(call) => Some(call.data.clone()),
        Request::Jsonrpc(call) => Some(call.payload.clone()),
        Request::Thrift(call) => Some(call.args.clone()),
        Request::Http(call) => call
            .body
            .as_deref()
            .and_then(|t| serde_json::from_str(t).ok()),
        Request::Grpc(call) => serde_json::from_str(&call.body).ok(),
    };
    if let Some(body) = body {
        walk(&body, "body", &mut found);
    }
    if let Request::Aduib(call) = request
        && call
            .discovery
            .as_ref()
            .and_then(|d| d.auth.as_deref())
            .is_some_and(auth_in_clear)
    {
        found.push("discovery.auth".to_owned());
    }
    found
}

/// `event` with every credential replaced.
pub fn event(event: &mut Event) {
    match &mut event.body {
        EventBody::Sent { body: value, .. } | EventBody::Message { body: value, .. } => body(value),
        EventBody::Headers { headers: list, .. } => headers(list),
        EventBody::Trailers { trailers } => headers(trailers),
        EventBody::Status { .. }
        | EventBody::Error { .. }
        | EventBody::End { .. }
        | EventBody::Routed { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_registry_auth_in_clear_is_redacted_and_flagged_a_reference_kept() {
        let with_auth = |auth: &str| {
            let mut call: AduibCall = serde_json::from_value(json!({
                "transport": "jsonrpc", "url": "", "method": "S.m",
                "discovery": {"registry": "h:1", "service": "S"}
            }))
            .unwrap();
            if let Some(d) = call.discovery.as_mut() {
                d.auth = Some(auth.to_owned());
            }
            Request::Aduib(call)
        };
        let auth_of = |request: Request| match request {
            Request::Aduib(call) => call.discovery.and_then(|d| d.auth).unwrap_or_default(),
            _ => String::new(),
        };
        for clear in [
            "bearer:t0k3n",
            "basic:alice:pw",
            "aduib:bearer:t0k3n:alice",
            "api-key:k",
        ] {
            assert_eq!(
                credentials_in_clear(&with_auth(clear)),
                ["discovery.auth"],
                "{clear}"
            );
            let kept = auth_of(request(with_auth(clear)));
            assert!(
                kept.ends_with(REDACTED) && !kept.contains("t0k3n"),
                "{kept}"
            );
        }
        for reference in [
            "bearer:${env:T}",
            "basic:alice:${env:P}",
            "aduib:bearer:${env:T}:alice",
        ] {
            assert!(
                credentials_in_clear(&with_auth(reference)).is_empty(),
                "{reference}"
            );
            assert_eq!(auth_of(request(with_auth(reference))), reference);
        }
    }
    use crate::request::{AduibCall, AduibTransport, CallMode, CallOptions};
    use serde_json::json;

    #[test]
    fn headers_and_aduib_credentials_are_replaced_and_the_rest_kept() {
        let secret = uuid::Uuid::new_v4().to_string();
        let call = Request::Aduib(AduibCall {
            discovery: None,
            tls: None,
            transport: AduibTransport::Jsonrpc,
            url: "http://127.0.0.1:1".into(),
            method: "CaculService.add".into(),
            mode: CallMode::Unary,
            data: json!({"x": 1, "metadata": {"auth": {"scheme": "bearer", "credentials": secret}}}),
            messages: vec![],
            interactive: false,
            id: None,
            options: CallOptions {
                headers: vec![
                    Header::new("Authorization", format!("Bearer {secret}")),
                    Header::new("X-Session-Token", secret.clone()),
                    Header::new("Accept", "application/json"),
                ],
                ..CallOptions::default()
            },
        });
        let redacted = request(call);
        let text = serde_json::to_string(&redacted).unwrap();
        assert!(!text.contains(&secret), "{text}");
        assert!(
            text.contains("application/json") && text.contains("bearer"),
            "{text}"
        );
    }
}
