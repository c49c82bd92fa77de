//! Protections at the edge: same-origin checks on state-changing requests, and security headers
//! (a per-response CSP nonce that Leptos puts on its inline hydration script).

use app::CspNonce;
use axum::{
    extract::{Request, State},
    http::{HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
};

/// What the origin check compares against.
#[derive(Clone, Debug)]
pub struct OriginPolicy {
    /// The configured public origin; when `None`, the request's `Host` decides.
    pub public_origin: Option<String>,
    /// The session cookie's name: a request carrying it speaks for a logged-in person.
    pub session_cookie: &'static str,
}

/// Refuses cross-site `POST`/`PUT`/`PATCH`/`DELETE`. SameSite=Lax cookies already stop most
/// cross-site form posts; this closes the rest (same-site subdomains, older browsers).
///
/// Without `Origin`, a request must say `Sec-Fetch-Site: same-origin` (or `none`, typed by the
/// person). One that says neither passes only without the session cookie (curl, TikTok's
/// webhook): every browser this app supports sends one of the two headers on a POST, so a
/// cookie-bearing request with neither comes from something that is not such a browser.
pub async fn require_same_origin(State(policy): State<OriginPolicy>, request: Request, next: Next) -> Response {
    let safe_method = matches!(*request.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if safe_method || same_origin(&policy, &request) {
        next.run(request).await
    } else {
        tracing::warn!(method = %request.method(), path = %request.uri().path(), "cross-origin request refused");
        (StatusCode::FORBIDDEN, "Cross-origin request refused.").into_response()
    }
}

fn same_origin(policy: &OriginPolicy, request: &Request) -> bool {
    let headers = request.headers();
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return match headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
            Some(site) => matches!(site, "same-origin" | "none"),
            None => !carries_cookie(headers, policy.session_cookie),
        };
    };
    match &policy.public_origin {
        Some(expected) => origin == expected,
        None => {
            let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or_default();
            let origin_host = origin.split_once("://").map(|(_, rest)| rest).unwrap_or_default();
            !host.is_empty() && origin_host == host
        }
    }
}

/// Whether any `Cookie` header holds a cookie named `name`.
fn carries_cookie(headers: &axum::http::HeaderMap, name: &str) -> bool {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .any(|pair| pair.trim().split_once('=').is_some_and(|(key, _)| key == name))
}

/// What the security headers must allow beyond this origin.
#[derive(Clone, Debug, Default)]
pub struct HeaderPolicy {
    /// TikTok's consent screen (`https://www.tiktok.com`, or the sandbox's own origin): the
    /// Connect form is answered with a redirect there, and CSP's `form-action` governs every
    /// hop of a form's navigation; the sandbox also serves the avatars it hands out.
    pub consent_origin: Option<String>,
}

/// Which `Host` headers a server answers.
#[derive(Clone, Debug)]
pub enum HostPolicy {
    /// Any host: a real deployment behind its own domain and proxy.
    Any,
    /// Loopback names only: a sandbox-mode server without a public URL is a local try-out, and
    /// a page elsewhere must not reach it through DNS rebinding (its sandbox hands out tokens).
    LoopbackOnly,
}

/// Refuses requests whose `Host` the policy does not allow, before anything else runs.
pub async fn require_known_host(State(policy): State<HostPolicy>, request: Request, next: Next) -> Response {
    let allowed = match policy {
        HostPolicy::Any => true,
        HostPolicy::LoopbackOnly => request
            .headers()
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .is_some_and(is_loopback_host),
    };
    if allowed {
        next.run(request).await
    } else {
        tracing::warn!(path = %crate::telemetry::loggable_path(request.uri().path()), "request for a host other than loopback refused in sandbox mode");
        (StatusCode::MISDIRECTED_REQUEST, "This sandbox-mode Cadence answers only on 127.0.0.1 or localhost.").into_response()
    }
}

/// `127.0.0.1:3000`, `localhost`, `[::1]:3000`: names that can only mean this machine.
fn is_loopback_host(host: &str) -> bool {
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, port)| if port.chars().all(|c| c.is_ascii_digit()) { name } else { host }),
    };
    name.eq_ignore_ascii_case("localhost")
        || name.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Adds the security headers to every response and a fresh CSP nonce to every request.
pub async fn security_headers(State(policy): State<HeaderPolicy>, mut request: Request, next: Next) -> Response {
    let nonce = app::crypto::random_token(16);
    request.extensions_mut().insert(CspNonce(nonce.clone()));
    // A page whose address is a secret (an invite, a client preview) never hands it on as the
    // Referer of a link or a video it loads.
    let secret_path = crate::telemetry::loggable_path(request.uri().path()) != request.uri().path();

    let mut response = next.run(request).await;
    let csp = content_security_policy(&policy, &nonce);
    let headers = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        headers.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    let referrer = if secret_path { "no-referrer" } else { "strict-origin-when-cross-origin" };
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static(referrer));
    headers.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    headers.insert(
        "permissions-policy",
        HeaderValue::from_static("camera=(), microphone=(), geolocation=(), payment=()"),
    );
    response
}

