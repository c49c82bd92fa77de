//! Request bodies: capped at the configured size everywhere except the composer's upload,
//! which streams videos of up to 4 GB and is paced so that memory stays flat.
//!
//! Pacing matters because the multipart parser behind server functions (multer) pulls every
//! piece the body has ready into its own buffer before handing any on. When the browser sends
//! faster than TikTok takes (or a test feeds from memory), that buffer would grow to the whole
//! video. [`Paced`] hands the parser one piece per poll, so it buffers at most a piece or two
//! and the socket's own flow control holds the rest back.

use axum::{
    body::Body,
    extract::{Request, State},
    http::StatusCode,
    middleware::Next,
    response::{IntoResponse as _, Response},
};
use bytes::Bytes;
use futures_util::Stream;
use leptos::server_fn::ServerFn as _;
use std::{
    pin::Pin,
    task::{Context, Poll},
};

/// The middleware: the upload is paced, everything else limited to `limit` bytes.
pub async fn limit_request_bodies(State(limit): State<usize>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    if parts.uri.path() == app::posts::api::UploadPost::PATH {
        let paced = Body::from_stream(Paced::new(body.into_data_stream()));
        return next.run(Request::from_parts(parts, paced)).await;
    }
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The request is too large.").into_response();
    }
    let limited = Body::new(http_body_util::Limited::new(body, limit));
    next.run(Request::from_parts(parts, limited)).await
}

/// Yields one piece, then reports "not ready" once (waking itself at once), so a consumer that
/// reads everything that is ready reads one piece at a time.
pub struct Paced<S> {
    inner: S,
    just_yielded: bool,
}

impl<S> Paced<S> {
    pub fn new(inner: S) -> Self {
        Self { inner, just_yielded: false }
    }
}

impl<S, E> Stream for Paced<S>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    type Item = Result<Bytes, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.just_yielded {
            self.just_yielded = false;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if matches!(next, Poll::Ready(Some(_))) {
            self.just_yielded = true;
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::{StreamExt as _, task::noop_waker_ref};

    #[test]
    fn a_ready_stream_is_handed_on_one_piece_per_poll() {
        let pieces = futures_util::stream::iter((0..3).map(|i| Ok::<_, ()>(Bytes::from(vec![i; 4]))));
        let mut paced = Paced::new(pieces);
        let mut cx = Context::from_waker(noop_waker_ref());
        let mut polls = Vec::new();
        for _ in 0..7 {
            polls.push(match Pin::new(&mut paced).poll_next(&mut cx) {
                Poll::Ready(Some(Ok(piece))) => format!("piece {}", piece[0]),
                Poll::Ready(None) => "end".to_owned(),
                Poll::Pending => "wait".to_owned(),
                Poll::Ready(Some(Err(()))) => "error".to_owned(),
            });
        }
        assert_eq!(polls, ["piece 0", "wait", "piece 1", "wait", "piece 2", "wait", "end"]);
    }

    #[tokio::test]
    async fn every_byte_still_arrives() {
        let pieces = futures_util::stream::iter((0..100u8).map(|i| Ok::<_, ()>(Bytes::from(vec![i; 10]))));
        let collected: Vec<u8> = Paced::new(pieces).map(|p| p.unwrap().to_vec()).concat().await;
        assert_eq!(collected.len(), 1000);
        assert_eq!(collected[999], 99);
    }
}
