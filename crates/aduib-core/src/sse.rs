//! Server-sent events: an incremental decoder and the frames our server writes.
//!
//! The decoder follows the WHATWG event-stream rules (lines end in CRLF, LF or
//! CR; `:` lines are comments; a blank line dispatches) and adds what a client
//! of a closing stream needs: [`SseDecoder::finish`] reports a stream that
//! stopped in the middle of an event as [`SseError::Truncated`] instead of
//! dropping the partial event silently.

use thiserror::Error;

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SseEvent {
    /// `event:` field; `None` means the default type, `message`.
    pub event: Option<String>,
    /// The `data:` lines joined with `\n`.
    pub data: String,
    /// `id:` field, if the event carried one.
    pub id: Option<String>,
    /// `retry:` field, if the event carried a valid one.
    pub retry_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SseError {
    #[error("event stream is not valid UTF-8 (line {line})")]
    InvalidUtf8 { line: usize },
    #[error("event stream ended in the middle of an event ({pending_bytes} bytes undelivered)")]
    Truncated { pending_bytes: usize },
    #[error("an event is larger than the limit of {limit} bytes")]
    TooLarge { limit: usize },
}

/// Turns bytes, in chunks of any size, into events.
#[derive(Debug, Default)]
pub struct SseDecoder {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF in the next one belongs to it.
    after_cr: bool,
    at_start: bool,
    lines_seen: usize,
    pending: SseEvent,
    has_data: bool,
    has_fields: bool,
    /// Largest event (its lines so far), in bytes; 0 is no limit.
    max_event_bytes: usize,
}

impl SseDecoder {
    pub fn new() -> Self {
        SseDecoder {
            at_start: true,
            ..SseDecoder::default()
        }
    }

    /// A decoder that refuses events larger than `max_event_bytes`, so a
    /// server sending a line that never ends cannot use up memory.
    pub fn with_limit(max_event_bytes: usize) -> Self {
        SseDecoder {
            max_event_bytes,
            ..SseDecoder::new()
        }
    }

    /// Feeds a chunk; returns the events it completed.
    pub fn feed(&mut self, chunk: &[u8]) -> Result<Vec<SseEvent>, SseError> {
        let mut events = Vec::new();
        for &byte in chunk {
            if self.after_cr {
                self.after_cr = false;
                if byte == b'\n' {
                    continue;
                }
            }
            match byte {
                b'\r' => {
                    self.after_cr = true;
                    self.end_line(&mut events)?;
                }
                b'\n' => self.end_line(&mut events)?,
                _ => self.line.push(byte),
            }
        }
        // Checked once per chunk: memory stays within the limit plus a chunk.
        if self.max_event_bytes > 0
            && self.line.len() + self.pending.data.len() > self.max_event_bytes
        {
            return Err(SseError::TooLarge {
                limit: self.max_event_bytes,
            });
        }
        Ok(events)
    }

    /// Call at end of input: errors when an event was started but not finished.
    pub fn finish(self) -> Result<(), SseError> {
        let pending_bytes = self.line.len() + self.pending.data.len();
        if pending_bytes > 0 || self.has_fields {
            return Err(SseError::Truncated { pending_bytes });
        }
        Ok(())
    }

    fn end_line(&mut self, events: &mut Vec<SseEvent>) -> Result<(), SseError> {
        self.lines_seen += 1;
        let raw = std::mem::take(&mut self.line);
        let mut line = std::str::from_utf8(&raw).map_err(|_| SseError::InvalidUtf8 {
            line: self.lines_seen,
        })?;
        if self.at_start {
            self.at_start = false;
            line = line.strip_prefix('\u{feff}').unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(events);
            return Ok(());
        }
        if line.starts_with(':') {
            return Ok(());
        }
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line, ""),
        };
        match field {
            "data" => {
                if self.has_data {
                    self.pending.data.push('\n');
                }
                self.pending.data.push_str(value);
                self.has_data = true;
            }
            "event" => self.pending.event = Some(value.to_owned()),
            "id" if !value.contains('\0') => self.pending.id = Some(value.to_owned()),
            "retry" => {
                if let Ok(ms) = value.parse() {
                    self.pending.retry_ms = Some(ms);
                }
            }
            _ => return Ok(()),
        }
        self.has_fields = true;
        Ok(())
    }

    fn dispatch(&mut self, events: &mut Vec<SseEvent>) {
        let event = std::mem::take(&mut self.pending);
        let had_data = std::mem::take(&mut self.has_data);
        self.has_fields = false;
        // Per the spec an event without data is not dispatched.
        if had_data {
            events.push(event);
        }
    }
}