fn content_security_policy(policy: &HeaderPolicy, nonce: &str) -> String {
    let consent = policy.consent_origin.as_deref().map(|origin| format!(" {origin}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data: blob: https:{consent}; media-src 'self' blob:; connect-src 'self'; object-src 'none'; \
         base-uri 'self'; form-action 'self'{consent}; frame-ancestors 'none'"
    )
}

/// What [`session_hygiene_headers`] adds beside the security headers.
#[derive(Clone, Copy, Debug)]
pub struct HygienePolicy {
    /// Browsers are told to use https only; true exactly when the public URL is https.
    pub hsts: bool,
}

/// `Cache-Control: no-store` on pages and API answers (they carry a person's data, and a shared
/// computer's back button or a proxy must not show them to the next person), and HSTS when
/// Cadence is served over https. Static assets keep whatever caching they have.
pub async fn session_hygiene_headers(
    axum::extract::State(policy): axum::extract::State<HygienePolicy>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let dynamic_path = path.starts_with("/api/") || path.starts_with("/oauth/");
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let is_page = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    if (dynamic_path || is_page) && !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if policy.hsts {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static("max-age=63072000; includeSubDomains"));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;

    fn request(origin: Option<&str>, host: &str, fetch_site: Option<&str>) -> Request {
        let mut builder = Request::post("/api/auth/login").header(header::HOST, host);
        if let Some(origin) = origin {
            builder = builder.header(header::ORIGIN, origin);
        }
        if let Some(site) = fetch_site {
            builder = builder.header("sec-fetch-site", site);
        }
        builder.body(Body::empty()).unwrap()
    }

    #[test]
    fn host_decides_without_a_public_origin() {
        let policy = OriginPolicy { public_origin: None, session_cookie: "cadence_session" };
        assert!(same_origin(&policy, &request(Some("http://127.0.0.1:3000"), "127.0.0.1:3000", None)));
        assert!(!same_origin(&policy, &request(Some("https://evil.example"), "127.0.0.1:3000", None)));
        assert!(!same_origin(&policy, &request(Some("null"), "127.0.0.1:3000", None)));
    }

    #[test]
    fn a_configured_origin_must_match_exactly() {
        let policy = OriginPolicy { public_origin: Some("https://cadence.example.com".into()), session_cookie: "cadence_session" };
        assert!(same_origin(&policy, &request(Some("https://cadence.example.com"), "internal:3000", None)));
        assert!(!same_origin(&policy, &request(Some("http://cadence.example.com"), "cadence.example.com", None)));
    }

    #[test]
    fn only_names_of_this_machine_count_as_loopback() {
        for host in ["127.0.0.1:3000", "127.0.0.1", "localhost:3000", "LOCALHOST", "[::1]:3000", "127.9.9.9:80"] {
            assert!(is_loopback_host(host), "{host}");
        }
        for host in ["evil.example", "evil.example:3000", "10.0.0.1:3000", "localhost.evil.example", "[::2]:3000", ""] {
            assert!(!is_loopback_host(host), "{host}");
        }
    }

    #[test]
    fn forms_may_hand_off_to_the_consent_screen_and_nowhere_else() {
        let csp = content_security_policy(&HeaderPolicy { consent_origin: Some("https://www.tiktok.com".into()) }, "n0nce");
        assert!(csp.contains("form-action 'self' https://www.tiktok.com;"), "{csp}");
        assert!(csp.contains("'nonce-n0nce'"));
        let sandbox = content_security_policy(&HeaderPolicy { consent_origin: Some("http://127.0.0.1:4100".into()) }, "n");
        // The sandbox's avatars load, and the composer's photos (object URLs of picked files).
        assert!(sandbox.contains("img-src 'self' data: blob: https: http://127.0.0.1:4100;"), "{sandbox}");
        let none = content_security_policy(&HeaderPolicy::default(), "n");
        assert!(none.contains("form-action 'self';"), "{none}");
    }

    #[test]
    fn requests_without_origin_pass_only_when_same_origin_or_without_a_session() {
        let policy = OriginPolicy { public_origin: None, session_cookie: "cadence_session" };
        assert!(same_origin(&policy, &request(None, "127.0.0.1:3000", None)), "curl, a webhook: no cookie");
        assert!(same_origin(&policy, &request(None, "127.0.0.1:3000", Some("same-origin"))));
        assert!(!same_origin(&policy, &request(None, "127.0.0.1:3000", Some("cross-site"))));
        assert!(!same_origin(&policy, &request(None, "127.0.0.1:3000", Some("same-site"))), "a sibling subdomain");
    }

    #[test]
    fn a_session_cookie_without_origin_or_fetch_metadata_is_refused() {
        let policy = OriginPolicy { public_origin: None, session_cookie: "cadence_session" };
        let with_cookie = |cookie: &str, site: Option<&str>| {
            let mut request = request(None, "127.0.0.1:3000", site);
            request.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
            request
        };
        assert!(!same_origin(&policy, &with_cookie("theme=dark; cadence_session=abc", None)));
        assert!(same_origin(&policy, &with_cookie("cadence_session=abc", Some("same-origin"))));
        assert!(same_origin(&policy, &with_cookie("theme=dark; not_cadence_session=abc", None)), "another cookie only");
    }
}
