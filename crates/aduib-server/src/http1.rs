//! Serving the JSON-RPC and REST listeners: HTTP/1.1, or HTTP/2 when a
//! connection opens with the HTTP/2 preface (h2c by prior knowledge), which
//! then goes to [`crate::http2`] and gets the same limits as gRPC.
//!
//! HTTP/1.1 connections get hyper's header-read timer: a request head must
//! arrive whole within `header_timeout`. hyper starts that timer whenever it
//! waits for a head, idle keep-alive included, so it is set to the shorter
//! of the header and idle timeouts: an idle connection is closed after
//! that. Bodies have `body_timeout` (see [`crate::frontend::read_json_body`]).

use std::pin::pin;

use aduib_core::Limits;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::io::WriteDeadline;
use crate::server::{accept_until_stopped, stop_requested};

/// What an HTTP/2 connection by prior knowledge starts with.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Largest HTTP/1.1 request head.
const MAX_HEAD_BYTES: usize = 64 * 1024;

pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    stopped: watch::Receiver<bool>,
) {
    accept_until_stopped(listener, &limits, stopped, |tcp, _, stopped| {
        serve_connection(tcp, router.clone(), limits, stopped)
    })
    .await;
}

async fn serve_connection(
    tcp: TcpStream,
    router: Router,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) {
    let is_h2 = tokio::select! {
        sniffed = tokio::time::timeout(limits.header_timeout, starts_with_preface(&tcp)) => {
            match sniffed {
                Ok(Ok(is_h2)) => is_h2,
                // Silent, or gone, before saying which HTTP it speaks.
                Ok(Err(_)) | Err(_) => return,
            }
        }
        () = stop_requested(&mut stopped) => return,
    };
    if is_h2 {
        return crate::http2::serve_connection(tcp, router, limits, stopped).await;
    }
    let mut connection = pin!(
        hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_timeout.min(limits.idle_timeout))
            .max_buf_size(MAX_HEAD_BYTES)
            .serve_connection(
                TokioIo::new(WriteDeadline::new(tcp, limits.body_timeout)),
                TowerToHyperService::new(router)
            )
    );
    let result = tokio::select! {
        result = connection.as_mut() => result,
        () = stop_requested(&mut stopped) => {
            // Finish the request in flight, then close.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(error) = result {
        tracing::debug!(%error, "HTTP/1.1 connection ended with an error");
    }
}

/// Whether the connection's first bytes are the HTTP/2 preface; decided as
/// soon as they differ from it, without consuming anything.
async fn starts_with_preface(tcp: &TcpStream) -> std::io::Result<bool> {
    let mut first = [0u8; H2_PREFACE.len()];
    let mut pause = std::time::Duration::from_millis(2);
    loop {
        let n = tcp.peek(&mut first).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        if first[..n] != H2_PREFACE[..n] {
            return Ok(false);
        }
        if n == H2_PREFACE.len() {
            return Ok(true);
        }
        // A prefix of the preface: wait for more bytes (the socket stays
        // readable while they are unread, so readiness cannot tell). Real
        // clients send the preface in one segment; backing off keeps a
        // peer that trickles it from costing more than a few wake-ups.
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(std::time::Duration::from_millis(500));
    }
}
