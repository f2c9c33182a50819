//! `aduib bench`: a closed-loop load generator for unary Aduib calls.
//!
//! Each of `concurrency` workers holds one HTTP/1.1 keep-alive connection and
//! one request in flight. It is deliberately lean (hyper, a pre-encoded body,
//! a substring check of the reply) so that, on a small machine, the generator
//! takes as little CPU as possible from the server being measured.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aduib_client::Transport;
use aduib_core::jsonrpc::{JSONRPC_PATH, JsonRpcRequest};
use aduib_core::{AduibRequest, MethodName, rest};
use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde::Serialize;

use crate::Outcome;
use crate::call::transport;
use crate::cli::BenchArgs;
use crate::input::read_object;
use crate::output::print_line;

#[derive(Debug, Serialize)]
struct Report {
    transport: &'static str,
    url: String,
    concurrency: usize,
    duration_s: f64,
    requests: usize,
    errors: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

pub async fn run(args: BenchArgs) -> anyhow::Result<Outcome> {
    if args.concurrency == 0 || args.duration_s <= 0.0 || args.warmup_s < 0.0 {
        bail!("--concurrency and --duration-s must be positive, --warmup-s not negative");
    }
    let transport = transport(args.transport);
    let url = plain_http_target(&args.url)?;
    let method = MethodName::parse_lenient(&args.method).context("--method")?;
    let data = read_object(Some(&args.data), "--data")?;
    let request = AduibRequest::new("bench", method.to_string(), data);
    let (path, body) = match transport {
        Transport::JsonRpc => (
            JSONRPC_PATH,
            serde_json::to_vec(&JsonRpcRequest::for_aduib("bench", &request)?)?,
        ),
        Transport::Rest => (rest::RPC, serde_json::to_vec(&request)?),
    };
    let target = Target {
        addr: url.0,
        host: url.1,
        path,
        body: Bytes::from(body),
    };
    // One probe first, so a wrong URL or method fails loudly instead of
    // producing a fast benchmark of errors.
    let mut probe = connect(&target).await?;
    if !send(&mut probe, &target).await? {
        bail!("the probe call did not succeed; check --url, --method and --data");
    }
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup_s);
    let end = measure_from + Duration::from_secs_f64(args.duration_s);
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..args.concurrency {
        let target = target.clone();
        workers.spawn(async move { worker(target, measure_from, end).await });
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    while let Some(result) = workers.join_next().await {
        let stats = result.context("a bench worker panicked")??;
        latencies_us.extend(stats.latencies_us);
        errors += stats.errors;
    }
    latencies_us.sort_unstable();
    let requests = latencies_us.len();
    let report = Report {
        transport: match transport {
            Transport::JsonRpc => "jsonrpc",
            Transport::Rest => "rest",
        },
        url: args.url,
        concurrency: args.concurrency,
        duration_s: args.duration_s,
        requests,
        errors,
        rps: requests as f64 / args.duration_s,
        p50_ms: percentile_ms(&latencies_us, 0.50),
        p99_ms: percentile_ms(&latencies_us, 0.99),
    };
    print_line(&report)?;
    Ok(if errors == 0 {
        Outcome::Success
    } else {
        Outcome::ServerError
    })
}

#[derive(Debug, Clone)]
struct Target {
    addr: SocketAddr,
    host: String,
    path: &'static str,
    body: Bytes,
}

#[derive(Debug, Default)]
struct WorkerStats {
    latencies_us: Vec<u32>,
    errors: usize,
}

type Connection = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn worker(
    target: Target,
    measure_from: Instant,
    end: Instant,
) -> anyhow::Result<WorkerStats> {
    let mut stats = WorkerStats::default();
    let mut conn = connect(&target).await?;
    loop {
        let sent = Instant::now();
        if sent >= end {
            return Ok(stats);
        }
        let ok = match send(&mut conn, &target).await {
            Ok(ok) => ok,
            Err(_) => {
                // A dropped connection counts once, then we reconnect.
                conn = connect(&target).await?;
                false
            }
        };
        if sent >= measure_from {
            if ok {
                let us = sent.elapsed().as_micros();
                stats
                    .latencies_us
                    .push(u32::try_from(us).unwrap_or(u32::MAX));
            } else {
                stats.errors += 1;
            }
        }
    }
}

async fn connect(target: &Target) -> anyhow::Result<Connection> {
    let stream = tokio::net::TcpStream::connect(target.addr)
        .await
        .with_context(|| format!("cannot connect to {}", target.addr))?;
    stream.set_nodelay(true)?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "bench connection closed");
        }
    });
    Ok(sender)
}

/// One call; true when the reply is an Aduib success.
async fn send(conn: &mut Connection, target: &Target) -> anyhow::Result<bool> {
    conn.ready().await?;
    let request = http::Request::post(target.path)
        .header(http::header::HOST, &target.host)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(target.body.clone()))?;
    let response = conn.send_request(request).await?;
    let ok = response.status().is_success();
    let body = response.into_body().collect().await?.to_bytes();
    Ok(ok && contains(&body, br#""status":"success""#))
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn percentile_ms(sorted_us: &[u32], p: f64) -> f64 {
    if sorted_us.is_empty() {
        return 0.0;
    }
    let rank = ((sorted_us.len() as f64 * p).ceil() as usize).clamp(1, sorted_us.len());
    f64::from(sorted_us[rank - 1]) / 1000.0
}

/// `http://host:port` → the socket address and Host header. The bench speaks
/// plain HTTP/1.1 to one address; TLS is out of scope for a load generator.
fn plain_http_target(url: &str) -> anyhow::Result<(SocketAddr, String)> {
    let rest = url
        .strip_prefix("http://")
        .with_context(|| format!("--url {url:?} must start with http://"))?;
    let host = rest.split('/').next().unwrap_or(rest);
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)
        .with_context(|| format!("--url {url:?}: cannot resolve {host}"))?
        .next()
        .with_context(|| format!("--url {url:?}: {host} has no address"))?;
    Ok((addr, host.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let us: Vec<u32> = (1..=100).map(|i| i * 1000).collect();
        assert_eq!(percentile_ms(&us, 0.50), 50.0);
        assert_eq!(percentile_ms(&us, 0.99), 99.0);
        assert_eq!(percentile_ms(&[], 0.99), 0.0);
    }

    #[test]
    fn urls_must_be_plain_http() {
        assert!(plain_http_target("https://127.0.0.1:1").is_err());
        let (addr, host) = plain_http_target("http://127.0.0.1:17101/aduib_rpc").unwrap();
        assert_eq!(addr.port(), 17101);
        assert_eq!(host, "127.0.0.1:17101");
    }
}
