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

/// Aduib envelopes carry credentials in `metadata.auth.credentials`; JSON
/// bodies may carry them under secret-looking keys.
fn body(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, field) in map.iter_mut() {
                let lower = key.to_ascii_lowercase();
                let secret = matches!(
                    lower.as_str(),
                    "credentials" | "password" | "api_key" | "apikey"
                ) || lower.ends_with("token") && lower != "tokens";
                if secret && !field.is_null() {
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

/// `event` with every credential replaced.
pub fn event(event: &mut Event) {
    match &mut event.body {
        EventBody::Sent { body: value, .. } | EventBody::Message { body: value, .. } => body(value),
        EventBody::Headers { headers: list, .. } => headers(list),
        EventBody::Trailers { trailers } => headers(trailers),
        EventBody::Status { .. } | EventBody::Error { .. } | EventBody::End { .. } => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::{AduibCall, AduibTransport, CallMode, CallOptions};
    use serde_json::json;

    #[test]
    fn headers_and_aduib_credentials_are_replaced_and_the_rest_kept() {
        let secret = uuid::Uuid::new_v4().to_string();
        let call = Request::Aduib(AduibCall {
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
