//! Messages on a socket: buffered (a message ends where its bytes end) or
//! framed (a 4-byte big-endian length first).

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

use crate::protocol::{Protocol, ReadError, ReadLimits, Walk};

/// How messages are delimited on the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    Buffered,
    Framed,
}

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("connection closed")]
    Closed,
    #[error("connection closed in the middle of a message ({0} bytes received)")]
    Truncated(usize),
    #[error("{0}")]
    Malformed(ReadError),
    #[error("no message started within {0:?}")]
    Idle(Duration),
    #[error("a message was not received within {0:?} of its first byte")]
    Stalled(Duration),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// How long a [`MessageReader`] waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadTimeouts {
    /// For the first byte of the next message.
    pub idle: Duration,
    /// For a message's head (its frame length, or its header), from its
    /// first byte.
    pub head: Duration,
    /// For a whole message, from its first byte.
    pub message: Duration,
}

/// Reads messages from one connection, keeping bytes that arrive early.
#[derive(Debug)]
pub struct MessageReader<R> {
    io: R,
    buf: Vec<u8>,
    framing: Framing,
    limits: ReadLimits,
    /// Buffered: how far the first message has been walked.
    walk: Walk,
    timeouts: Option<ReadTimeouts>,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    pub fn new(io: R, protocol: Protocol, framing: Framing, limits: ReadLimits) -> Self {
        MessageReader {
            io,
            buf: Vec::with_capacity(4096),
            framing,
            limits,
            walk: Walk::new(protocol, limits),
            timeouts: None,
        }
    }

    /// Waits at most this long for messages (a peer that stalls mid-message
    /// or never sends one must not hold the connection forever).
    pub fn with_timeouts(mut self, timeouts: ReadTimeouts) -> Self {
        self.timeouts = Some(timeouts);
        self
    }

    /// Bytes received that are not part of a returned message yet: a reader
    /// holding some is in the middle of a message.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.io
    }

    /// The next whole message; `Closed` at a clean end between messages.
    pub async fn next_message(&mut self) -> Result<Vec<u8>, FrameError> {
        // When the current message started (bytes of it may be buffered).
        let mut started = (!self.buf.is_empty()).then(Instant::now);
        loop {
            if let Some(length) = self.complete_length()? {
                // A frame's 4-byte length prefix is not part of the message.
                let skip = if self.framing == Framing::Framed {
                    4
                } else {
                    0
                };
                self.buf.drain(..skip);
                let message: Vec<u8> = self.buf.drain(..length - skip).collect();
                self.walk = Walk::new(self.walk.protocol(), self.limits);
                return Ok(message);
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = match self.timeouts {
                None => self.io.read(&mut chunk).await?,
                Some(timeouts) => {
                    let (deadline, error) = match started {
                        None => (
                            Instant::now() + timeouts.idle,
                            FrameError::Idle(timeouts.idle),
                        ),
                        Some(at) if !self.head_received() => {
                            (at + timeouts.head, FrameError::Stalled(timeouts.head))
                        }
                        Some(at) => (at + timeouts.message, FrameError::Stalled(timeouts.message)),
                    };
                    match tokio::time::timeout_at(deadline, self.io.read(&mut chunk)).await {
                        Ok(read) => read?,
                        Err(_) => return Err(error),
                    }
                }
            };
            started.get_or_insert_with(Instant::now);
            if n == 0 {
                return Err(if self.buf.is_empty() {
                    FrameError::Closed
                } else {
                    FrameError::Truncated(self.buf.len())
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Whether the head of the message being received is in.
    fn head_received(&self) -> bool {
        match self.framing {
            Framing::Framed => self.buf.len() >= 4,
            Framing::Buffered => self.walk.head_received(),
        }
    }

    /// How many buffered bytes make up the first message, if all are here.
    fn complete_length(&mut self) -> Result<Option<usize>, FrameError> {
        match self.framing {
            Framing::Framed => {
                let Some(prefix) = self.buf.get(..4) else {
                    return Ok(None);
                };
                let declared =
                    u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
                if declared > self.limits.max_bytes {
                    return Err(FrameError::Malformed(ReadError::TooLarge {
                        declared: declared as u64,
                        limit: self.limits.max_bytes,
                    }));
                }
                Ok((self.buf.len() >= 4 + declared).then_some(4 + declared))
            }
            Framing::Buffered => {
                if self.buf.is_empty() {
                    return Ok(None);
                }
                // Walk the message without building values: it ends after the
                // header and one struct.
                match self.walk.advance(&self.buf) {
                    Ok(Some(length)) => Ok(Some(length)),
                    Ok(None) if self.buf.len() <= self.limits.max_bytes => Ok(None),
                    Ok(None) => Err(FrameError::Malformed(ReadError::TooLarge {
                        declared: self.buf.len() as u64,
                        limit: self.limits.max_bytes,
                    })),
                    Err(other) => Err(FrameError::Malformed(other)),
                }
            }
        }
    }
}

/// Writes one message with the connection's framing.
pub async fn write_message<W: AsyncWrite + Unpin>(
    io: &mut W,
    framing: Framing,
    message: &[u8],
) -> std::io::Result<()> {
    if framing == Framing::Framed {
        let length = u32::try_from(message.len()).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::InvalidInput, "message over 4 GiB")
        })?;
        io.write_all(&length.to_be_bytes()).await?;
    }
    io.write_all(message).await?;
    io.flush().await
}
