//! Who may use the `/_sandbox/` control room: anyone, or only holders of `admin_token`.

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;

use crate::Sandbox;

/// Middleware in front of the control endpoints. With `admin_token` set they need
/// `Authorization: Bearer <token>`, or Basic credentials whose password is the token, so a
/// person can still open the page in a browser (which asks for it).
pub async fn require_admin(State(sandbox): State<Sandbox>, request: Request, next: Next) -> Response {
    let Some(expected) = sandbox.inner.config.admin_token.as_deref() else {
        return next.run(request).await;
    };
    let presented = request.headers().get(header::AUTHORIZATION).and_then(|value| value.to_str().ok());
    if presented.and_then(credential).is_some_and(|token| constant_time_eq(token.as_bytes(), expected.as_bytes())) {
        return next.run(request).await;
    }
    let mut response = (
        StatusCode::UNAUTHORIZED,
        "The sandbox control room needs the admin token the server printed at start: send \
         `Authorization: Bearer <token>`, or give it as the password when the browser asks.",
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"TikTok sandbox control room\""));
    response
}

/// The token of a Bearer header, or the password of a Basic one.
fn credential(value: &str) -> Option<String> {
    let (scheme, rest) = value.trim().split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(rest.to_owned());
    }
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(rest).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    decoded.split_once(':').map(|(_, password)| password.to_owned())
}

/// Compares without stopping at the first difference, so timing does not reveal the token.
fn constant_time_eq(left: &[u8], right: &[u8]) -> bool {
    left.len() == right.len() && left.iter().zip(right).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_and_basic_credentials() {
        assert_eq!(credential("Bearer s3cret").as_deref(), Some("s3cret"));
        assert_eq!(credential("bearer  s3cret ").as_deref(), Some("s3cret"));
        // "admin:s3cret" and ":s3cret"
        assert_eq!(credential("Basic YWRtaW46czNjcmV0").as_deref(), Some("s3cret"));
        assert_eq!(credential("Basic OnMzY3JldA==").as_deref(), Some("s3cret"));
        assert_eq!(credential("Basic not-base64!"), None);
        assert_eq!(credential("Digest s3cret"), None);
        assert_eq!(credential("s3cret"), None);
    }

    #[test]
    fn comparison() {
        assert!(constant_time_eq(b"abc", b"abc"));
        assert!(!constant_time_eq(b"abc", b"abd"));
        assert!(!constant_time_eq(b"abc", b"abcd"));
    }
}
