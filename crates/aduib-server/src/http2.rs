//! Serving HTTP/2 (the gRPC listener) with each connection and all of its
//! streams polled by one task.
//!
//! hyper spawns every HTTP/2 stream as a task of its own. For the small unary
//! calls an RPC server mostly sees, that costs a write syscall per response:
//! a finished stream wakes the connection task, tokio runs a just-woken task
//! next (its LIFO slot), and the connection flushes that one response before
//! the next stream has run. Polling the streams inside the connection's task
//! instead sends every response that is ready in one write, and needs no
//! cross-thread wake-ups (`scripts/bench.sh` measures the gain; see README).
//! Wakes that come from inside the connection's own poll (a stream that has
//! its response, a stream started) make that poll go round once more rather
//! than scheduling the task again, and the stop signal and idle timer are
//! polled only when they fire: one poll of the task per call, not two.
//!
//! The price: the calls of one connection share one thread, so a handler
//! that computes for a long time holds up the other calls on its connection
//! (never other connections). Handlers are async; long computations belong on
//! `spawn_blocking`.
//!
//! Each connection has the limits tonic's server has, from [`Limits`]: a cap
//! on concurrent streams, hyper's reset-flood protection, keep-alive (TCP's,
//! set on every accepted socket: see [`accept_until_stopped`]), and on top
//! an idle timer: a connection that has had no stream open, start or end
//! for `idle_timeout` (at most twice that: see [`IdleTimer`]), or opened
//! none within `header_timeout` of connecting, is sent GOAWAY.
//!
//! No HTTP/2 keep-alive pings: hyper's bookkeeping for them (a lock and a
//! clock read per frame and per poll of the connection) cost ~1.7 k
//! instructions a unary call, ~10 % of the server's CPU per call, for what
//! the kernel's keep-alive probes find for free: a peer that is gone.
//! Peers' pings are still answered.

use std::future::{Future, poll_fn};
use std::panic::AssertUnwindSafe;
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::{Context, Poll, Wake, Waker};

use aduib_core::Limits;
use axum::BoxError;
use axum::body::HttpBody;
use bytes::Bytes;
use futures::FutureExt;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::AtomicWaker;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::convert::Infallible;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::io::WriteDeadline;
use crate::server::{accept_until_stopped, stop_requested};

/// Streams a peer may reset before we have answered, at once (hyper's
/// defence against the "rapid reset" flood; its default, made explicit).
const MAX_PENDING_RESETS: usize = 20;
/// Streams our side may reset because of the peer's errors, per connection.
const MAX_ERROR_RESETS: usize = 1024;
/// How long a connection closed for idleness may take to say goodbye.
const GOAWAY_GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// Largest header list a request may carry.
const MAX_HEADER_LIST_BYTES: u32 = 64 * 1024;

type StreamFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The executor hyper hands each new stream to: a list the connection's own
/// task drains right after polling the connection (hyper only starts streams
/// from inside that poll), so starting a stream wakes nothing.
#[derive(Debug, Clone)]
struct StreamQueue(Weak<Mutex<Vec<StreamFuture>>>);

impl<F> hyper::rt::Executor<F> for StreamQueue
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, stream: F) {
        // A panic in one stream (tonic, a codec, a service) resets that
        // stream only, as it would in a task of its own; it must not unwind
        // through the connection's task and end every call on it.
        let stream = AssertUnwindSafe(stream).catch_unwind().map(|outcome| {
            if outcome.is_err() {
                tracing::error!("an HTTP/2 stream panicked; it was reset");
            }
        });
        match self.0.upgrade() {
            Some(queue) => lock(&queue).push(Box::pin(stream)),
            // The connection's task is gone; nothing would poll the stream
            // there, so it runs on its own (hyper's default behaviour).
            None => drop(tokio::spawn(stream)),
        }
    }
}

