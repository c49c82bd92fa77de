//! Scripted failures (after M untouched calls, the next N calls to an endpoint answer 429, 5xx,
//! hang, stall, drop, or refuse the token) and the round-trip latency load tests ask for.

use std::io;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::StreamExt as _;
use serde::{Deserialize, Serialize};

use crate::Sandbox;
use crate::envelope::{ApiError, oauth_error};
use crate::html;
use crate::state::State as SandboxState;

/// Upper bound on what a `DropConnection` or `Stall` fault reads of an upload before stopping.
const DROP_READ_LIMIT: u64 = 1 << 20;

/// A TikTok endpoint of the sandbox, for faults and rate limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endpoint {
    /// Matches every endpoint below.
    Any,
    Authorize,
    OauthToken,
    OauthRevoke,
    UserInfo,
    CreatorInfo,
    VideoInit,
    InboxVideoInit,
    Upload,
    StatusFetch,
    Cancel,
    VideoList,
    VideoQuery,
    /// `/v2/post/publish/content/init/` (photo posts).
    ContentInit,
}

impl Endpoint {
    /// Every concrete endpoint with its path (relative to the sandbox router).
    pub const ALL: [(Self, &'static str); 13] = [
        (Self::Authorize, "/v2/auth/authorize/"),
        (Self::OauthToken, "/v2/oauth/token/"),
        (Self::OauthRevoke, "/v2/oauth/revoke/"),
        (Self::UserInfo, "/v2/user/info/"),
        (Self::CreatorInfo, "/v2/post/publish/creator_info/query/"),
        (Self::VideoInit, "/v2/post/publish/video/init/"),
        (Self::InboxVideoInit, "/v2/post/publish/inbox/video/init/"),
        (Self::Upload, "/upload/video/"),
        (Self::StatusFetch, "/v2/post/publish/status/fetch/"),
        (Self::Cancel, "/v2/post/publish/cancel/"),
        (Self::VideoList, "/v2/video/list/"),
        (Self::VideoQuery, "/v2/video/query/"),
        (Self::ContentInit, "/v2/post/publish/content/init/"),
    ];

    pub fn path(self) -> Option<&'static str> {
        Self::ALL.iter().find(|(endpoint, _)| *endpoint == self).map(|(_, path)| *path)
    }

    pub fn from_path(path: &str) -> Option<Self> {
        Self::ALL.iter().find(|(_, known)| *known == path).map(|(endpoint, _)| *endpoint)
    }

    fn matches(self, endpoint: Self) -> bool {
        self == Self::Any || self == endpoint
    }
}

/// What an injected fault does. The reply takes the endpoint's own shape: the `{data,error}`
/// envelope for resource APIs, the OAuth error body for `/v2/oauth/*`, an HTML page for the
/// authorize page, and a bare status for the upload PUT.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultKind {
    /// HTTP 429 (`rate_limit_exceeded`; OAuth: `temporarily_unavailable`).
    #[serde(rename = "status_429")]
    Status429,
    /// HTTP 500 (`internal_error`; OAuth: `server_error`).
    #[serde(rename = "status_500")]
    Status500,
    /// HTTP 503 (`internal_error`; OAuth: `temporarily_unavailable`).
    #[serde(rename = "status_503")]
    Status503,
    /// Holds the request for [`crate::SandboxConfig::fault_hang`], then answers 504.
    Timeout,
    /// Aborts the connection without a reply; on the upload PUT it first reads part of the chunk.
    /// The upload's progress does not advance.
    DropConnection,
    /// Refuses the credentials: 401 `access_token_invalid` on resource APIs, `invalid_grant` on
    /// the token endpoint, `invalid_request` on revoke, 403 on the upload URL.
    AccessTokenInvalid,
    /// On the upload PUT: reads part of the chunk, then stops reading and holds the connection
    /// for [`crate::SandboxConfig::fault_hang`] before dropping it, as a stuck upload host does.
    /// The upload's progress does not advance. Elsewhere it behaves like `Timeout`.
    Stall,
}

/// After `skip` calls matching `endpoint` pass untouched, the next `count` get `kind`; so
/// `skip: 2, count: 1` on [`Endpoint::Upload`] fails exactly the third chunk PUT.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub endpoint: Endpoint,
    pub kind: FaultKind,
    pub count: u32,
    #[serde(default)]
    pub skip: u32,
}

/// Marks a response produced by a fault, for the request recorder.
#[derive(Clone, Copy, Debug)]
pub struct InjectedFault(pub FaultKind);