/// One `data:` frame as the peer writes it (`data: <json>\r\n\r\n`). `json`
/// must be a single line, which serialized JSON always is.
pub fn data_frame(json: &str) -> String {
    format!("data: {json}\r\n\r\n")
}

/// A comment frame, used as a keep-alive.
pub fn comment_frame(text: &str) -> String {
    format!(": {text}\r\n\r\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(chunks: &[&[u8]]) -> Result<Vec<SseEvent>, SseError> {
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        for chunk in chunks {
            events.extend(decoder.feed(chunk)?);
        }
        decoder.finish()?;
        Ok(events)
    }

    fn data(events: &[SseEvent]) -> Vec<&str> {
        events.iter().map(|e| e.data.as_str()).collect()
    }

    #[test]
    fn crlf_lf_and_cr_framing_decode_the_same() {
        for input in [
            &b"data: a\r\n\r\ndata: b\r\n\r\n"[..],
            b"data: a\n\ndata: b\n\n",
            b"data: a\r\rdata: b\r\r",
        ] {
            assert_eq!(data(&decode_all(&[input]).unwrap()), ["a", "b"]);
        }
    }

    #[test]
    fn any_chunking_decodes_the_same() {
        let input = b": ping - 2026-01-01\r\n\r\ndata: {\"n\":2}\r\n\r\nevent: x\r\nid: 7\r\ndata: l1\r\ndata:l2\r\n\r\n";
        let whole = decode_all(&[input]).unwrap();
        for split in 0..input.len() {
            let (a, b) = input.split_at(split);
            assert_eq!(decode_all(&[a, b]).unwrap(), whole, "split at {split}");
        }
        assert_eq!(data(&whole), ["{\"n\":2}", "l1\nl2"]);
        assert_eq!(whole[1].event.as_deref(), Some("x"));
        assert_eq!(whole[1].id.as_deref(), Some("7"));
    }

    #[test]
    fn comments_and_unknown_fields_are_ignored() {
        let events = decode_all(&[b": ping\n\nfoo: bar\n\nretry: 10\ndata: x\n\n"]).unwrap();
        assert_eq!(data(&events), ["x"]);
        assert_eq!(events[0].retry_ms, Some(10));
    }

    #[test]
    fn a_stream_cut_mid_event_is_truncated() {
        assert_eq!(
            decode_all(&[b"data: {\"n\":1}\n\ndata: {\"n\""]),
            Err(SseError::Truncated { pending_bytes: 10 })
        );
        assert!(matches!(
            decode_all(&[b"data: a\n"]),
            Err(SseError::Truncated { .. })
        ));
        // Ending right after a complete event is a clean end.
        assert!(decode_all(&[b"data: a\n\n"]).is_ok());
    }

    #[test]
    fn invalid_utf8_is_an_error() {
        assert_eq!(
            decode_all(&[b"data: ok\n\ndata: \xff\n\n"]),
            Err(SseError::InvalidUtf8 { line: 3 })
        );
    }

    #[test]
    fn frames_round_trip() {
        let frame = data_frame(r#"{"n":1}"#) + &comment_frame("ping");
        assert_eq!(frame, "data: {\"n\":1}\r\n\r\n: ping\r\n\r\n");
        assert_eq!(
            data(&decode_all(&[frame.as_bytes()]).unwrap()),
            [r#"{"n":1}"#]
        );
    }

    #[test]
    fn an_event_over_the_limit_is_refused() {
        let mut decoder = SseDecoder::with_limit(64);
        assert_eq!(decoder.feed(b"data: small\n\n").unwrap().len(), 1);
        let endless = vec![b'x'; 40];
        assert!(decoder.feed(b"data: ").is_ok());
        assert!(decoder.feed(&endless).is_ok());
        assert_eq!(
            decoder.feed(&endless),
            Err(SseError::TooLarge { limit: 64 })
        );
        // Many data lines add up too.
        let mut decoder = SseDecoder::with_limit(64);
        let line = b"data: 0123456789\n".repeat(8);
        assert_eq!(decoder.feed(&line), Err(SseError::TooLarge { limit: 64 }));
    }
}
