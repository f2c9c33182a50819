//! Messages on a socket: buffered (a message ends where its bytes end) or
//! framed (a 4-byte big-endian length first).

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::protocol::{Protocol, ReadError, Reader, Wire};

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
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Reads messages from one connection, keeping bytes that arrive early.
#[derive(Debug)]
pub struct MessageReader<R> {
    io: R,
    buf: Vec<u8>,
    protocol: Protocol,
    framing: Framing,
    limit: usize,
}

impl<R: AsyncRead + Unpin> MessageReader<R> {
    pub fn new(io: R, protocol: Protocol, framing: Framing, limit: usize) -> Self {
        MessageReader {
            io,
            buf: Vec::with_capacity(4096),
            protocol,
            framing,
            limit,
        }
    }

    pub fn get_mut(&mut self) -> &mut R {
        &mut self.io
    }

    /// The next whole message; `Closed` at a clean end between messages.
    pub async fn next_message(&mut self) -> Result<Vec<u8>, FrameError> {
        loop {
            if let Some(length) = self.complete_length()? {
                let message: Vec<u8> = self.buf.drain(..length).collect();
                return Ok(match self.framing {
                    Framing::Framed => message[4..].to_vec(),
                    Framing::Buffered => message,
                });
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self.io.read(&mut chunk).await?;
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

    /// How many buffered bytes make up the first message, if all are here.
    fn complete_length(&self) -> Result<Option<usize>, FrameError> {
        match self.framing {
            Framing::Framed => {
                let Some(prefix) = self.buf.get(..4) else {
                    return Ok(None);
                };
                let declared =
                    u32::from_be_bytes([prefix[0], prefix[1], prefix[2], prefix[3]]) as usize;
                if declared > self.limit {
                    return Err(FrameError::Malformed(ReadError::TooLarge {
                        declared: declared as u64,
                        limit: self.limit,
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
                let mut reader = Reader::new(self.protocol, &self.buf, self.limit);
                let walked = reader
                    .message_begin()
                    .and_then(|_| reader.skip(Wire::Struct));
                match walked {
                    Ok(()) => Ok(Some(reader.position())),
                    Err(ReadError::Incomplete) if self.buf.len() <= self.limit => Ok(None),
                    Err(ReadError::Incomplete) => Err(FrameError::Malformed(ReadError::TooLarge {
                        declared: self.buf.len() as u64,
                        limit: self.limit,
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
