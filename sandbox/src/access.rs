//! The checks every resource API runs first, in TikTok's order: bearer token, scope, rate limit.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use axum::http::{HeaderMap, header};

use crate::Sandbox;
use crate::envelope::ApiError;
use crate::faults::Endpoint;

/// TikTok counts per-token limits over a sliding minute.
pub const WINDOW: Duration = Duration::from_secs(60);

/// The creator behind a valid access token.
#[derive(Clone, Debug)]
pub struct Caller {
    pub open_id: String,
    pub scopes: Vec<String>,
}

impl Caller {
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|granted| granted == scope)
    }
}

/// Scopes of which one is needed, and calls allowed per minute (§5; `None` where TikTok documents
/// no limit).
fn policy(endpoint: Endpoint) -> (&'static [&'static str], Option<usize>) {
    match endpoint {
        Endpoint::UserInfo => (&["user.info.basic"], Some(600)),
        Endpoint::VideoList | Endpoint::VideoQuery => (&["video.list"], Some(600)),
        Endpoint::CreatorInfo => (&["video.publish"], Some(20)),
        Endpoint::VideoInit => (&["video.publish"], Some(6)),
        Endpoint::InboxVideoInit => (&["video.upload"], Some(6)),
        // Which of the two depends on post_mode; the handler checks that one.
        Endpoint::ContentInit => (&["video.publish", "video.upload"], Some(6)),
        Endpoint::StatusFetch => (&["video.upload", "video.publish"], Some(30)),
        Endpoint::Cancel => (&["video.upload", "video.publish"], None),
        Endpoint::Any | Endpoint::Authorize | Endpoint::OauthToken | Endpoint::OauthRevoke | Endpoint::Upload => {
            (&[], None)
        }
    }
}

/// Runs the three checks and records the call in the rate window.
pub fn authorize(sandbox: &Sandbox, headers: &HeaderMap, endpoint: Endpoint) -> Result<Caller, ApiError> {
    let token = bearer(headers).ok_or_else(ApiError::access_token_invalid)?;
    let now = Instant::now();
    let mut state = sandbox.inner.lock();
    let grant = state.grants.grant_for_access_token(token, now).ok_or_else(ApiError::access_token_invalid)?;
    let (scopes, per_minute) = policy(endpoint);
    if !scopes.is_empty() && !scopes.iter().any(|scope| grant.has_scope(scope)) {
        return Err(ApiError::scope_not_authorized(&scopes.join(" or ")));
    }
    let caller = Caller { open_id: grant.open_id.clone(), scopes: grant.scopes.clone() };
    if let Some(limit) = per_minute {
        let window = state.rate_windows.entry((window_owner(endpoint, &caller.open_id), endpoint)).or_default();
        if !admit(window, now, limit) {
            return Err(ApiError::rate_limit_exceeded());
        }
    }
    Ok(caller)
}

/// Whose window a call counts in. TikTok does not say whether the Display API's 600 a minute
/// are per token or per app (tiktok-api.md §5), so the sandbox takes the stricter reading: one
/// window for the whole app, shared by every creator. The posting limits are per token.
fn window_owner(endpoint: Endpoint, open_id: &str) -> String {
    match endpoint {
        Endpoint::UserInfo | Endpoint::VideoList | Endpoint::VideoQuery => APP_WINDOW.to_owned(),
        _ => open_id.to_owned(),
    }
}

/// The key of the app-wide windows (no open_id looks like this).
const APP_WINDOW: &str = "*app*";

/// The token of `Authorization: Bearer <token>` (scheme matched case-insensitively).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Sliding window: forget calls older than a minute, then admit if under the limit. Refused
/// calls are not counted, so a client that backs off recovers after the window slides.
fn admit(window: &mut VecDeque<Instant>, now: Instant, limit: usize) -> bool {
    while window.front().is_some_and(|&at| now.duration_since(at) >= WINDOW) {
        window.pop_front();
    }
    if window.len() >= limit {
        return false;
    }
    window.push_back(now);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_window_slides() {
        let start = Instant::now();
        let mut window = VecDeque::new();
        for second in 0..6 {
            assert!(admit(&mut window, start + Duration::from_secs(second), 6));
        }
        assert!(!admit(&mut window, start + Duration::from_secs(59), 6));
        // The first call leaves the window at 60 s, freeing exactly one slot.
        assert!(admit(&mut window, start + Duration::from_secs(60), 6));
        assert!(!admit(&mut window, start + Duration::from_secs(60), 6));
    }

    #[test]
    fn bearer_parsing() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer act.abc"));
        assert_eq!(bearer(&headers), Some("act.abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer act.abc"));
        assert_eq!(bearer(&headers), Some("act.abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic act.abc"));
        assert_eq!(bearer(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&headers), None);
    }
}
