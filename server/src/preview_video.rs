//! `GET /preview/{token}/video/{post_id}`: the video of one post of a live client preview link, with range requests; anything else is a plain 404.

use crate::ranged;
use app::{error::AppError, state::AppState};
use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, header},
    response::Response,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn serve(State(state): State<AppState>, Path((token, post_id)): Path<(String, Uuid)>, headers: HeaderMap) -> Response {
    let found = match state.pool.get().await {
        Ok(mut conn) => app::previews::ssr::video_of(&mut conn, &token, post_id, OffsetDateTime::now_utc()).await,
        Err(_) => return ranged::unavailable(),
    };
    let (storage_key, byte_size, content_type) = match found {
        Ok(found) => found,
        // Unknown, revoked, expired, another post: the same answer, which tells nothing.
        Err(AppError::NotFound(_) | AppError::Forbidden(_)) => return ranged::not_found(),
        Err(error) => {
            tracing::warn!(error = %error, "a preview video could not be looked up");
            return ranged::unavailable();
        }
    };
    let part = match ranged::plan(&headers, byte_size) {
        Ok(part) => part,
        Err(refusal) => return refusal,
    };
    match ranged::respond(&state, &storage_key, &content_type, part).await {
        Ok(mut response) => {
            // Revoking must work at once: no cache keeps the video for the link.
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
            response
        }
        Err(error) => {
            tracing::warn!(post = %post_id, error = %error, "a preview video could not be read from the store");
            ranged::unavailable()
        }
    }
}
