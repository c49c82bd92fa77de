//! The authorize page: a consent screen a person (or Playwright) clicks through, then the redirect.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Sandbox;
use crate::grants::{AuthCode, BASIC_SCOPE, CODE_TTL, CONSENT_TTL, ConsentRequest, SCOPES};
use crate::html::{self, escape};

/// TikTok's limit on registered redirect URIs.
const MAX_REDIRECT_URI: usize = 512;

fn pairs(bytes: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(bytes).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()
}

fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str())
}

/// `GET /v2/auth/authorize/`: validates the request and shows the consent screen. The sandbox's
/// own Cancel link comes back here with `cancel=<request id>`.
pub async fn show(State(sandbox): State<Sandbox>, RawQuery(query): RawQuery) -> Response {
    let params = pairs(query.unwrap_or_default().as_bytes());
    if let Some(request_id) = first(&params, "cancel") {
        return cancel(&sandbox, request_id);
    }
    let request = match validate(&sandbox, &params) {
        Ok(request) => request,
        Err((error, description)) => return html::error_page(StatusCode::BAD_REQUEST, error, &description),
    };
    let redirect_uri = request.redirect_uri.clone();
    let requested = request.scopes.clone();
    let request_id = sandbox.inner.lock().grants.open_consent(request, Instant::now());
    consent_page(&sandbox, &request_id, &redirect_uri, &requested)
}

/// The checks of §2.2. Every failure shows an error page rather than redirecting, because a
/// redirect to an unverified URI would hand the error to whoever wrote the link.
fn validate(sandbox: &Sandbox, params: &[(String, String)]) -> Result<ConsentRequest, (&'static str, String)> {
    match first(params, "client_key") {
        None | Some("") => return Err(("invalid_request", "client_key is missing.".to_owned())),
        Some(key) if key != sandbox.inner.config.client_key => {
            return Err(("invalid_client", "The client_key does not belong to any app.".to_owned()));
        }
        Some(_) => {}
    }
    if first(params, "response_type") != Some("code") {
        return Err(("unsupported_response_type", "response_type must be code.".to_owned()));
    }
    let redirect_uri = first(params, "redirect_uri").unwrap_or_default();
    if !is_acceptable_redirect(redirect_uri) {
        return Err((
            "invalid_request",
            "redirect_uri must be an absolute http(s) URL without a fragment, under 512 characters.".to_owned(),
        ));
    }
    let scope = first(params, "scope").unwrap_or_default();
    let mut scopes: Vec<String> = Vec::new();
    for name in scope.split(',').map(str::trim).filter(|name| !name.is_empty()) {
        if !SCOPES.iter().any(|(known, _)| *known == name) {
            return Err(("invalid_scope", format!("Unknown scope {name:?}; scopes are separated by commas.")));
        }
        if !scopes.iter().any(|seen| seen == name) {
            scopes.push(name.to_owned());
        }
    }
    if scopes.is_empty() {
        return Err(("invalid_scope", "scope is missing.".to_owned()));
    }
    let state = first(params, "state").unwrap_or_default();
    if state.is_empty() {
        return Err(("invalid_request", "state is missing.".to_owned()));
    }
    Ok(ConsentRequest {
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        scopes,
        expires_at: Instant::now() + CONSENT_TTL,
    })
}

/// Any absolute http(s) URL counts as registered in the sandbox.
fn is_acceptable_redirect(uri: &str) -> bool {
    let rest = uri.strip_prefix("https://").or_else(|| uri.strip_prefix("http://"));
    let host_present = rest.is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/') && !rest.starts_with('?'));
    host_present && !uri.contains('#') && uri.len() < MAX_REDIRECT_URI && !uri.chars().any(char::is_whitespace)
}

