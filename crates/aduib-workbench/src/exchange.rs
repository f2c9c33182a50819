//! An exchange in flight: the events it reports and the handle that steers it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use futures::stream::{self, BoxStream, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::error::WorkbenchError;
use crate::event::{CallStatus, Event, EventBody, Outcome, Summary};

/// History keeps at most this many events of one exchange (the status, any
/// error and the end are always kept), so a long stream costs bounded space.
pub const RECORDED_EVENTS: usize = 2_000;
/// ... and at most this many bytes of their bodies.
pub const RECORDED_BYTES: usize = 4 * 1024 * 1024;

/// A call in flight: its id, its events as they happen (ending with
/// [`EventBody::End`]), and the handle that cancels it or feeds its stream.
#[derive(Debug)]
pub struct Exchange {
    pub id: String,
    pub events: mpsc::UnboundedReceiver<Event>,
    pub handle: ExchangeHandle,
}

/// Steers an exchange from anywhere; clone it freely.
#[derive(Debug, Clone)]
pub struct ExchangeHandle {
    pub(crate) cancel: CancellationToken,
    pub(crate) input: mpsc::UnboundedSender<Input>,
}

#[derive(Debug)]
pub(crate) enum Input {
    Message(Value),
    End,
}

impl ExchangeHandle {
    /// Stops the exchange at once: the connection or stream is dropped, so
    /// the server sees the call go away.
    pub fn cancel(&self) {
        self.cancel.cancel();
    }

    /// Sends one more message on an interactive client or bidi stream.
    pub fn send_message(&self, data: Value) -> Result<(), WorkbenchError> {
        if !data.is_object() {
            return Err(WorkbenchError::bad_input(format!(
                "a stream message must be a JSON object, got {}",
                aduib_core::envelope::json_kind(&data)
            )));
        }
        self.input
            .send(Input::Message(data))
            .map_err(|_| WorkbenchError::bad_input("the request stream is already closed"))
    }

    /// Half-closes an interactive stream: no more messages; replies go on.
    pub fn end_stream(&self) {
        let _ = self.input.send(Input::End);
    }
}

/// The messages of a request stream: `initial`, then, when `interactive`,
/// what arrives through the handle until it half-closes.
pub(crate) fn request_messages(
    initial: Vec<Value>,
    input: mpsc::UnboundedReceiver<Input>,
    interactive: bool,
) -> BoxStream<'static, Value> {
    let first = stream::iter(initial);
    if !interactive {
        return first.boxed();
    }
    let later = tokio_stream::wrappers::UnboundedReceiverStream::new(input)
        .take_while(|input| std::future::ready(matches!(input, Input::Message(_))))
        .filter_map(|input| async move {
            match input {
                Input::Message(value) => Some(value),
                Input::End => None,
            }
        });
    first.chain(later).boxed()
}

/// Stamps, counts, forwards and keeps the events of one exchange. Cheap to
/// clone: a request stream reports its sent messages through a clone.
#[derive(Debug, Clone)]
pub(crate) struct Emitter {
    state: Arc<Mutex<Recording>>,
    events: mpsc::UnboundedSender<Event>,
    start: Instant,
}

#[derive(Debug, Default)]
struct Recording {
    seq: u32,
    kept: Vec<Event>,
    kept_bytes: usize,
    dropped: u32,
    first_byte_ms: Option<f64>,
    status: Option<CallStatus>,
    failed: bool,
    messages_sent: u32,
    messages_received: u32,
    bytes_sent: u64,
    bytes_received: u64,
}

/// What history stores of a finished exchange.
#[derive(Debug, Clone)]
pub(crate) struct Finished {
    pub end: Event,
    pub events: Vec<Event>,
    pub dropped: u32,
    pub summary: Summary,
    pub status: Option<CallStatus>,
}

