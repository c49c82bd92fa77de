//! TikTok's reply shapes: the `{data, error}` envelope of resource APIs and the flat OAuth bodies.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::ids;

/// Attached to every response the sandbox builds, so the request recorder can note which error
/// code was answered without parsing bodies.
#[derive(Clone, Debug)]
pub struct ReplyCode(pub String);

/// A resource-API failure: HTTP status, `error.code` and a message for people.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self { status, code, message: message.into() }
    }

    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_params", message)
    }

    pub fn access_token_invalid() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        )
    }

    pub fn scope_not_authorized(scope: &str) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "scope_not_authorized",
            format!("The user did not authorize the scope required for completing this request ({scope})."),
        )
    }

    pub fn rate_limit_exceeded() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limit_exceeded",
            "API rate limit was exceeded. Please try again later.",
        )
    }

    pub fn internal(status: StatusCode) -> Self {
        Self::new(status, "internal_error", "Something went wrong. Please try again later.")
    }

    /// The cancel endpoint answers with `{"error": …}` only, errors included.
    pub fn into_error_only_response(self) -> Response {
        envelope(self.status, self.code, &self.message, None)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        envelope(self.status, self.code, &self.message, Some(json!({})))
    }
}

/// A successful resource reply carrying `data`.
pub fn ok(data: Value) -> Response {
    envelope(StatusCode::OK, "ok", "", Some(data))
}

/// The full envelope. `data: None` leaves the key out, as the cancel endpoint does.
pub fn envelope(status: StatusCode, code: &str, message: &str, data: Option<Value>) -> Response {
    let log_id = ids::log_id();
    let error = json!({ "code": code, "message": message, "log_id": log_id });
    let body = match data {
        Some(data) => json!({ "data": data, "error": error }),
        None => json!({ "error": error }),
    };
    let mut response = (status, Json(body)).into_response();
    mark(&mut response, &log_id, (code != "ok").then_some(code));
    response
}

/// The OAuth error body `{error, error_description, log_id}`; the status is configurable because
/// TikTok has been seen answering these with HTTP 200.
pub fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let log_id = ids::log_id();
    let body = json!({ "error": error, "error_description": description, "log_id": log_id });
    let mut response = (status, Json(body)).into_response();
    mark(&mut response, &log_id, Some(error));
    no_store(&mut response);
    response
}

/// A successful OAuth body: flat JSON, no envelope.
pub fn oauth_ok(body: Value) -> Response {
    let log_id = ids::log_id();
    let mut response = (StatusCode::OK, Json(body)).into_response();
    mark(&mut response, &log_id, None);
    no_store(&mut response);
    response
}

fn mark(response: &mut Response, log_id: &str, code: Option<&str>) {
    if let Ok(value) = HeaderValue::from_str(log_id) {
        response.headers_mut().insert("x-tt-logid", value);
    }
    if let Some(code) = code {
        response.extensions_mut().insert(ReplyCode(code.to_owned()));
    }
}

fn no_store(response: &mut Response) {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
