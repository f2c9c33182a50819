//! Who may call the server.
//!
//! A server on loopback is still reachable from every web page the user
//! opens: a page can POST to `http://127.0.0.1:17101` (a "simple" cross-origin
//! request needs no preflight), and with DNS rebinding read the answer too.
//! So the HTTP listeners do what local dev servers do since their
//! DNS-rebinding advisories:
//!
//! - the `Host` must be an IP address, `localhost` (or `*.localhost`), or a
//!   name allowed with `--allow-host` (a rebinding attack needs a domain
//!   name of its own);
//! - a request with an `Origin` (browsers send one on cross-origin POSTs) is
//!   refused unless that origin is the server's own or allowed;
//! - a body must be declared JSON, which a form or `text/plain` POST (the
//!   only kinds a page can send without a preflight) is not.
//!
//! A server bound beyond loopback should also require a token
//! (`aduib serve --auth-token-env NAME`): every call must present it, as
//! `Authorization: Bearer <token>` or `X-API-Key` on HTTP and gRPC, or in
//! the envelope's `metadata.auth.credentials` on any transport (the only
//! place on Thrift, and where the peer's Python clients put it). It is
//! compared in constant time and never logged. Health checks stay open, for
//! probes; the Thrift demo service, which has no envelope to carry a token,
//! is not served then.

use std::fmt;
use std::net::IpAddr;

use aduib_core::{AduibRequest, ErrorCode, RpcError};
use http::{HeaderMap, StatusCode, header};
use subtle::ConstantTimeEq;

/// The access rules of one server.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Host names accepted besides IP addresses and `localhost`.
    pub allowed_hosts: Vec<String>,
    /// Origins (`scheme://host[:port]`) browsers may call from.
    pub allowed_origins: Vec<String>,
    /// The token every call must present, if any.
    pub token: Option<Token>,
}

/// A server token. Its `Debug` form hides it.
#[derive(Clone)]
pub struct Token(String);

impl Token {
    pub fn new(secret: impl Into<String>) -> Self {
        Token(secret.into())
    }

    fn matches(&self, presented: &str) -> bool {
        bool::from(self.0.as_bytes().ct_eq(presented.as_bytes()))
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Why an HTTP request was refused, with the status to answer.
#[derive(Debug, Clone)]
pub struct Refusal {
    pub status: StatusCode,
    pub error: RpcError,
}

impl Access {
    /// The browser-origin checks of the JSON-RPC and REST listeners.
    pub fn check_browser(&self, headers: &HeaderMap, uri: &http::Uri) -> Result<(), Refusal> {
        let forbidden = |message: String| Refusal {
            status: StatusCode::FORBIDDEN,
            error: RpcError::new(ErrorCode::PermissionDenied, message),
        };
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(http::uri::Authority::as_str))
            .unwrap_or_default();
        if !self.host_allowed(host) {
            return Err(forbidden(format!(
                "Host `{host}` is not accepted: use an IP address or localhost, or start the \
                 server with --allow-host {}",
                host_name(host)
            )));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or_default();
            let own = origin
                .split_once("://")
                .is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host));
            if !own
                && !self
                    .allowed_origins
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(origin))
            {
                return Err(forbidden(format!(
                    "requests from the web page origin `{origin}` are refused; start the \
                     server with --allow-origin {origin} to accept them"
                )));
            }
        }
        // A request has a body when it declares a length or is chunked.
        let has_body = headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|len| len != "0")
            || headers.contains_key(header::TRANSFER_ENCODING);
        let content_type = headers
            .get(header::CONTENT_TYPE)
            .and_then(|c| c.to_str().ok())
            .unwrap_or_default();
        if has_body && !is_json(content_type) {
            return Err(Refusal {
                status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
                error: RpcError::new(
                    ErrorCode::BadRequest,
                    format!(
                        "the body must be sent as `Content-Type: application/json` (got `{}`)",
                        if content_type.is_empty() {
                            "none"
                        } else {
                            content_type
                        }
                    ),
                ),
            });
        }
        Ok(())
    }

    fn host_allowed(&self, host: &str) -> bool {
        let name = host_name(host);
        name.parse::<IpAddr>().is_ok()
            || name.eq_ignore_ascii_case("localhost")
            || name.to_ascii_lowercase().ends_with(".localhost")
            || self.allowed_hosts.iter().any(|allowed| {
                allowed.eq_ignore_ascii_case(name) || allowed.eq_ignore_ascii_case(host)
            })
    }

    /// The token check for HTTP and gRPC: `Authorization: Bearer <token>`
    /// or `X-API-Key: <token>`.
    pub fn check_headers(&self, headers: &HeaderMap) -> Result<(), RpcError> {
        self.check_token(header_token(headers))
    }

    /// The token check for an Aduib call: the transport's headers (when it
    /// has them), else the envelope's `metadata.auth.credentials`, which is
    /// where the peer's Python clients put it.
    pub fn check_call(
        &self,
        headers: Option<&HeaderMap>,
        request: &AduibRequest,
    ) -> Result<(), RpcError> {
        let from_envelope = || {
            request
                .metadata
                .as_ref()
                .and_then(|m| m.auth.as_ref())
                .and_then(|a| a.credentials.as_deref())
        };
        self.check_token(headers.and_then(header_token).or_else(from_envelope))
    }

    /// Whether calls must present a token.
    pub fn requires_token(&self) -> bool {
        self.token.is_some()
    }

    /// Whether `presented` is the server's token: missing is 3000
    /// (UNAUTHENTICATED), wrong is 3001 (INVALID_TOKEN).
    pub fn check_token(&self, presented: Option<&str>) -> Result<(), RpcError> {
        let Some(token) = &self.token else {
            return Ok(());
        };
        match presented {
            None | Some("") => Err(RpcError::new(
                ErrorCode::Unauthenticated,
                "this server requires a token (Authorization: Bearer <token>)",
            )),
            Some(presented) if token.matches(presented) => Ok(()),
            Some(_) => Err(RpcError::new(
                ErrorCode::InvalidToken,
                "the token is not valid",
            )),
        }
    }
}

