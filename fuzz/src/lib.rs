//! Shared pieces of the fuzz targets: chunking driven by the input, a
//! chunked `AsyncRead`, and the Thrift functions every decoder is tried with.
//!
//! A panic anywhere in here on fuzz input is a bug in the code under test:
//! the `assert!`s below are the properties being fuzzed, not input checks.

use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};

use aduib_thrift::Schema;
use aduib_thrift::idl::Function;
use tokio::io::{AsyncRead, ReadBuf};

/// Chunk sizes from a seed: each chunk is 1..=`max` bytes.
#[derive(Debug, Clone)]
pub struct Chunker {
    state: u32,
    max: usize,
}

impl Chunker {
    /// `config` picks the largest chunk (1 byte up to 16 KiB), `seed` the
    /// sequence of sizes below it.
    pub fn new(config: u8, seed: u8) -> Self {
        const MAX: [usize; 8] = [1, 2, 3, 7, 16, 64, 512, 16 * 1024];
        Chunker {
            state: 0x9e37_79b9 ^ (u32::from(seed) << 8 | u32::from(config)),
            max: MAX[usize::from(config & 7)],
        }
    }

    pub fn next_size(&mut self) -> usize {
        // xorshift32: never zero from a non-zero state.
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.state = x;
        1 + (x as usize) % self.max
    }

    pub fn split<'a>(&mut self, mut data: &'a [u8]) -> Vec<&'a [u8]> {
        let mut chunks = Vec::new();
        while !data.is_empty() {
            let (chunk, rest) = data.split_at(self.next_size().min(data.len()));
            chunks.push(chunk);
            data = rest;
        }
        chunks
    }
}

/// An `AsyncRead` that hands out its chunks one read at a time, optionally
/// returning `Pending` (after waking itself) before every read, and
/// optionally failing with an I/O error instead of a clean end.
#[derive(Debug)]
pub struct ChunkedRead<'a> {
    chunks: Vec<&'a [u8]>,
    next: usize,
    offset: usize,
    pend: bool,
    pended: bool,
    fail_at_end: bool,
}

impl<'a> ChunkedRead<'a> {
    pub fn new(chunks: Vec<&'a [u8]>, pend: bool, fail_at_end: bool) -> Self {
        ChunkedRead {
            chunks,
            next: 0,
            offset: 0,
            pend,
            pended: false,
            fail_at_end,
        }
    }

    /// Bytes handed out so far.
    pub fn delivered(&self) -> usize {
        self.chunks[..self.next]
            .iter()
            .map(|c| c.len())
            .sum::<usize>()
            + self.offset
    }
}

impl AsyncRead for ChunkedRead<'_> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.pend && !this.pended {
            this.pended = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        this.pended = false;
        let Some(chunk) = this.chunks.get(this.next) else {
            return Poll::Ready(if this.fail_at_end {
                Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "fuzz: reset",
                ))
            } else {
                Ok(())
            });
        };
        let rest = &chunk[this.offset..];
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.offset += n;
        if this.offset == chunk.len() {
            this.next += 1;
            this.offset = 0;
        }
        Poll::Ready(Ok(()))
    }
}

/// One current-thread runtime for the whole fuzzing process.
pub fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        // Not input-dependent: a failure here is a broken environment.
        #[allow(clippy::expect_used)]
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("tokio runtime")
    })
}

/// Every function of the built-in Aduib IDL and of the demo IDL, with its
/// schema and its message name as the server resolves it.
pub fn thrift_functions() -> &'static [(&'static Schema, &'static Function)] {
    static FUNCTIONS: OnceLock<Vec<(&'static Schema, &'static Function)>> = OnceLock::new();
    FUNCTIONS.get_or_init(|| {
        // The built-in IDLs are not fuzz input: they must parse.
        #[allow(clippy::expect_used)]
        let schemas = [
            aduib_thrift::aduib::schema().expect("built-in Aduib IDL"),
            aduib_thrift::idl::demo_schema().expect("built-in demo IDL"),
        ];
        let mut functions = Vec::new();
        for schema in schemas {
            let mut services: Vec<_> = schema.services.iter().collect();
            services.sort_by(|a, b| a.0.cmp(b.0));
            for (_, service) in services {
                for function in &service.functions {
                    functions.push((schema, function));
                }
            }
        }
        functions
    })
}

