//! Server-sent-event responses with keep-alive comments on idle streams.

use std::convert::Infallible;
use std::time::Duration;

use aduib_core::now_ms;
use aduib_core::sse::{comment_frame, data_frame};
use axum::body::Body;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use http::header;

/// An SSE response whose frames are `data: <json>` lines, one per item of
/// `payloads`, with a `: ping` comment after every `keep_alive` of silence. The
/// stream ends (the response closes) when `payloads` ends.
pub fn sse_response(payloads: BoxStream<'static, String>, keep_alive: Duration) -> Response {
    let frames = stream::unfold(payloads, move |mut payloads| async move {
        let frame = tokio::select! {
            item = payloads.next() => data_frame(&item?),
            () = tokio::time::sleep(keep_alive) => comment_frame(&format!("ping - {}", now_ms())),
        };
        Some((Ok::<_, Infallible>(Bytes::from(frame)), payloads))
    });
    (
        [
            (header::CONTENT_TYPE, "text/event-stream; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::HeaderName::from_static("x-accel-buffering"), "no"),
        ],
        Body::from_stream(frames),
    )
        .into_response()
}

/// Whether the client asked for an event stream.
pub fn wants_event_stream(headers: &http::HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/event-stream"))
}