/// `Authorization: Bearer <token>` (or a bare token), else `X-API-Key`.
fn header_token(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .unwrap_or(v)
        });
    bearer.or_else(|| headers.get("x-api-key").and_then(|v| v.to_str().ok()))
}

/// `host[:port]` or `[v6]:port` → the name or address alone.
fn host_name(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `application/json`, `application/*+json`, with or without parameters.
fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, value.parse().unwrap());
        }
        map
    }

    fn check(access: &Access, pairs: &[(&'static str, &str)]) -> Result<(), StatusCode> {
        let uri: http::Uri = "/aduib_rpc".parse().unwrap();
        access
            .check_browser(&headers(pairs), &uri)
            .map_err(|r| r.status)
    }

    const JSON: (&str, &str) = ("content-type", "application/json");

    #[test]
    fn hosts_are_addresses_localhost_or_allowed() {
        let access = Access::default();
        for host in [
            "127.0.0.1:17101",
            "[::1]:17101",
            "localhost",
            "app.localhost:80",
            "10.0.0.5",
        ] {
            assert_eq!(check(&access, &[("host", host), JSON]), Ok(()), "{host}");
        }
        assert_eq!(
            check(&access, &[("host", "evil.example:17101"), JSON]),
            Err(StatusCode::FORBIDDEN)
        );
        let allowed = Access {
            allowed_hosts: vec!["evil.example".into()],
            ..Access::default()
        };
        assert_eq!(
            check(&allowed, &[("host", "evil.example:17101"), JSON]),
            Ok(())
        );
    }

    #[test]
    fn foreign_origins_and_non_json_bodies_are_refused() {
        let access = Access::default();
        let host = ("host", "127.0.0.1:17101");
        let evil = ("origin", "http://evil.example");
        assert_eq!(
            check(&access, &[host, evil, JSON]),
            Err(StatusCode::FORBIDDEN)
        );
        assert_eq!(
            check(&access, &[host, ("origin", "http://127.0.0.1:17101"), JSON]),
            Ok(())
        );
        let allowed = Access {
            allowed_origins: vec!["http://evil.example".into()],
            ..Access::default()
        };
        assert_eq!(check(&allowed, &[host, evil, JSON]), Ok(()));
        assert_eq!(
            check(
                &access,
                &[
                    host,
                    ("content-type", "text/plain"),
                    ("content-length", "9")
                ]
            ),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            check(&access, &[host, ("content-length", "5")]),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(
            check(&access, &[host, ("transfer-encoding", "chunked")]),
            Err(StatusCode::UNSUPPORTED_MEDIA_TYPE)
        );
        assert_eq!(check(&access, &[host, ("content-length", "0")]), Ok(()));
        assert_eq!(check(&access, &[host]), Ok(()));
        assert_eq!(
            check(
                &access,
                &[
                    host,
                    ("content-type", "application/vnd.x+json; charset=utf-8")
                ]
            ),
            Ok(())
        );
    }

    #[test]
    fn tokens_are_required_when_set() {
        // A fresh random token: no credential is written into the tests.
        let secret = uuid::Uuid::new_v4().to_string();
        let open = Access::default();
        assert!(open.check_headers(&HeaderMap::new()).is_ok());
        let guarded = Access {
            token: Some(Token::new(secret.clone())),
            ..Access::default()
        };
        let code = |pairs: &[(&'static str, &str)]| {
            guarded.check_headers(&headers(pairs)).map_err(|e| e.code)
        };
        assert_eq!(code(&[]), Err(3000));
        assert_eq!(code(&[("authorization", "Bearer nope")]), Err(3001));
        assert_eq!(
            code(&[("authorization", &format!("Bearer {secret}"))]),
            Ok(())
        );
        assert_eq!(code(&[("x-api-key", &secret)]), Ok(()));
        assert!(!format!("{guarded:?}").contains(&secret));
    }
}