impl Emitter {
    pub(crate) fn new(events: mpsc::UnboundedSender<Event>) -> Self {
        Emitter {
            state: Arc::default(),
            events,
            start: Instant::now(),
        }
    }

    fn elapsed_ms(&self) -> f64 {
        self.start.elapsed().as_secs_f64() * 1000.0
    }

    pub(crate) fn emit(&self, body: EventBody) {
        let event = self.keep(body);
        // A caller that stopped listening still gets its exchange recorded.
        let _ = self.events.send(event);
    }

    /// Stamps, counts and keeps an event, and returns it.
    fn keep(&self, body: EventBody) -> Event {
        let at_ms = self.elapsed_ms();
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let mut size = 0;
        match &body {
            EventBody::Sent { size: s, .. } => {
                state.messages_sent += 1;
                state.bytes_sent += s;
                size = *s as usize;
            }
            EventBody::Message { size: s, .. } => {
                state.messages_received += 1;
                state.bytes_received += s;
                state.first_byte_ms.get_or_insert(at_ms);
                size = *s as usize;
            }
            EventBody::Headers { .. } => {
                state.first_byte_ms.get_or_insert(at_ms);
            }
            EventBody::Status { status } => state.status = Some(status.clone()),
            EventBody::Error { .. } => state.failed = true,
            EventBody::Trailers { .. } | EventBody::End { .. } | EventBody::Routed { .. } => {}
        }
        let event = Event {
            seq: state.seq,
            at_ms,
            body,
        };
        state.seq += 1;
        let always = matches!(
            event.body,
            EventBody::Status { .. } | EventBody::Error { .. } | EventBody::End { .. }
        );
        if always
            || (state.kept.len() < RECORDED_EVENTS && state.kept_bytes + size <= RECORDED_BYTES)
        {
            state.kept_bytes += size;
            state.kept.push(event.clone());
        } else {
            state.dropped += 1;
        }
        event
    }

    pub(crate) fn sent(&self, body: Value) {
        let size = json_size(&body);
        self.emit(EventBody::Sent { body, size });
    }

    pub(crate) fn received(&self, body: Value, size: Option<u64>) {
        let size = size.unwrap_or_else(|| json_size(&body));
        self.emit(EventBody::Message {
            body,
            size,
            preview: false,
        });
    }

    pub(crate) fn status(&self, status: CallStatus) {
        self.emit(EventBody::Status { status });
    }

    /// Reports the last event. Sent after the exchange is queued for
    /// history, so whoever sees it may flush history and find it there.
    pub(crate) fn end(&self, end: Event) {
        let _ = self.events.send(end);
    }

    /// Keeps the end event and hands back what history keeps; the end is
    /// reported by [`Emitter::end`].
    pub(crate) fn finish(&self, cancelled: bool) -> Finished {
        let total_ms = self.elapsed_ms();
        let summary = {
            let state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
            let outcome = if cancelled {
                Outcome::Cancelled
            } else if state.failed {
                Outcome::Failed
            } else if state.status.as_ref().is_some_and(|s| !s.ok) {
                Outcome::ServerError
            } else {
                Outcome::Ok
            };
            Summary {
                outcome,
                total_ms,
                first_byte_ms: state.first_byte_ms,
                messages_sent: state.messages_sent,
                messages_received: state.messages_received,
                bytes_sent: state.bytes_sent,
                bytes_received: state.bytes_received,
            }
        };
        let end = self.keep(EventBody::End {
            summary: summary.clone(),
        });
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        Finished {
            end,
            events: std::mem::take(&mut state.kept),
            dropped: state.dropped,
            summary,
            status: state.status.clone(),
        }
    }
}

/// The size of a value as compact JSON.
pub(crate) fn json_size(value: &Value) -> u64 {
    struct Count(u64);
    impl std::io::Write for Count {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0 += buf.len() as u64;
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut count = Count(0);
    let _ = serde_json::to_writer(&mut count, value);
    count.0
}
