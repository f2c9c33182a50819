//! Reading a `text/event-stream` reply as events.

use std::time::Duration;

use aduib_core::sse::{SseDecoder, SseEvent};
use futures::stream::{self, BoxStream, StreamExt};

use crate::error::ClientError;

/// The events of `response`, in order. The stream ends when the server closes
/// the response; a close in the middle of an event, a broken connection or
/// invalid UTF-8 is the stream's last item, as an error.
pub fn events(
    response: reqwest::Response,
    timeout: Option<Duration>,
    max_event_bytes: usize,
) -> BoxStream<'static, Result<SseEvent, ClientError>> {
    let url = response.url().to_string();
    let state = (
        response.bytes_stream().boxed(),
        Some(SseDecoder::with_limit(max_event_bytes)),
    );
    stream::unfold(state, move |(mut body, mut decoder)| {
        let url = url.clone();
        async move {
            let active = decoder.as_mut()?;
            let batch: Vec<Result<SseEvent, ClientError>> = match body.next().await {
                Some(Ok(chunk)) => match active.feed(&chunk) {
                    Ok(events) => events.into_iter().map(Ok).collect(),
                    Err(error) => {
                        decoder = None;
                        vec![Err(ClientError::Stream { url, error })]
                    }
                },
                Some(Err(e)) => {
                    decoder = None;
                    vec![Err(ClientError::from_reqwest(&url, timeout, e))]
                }
                None => {
                    let finished = decoder.take().map(SseDecoder::finish);
                    match finished {
                        Some(Err(error)) => vec![Err(ClientError::Stream { url, error })],
                        _ => Vec::new(),
                    }
                }
            };
            Some((stream::iter(batch), (body, decoder)))
        }
    })
    .flatten()
    .boxed()
}

/// A whole reply body, refused once it is over `limit` bytes (a declared
/// length over it is refused before reading).
pub async fn read_body(
    response: reqwest::Response,
    timeout: Option<Duration>,
    limit: usize,
) -> Result<bytes::Bytes, ClientError> {
    let url = response.url().to_string();
    let too_large = || ClientError::TooLarge {
        url: url.clone(),
        limit,
    };
    if response
        .content_length()
        .is_some_and(|len| len > limit as u64)
    {
        return Err(too_large());
    }
    let mut body = response.bytes_stream();
    let mut collected = bytes::BytesMut::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| ClientError::from_reqwest(&url, timeout, e))?;
        if collected.len() + chunk.len() > limit {
            return Err(too_large());
        }
        collected.extend_from_slice(&chunk);
    }
    Ok(collected.freeze())
}

/// Whether a reply is an event stream.
pub fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}