/// Largest string, binary or collection the Thrift targets accept (the
/// server's limit is 64 MiB; inputs are far smaller, so this only matters
/// for declared lengths).
pub const THRIFT_MAX_BYTES: usize = 1 << 20;

/// The limits of the Thrift targets: the defaults (depth 64, a million
/// elements) with [`THRIFT_MAX_BYTES`].
pub fn thrift_limits() -> aduib_thrift::ReadLimits {
    aduib_thrift::ReadLimits::default().with_max_bytes(THRIFT_MAX_BYTES)
}

/// `data` as one Thrift message in `protocol`: walked without a schema (as
/// the buffered framing does), then decoded as the arguments and as the reply
/// of every function of the built-in IDLs, with the envelope conversions on
/// whatever decodes.
pub fn thrift_message(protocol: aduib_thrift::Protocol, data: &[u8]) {
    use aduib_thrift::message::{decode_args, decode_reply, encode_call, encode_reply};
    use aduib_thrift::protocol::{Reader, Wire};
    use aduib_thrift::{ReadError, aduib};

    let mut walker = Reader::new(protocol, data, thrift_limits());
    let walked = walker
        .message_begin()
        .and_then(|_| walker.skip(Wire::Struct));
    assert!(walker.position() <= data.len());
    if walked.is_ok() {
        // A whole message cut by one byte must read as "incomplete": the
        // buffered framing waits for more bytes on exactly that answer.
        let end = walker.position();
        let mut cut = Reader::new(protocol, &data[..end - 1], thrift_limits());
        let result = cut.message_begin().and_then(|_| cut.skip(Wire::Struct));
        assert_eq!(
            result,
            Err(ReadError::Incomplete),
            "message cut at {}",
            end - 1
        );
    }

    let Ok(header) = Reader::new(protocol, data, thrift_limits()).message_begin() else {
        return;
    };
    let aduib_schema = aduib::schema().ok();
    for &(schema, function) in thrift_functions() {
        let is_aduib = aduib_schema.is_some_and(|s| std::ptr::eq(s, schema));
        let name = header.name.as_str();
        let seq = header.seq;

        let mut reader = Reader::new(protocol, data, thrift_limits());
        let args = reader
            .message_begin()
            .ok()
            .and_then(|_| decode_args(schema, &mut reader, function).ok());
        if let Some(args) = args {
            // decode ∘ encode is the identity on what decode produced (after
            // one pass, which drops nulls that stand for NaN doubles).
            let decode = |bytes: &[u8]| {
                let mut r = Reader::new(protocol, bytes, thrift_limits());
                let header = r.message_begin();
                assert!(header.is_ok(), "re-encoded call header: {header:?}");
                decode_args(schema, &mut r, function)
            };
            if let Ok(bytes) = encode_call(schema, protocol, name, function, &args, seq) {
                let once = decode(&bytes);
                assert!(once.is_ok(), "re-encoded args do not decode: {once:?}");
                if let Ok(once) = once {
                    let twice = encode_call(schema, protocol, name, function, &once, seq);
                    assert!(twice.is_ok(), "decoded args do not encode: {twice:?}");
                    if let Ok(twice) = twice {
                        assert_eq!(decode(&twice).ok(), Some(once), "args round trip");
                    }
                }
            }
            if is_aduib {
                envelope_from_thrift_args(protocol, schema, function, &args);
            }
        }

        if let Ok((header, outcome)) =
            decode_reply(schema, protocol, data, function, thrift_limits())
        {
            let name = header.name.as_str();
            let decode = |bytes: &[u8]| {
                decode_reply(schema, protocol, bytes, function, thrift_limits()).map(|(_, o)| o)
            };
            if let Ok(bytes) = encode_reply(schema, protocol, name, function, &outcome, seq) {
                let once = decode(&bytes);
                assert!(once.is_ok(), "re-encoded reply does not decode: {once:?}");
                if let Ok(once) = once {
                    let twice = encode_reply(schema, protocol, name, function, &once, seq);
                    assert!(twice.is_ok(), "decoded reply does not encode: {twice:?}");
                    if let Ok(twice) = twice {
                        assert_eq!(decode(&twice).ok(), Some(once), "reply round trip");
                    }
                }
            }
            if is_aduib {
                envelope_from_thrift_reply(protocol, schema, function, &outcome);
            }
        }
    }
}

