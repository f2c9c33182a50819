//! The SSE decoder of aduib-core fed in chunks whose sizes the input chooses.
//! Any chunking must decode exactly as the whole stream in one piece.
//!
//! With an event-size limit, the same chunks decode the same until the limit
//! stops them.
//!
//! Input: byte 0 picks the largest chunk (bits 0-2) and the limit (bits 3-7,
//! times 8 bytes; 0 is none), byte 1 seeds the chunk sizes, the rest is the
//! event stream.
#![no_main]

use aduib_core::sse::{SseDecoder, SseError, SseEvent};
use aduib_fuzz::Chunker;
use libfuzzer_sys::fuzz_target;

/// Events, then the first error (from `feed` or `finish`), if any.
fn decode(mut decoder: SseDecoder, chunks: &[&[u8]]) -> (Vec<SseEvent>, Option<SseError>) {
    let mut events = Vec::new();
    for chunk in chunks {
        match decoder.feed(chunk) {
            Ok(more) => events.extend(more),
            Err(error) => return (events, Some(error)),
        }
    }
    (events, decoder.finish().err())
}

fuzz_target!(|data: &[u8]| {
    let [config, seed, stream @ ..] = data else {
        return;
    };
    let (whole_events, whole_error) = decode(SseDecoder::new(), &[stream]);
    let chunks = Chunker::new(*config, *seed).split(stream);
    let (events, error) = decode(SseDecoder::new(), &chunks);
    assert_eq!(error, whole_error, "the error depends on the chunking");
    match whole_error {
        // `feed` drops the events of the chunk it fails on; the one chunk of
        // the whole run had nothing before it.
        Some(SseError::InvalidUtf8 { .. }) => assert!(whole_events.is_empty()),
        Some(SseError::TooLarge { .. }) => panic!("a decoder without a limit said TooLarge"),
        None | Some(SseError::Truncated { .. }) => {
            assert_eq!(events, whole_events, "the events depend on the chunking")
        }
    }
    // With a limit (checked once per chunk), the same chunks decode the
    // same until the limit stops them: never other events, never another
    // error.
    let limit = usize::from(config >> 3) * 8;
    let (limited_events, limited_error) = decode(SseDecoder::with_limit(limit), &chunks);
    match limited_error {
        Some(SseError::TooLarge { limit: reported }) => {
            assert!(limit > 0, "TooLarge without a limit");
            assert_eq!(reported, limit);
            assert!(
                events.starts_with(&limited_events),
                "the limited decoder delivered other events"
            );
        }
        other => {
            assert_eq!(other, error, "the limit changed the error");
            assert_eq!(limited_events, events, "the limit changed the events");
        }
    }
    for event in &events {
        assert!(!event.id.as_deref().unwrap_or("").contains('\0'));
    }
});
