//! `GET /media/pull/{token}`: where TikTok downloads a scheduled post's stored video
//! (PULL_FROM_URL). Range requests, exact lengths and content types, no redirects ever, and a
//! log line for each pull; everything but a live URL's own file is a plain 404.

use app::{
    media::public_url::{self, Lookup, RangeRequest},
    state::AppState,
};
use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use std::time::Duration;
use time::OffsetDateTime;

/// TikTok starts downloading as soon as it accepts the init, possibly before Cadence has
/// recorded the publish id it answered with; a request that early waits this long for it.
const ACTIVATION_WAIT: Duration = Duration::from_secs(20);
/// How often the wait looks again.
const ACTIVATION_POLL: Duration = Duration::from_millis(100);

pub async fn serve(State(state): State<AppState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    if state.config.media_public_url.is_none() {
        return not_found();
    }
    let found = match wait_until_active(&state, &token).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(error = %error, "a media pull could not be looked up");
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "Try again shortly.").into_response();
        }
    };
    let Lookup::Serve { pull_id, post_id, storage_key, byte_size, content_type } = found else {
        tracing::info!("a media pull was refused: unknown, expired or no longer needed");
        return not_found();
    };
    let range = public_url::parse_range(headers.get(header::RANGE).and_then(|v| v.to_str().ok()), byte_size);
    let (status, first, last) = match range {
        RangeRequest::Unsatisfiable => {
            tracing::info!(post = %post_id, pull = %pull_id, "a media pull asked for a range outside the file");
            let mut response = StatusCode::RANGE_NOT_SATISFIABLE.into_response();
            insert(&mut response, header::CONTENT_RANGE, &format!("bytes */{byte_size}"));
            return response;
        }
        RangeRequest::Part { first, last } => (StatusCode::PARTIAL_CONTENT, first, last),
        RangeRequest::Whole if byte_size == 0 => return not_found(),
        RangeRequest::Whole => (StatusCode::OK, 0, byte_size - 1),
    };
    let stream = match state.media.open_range(&storage_key, first, last).await {
        Ok(stream) => stream,
        Err(error) => {
            tracing::warn!(post = %post_id, pull = %pull_id, error = %error, "a pulled video could not be read from the store");
            return (StatusCode::SERVICE_UNAVAILABLE, [(header::RETRY_AFTER, "5")], "Try again shortly.").into_response();
        }
    };
    let length = last - first + 1;
    tracing::info!(post = %post_id, pull = %pull_id, first, last, total = byte_size, "TikTok is pulling a stored video");
    if let Ok(mut conn) = state.pool.get().await
        && let Err(error) = public_url::record_pull(&mut conn, pull_id, length).await
    {
        tracing::warn!(pull = %pull_id, error = %error, "a media pull could not be counted");
    }
    let mut response = Response::new(Body::from_stream(stream));
    *response.status_mut() = status;
    insert(&mut response, header::CONTENT_TYPE, &content_type);
    insert(&mut response, header::CONTENT_LENGTH, &length.to_string());
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    if status == StatusCode::PARTIAL_CONTENT {
        insert(&mut response, header::CONTENT_RANGE, &format!("bytes {first}-{last}/{byte_size}"));
    }
    response
}

/// Looks the token up, waiting (briefly) for a URL whose publish id is not recorded yet.
async fn wait_until_active(state: &AppState, token: &str) -> Result<Lookup, app::error::AppError> {
    let deadline = tokio::time::Instant::now() + ACTIVATION_WAIT;
    loop {
        let found = public_url::lookup(&mut *state.pool.get().await?, token, OffsetDateTime::now_utc()).await?;
        match found {
            Lookup::NotYetActive if tokio::time::Instant::now() < deadline => tokio::time::sleep(ACTIVATION_POLL).await,
            // Never activated in time: its init's answer was lost, and it must not be served.
            Lookup::NotYetActive => return Ok(Lookup::Gone),
            other => return Ok(other),
        }
    }
}

fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found.").into_response()
}
