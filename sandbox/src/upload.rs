//! The upload URL's PUT (§4.6): sequential chunks, streamed, counted and hashed, never held whole.

use std::time::Instant;

use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use sha2::{Digest as _, Sha256};

use crate::Sandbox;
use crate::chunks::parse_content_range;
use crate::publish;

const VIDEO_TYPES: [&str; 3] = ["video/mp4", "video/quicktime", "video/webm"];

/// `PUT /upload/video/?upload_id=…&upload_token=…`. No Authorization: the URL is the credential.
pub async fn put(
    State(sandbox): State<Sandbox>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let (upload_id, token) = credentials(query.as_deref());
    let accepted = match begin(&sandbox, &upload_id, &token, &headers, Instant::now()) {
        Ok(accepted) => accepted,
        Err(refusal) => {
            // Read (and drop) what the client is sending before answering, as an HTTP server
            // does: a reply while the client still writes reaches it as a broken connection.
            drain(body).await;
            return reply(refusal.status, refusal.progress, &refusal.message);
        }
    };
    let mut in_flight = InFlight { sandbox: &sandbox, upload_id: &upload_id, armed: true };
    match receive(body, accepted.length, accepted.hasher, accepted.head_room).await {
        // The task stays claimed until the bytes are counted, so no second PUT can pass the
        // range check in between; `commit` frees it under the same lock.
        Ok((hasher, head)) => {
            in_flight.disarm();
            commit(&sandbox, &upload_id, accepted.length, hasher, head)
        }
        Err(problem) => {
            in_flight.release();
            reply(StatusCode::BAD_REQUEST, current_progress(&sandbox, &upload_id), problem)
        }
    }
}

/// Reads a refused body to its end (at most a chunk's worth), keeping nothing.
async fn drain(body: Body) {
    let mut stream = body.into_data_stream();
    let mut read = 0usize;
    while let Some(Ok(piece)) = stream.next().await {
        read += piece.len();
        if read > 130_000_000 {
            break;
        }
    }
}

fn credentials(query: Option<&str>) -> (String, String) {
    let mut upload_id = String::new();
    let mut token = String::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "upload_id" if upload_id.is_empty() => upload_id = value.into_owned(),
            "upload_token" if token.is_empty() => token = value.into_owned(),
            _ => {}
        }
    }
    (upload_id, token)
}

/// What the streaming phase needs, taken from the task under the lock.
struct Accepted {
    length: u64,
    hasher: Sha256,
    head_room: usize,
}

/// A PUT turned away before any byte was read.
struct Refusal {
    status: StatusCode,
    progress: Option<String>,
    message: String,
}

impl Refusal {
    fn new(status: StatusCode, progress: Option<String>, message: impl Into<String>) -> Self {
        Self { status, progress, message: message.into() }
    }
}

/// Checks the headers against the task and claims it for this chunk.
fn begin(
    sandbox: &Sandbox,
    upload_id: &str,
    token: &str,
    headers: &HeaderMap,
    now: Instant,
) -> Result<Accepted, Refusal> {
    let mut state = sandbox.inner.lock();
    let Some(publish) =
        state.publish_by_upload_mut(upload_id).filter(|publish| !upload_id.is_empty() && publish.upload.token == token)
    else {
        return Err(Refusal::new(StatusCode::NOT_FOUND, None, "No upload task matches this URL."));
    };
    if publish.aborted.is_some() {
        return Err(Refusal::new(StatusCode::NOT_FOUND, None, "This upload task has ended."));
    }
    let upload = &mut publish.upload;
    let progress = Some(upload.progress());
    if now >= upload.expires_at {
        return Err(Refusal::new(StatusCode::FORBIDDEN, progress, "The upload URL has expired."));
    }
    let content_type = header_str(headers, header::CONTENT_TYPE).unwrap_or_default();
    let media_type = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !VIDEO_TYPES.contains(&media_type.as_str()) {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            progress,
            "Content-Type must be video/mp4, video/quicktime or video/webm.",
        ));
    }
    let Some(length) = header_str(headers, header::CONTENT_LENGTH).and_then(|value| value.trim().parse::<u64>().ok())
    else {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, progress, "Content-Length is missing or malformed."));
    };
    let Some((range, total)) = header_str(headers, header::CONTENT_RANGE).and_then(parse_content_range) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            progress,
            "Content-Range must read `bytes first-last/total`.",
        ));
    };
    if upload.in_flight {
        return Err(Refusal::new(
            StatusCode::RANGE_NOT_SATISFIABLE,
            progress,
            "Another chunk is still being received.",
        ));
    }
    let Some(expected) = upload.plan.next_range(upload.received) else {
        return Err(Refusal::new(StatusCode::RANGE_NOT_SATISFIABLE, progress, "Every byte has already been received."));
    };
    if range != expected || total != upload.plan.video_size {
        let message = format!(
            "Content-Range does not match the upload progress; the next chunk is bytes {}-{}/{}.",
            expected.first, expected.last, upload.plan.video_size
        );
        return Err(Refusal::new(StatusCode::RANGE_NOT_SATISFIABLE, progress, message));
    }
    if length != range.len() {
        return Err(Refusal::new(StatusCode::BAD_REQUEST, progress, "Content-Length does not match Content-Range."));
    }
    upload.in_flight = true;
    let head_room = upload.head_room();
    Ok(Accepted { length, hasher: upload.hasher.clone(), head_room })
}