fn consent_page(sandbox: &Sandbox, request_id: &str, redirect_uri: &str, requested: &[String]) -> Response {
    let mut creators = String::new();
    for (index, creator) in sandbox.inner.creators.iter().enumerate() {
        let kind = if creator.is_private { "private account" } else { "public account" };
        creators.push_str(&format!(
            "<p><label><input type=\"radio\" name=\"open_id\" value=\"{}\"{}> <img src=\"../../../_sandbox/avatars/{}.svg\" \
             alt=\"\" width=\"24\" height=\"24\"> {} (@{}, {})</label></p>\n",
            escape(&creator.open_id),
            if index == 0 { " checked" } else { "" },
            escape(&creator.open_id),
            escape(&creator.display_name),
            escape(&creator.username),
            kind,
        ));
    }
    let mut scopes = String::new();
    for (name, description) in SCOPES {
        if *name == BASIC_SCOPE {
            // Login Kit always grants basic info, so it is shown ticked and cannot be unticked.
            scopes.push_str(&format!(
                "<p><label><input type=\"checkbox\" checked disabled> {} <code>{}</code> (always granted)</label></p>\n",
                escape(description),
                name
            ));
        } else if requested.iter().any(|scope| scope == name) {
            scopes.push_str(&format!(
                "<p><label><input type=\"checkbox\" name=\"scope\" value=\"{name}\" checked> {} <code>{name}</code></label></p>\n",
                escape(description),
            ));
        }
    }
    let body = format!(
        "<h1>TikTok sandbox</h1>\n\
         <p>An app wants to connect to your TikTok account. After you authorize it, you will be sent to \
         <code>{redirect}</code>.</p>\n\
         <form method=\"post\" action=\"./\">\n\
         <input type=\"hidden\" name=\"request_id\" value=\"{request_id}\">\n\
         <fieldset>\n<legend>Continue as</legend>\n{creators}</fieldset>\n\
         <fieldset>\n<legend>The app would like to</legend>\n{scopes}</fieldset>\n\
         <p><button type=\"submit\">Authorize</button> <a href=\"./?cancel={request_id}\">Cancel</a></p>\n\
         </form>\n\
         <p>This is a local stand-in for TikTok. Nothing you do here reaches TikTok.</p>",
        redirect = escape(redirect_uri),
        request_id = escape(request_id),
    );
    html::page(StatusCode::OK, "Authorize app: TikTok sandbox", &body)
}

/// `POST /v2/auth/authorize/`: the consent form. Issues a single-use code and redirects.
pub async fn decide(State(sandbox): State<Sandbox>, body: Bytes) -> Response {
    let form = pairs(&body);
    let now = Instant::now();
    let Some(request) = first(&form, "request_id").and_then(|id| sandbox.inner.lock().grants.take_consent(id, now))
    else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This authorization request has expired or was already answered. Start again from the app.",
        );
    };
    let Some(creator) = first(&form, "open_id").and_then(|open_id| sandbox.inner.creator(open_id)) else {
        return html::error_page(StatusCode::BAD_REQUEST, "invalid_request", "Choose an account to continue as.");
    };
    // Only requested scopes can be granted; basic info always is.
    let ticked: Vec<&str> = form.iter().filter(|(key, _)| key == "scope").map(|(_, value)| value.as_str()).collect();
    let mut granted = vec![BASIC_SCOPE.to_owned()];
    for scope in &request.scopes {
        if scope != BASIC_SCOPE && ticked.contains(&scope.as_str()) {
            granted.push(scope.clone());
        }
    }
    let code = sandbox.inner.lock().grants.issue_code(
        AuthCode {
            redirect_uri: request.redirect_uri.clone(),
            open_id: creator.open_id.clone(),
            scopes: granted.clone(),
            expires_at: now + CODE_TTL,
            used: false,
        },
        now,
    );
    redirect(&request.redirect_uri, &[("code", &code), ("scopes", &granted.join(",")), ("state", &request.state)])
}

fn cancel(sandbox: &Sandbox, request_id: &str) -> Response {
    let Some(request) = sandbox.inner.lock().grants.take_consent(request_id, Instant::now()) else {
        return html::error_page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "This authorization request has expired or was already answered. Start again from the app.",
        );
    };
    redirect(
        &request.redirect_uri,
        &[
            ("error", "access_denied"),
            ("error_description", "The user denied the authorization request."),
            ("state", &request.state),
        ],
    )
}

/// 302 to `redirect_uri` with `params` appended to any query it already has.
fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{separator}{query}");
    let mut response = StatusCode::FOUND.into_response();
    match HeaderValue::from_str(&location) {
        Ok(value) => {
            response.headers_mut().insert(header::LOCATION, value);
            response
        }
        Err(_) => {
            html::error_page(StatusCode::BAD_REQUEST, "invalid_request", "redirect_uri cannot be used in a redirect.")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_rules() {
        assert!(is_acceptable_redirect("https://app.example/callback/"));
        assert!(is_acceptable_redirect("http://127.0.0.1:3000/auth/tiktok/callback"));
        assert!(!is_acceptable_redirect("ftp://app.example/callback"));
        assert!(!is_acceptable_redirect("/relative/callback"));
        assert!(!is_acceptable_redirect("https://app.example/callback#frag"));
        assert!(!is_acceptable_redirect("https:///no-host"));
        assert!(!is_acceptable_redirect(&format!("https://app.example/{}", "a".repeat(600))));
    }
}