/// The Aduib envelope read from decoded Thrift arguments, and written back:
/// what `request_to_thrift` writes must always fit the IDL.
fn envelope_from_thrift_args(
    protocol: aduib_thrift::Protocol,
    schema: &Schema,
    function: &Function,
    args: &serde_json::Value,
) {
    use aduib_thrift::aduib;
    use aduib_thrift::message::encode_call;

    // The `AduibRpcService` calls; the other services' requests are not
    // envelopes.
    if !matches!(
        function.name.as_str(),
        "Call" | "CallServerStream" | "CallClientStream" | "CallBidirectional"
    ) {
        return;
    }
    let requests: Vec<&serde_json::Value> = match (args.get("request"), args.get("requests")) {
        (Some(request), _) => vec![request],
        (None, Some(serde_json::Value::Array(items))) => items.iter().collect(),
        _ => return,
    };
    let mut envelopes = Vec::new();
    for request in requests {
        if let Ok(envelope) = aduib::request_from_thrift(request) {
            let _ = serde_json::to_string(&envelope);
            envelopes.push(aduib::request_to_thrift(&envelope));
        }
    }
    if envelopes.is_empty() {
        return;
    }
    let args = if function.name.starts_with("CallClient") || function.name.starts_with("CallBi") {
        serde_json::json!({ "requests": envelopes })
    } else {
        serde_json::json!({ "request": envelopes[0] })
    };
    let encoded = encode_call(schema, protocol, &function.name, function, &args, 1);
    assert!(
        encoded.is_ok(),
        "request_to_thrift does not fit the IDL: {encoded:?}"
    );
}

/// The Aduib response (or health answer) read from a decoded Thrift reply,
/// and written back.
fn envelope_from_thrift_reply(
    protocol: aduib_thrift::Protocol,
    schema: &Schema,
    function: &Function,
    outcome: &aduib_thrift::Outcome,
) {
    use aduib_thrift::Outcome;
    use aduib_thrift::aduib;
    use aduib_thrift::message::encode_reply;
    use serde_json::Value;

    let Outcome::Success(value) = outcome else {
        return;
    };
    let back = match function.name.as_str() {
        "Call" | "CallClientStream" => {
            let response = aduib::response_from_thrift(value);
            let _ = serde_json::to_string(&response);
            aduib::response_to_thrift(&response)
        }
        "CallServerStream" | "CallBidirectional" => {
            let Value::Array(items) = value else { return };
            Value::Array(
                items
                    .iter()
                    .map(|item| aduib::response_to_thrift(&aduib::response_from_thrift(item)))
                    .collect(),
            )
        }
        "Check" => aduib::health_to_thrift(&aduib::health_from_thrift(value)),
        "Watch" => {
            let Value::Array(items) = value else { return };
            Value::Array(
                items
                    .iter()
                    .map(|item| aduib::health_to_thrift(&aduib::health_from_thrift(item)))
                    .collect(),
            )
        }
        _ => return,
    };
    let encoded = encode_reply(
        schema,
        protocol,
        &function.name,
        function,
        &Outcome::Success(back),
        1,
    );
    assert!(
        encoded.is_ok(),
        "the Thrift form written back does not fit the IDL: {encoded:?}"
    );
}
