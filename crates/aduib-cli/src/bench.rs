//! `aduib bench`: a closed-loop load generator for unary Aduib calls.
//!
//! Each of `concurrency` workers keeps one request in flight: over its own
//! HTTP/1.1 keep-alive connection, or, for gRPC, over one of `connections`
//! shared HTTP/2 connections with the request frame encoded once. It is deliberately lean (hyper, a pre-encoded body,
//! a substring check of the reply) so that, on a small machine, the generator
//! takes as little CPU as possible from the server being measured.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use aduib_client::Transport;
use aduib_core::jsonrpc::{JSONRPC_PATH, JsonRpcRequest};
use aduib_core::{AduibRequest, MethodName, rest};
use aduib_proto::convert::request_to_proto;
use aduib_proto::v2 as pb;
use aduib_thrift::aduib as thrift_aduib;
use anyhow::{Context, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use prost::Message;
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
    let method = MethodName::parse_lenient(&args.method).context("--method")?;
    let data = read_object(Some(&args.data), "--data")?;
    let request = AduibRequest::new("bench", method.to_string(), data);
    let target = match transport {
        Transport::JsonRpc => {
            let body = serde_json::to_vec(&JsonRpcRequest::for_aduib("bench", &request)?)?;
            Target::http(&args.url, JSONRPC_PATH, body)?
        }
        Transport::Rest => Target::http(&args.url, rest::RPC, serde_json::to_vec(&request)?)?,
        Transport::Grpc => {
            let (addr, host) = plain_http_target(&format!(
                "http://{}",
                args.url.trim_start_matches("http://")
            ))?;
            // The gRPC frame: no compression, big-endian length, message.
            let message = request_to_proto(&request).encode_to_vec();
            let mut frame = Vec::with_capacity(5 + message.len());
            frame.push(0);
            frame.extend_from_slice(&u32::try_from(message.len())?.to_be_bytes());
            frame.extend_from_slice(&message);
            Target::Grpc {
                addr,
                uri: format!("http://{host}{GRPC_CALL_PATH}").parse()?,
                frame: Bytes::from(frame),
            }
        }
        Transport::Thrift => {
            let (addr, _) = plain_http_target(&format!("http://{}", args.url))?;
            let schema = thrift_aduib::schema()?;
            let call = schema
                .service("AduibRpcService")
                .and_then(|s| s.function("Call"))
                .context("the Aduib IDL has AduibRpcService.Call")?;
            let message = aduib_thrift::message::encode_call(
                schema,
                aduib_thrift::Protocol::Binary,
                "AduibRpcService:Call",
                call,
                &serde_json::json!({ "request": thrift_aduib::request_to_thrift(&request) }),
                0,
            )?;
            Target::Thrift {
                addr,
                message: Bytes::from(message),
            }
        }
    };
    // One probe first, so a wrong URL or method fails loudly instead of
    // producing a fast benchmark of errors.
    let mut probe = Caller::connect(&target).await?;
    if !probe.call().await? {
        bail!("the probe call did not succeed; check --url, --method and --data");
    }
    drop(probe);
    let start = Instant::now();
    let measure_from = start + Duration::from_secs_f64(args.warmup_s);
    let end = measure_from + Duration::from_secs_f64(args.duration_s);
    let mut workers = tokio::task::JoinSet::new();
    match &target {
        Target::Grpc { addr, uri, frame } => {
            // HTTP/2 multiplexes: workers share a few connections, as real
            // gRPC clients do, instead of one connection each.
            let connections = args.connections.clamp(1, args.concurrency);
            for first in 0..connections {
                let calls = (first..args.concurrency).step_by(connections).count();
                let (addr, uri, frame) = (*addr, uri.clone(), frame.clone());
                workers.spawn(async move {
                    grpc_connection(addr, uri, frame, calls, measure_from, end).await
                });
            }
        }
        Target::Http { .. } | Target::Thrift { .. } => {
            for _ in 0..args.concurrency {
                let target = target.clone();
                workers.spawn(async move {
                    let caller = Caller::connect(&target).await?;
                    worker(caller, Some(&target), measure_from, end).await
                });
            }
        }
    }
    let mut total = WorkerStats::default();
    while let Some(result) = workers.join_next().await {
        total.absorb(result.context("a bench worker panicked")??);
    }
    let WorkerStats {
        mut latencies_us,
        errors,
    } = total;
    latencies_us.sort_unstable();
    let requests = latencies_us.len();
    let report = Report {
        transport: match transport {
            Transport::JsonRpc => "jsonrpc",
            Transport::Rest => "rest",
            Transport::Grpc => "grpc",
            Transport::Thrift => "thrift",
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

/// Where and what to send.
#[derive(Debug, Clone)]
enum Target {
    Http {
        addr: SocketAddr,
        host: String,
        path: &'static str,
        body: Bytes,
    },
    Grpc {
        addr: SocketAddr,
        /// Parsed once: cloning a `Uri` shares its bytes.
        uri: http::Uri,
        frame: Bytes,
    },
    Thrift {
        addr: SocketAddr,
        message: Bytes,
    },
}

impl Target {
    fn http(url: &str, path: &'static str, body: Vec<u8>) -> anyhow::Result<Target> {
        let (addr, host) = plain_http_target(url)?;
        Ok(Target::Http {
            addr,
            host,
            path,
            body: Bytes::from(body),
        })
    }
}

#[derive(Debug, Default)]
struct WorkerStats {
    latencies_us: Vec<u32>,
    errors: usize,
}

impl WorkerStats {
    fn absorb(&mut self, other: WorkerStats) {
        self.latencies_us.extend(other.latencies_us);
        self.errors += other.errors;
    }
}

/// One connection with one call in flight.
enum Caller {
    Http {
        conn: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
        host: String,
        path: &'static str,
        body: Bytes,
    },
    Grpc {
        conn: h2::client::SendRequest<Bytes>,
        uri: http::Uri,
        frame: Bytes,
    },
    Thrift {
        reader: aduib_thrift::MessageReader<tokio::net::tcp::OwnedReadHalf>,
        writer: tokio::net::tcp::OwnedWriteHalf,
        message: Bytes,
    },
}

impl Caller {
    /// A caller on a new connection of its own.
    async fn connect(target: &Target) -> anyhow::Result<Caller> {
        match target {
            Target::Http {
                addr,
                host,
                path,
                body,
            } => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .with_context(|| format!("cannot connect to {addr}"))?;
                stream.set_nodelay(true)?;
                let (conn, connection) =
                    hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "bench connection closed");
                    }
                });
                Ok(Caller::Http {
                    conn,
                    host: host.clone(),
                    path,
                    body: body.clone(),
                })
            }
            Target::Grpc { addr, uri, frame } => {
                let (conn, connection) = connect_h2(*addr).await?;
                tokio::spawn(async move {
                    if let Err(error) = connection.await {
                        tracing::debug!(%error, "bench connection closed");
                    }
                });
                Ok(Caller::Grpc {
                    conn,
                    uri: uri.clone(),
                    frame: frame.clone(),
                })
            }
            Target::Thrift { addr, message } => {
                let stream = tokio::net::TcpStream::connect(addr)
                    .await
                    .with_context(|| format!("cannot connect to {addr}"))?;
                stream.set_nodelay(true)?;
                let (read, writer) = stream.into_split();
                Ok(Caller::Thrift {
                    reader: aduib_thrift::MessageReader::new(
                        read,
                        aduib_thrift::Protocol::Binary,
                        aduib_thrift::Framing::Buffered,
                        aduib_thrift::ReadLimits::default(),
                    ),
                    writer,
                    message: message.clone(),
                })
            }
        }
    }

    /// One call; true when the reply is an Aduib success.
    async fn call(&mut self) -> anyhow::Result<bool> {
        match self {
            Caller::Http {
                conn,
                host,
                path,
                body,
            } => {
                conn.ready().await?;
                let request = http::Request::post(*path)
                    .header(http::header::HOST, host.as_str())
                    .header(http::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(body.clone()))?;
                let response = conn.send_request(request).await?;
                let ok = response.status().is_success();
                let body = response.into_body().collect().await?.to_bytes();
                Ok(ok && contains(&body, br#""status":"success""#))
            }
            Caller::Grpc { conn, uri, frame } => {
                let mut sender = conn.clone().ready().await?;
                let request = http::Request::post(uri.clone())
                    .header(http::header::CONTENT_TYPE, "application/grpc")
                    .header(http::header::TE, "trailers")
                    .body(())?;
                let (response, mut body) = sender.send_request(request, false)?;
                body.send_data(frame.clone(), true)?;
                let mut response = response.await?.into_body();
                let mut reply = Vec::new();
                while let Some(chunk) = response.data().await {
                    let chunk = chunk?;
                    let _ = response.flow_control().release_capacity(chunk.len());
                    reply.extend_from_slice(&chunk);
                }
                let ok = response
                    .trailers()
                    .await?
                    .is_some_and(|t| t.get("grpc-status").is_some_and(|s| s == "0"));
                let reply = reply
                    .get(5..)
                    .and_then(|message| pb::Response::decode(message).ok());
                Ok(ok && reply.is_some_and(|r| r.status == pb::ResponseStatus::Success as i32))
            }
            Caller::Thrift {
                reader,
                writer,
                message,
            } => {
                aduib_thrift::write_message(writer, aduib_thrift::Framing::Buffered, message)
                    .await?;
                let reply = reader.next_message().await?;
                // `Response.status` (field 3, i32) = SUCCESS (1), binary protocol.
                Ok(contains(
                    &reply,
                    &[0x08, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01],
                ))
            }
        }
    }
}

/// One call after another on `caller` until `end`. A failed call counts once;
/// with a `target`, the caller then reconnects; without one (a shared gRPC
/// connection) the worker yields, so that the task polling the connection
/// sees it end instead of this loop spinning on a dead sender.
async fn worker(
    mut caller: Caller,
    target: Option<&Target>,
    measure_from: Instant,
    end: Instant,
) -> anyhow::Result<WorkerStats> {
    let mut stats = WorkerStats::default();
    loop {
        let sent = Instant::now();
        if sent >= end {
            return Ok(stats);
        }
        let ok = match caller.call().await {
            Ok(ok) => ok,
            Err(error) => {
                tracing::debug!(%error, "bench call failed");
                match target {
                    Some(target) => caller = Caller::connect(target).await?,
                    None => tokio::task::yield_now().await,
                }
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

/// `calls` workers sharing one HTTP/2 connection, all polled by this task
/// together with the connection itself: their requests go out in shared
/// writes, without a cross-task wake-up per request, so the generator takes
/// less CPU from the server it measures.
async fn grpc_connection(
    addr: SocketAddr,
    uri: http::Uri,
    frame: Bytes,
    calls: usize,
    measure_from: Instant,
    end: Instant,
) -> anyhow::Result<WorkerStats> {
    let (conn, connection) = connect_h2(addr).await?;
    let workers = futures::future::try_join_all((0..calls).map(|_| {
        let caller = Caller::Grpc {
            conn: conn.clone(),
            uri: uri.clone(),
            frame: frame.clone(),
        };
        worker(caller, None, measure_from, end)
    }));
    tokio::select! {
        stats = workers => {
            let mut total = WorkerStats::default();
            for stats in stats? {
                total.absorb(stats);
            }
            Ok(total)
        }
        closed = connection => bail!("{addr}: the HTTP/2 connection ended mid-bench ({closed:?})"),
    }
}

/// The gRPC method the bench calls.
const GRPC_CALL_PATH: &str = "/aduib.rpc.v2.AduibRpcService/Call";

/// An HTTP/2 (prior knowledge) connection for the gRPC bench, on the h2
/// crate directly: the leanest client there is for the generator. The
/// connection future must be polled for the sender to make progress.
async fn connect_h2(
    addr: SocketAddr,
) -> anyhow::Result<(
    h2::client::SendRequest<Bytes>,
    h2::client::Connection<tokio::net::TcpStream, Bytes>,
)> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .with_context(|| format!("cannot connect to {addr}"))?;
    stream.set_nodelay(true)?;
    Ok(h2::client::handshake(stream).await?)
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
