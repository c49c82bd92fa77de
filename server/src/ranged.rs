//! A stored video answered with HTTP range requests: exact lengths, `206` for a part, `416` outside the file; shared by TikTok's pulls, the preview pages and members' pages.

use app::{
    media::{
        catalog::StoredVideo,
        public_url::{self, RangeRequest},
    },
    state::AppState,
};
use axum::{
    body::Body,
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};

/// The part of a file of `byte_size` bytes a request asks for.
#[derive(Clone, Copy, Debug)]
pub struct Part {
    pub status: StatusCode,
    pub first: u64,
    pub last: u64,
    pub byte_size: u64,
}

impl Part {
    pub fn length(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// Which bytes `headers` ask for, or the answer when there are none to send.
pub fn plan(headers: &HeaderMap, byte_size: u64) -> Result<Part, Response> {
    let range = public_url::parse_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), byte_size);
    let (status, first, last) = match range {
        RangeRequest::Unsatisfiable => {
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            insert(&mut response, header::CONTENT_RANGE, &format!("bytes */{byte_size}"));
            return Err(response);
        }
        RangeRequest::Part { first, last } => (StatusCode::PARTIAL_CONTENT, first, last),
        RangeRequest::Whole if byte_size == 0 => return Err(not_found()),
        RangeRequest::Whole => (StatusCode::OK, 0, byte_size - 1),
    };
    Ok(Part { status, first, last, byte_size })
}

/// Streams `part` of the stored file `storage_key` from the media store.
pub async fn respond(state: &AppState, storage_key: &str, content_type: &str, part: Part) -> Result<Response, app::media::store::StoreError> {
    let stream = state.media.open_range(storage_key, part.first, part.last).await?;
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = part.status;
    insert(&mut response, header::CONTENT_TYPE, content_type);
    insert(&mut response, header::CONTENT_LENGTH, &part.length().to_string());
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    if part.status == StatusCode::PARTIAL_CONTENT {
        insert(&mut response, header::CONTENT_RANGE, &format!("bytes {}-{}/{}", part.first, part.last, part.byte_size));
    }
    Ok(response)
}

/// A stored video for a page of Cadence's own (a member's or a client's), in the ranges the
/// browser asks for, never cached: access can end at once (a revoked link, a removed member).
pub async fn page_video(state: &AppState, headers: &HeaderMap, video: &StoredVideo) -> Response {
    let part = match plan(headers, video.byte_size) {
        Ok(part) => part,
        Err(refusal) => return refusal,
    };
    match respond(state, &video.storage_key, &video.content_type, part).await {
        Ok(mut response) => {
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Err(error) => {
            tracing::warn!(error = %error, "a video could not be read from the store");
            unavailable()
        }
    }
}

pub fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

pub fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found.").into_response()
}

/// The store could not be read just now.
pub fn unavailable() -> Response {
    (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "Try again shortly.").into_response()
}
