//! `GET /media/pull/{token}`: where TikTok downloads a scheduled post's stored video
//! (PULL_FROM_URL). Range requests, exact lengths and content types, no redirects ever, and a
//! log line for each pull; everything but a live URL's own file is a plain 404.

use crate::ranged;
use app::{
    media::public_url::{self, Lookup},
    state::AppState,
};
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
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
        return ranged::not_found();
    }
    let found = match wait_until_active(&state, &token).await {
        Ok(found) => found,
        Err(error) => {
            tracing::warn!(error = %error, "a media pull could not be looked up");
            return ranged::unavailable();
        }
    };
    let Lookup::Serve { pull_id, post_id, storage_key, byte_size, content_type } = found else {
        tracing::info!("a media pull was refused: unknown, expired or no longer needed");
        return ranged::not_found();
    };
    let part = match ranged::plan(&headers, byte_size) {
        Ok(part) => part,
        Err(refusal) => {
            tracing::info!(post = %post_id, pull = %pull_id, status = %refusal.status(), "a media pull asked for no bytes of the file");
            return refusal;
        }
    };
    let (first, last) = (part.first, part.last);
    tracing::info!(post = %post_id, pull = %pull_id, first, last, total = byte_size, "TikTok is pulling a stored video");
    if let Ok(mut conn) = state.pool.get().await
        && let Err(error) = public_url::record_pull(&mut conn, pull_id, part.length()).await
    {
        tracing::warn!(pull = %pull_id, error = %error, "a media pull could not be counted");
    }
    match ranged::respond(&state, &storage_key, &content_type, part).await {
        Ok(response) => response,
        Err(error) => {
            tracing::warn!(post = %post_id, pull = %pull_id, error = %error, "a pulled video could not be read from the store");
            ranged::unavailable()
        }
    }
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