impl SandboxState {
    /// Counts one call to `endpoint` against every queued fault that matches it: faults still
    /// skipping count it as one of their untouched calls, and the first fault done skipping
    /// fires (one use of its `count`). Each fault counts calls on its own, so a skipping fault
    /// sees the call whether or not an earlier fault fired on it.
    pub fn take_fault(&mut self, endpoint: Endpoint) -> Option<FaultKind> {
        let mut fired = None;
        for fault in self.faults.iter_mut().filter(|fault| fault.endpoint.matches(endpoint) && fault.count > 0) {
            if fault.skip > 0 {
                fault.skip -= 1;
            } else if fired.is_none() {
                fault.count -= 1;
                fired = Some(fault.kind);
            }
        }
        self.faults.retain(|fault| fault.count > 0);
        fired
    }
}

/// Middleware in front of every TikTok route.
pub async fn layer(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let Some(endpoint) = Endpoint::from_path(request.uri().path()) else {
        return next.run(request).await;
    };
    let latency = sandbox.inner.latency_ms.load(std::sync::atomic::Ordering::Relaxed);
    if latency > 0 && endpoint != Endpoint::Authorize {
        tokio::time::sleep(Duration::from_millis(latency)).await;
    }
    let Some(kind) = sandbox.inner.lock().take_fault(endpoint) else {
        return next.run(request).await;
    };
    tracing::info!(?endpoint, ?kind, "sandbox fault injected");
    let hang = sandbox.inner.config.fault_hang;
    let mut response = match kind {
        FaultKind::Stall if endpoint == Endpoint::Upload => {
            // Holding the half-read body keeps the connection open with nobody reading it.
            let _unread = read_part_of_body(request).await;
            tokio::time::sleep(hang).await;
            dropped_connection()
        }
        FaultKind::Timeout | FaultKind::Stall => {
            tokio::time::sleep(hang).await;
            StatusCode::GATEWAY_TIMEOUT.into_response()
        }
        FaultKind::DropConnection => {
            if endpoint == Endpoint::Upload {
                drop(read_part_of_body(request).await);
            }
            dropped_connection()
        }
        FaultKind::Status429 => status_reply(endpoint, StatusCode::TOO_MANY_REQUESTS),
        FaultKind::Status500 => status_reply(endpoint, StatusCode::INTERNAL_SERVER_ERROR),
        FaultKind::Status503 => status_reply(endpoint, StatusCode::SERVICE_UNAVAILABLE),
        FaultKind::AccessTokenInvalid => refused_credentials(&sandbox, endpoint),
    };
    response.extensions_mut().insert(InjectedFault(kind));
    response
}

fn status_reply(endpoint: Endpoint, status: StatusCode) -> Response {
    match endpoint {
        Endpoint::OauthToken | Endpoint::OauthRevoke => {
            let (error, description) = if status == StatusCode::INTERNAL_SERVER_ERROR {
                ("server_error", "The server encountered an unexpected error.")
            } else {
                ("temporarily_unavailable", "The server is temporarily unavailable. Please try again later.")
            };
            oauth_error(status, error, description)
        }
        Endpoint::Authorize => html::error_page(status, "server_error", "TikTok is temporarily unavailable."),
        Endpoint::Upload => status.into_response(),
        _ => {
            let error = if status == StatusCode::TOO_MANY_REQUESTS {
                ApiError::rate_limit_exceeded()
            } else {
                ApiError::internal(status)
            };
            api_reply(endpoint, error)
        }
    }
}

fn refused_credentials(sandbox: &Sandbox, endpoint: Endpoint) -> Response {
    match endpoint {
        Endpoint::OauthToken => {
            oauth_error(sandbox.inner.config.oauth_status(), "invalid_grant", "The token is invalid or expired.")
        }
        // Revoke answers a dead token the way the endpoint itself does.
        Endpoint::OauthRevoke => oauth_error(
            sandbox.inner.config.oauth_status(),
            "invalid_request",
            "The access token is invalid, expired or already revoked.",
        ),
        Endpoint::Authorize => {
            html::error_page(StatusCode::BAD_REQUEST, "invalid_client", "The client is not authorized.")
        }
        Endpoint::Upload => StatusCode::FORBIDDEN.into_response(),
        _ => api_reply(endpoint, ApiError::access_token_invalid()),
    }
}

/// Cancel answers with `{"error": …}` only, even for failures.
fn api_reply(endpoint: Endpoint, error: ApiError) -> Response {
    if endpoint == Endpoint::Cancel { error.into_error_only_response() } else { error.into_response() }
}