/// The queue's lock; a panic cannot poison it (pushes and drains only).
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The waker the connection, its streams and its timers are polled with.
///
/// A response produced while the connection's task polls its streams wakes
/// that task. tokio would run the task again later, as if it had yielded,
/// and wake an idle worker thread to steal it: a thread wake-up and a second
/// poll per call. Such wakes only ask the running poll to go round once
/// more; wakes from elsewhere (the socket, a timer, a handler on another
/// task) reach the task as usual.
#[derive(Debug, Default)]
struct ConnectionWaker {
    task: AtomicWaker,
    /// The connection's task is inside its poll.
    polling: AtomicBool,
    /// Woken since the current round of the poll began.
    woken: AtomicBool,
}

impl Wake for ConnectionWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        // SeqCst on both sides: either the poll sees `woken` after clearing
        // `polling`, or this sees `polling` cleared and wakes the task.
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst) {
            self.task.wake();
        }
    }
}

/// The waker of the connection's stop signal and idle timer: they are
/// polled only after they woke the task (they are armed once and fire
/// rarely, while the connection is polled once per call or more).
#[derive(Debug)]
struct ControlWaker {
    connection: Arc<ConnectionWaker>,
    /// Woken since the timers were last polled.
    fired: AtomicBool,
}

impl Wake for ControlWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.fired.store(true, Ordering::SeqCst);
        self.connection.wake_by_ref();
    }
}

/// Rounds one poll of a connection may go before it yields to other tasks.
const MAX_ROUNDS: usize = 8;

/// Accepts HTTP/2 (prior knowledge) connections until `stopped` turns true,
/// then lets every connection finish its in-flight calls.
pub(crate) async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    limits: Limits,
    stopped: watch::Receiver<bool>,
) where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    accept_until_stopped(listener, &limits, stopped, |tcp, _, stopped| {
        serve_connection(tcp, service.clone(), limits, stopped)
    })
    .await;
}

/// One connection: hyper's HTTP/2 state machine and the streams it starts,
/// polled together.
pub(crate) async fn serve_connection<S, B>(
    tcp: TcpStream,
    service: S,
    limits: Limits,
    mut stopped: watch::Receiver<bool>,
) where
    S: tower::Service<http::Request<Incoming>, Response = http::Response<B>, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: HttpBody<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let queue = Arc::new(Mutex::new(Vec::new()));
    let mut connection = pin!(
        hyper::server::conn::http2::Builder::new(StreamQueue(Arc::downgrade(&queue)))
            .timer(TokioTimer::new())
            .max_concurrent_streams(limits.max_concurrent_streams)
            .max_pending_accept_reset_streams(MAX_PENDING_RESETS)
            .max_local_error_reset_streams(MAX_ERROR_RESETS)
            .max_header_list_size(MAX_HEADER_LIST_BYTES)
            .serve_connection(
                TokioIo::new(WriteDeadline::new(tcp, limits.body_timeout)),
                TowerToHyperService::new(service)
            )
    );
    let mut streams = FuturesUnordered::new();
    let mut stop = pin!(stop_requested(&mut stopped));
    let mut stopping = false;
    let mut idle = IdleTimer::new(&limits);
    let wakes = Arc::new(ConnectionWaker::default());
    let waker = Waker::from(wakes.clone());
    let control = Arc::new(ControlWaker {
        connection: wakes.clone(),
        // Both are polled first thing, to arm them.
        fired: AtomicBool::new(true),
    });
    let control_waker = Waker::from(control.clone());
    let result = poll_fn(|cx| {
        wakes.task.register(cx.waker());
        let mut inner = Context::from_waker(&waker);
        for _ in 0..MAX_ROUNDS {
            wakes.polling.store(true, Ordering::SeqCst);
            wakes.woken.store(false, Ordering::SeqCst);
            if control.fired.swap(false, Ordering::SeqCst) {
                let mut control_cx = Context::from_waker(&control_waker);
                if !stopping && stop.as_mut().poll(&mut control_cx).is_ready() {
                    // GOAWAY: no new streams; the open ones finish.
                    connection.as_mut().graceful_shutdown();
                    stopping = true;
                }
                match idle.poll(&mut control_cx, streams.is_empty()) {
                    IdleEvent::None => {}
                    IdleEvent::Expired => {
                        tracing::debug!("closing an idle HTTP/2 connection");
                        connection.as_mut().graceful_shutdown();
                        stopping = true;
                    }
                    // A peer that never finished the handshake, or does not
                    // answer GOAWAY's ping, is not waited for.
                    IdleEvent::GoodbyeOverdue => return Poll::Ready(Ok(())),
                }
            }
            // Reads requests and writes whatever the streams have produced
            // since the last round, in as few writes as the buffers allow.
            let done = connection.as_mut().poll(&mut inner);
            for stream in lock(&queue).drain(..) {
                streams.push(stream);
                idle.note_activity();
            }
            // Runs the calls; a response wakes `inner`, and the next round's
            // poll of the connection sends it.
            while let Poll::Ready(Some(())) = streams.poll_next_unpin(&mut inner) {
                idle.note_activity();
            }
            // The connection ends only once its streams have; any stream
            // future left then answers a peer that is gone.
            if done.is_ready() {
                return done;
            }
            wakes.polling.store(false, Ordering::SeqCst);
            if !wakes.woken.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
        }
        // Still busy: let the worker's other tasks run first.
        cx.waker().wake_by_ref();
        Poll::Pending
    })
    .await;
    if let Err(error) = result {
        tracing::debug!(%error, "HTTP/2 connection ended with an error");
    }
}