/// Streams the chunk: counts it, hashes it, keeps at most `head_room` bytes of it.
async fn receive(
    body: Body,
    length: u64,
    mut hasher: Sha256,
    head_room: usize,
) -> Result<(Sha256, Vec<u8>), &'static str> {
    let mut stream = body.into_data_stream();
    let mut received = 0u64;
    let mut head = Vec::new();
    while let Some(frame) = stream.next().await {
        let bytes = frame.map_err(|_| "The request body was interrupted.")?;
        received += bytes.len() as u64;
        if received > length {
            return Err("The body is longer than Content-Length.");
        }
        hasher.update(&bytes);
        let keep = head_room.saturating_sub(head.len()).min(bytes.len());
        head.extend_from_slice(&bytes[..keep]);
    }
    if received != length {
        return Err("The body is shorter than Content-Length.");
    }
    Ok((hasher, head))
}

/// Adds a fully received chunk to the task; the last one completes the upload.
fn commit(sandbox: &Sandbox, upload_id: &str, length: u64, hasher: Sha256, head: Vec<u8>) -> Response {
    let now = Instant::now();
    let delay = sandbox.inner.config.processing_delay;
    let mut state = sandbox.inner.lock();
    let Some(owner) = state.publish_by_upload_mut(upload_id).map(|publish| publish.open_id.clone()) else {
        return reply(StatusCode::NOT_FOUND, None, "No upload task matches this URL.");
    };
    let latest_ms = state
        .publishes
        .iter()
        .filter(|publish| publish.open_id == owner)
        .filter_map(|publish| publish.published_ms)
        // Videos posted in the app share the creator's list and its millisecond cursor.
        .chain(state.app_videos.iter().filter(|video| video.open_id == owner).map(|video| video.published_ms))
        .max();
    let Some(publish) = state.publish_by_upload_mut(upload_id) else {
        return reply(StatusCode::NOT_FOUND, None, "No upload task matches this URL.");
    };
    publish.upload.in_flight = false;
    // Cancelled or de-authorized while this chunk streamed in: the bytes go nowhere.
    if publish.aborted.is_some() {
        return reply(StatusCode::NOT_FOUND, None, "This upload task has ended.");
    }
    let upload = &mut publish.upload;
    upload.acknowledge(length, now);
    upload.hasher = hasher;
    upload.head.extend_from_slice(&head);
    if !upload.is_complete() {
        return reply(StatusCode::PARTIAL_CONTENT, Some(upload.progress()), "");
    }
    let progress = upload.progress();
    match sandbox.inner.creator(&owner) {
        Some(creator) => publish.complete(creator, now, delay, latest_ms),
        // Fixtures never disappear; a missing one would be a sandbox bug, reported as TikTok would.
        None => {
            publish.completed_at = Some(now);
            publish.verdict = Some(Err("internal"));
        }
    }
    let publish_id = publish.id.clone();
    let moderated_at = publish.moderated_at(delay, sandbox.inner.config.moderation_delay);
    drop(state);
    publish::notify_when_final(sandbox, publish_id, now + delay, moderated_at);
    reply(StatusCode::CREATED, Some(progress), "")
}

fn current_progress(sandbox: &Sandbox, upload_id: &str) -> Option<String> {
    sandbox.inner.lock().publish_by_upload_mut(upload_id).map(|publish| publish.upload.progress())
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// Upload replies: TikTok documents no body, so errors carry only a line of text for people.
fn reply(status: StatusCode, progress: Option<String>, message: &str) -> Response {
    let mut response = (status, message.to_owned()).into_response();
    if let Some(value) = progress.and_then(|progress| HeaderValue::from_str(&progress).ok()) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

/// Frees the task for the next chunk if the request ends early (client gone, body error).
struct InFlight<'a> {
    sandbox: &'a Sandbox,
    upload_id: &'a str,
    armed: bool,
}

impl InFlight<'_> {
    /// Hands the claim over to `commit`.
    fn disarm(&mut self) {
        self.armed = false;
    }

    fn release(&mut self) {
        if std::mem::take(&mut self.armed)
            && let Some(publish) = self.sandbox.inner.lock().publish_by_upload_mut(self.upload_id)
        {
            publish.upload.in_flight = false;
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.release();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_credentials_come_from_the_query() {
        assert_eq!(credentials(Some("upload_id=123&upload_token=abc")), ("123".to_owned(), "abc".to_owned()));
        assert_eq!(credentials(Some("upload_token=a%2Bb&upload_id=1")), ("1".to_owned(), "a+b".to_owned()));
        assert_eq!(credentials(None), (String::new(), String::new()));
    }
}