/// Reads about half of the announced chunk (what a connection cut mid-transfer would deliver)
/// and hands back the rest of the body, unread.
async fn read_part_of_body(request: Request) -> axum::body::BodyDataStream {
    let announced = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok())
        .unwrap_or(DROP_READ_LIMIT);
    let wanted = (announced / 2).clamp(1, DROP_READ_LIMIT);
    let mut stream = request.into_body().into_data_stream();
    let mut read = 0u64;
    while read < wanted {
        match stream.next().await {
            Some(Ok(bytes)) => read += bytes.len() as u64,
            _ => break,
        }
    }
    stream
}

/// A response whose body fails at once: hyper then closes the connection without completing the
/// reply, which is what a client sees when TikTok's edge drops it.
fn dropped_connection() -> Response {
    let failing = futures_util::stream::once(async {
        Err::<Bytes, io::Error>(io::Error::new(io::ErrorKind::ConnectionAborted, "sandbox dropped the connection"))
    });
    (StatusCode::BAD_GATEWAY, Body::from_stream(failing)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn faults_are_consumed_in_order_and_by_endpoint() {
        let mut state = SandboxState::default();
        state.faults.push_back(Fault { endpoint: Endpoint::VideoInit, kind: FaultKind::Status500, count: 2, skip: 0 });
        state.faults.push_back(Fault { endpoint: Endpoint::Any, kind: FaultKind::Status429, count: 1, skip: 0 });
        assert_eq!(state.take_fault(Endpoint::UserInfo), Some(FaultKind::Status429));
        assert_eq!(state.take_fault(Endpoint::UserInfo), None);
        assert_eq!(state.take_fault(Endpoint::VideoInit), Some(FaultKind::Status500));
        assert_eq!(state.take_fault(Endpoint::VideoInit), Some(FaultKind::Status500));
        assert_eq!(state.take_fault(Endpoint::VideoInit), None);
        assert!(state.faults.is_empty());
    }

    #[test]
    fn skipped_calls_pass_untouched_before_the_fault_fires() {
        let mut state = SandboxState::default();
        state.faults.push_back(Fault { endpoint: Endpoint::Upload, kind: FaultKind::Status503, count: 1, skip: 2 });
        assert_eq!(state.take_fault(Endpoint::VideoInit), None, "other endpoints are not counted");
        assert_eq!(state.take_fault(Endpoint::Upload), None);
        assert_eq!(state.take_fault(Endpoint::Upload), None);
        assert_eq!(state.take_fault(Endpoint::Upload), Some(FaultKind::Status503), "exactly the third PUT");
        assert_eq!(state.take_fault(Endpoint::Upload), None);
        assert!(state.faults.is_empty());
    }

    #[test]
    fn each_fault_counts_its_own_skips() {
        let mut state = SandboxState::default();
        state.faults.push_back(Fault { endpoint: Endpoint::Upload, kind: FaultKind::Status500, count: 1, skip: 0 });
        state.faults.push_back(Fault { endpoint: Endpoint::Upload, kind: FaultKind::Stall, count: 1, skip: 1 });
        // The first call fires the first fault and is the second fault's skipped call.
        assert_eq!(state.take_fault(Endpoint::Upload), Some(FaultKind::Status500));
        assert_eq!(state.take_fault(Endpoint::Upload), Some(FaultKind::Stall));
        assert_eq!(state.take_fault(Endpoint::Upload), None);
    }

    #[test]
    fn paths_map_to_endpoints() {
        for (endpoint, path) in Endpoint::ALL {
            assert_eq!(Endpoint::from_path(path), Some(endpoint));
            assert_eq!(endpoint.path(), Some(path));
        }
        assert_eq!(Endpoint::from_path("/v2/user/info"), None, "TikTok's paths end with a slash");
    }

    #[test]
    fn fault_json_shape() {
        let fault: Fault = serde_json::from_str(r#"{"endpoint":"video_init","kind":"status_503","count":3}"#).unwrap();
        assert_eq!(fault, Fault { endpoint: Endpoint::VideoInit, kind: FaultKind::Status503, count: 3, skip: 0 });
        let fault: Fault = serde_json::from_str(r#"{"endpoint":"upload","kind":"drop_connection","count":1}"#).unwrap();
        assert_eq!(fault.kind, FaultKind::DropConnection);
        let fault: Fault =
            serde_json::from_str(r#"{"endpoint":"upload","kind":"stall","count":1,"skip":2}"#).unwrap();
        assert_eq!((fault.kind, fault.skip), (FaultKind::Stall, 2));
    }
}