/// The idle timer of one connection. It is lazy: a call only marks the
/// connection active (no clock read, no timer reset), and the mark is read
/// when the timer fires. A connection is closed once a whole period of the
/// timer saw no stream start or end and none open: between one and two idle
/// timeouts after its last stream ended. A connection that opens no stream
/// at all is closed when the first period (the header timeout, or the idle
/// timeout when shorter) ends.
struct IdleTimer {
    sleep: Pin<Box<tokio::time::Sleep>>,
    /// A stream started or ended since the timer was last armed.
    active: bool,
    timeout: std::time::Duration,
    /// GOAWAY sent for idleness.
    closing: bool,
}

enum IdleEvent {
    None,
    /// Idle for a whole period: say goodbye.
    Expired,
    /// Goodbye said, nothing open, and the grace is over.
    GoodbyeOverdue,
}

impl IdleTimer {
    fn new(limits: &Limits) -> Self {
        IdleTimer {
            sleep: Box::pin(tokio::time::sleep(
                limits.header_timeout.min(limits.idle_timeout),
            )),
            active: false,
            timeout: limits.idle_timeout,
            closing: false,
        }
    }

    /// A stream started or ended.
    fn note_activity(&mut self) {
        self.active = true;
    }

    fn poll(&mut self, cx: &mut std::task::Context<'_>, no_streams: bool) -> IdleEvent {
        loop {
            if self.sleep.as_mut().poll(cx).is_pending() {
                return IdleEvent::None;
            }
            let now = Instant::now();
            if self.closing {
                if no_streams {
                    return IdleEvent::GoodbyeOverdue;
                }
                // Streams that raced with GOAWAY finish; the stop's grace
                // bounds them.
                self.sleep.as_mut().reset(now + self.timeout);
                continue;
            }
            if self.active || !no_streams {
                self.active = false;
                self.sleep.as_mut().reset(now + self.timeout);
                continue;
            }
            self.closing = true;
            self.sleep.as_mut().reset(now + GOAWAY_GRACE);
            return IdleEvent::Expired;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;

    async fn panics() -> &'static str {
        panic!("in a service")
    }

    /// Self-wakes make the connection's poll go round again; a stream that
    /// wakes itself forever must still let the thread's other tasks run.
    #[test]
    fn a_stream_waking_itself_forever_does_not_starve_other_connections() {
        use std::sync::atomic::AtomicBool;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let (started, mut spinning_started) = tokio::sync::mpsc::unbounded_channel();
        let released = Arc::new(AtomicBool::new(false));
        // A handler that wakes itself on every poll until released, as a
        // busy computation written as a future would.
        let spin = {
            let released = released.clone();
            move || async move {
                let _ = started.send(());
                poll_fn(|cx| {
                    if released.load(Ordering::SeqCst) {
                        return Poll::Ready("released");
                    }
                    cx.waker().wake_by_ref();
                    Poll::Pending
                })
                .await
            }
        };
        let (stop, stopped) = watch::channel(false);
        // The server on a runtime of one thread: a poll that never returned
        // would hold it for good.
        let server = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                listener.set_nonblocking(true).unwrap();
                let listener = TcpListener::from_std(listener).unwrap();
                let router = Router::new()
                    .route("/ok", axum::routing::post(|| async { "ok" }))
                    .route("/spin", axum::routing::post(spin));
                serve(listener, router, Limits::default(), stopped).await;
            });
        });
        let client = tokio::runtime::Runtime::new().unwrap();
        client.block_on(async move {
            let connect = || {
                reqwest::Client::builder()
                    .http2_prior_knowledge()
                    .build()
                    .unwrap()
            };
            let (spinning, other) = (connect(), connect());
            let spin =
                tokio::spawn(
                    async move { spinning.post(format!("http://{addr}/spin")).send().await },
                );
            spinning_started.recv().await.unwrap();
            let ok = tokio::time::timeout(
                std::time::Duration::from_secs(5),
                other.post(format!("http://{addr}/ok")).send(),
            )
            .await
            .expect("another connection is answered while one stream spins")
            .unwrap();
            assert_eq!(ok.text().await.unwrap(), "ok");
            assert!(!spin.is_finished(), "the spinning call is still running");
            released.store(true, Ordering::SeqCst);
            let spun = spin.await.unwrap().unwrap();
            assert_eq!(spun.text().await.unwrap(), "released");
        });
        stop.send(true).unwrap();
        server.join().unwrap();
    }

    /// A connection making one short call after another is busy, however
    /// briefly each call keeps a stream open: neither the header timeout nor
    /// the idle timeout may close it. Once it goes quiet, the idle timeout
    /// does.
    #[tokio::test]
    async fn a_connection_making_call_after_call_is_not_closed_as_idle() {
        let timeout = std::time::Duration::from_millis(200);
        let limits = Limits {
            header_timeout: timeout,
            idle_timeout: timeout,
            ..Limits::default()
        };
        let router = Router::new().route("/ok", axum::routing::post(|| async { "ok" }));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (_stop, stopped) = watch::channel(false);
        // Serves exactly one connection, and says when it ended.
        let served = tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            serve_connection(tcp, router, limits, stopped).await;
            Instant::now()
        });
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let busy_until = Instant::now() + timeout * 6;
        let mut calls = 0;
        while Instant::now() < busy_until {
            let reply = client
                .post(format!("http://{addr}/ok"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("call {calls} on a busy connection: {e}"));
            assert_eq!(reply.text().await.unwrap(), "ok");
            calls += 1;
        }
        assert!(
            !served.is_finished(),
            "the connection was closed as idle after {calls} calls in {:?}",
            timeout * 6
        );
        let quiet_since = Instant::now();
        let ended = tokio::time::timeout(timeout * 4 + GOAWAY_GRACE, served)
            .await
            .expect("a quiet connection is closed by the idle timeout")
            .unwrap();
        assert!(
            ended - quiet_since >= timeout,
            "closed before the idle timeout"
        );
    }

    #[tokio::test]
    async fn a_panicking_stream_is_reset_alone_and_the_connection_serves_on() {
        let router = Router::new()
            .route("/ok", axum::routing::post(|| async { "ok" }))
            .route("/panic", axum::routing::post(panics));
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let server = tokio::spawn(serve(listener, router, Limits::default(), stopped));
        let client = reqwest::Client::builder()
            .http2_prior_knowledge()
            .build()
            .unwrap();
        let post = |path: &str| client.post(format!("http://{addr}{path}")).send();
        let (panicked, ok) = tokio::join!(post("/panic"), post("/ok"));
        assert!(panicked.is_err(), "the panicking stream is reset");
        assert_eq!(ok.unwrap().text().await.unwrap(), "ok");
        let again = post("/ok").await.unwrap();
        assert_eq!(again.version(), http::Version::HTTP_2);
        assert_eq!(again.text().await.unwrap(), "ok");
        stop.send(true).unwrap();
        server.await.unwrap();
    }
}
