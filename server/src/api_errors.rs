//! Gives server-function errors their proper HTTP status. server_fn answers every error with
//! 500; this maps `AppError` variants to 401/403/404/409/422/429/503 (with `Retry-After` for
//! rate limits), so logs, proxies and monitoring tell a refused log-in from a crash.

use app::error::AppError;
use axum::{
    body::{Body, to_bytes},
    extract::Request,
    http::{HeaderValue, StatusCode, header},
    middleware::Next,
    response::Response,
};

/// Error bodies are a few hundred bytes; anything larger is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub async fn error_statuses(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    if response.status() != StatusCode::INTERNAL_SERVER_ERROR
        || !response.headers().contains_key(leptos::server_fn::error::SERVER_FN_ERROR_HEADER)
    {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, MAX_ERROR_BODY).await else {
        return Response::from_parts(parts, Body::empty());
    };
    if let Ok(error) = serde_json::from_slice::<AppError>(&bytes) {
        parts.status = status_of(&error);
        if let AppError::RateLimited { retry_after_secs } = error
            && let Ok(value) = HeaderValue::from_str(&retry_after_secs.to_string())
        {
            parts.headers.insert(header::RETRY_AFTER, value);
        }
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The HTTP status that says the same as the error.
pub fn status_of(error: &AppError) -> StatusCode {
    match error {
        AppError::Unauthorized => StatusCode::UNAUTHORIZED,
        AppError::Forbidden(_) => StatusCode::FORBIDDEN,
        AppError::NotFound(_) => StatusCode::NOT_FOUND,
        AppError::Validation { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        AppError::Conflict(_) => StatusCode::CONFLICT,
        AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
        AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        AppError::Transport(_) => StatusCode::BAD_REQUEST,
        AppError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
