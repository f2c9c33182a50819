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
) -> BoxStream<'static, Result<SseEvent, ClientError>> {
    let url = response.url().to_string();
    let state = (response.bytes_stream().boxed(), Some(SseDecoder::new()));
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

/// Whether a reply is an event stream.
pub fn is_event_stream(response: &reqwest::Response) -> bool {
    response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/event-stream"))
}
