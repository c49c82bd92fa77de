//! Request bodies: capped at the configured size everywhere except the composer's upload,
//! which streams videos of up to 4 GB and is paced so that memory stays flat. Every body is cut
//! off once its client sends nothing for the idle timeout ([`IdleCutoff`]), so a client that
//! stops mid-upload does not hold a request, a spool or a half-written file for ever.
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
    time::Duration,
};

/// What [`limit_request_bodies`] enforces.
#[derive(Clone, Copy, Debug)]
pub struct BodyPolicy {
    /// Largest body of an ordinary (non-upload) request.
    pub limit: usize,
    /// The longest a body may send nothing before it is cut off.
    pub idle: Duration,
}

/// The middleware: the upload is paced, everything else limited to `limit` bytes; every body
/// is cut off after `idle` without a byte.
pub async fn limit_request_bodies(State(policy): State<BodyPolicy>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let body = IdleCutoff::new(body.into_data_stream(), policy.idle);
    if parts.uri.path() == app::posts::api::UploadPost::PATH {
        let paced = Body::from_stream(Paced::new(body));
        return next.run(Request::from_parts(parts, paced)).await;
    }
    let limit = policy.limit;
    let declared = parts
        .headers
        .get(http::header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > limit) {
        return (StatusCode::PAYLOAD_TOO_LARGE, "The request is too large.").into_response();
    }
    let limited = Body::new(http_body_util::Limited::new(Body::from_stream(body), limit));
    next.run(Request::from_parts(parts, limited)).await
}

/// Ends a body with an error once its client has sent nothing for `idle`. The clock runs only
/// while the reader waits for the client (not while the server is busy elsewhere, e.g. asking
/// TikTok something between the fields and the video): it starts at the first "nothing yet"
/// after a piece and stops with the next piece.
pub struct IdleCutoff<S> {
    inner: S,
    idle: Duration,
    deadline: Option<Pin<Box<tokio::time::Sleep>>>,
    cut: bool,
}

impl<S> IdleCutoff<S> {
    pub fn new(inner: S, idle: Duration) -> Self {
        Self { inner, idle, deadline: None, cut: false }
    }
}

/// The error a cut-off body ends with; handlers see an interrupted upload.
#[derive(Debug, thiserror::Error)]
#[error("the client sent nothing for {0:?}; the request body was cut off")]
pub struct BodyIdle(pub Duration);

impl<S> Stream for IdleCutoff<S>
where
    S: Stream<Item = Result<Bytes, axum::Error>> + Unpin,
{
    type Item = Result<Bytes, axum::Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.cut {
            return Poll::Ready(None);
        }
        match Pin::new(&mut self.inner).poll_next(cx) {
            Poll::Ready(item) => {
                self.deadline = None;
                Poll::Ready(item)
            }
            Poll::Pending => {
                let idle = self.idle;
                let deadline = self.deadline.get_or_insert_with(|| Box::pin(tokio::time::sleep(idle)));
                if deadline.as_mut().poll(cx).is_ready() {
                    self.cut = true;
                    tracing::info!(idle_secs = idle.as_secs(), "a request body stopped arriving; cut off");
                    return Poll::Ready(Some(Err(axum::Error::new(BodyIdle(idle)))));
                }
                Poll::Pending
            }
        }
    }
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

    /// A body fed through a channel: it waits (pending) whenever the sender has sent nothing.
    fn channel_body() -> (tokio::sync::mpsc::UnboundedSender<Bytes>, impl Stream<Item = Result<Bytes, axum::Error>> + Unpin) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let body = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|piece| (Ok(piece), rx)) });
        (tx, Box::pin(body))
    }

    #[tokio::test]
    async fn a_body_that_stops_sending_is_cut_off_after_the_idle_time() {
        let (tx, rx) = channel_body();
        tx.send(Bytes::from_static(b"first")).unwrap();
        let mut body = IdleCutoff::new(rx, Duration::from_millis(300));
        assert_eq!(&body.next().await.unwrap().unwrap()[..], b"first");
        let started = std::time::Instant::now();
        let error = tokio::time::timeout(Duration::from_secs(60), body.next()).await.expect("cut off").unwrap().unwrap_err();
        assert!(error.to_string().contains("sent nothing"), "{error}");
        assert!(started.elapsed() >= Duration::from_millis(300), "not before the idle time");
        assert!(body.next().await.is_none(), "nothing after the cut");
        drop(tx);
    }

    #[tokio::test]
    async fn a_steady_body_is_not_cut_off() {
        let (tx, rx) = channel_body();
        let sender = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(20)).await;
                tx.send(Bytes::from_static(b"piece")).unwrap();
            }
        });
        let pieces: Vec<_> = IdleCutoff::new(rx, Duration::from_secs(20)).collect().await;
        assert_eq!(pieces.len(), 5);
        assert!(pieces.iter().all(Result::is_ok));
        sender.await.unwrap();
    }

    #[tokio::test]
    async fn every_byte_still_arrives() {
        let pieces = futures_util::stream::iter((0..100u8).map(|i| Ok::<_, ()>(Bytes::from(vec![i; 10]))));
        let collected: Vec<u8> = Paced::new(pieces).map(|p| p.unwrap().to_vec()).concat().await;
        assert_eq!(collected.len(), 1000);
        assert_eq!(collected[999], 99);
    }
}
