//! Bytes on a Thrift connection, read with `MessageReader` (buffered or
//! framed, binary or compact) in chunks whose sizes the input chooses, on a
//! current-thread tokio runtime. It must never panic, never loop, and hand
//! out exactly the messages a one-shot read of the whole stream finds: the
//! buffered walk resumes across chunks, and must agree with `Reader` walking
//! all the bytes at once.
//!
//! Input: byte 0 configures (bit 0 compact, bit 1 framed, bit 2 `Pending`
//! before every read, bit 3 an I/O error instead of a clean end, bits 4-6
//! the largest chunk, bit 7 a 256-byte message limit instead of 64 KiB),
//! byte 1 seeds the chunk sizes, the rest is the stream.
#![no_main]

use std::time::Duration;

use aduib_fuzz::{ChunkedRead, Chunker, runtime};
use aduib_thrift::protocol::{Reader, Wire};
use aduib_thrift::{
    FrameError, Framing, MessageReader, Protocol, ReadError, ReadLimits, ReadTimeouts,
};
use libfuzzer_sys::fuzz_target;

/// What the next message must be, from all the bytes not yet consumed.
#[derive(Debug)]
enum Expected {
    /// A message of this many bytes (the frame length included).
    Message(usize),
    /// The stream ends inside a message, or between messages if `rest` is
    /// empty.
    End,
    Malformed(ReadError),
}

fn expected(protocol: Protocol, framing: Framing, limits: ReadLimits, rest: &[u8]) -> Expected {
    match framing {
        Framing::Framed => {
            let Some(&[a, b, c, d]) = rest.get(..4) else {
                return Expected::End;
            };
            let declared = u32::from_be_bytes([a, b, c, d]) as usize;
            if declared > limits.max_bytes {
                return Expected::Malformed(ReadError::TooLarge {
                    declared: declared as u64,
                    limit: limits.max_bytes,
                });
            }
            if rest.len() < 4 + declared {
                return Expected::End;
            }
            Expected::Message(4 + declared)
        }
        Framing::Buffered => {
            if rest.is_empty() {
                return Expected::End;
            }
            let mut r = Reader::new(protocol, rest, limits);
            match r.message_begin().and_then(|_| r.skip(Wire::Struct)) {
                Ok(()) => Expected::Message(r.position()),
                Err(ReadError::Incomplete) => Expected::End,
                Err(error) => Expected::Malformed(error),
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let [config, seed, stream @ ..] = data else {
        return;
    };
    let protocol = if config & 1 == 0 {
        Protocol::Binary
    } else {
        Protocol::Compact
    };
    let framing = if config & 2 == 0 {
        Framing::Buffered
    } else {
        Framing::Framed
    };
    let pend = config & 4 != 0;
    let fail_at_end = config & 8 != 0;
    let max_bytes = if config & 0x80 == 0 { 64 * 1024 } else { 256 };
    let limits = ReadLimits::default().with_max_bytes(max_bytes);
    let chunks = Chunker::new(config >> 4, *seed).split(stream);
    let io = ChunkedRead::new(chunks, pend, fail_at_end);
    // As the server reads: with timeouts (never reached here, the reads are
    // immediate), which also exercises the timed read path.
    let mut reader =
        MessageReader::new(io, protocol, framing, limits).with_timeouts(ReadTimeouts {
            idle: Duration::from_secs(3600),
            head: Duration::from_secs(3600),
            message: Duration::from_secs(3600),
        });

    runtime().block_on(async {
        let mut consumed = 0usize;
        // Every message consumes at least one byte: more messages than bytes
        // means the reader made no progress.
        for _ in 0..=stream.len() {
            let rest = &stream[consumed..];
            let expected = expected(protocol, framing, limits, rest);
            let got = reader.next_message().await;
            // Beyond the byte limit the reader may give up early.
            let over = rest.len() > max_bytes;
            match (&expected, got) {
                (Expected::Message(length), Ok(message)) => {
                    let body = match framing {
                        Framing::Framed => &rest[4..*length],
                        Framing::Buffered => &rest[..*length],
                    };
                    assert_eq!(&message[..], body, "not the message the bytes hold");
                    consumed += length;
                }
                (
                    Expected::Message(length),
                    Err(FrameError::Malformed(ReadError::TooLarge { .. })),
                ) if *length > max_bytes || over => {
                    return;
                }
                (Expected::End, Err(FrameError::Closed)) if rest.is_empty() && !fail_at_end => {
                    return;
                }
                (Expected::End, Err(FrameError::Truncated(n))) if !fail_at_end => {
                    assert!(!rest.is_empty(), "truncated at a clean end");
                    assert_eq!(n, rest.len(), "truncated count");
                    return;
                }
                (Expected::End, Err(FrameError::Io(_))) if fail_at_end => return,
                (Expected::End, Err(FrameError::Malformed(ReadError::TooLarge { .. }))) if over => {
                    return;
                }
                (Expected::Malformed(error), Err(FrameError::Malformed(got))) => {
                    if !over {
                        assert_eq!(&got, error, "a different error than a one-shot read");
                    }
                    return;
                }
                (expected, got) => {
                    panic!(
                        "expected {expected:?}, got {got:?} ({} bytes left)",
                        rest.len()
                    )
                }
            }
        }
        panic!("more messages than bytes: the reader made no progress");
    });
});
