//! What one peer may make us spend: sizes, counts, depths and times.
//!
//! One [`Limits`] value is shared by the four server frontends and by the
//! client, so that "how big may a message be" has one answer everywhere.
//! Every decoder of network bytes checks these before it allocates or
//! recurses; every connection phase has a timer. The defaults suit a local
//! workbench facing buggy or hostile peers; `aduib serve` takes a flag for
//! each.

use std::time::Duration;

/// Resource limits for one server or client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest HTTP body or Thrift message, in either direction (16 MiB).
    pub max_body_bytes: usize,
    /// Largest gRPC message, in either direction (64 MiB, as the peer).
    pub max_grpc_message_bytes: usize,
    /// Deepest nesting of JSON arrays and objects, and of Thrift structs and
    /// containers (64).
    pub max_depth: usize,
    /// Most values in one JSON document, or container elements in one Thrift
    /// message (1,000,000): counted before parsing, since each costs far more
    /// memory decoded than on the wire.
    pub max_elements: usize,
    /// Longest JSON-RPC batch (1,000).
    pub max_batch: usize,
    /// Calls of one JSON-RPC batch run at once (16).
    pub batch_concurrency: usize,
    /// Most messages of one client stream or bidi call held at once, and
    /// most items of a stream a transport must buffer whole (10,000).
    pub max_stream_items: usize,
    /// Open connections per listener; `None` derives it from the process's
    /// file-descriptor limit.
    pub max_connections: Option<usize>,
    /// Time to receive a whole request head (HTTP/1.1), connection preface
    /// and first request (HTTP/2), a Thrift message's head once it has
    /// started, or a new Thrift connection's first byte (10 s).
    pub header_timeout: Duration,
    /// Time to receive a whole request body or Thrift message once its head
    /// is in (30 s).
    pub body_timeout: Duration,
    /// A connection with no call in flight and nothing received for this
    /// long is closed (60 s).
    pub idle_timeout: Duration,
    /// TCP keep-alive on every connection of every listener: the kernel
    /// probes a peer after this long without traffic (30 s).
    pub keepalive_interval: Duration,
    /// A peer that answers no probe for this long, or leaves data we sent
    /// unacknowledged for `keepalive_interval` plus this, is dropped (20 s).
    pub keepalive_timeout: Duration,
    /// HTTP/2 streams open at once per connection (256).
    pub max_concurrent_streams: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 16 * 1024 * 1024,
            max_grpc_message_bytes: 64 * 1024 * 1024,
            max_depth: 64,
            max_elements: 1_000_000,
            max_batch: 1_000,
            batch_concurrency: 16,
            max_stream_items: 10_000,
            max_connections: None,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
            max_concurrent_streams: 256,
        }
    }
}

/// Why a JSON document was refused before parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JsonShapeError {
    #[error("JSON nested deeper than {limit}")]
    TooDeep { limit: usize },
    #[error("more than {limit} JSON values in one document")]
    TooManyValues { limit: usize },
}

impl Limits {
    /// Checks a JSON document's nesting and value count in one pass over its
    /// bytes, before it is parsed into values (a 2 MB body of `[0,0,...]`
    /// would otherwise cost a million allocations). Malformed JSON passes:
    /// the parser reports it better.
    pub fn check_json(&self, bytes: &[u8]) -> Result<(), JsonShapeError> {
        let mut depth = 0usize;
        // Values = opening brackets + separators + 1 per non-empty container,
        // overestimated by counting every `,` and `[`/`{` once.
        let mut values = 1usize;
        let mut in_string = false;
        let mut escaped = false;
        for &byte in bytes {
            if in_string {
                if escaped {
                    escaped = false;
                } else if byte == b'\\' {
                    escaped = true;
                } else if byte == b'"' {
                    in_string = false;
                }
                continue;
            }
            match byte {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    depth += 1;
                    if depth > self.max_depth {
                        return Err(JsonShapeError::TooDeep {
                            limit: self.max_depth,
                        });
                    }
                    values += 1;
                }
                b']' | b'}' => depth = depth.saturating_sub(1),
                b',' => values += 1,
                _ => continue,
            }
            if values > self.max_elements {
                return Err(JsonShapeError::TooManyValues {
                    limit: self.max_elements,
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max_depth: usize, max_elements: usize) -> Limits {
        Limits {
            max_depth,
            max_elements,
            ..Limits::default()
        }
    }

    #[test]
    fn json_depth_is_counted_outside_strings_only() {
        let l = limits(2, 100);
        assert_eq!(l.check_json(br#"{"a": [1, 2]}"#), Ok(()));
        assert_eq!(
            l.check_json(br#"{"a": [[1]]}"#),
            Err(JsonShapeError::TooDeep { limit: 2 })
        );
        assert_eq!(l.check_json(br#"{"a": "[[[[\"[[[["}"#), Ok(()));
        let deep = "[".repeat(100_000);
        assert_eq!(
            Limits::default().check_json(deep.as_bytes()),
            Err(JsonShapeError::TooDeep { limit: 64 })
        );
    }

    #[test]
    fn json_values_are_counted_before_parsing() {
        let l = limits(64, 5);
        assert_eq!(l.check_json(b"[1,2,3]"), Ok(()));
        assert_eq!(l.check_json(br#"{"a":1,"b":"x,y,z,w,v"}"#), Ok(()));
        assert_eq!(
            l.check_json(b"[1,2,3,4,5]"),
            Err(JsonShapeError::TooManyValues { limit: 5 })
        );
        let batch = format!("[{}1]", "1,".repeat(1_000_000));
        assert_eq!(
            Limits::default().check_json(batch.as_bytes()),
            Err(JsonShapeError::TooManyValues { limit: 1_000_000 })
        );
    }
}
