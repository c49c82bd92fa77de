//! `GET /preview/{token}/video/{post_id}`: the video of one post of a live client preview link, with range requests; anything else is a plain 404.

use crate::ranged;
use app::{error::AppError, state::AppState};
use axum::{
    extract::{Path, State},
    http::HeaderMap,
    response::Response,
};
use time::OffsetDateTime;
use uuid::Uuid;

pub async fn serve(State(state): State<AppState>, Path((token, post_id)): Path<(String, Uuid)>, headers: HeaderMap) -> Response {
    let found = match state.pool.get().await {
        Ok(mut conn) => app::previews::ssr::video_of(&mut conn, &token, post_id, OffsetDateTime::now_utc()).await,
        Err(_) => return ranged::unavailable(),
    };
    match found {
        Ok(video) => ranged::page_video(&state, &headers, &video).await,
        // Unknown, revoked, expired, another post: the same answer, which tells nothing.
        Err(AppError::NotFound(_) | AppError::Forbidden(_)) => ranged::not_found(),
        Err(error) => {
            tracing::warn!(error = %error, "a preview video could not be looked up");
            ranged::unavailable()
        }
    }
}
