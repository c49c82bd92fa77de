//! `GET /posts/{id}/video|thumbnail|photos/{n}` and `GET /drafts/{id}/video|thumbnail|photos/{n}`: a team's stored videos and frames for its signed-in members; anything else is a plain 404.

use crate::ranged;
use app::{
    error::{AppError, AppResult},
    media::members::{self, Owner},
    state::AppState,
    teams::ssr::{Caller, caller_of_session},
};
use axum::{
    extract::{Path, State},
    http::{HeaderMap, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use diesel_async::AsyncPgConnection;
use tower_sessions::Session;
use uuid::Uuid;

pub async fn post_video(state: State<AppState>, session: Session, Path(id): Path<Uuid>, headers: HeaderMap) -> Response {
    video(state, session, Owner::Post(id), headers).await
}

pub async fn draft_video(state: State<AppState>, session: Session, Path(id): Path<Uuid>, headers: HeaderMap) -> Response {
    video(state, session, Owner::Draft(id), headers).await
}

pub async fn post_thumbnail(state: State<AppState>, session: Session, Path(id): Path<Uuid>) -> Response {
    thumbnail(state, session, Owner::Post(id)).await
}

pub async fn draft_thumbnail(state: State<AppState>, session: Session, Path(id): Path<Uuid>) -> Response {
    thumbnail(state, session, Owner::Draft(id)).await
}

/// `GET /posts/{id}/photos/{n}`: one image of a photo post (0-based), for the post page.
pub async fn post_photo(state: State<AppState>, session: Session, Path((id, index)): Path<(Uuid, usize)>, headers: HeaderMap) -> Response {
    photo(state, session, Owner::Post(id), index, headers).await
}

/// `GET /drafts/{id}/photos/{n}`: one image of a photo draft, for the draft page.
pub async fn draft_photo(state: State<AppState>, session: Session, Path((id, index)): Path<(Uuid, usize)>, headers: HeaderMap) -> Response {
    photo(state, session, Owner::Draft(id), index, headers).await
}

async fn photo(State(state): State<AppState>, session: Session, owner: Owner, index: usize, headers: HeaderMap) -> Response {
    match members_only(&state, &session, async |conn, caller| members::photo_of(conn, caller, owner, index).await).await {
        // Served like a video: in ranges, never cached, with its own content type.
        Ok(photo) => ranged::page_video(&state, &headers, &photo).await,
        Err(refusal) => refusal,
    }
}

async fn video(State(state): State<AppState>, session: Session, owner: Owner, headers: HeaderMap) -> Response {
    match members_only(&state, &session, async |conn, caller| members::video_of(conn, caller, owner).await).await {
        Ok(video) => ranged::page_video(&state, &headers, &video).await,
        Err(refusal) => refusal,
    }
}

async fn thumbnail(State(state): State<AppState>, session: Session, owner: Owner) -> Response {
    match members_only(&state, &session, async |conn, caller| members::thumbnail_of(conn, caller, owner).await).await {
        Ok(jpeg) => {
            let mut response = jpeg.into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
            // The address carries the post's version (`media::thumbnail::address`), so a
            // browser may keep it; only for this member (`private`).
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("private, max-age=86400"));
            response
        }
        Err(refusal) => refusal,
    }
}

/// What `find` finds for the signed-in member, or the answer for anyone else. The database
/// connection is given back before the caller streams anything.
async fn members_only<T>(
    state: &AppState,
    session: &Session,
    find: impl AsyncFnOnce(&mut AsyncPgConnection, Caller) -> AppResult<T>,
) -> Result<T, Response> {
    let Ok(mut conn) = state.pool.get().await else {
        return Err(ranged::unavailable());
    };
    let caller = caller(&mut conn, session).await?;
    find(&mut conn, caller).await.map_err(refusal)
}

/// The signed-in member, or the answer for a visitor who is not one.
async fn caller(conn: &mut AsyncPgConnection, session: &Session) -> Result<Caller, Response> {
    match caller_of_session(conn, session).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err((StatusCode::UNAUTHORIZED, "Sign in to see this.").into_response()),
        Err(error) => Err(refusal(error)),
    }
}

/// Another team's post, one without a stored video, and an unknown id all look the same.
fn refusal(error: AppError) -> Response {
    match error {
        AppError::NotFound(_) | AppError::Forbidden(_) => ranged::not_found(),
        error => {
            tracing::warn!(error = %error, "a member's media could not be looked up");
            ranged::unavailable()
        }
    }
}
