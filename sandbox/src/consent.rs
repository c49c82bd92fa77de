//! The authorize page: a consent screen a person (or Playwright) clicks through, then the redirect.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::Sandbox;
use crate::grants::{AuthCode, BASIC_SCOPE, CODE_TTL, CONSENT_TTL, ConsentRequest, SCOPES};
use crate::html::{self, escape};
use crate::registration;

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
        Err(refusal) => return refusal,
    };
    let redirect_uri = request.redirect_uri.clone();
    let requested = request.scopes.clone();
    let request_id = sandbox.inner.lock().grants.open_consent(request, Instant::now());
    consent_page(&sandbox, &request_id, &redirect_uri, &requested)
}

/// The checks of §2.2, in TikTok's order. Until the redirect URI is known to be registered,
/// failures show an error page: a redirect to an unverified URI would hand the error to whoever
/// wrote the link. After that, scope problems go back to the app as `invalid_scope`.
fn validate(sandbox: &Sandbox, params: &[(String, String)]) -> Result<ConsentRequest, Response> {
    let config = &sandbox.inner.config;
    let page = |error: &str, description: &str| html::error_page(StatusCode::BAD_REQUEST, error, description);
    match first(params, "client_key") {
        None | Some("") => return Err(page("invalid_request", "client_key is missing.")),
        Some(key) if key != config.client_key => {
            return Err(page("invalid_client", "The client_key does not belong to any app."));
        }
        Some(_) => {}
    }
    if first(params, "response_type") != Some("code") {
        return Err(page("unsupported_response_type", "response_type must be code."));
    }
    let redirect_uri = first(params, "redirect_uri").unwrap_or_default();
    if !registration::is_registered_redirect(config, redirect_uri) {
        return Err(page(
            "invalid_request",
            "redirect_uri is not registered for this app. It must exactly match a registered URI: https \
             (or plain-http 127.0.0.1, localhost or [::1] with a port), without query string or fragment.",
        ));
    }
    let state = first(params, "state").unwrap_or_default();
    if state.is_empty() {
        return Err(page("invalid_request", "state is missing."));
    }
    let mut scopes: Vec<String> = Vec::new();
    for name in first(params, "scope").unwrap_or_default().split(',').map(str::trim).filter(|name| !name.is_empty()) {
        if !scopes.iter().any(|seen| seen == name) {
            scopes.push(name.to_owned());
        }
    }
    let scope_error = |description: String| {
        redirect(
            redirect_uri,
            &[
                ("error", "invalid_scope"),
                ("error_type", "scope"),
                ("error_description", &description),
                ("state", state),
            ],
        )
    };
    if scopes.is_empty() {
        return Err(scope_error("The scope parameter is missing.".to_owned()));
    }
    if let Some(unknown) = scopes.iter().find(|name| !SCOPES.iter().any(|(known, _)| known == name)) {
        return Err(scope_error(format!("The scope {unknown:?} does not exist; scopes are separated by commas.")));
    }
    // TikTok refuses the whole request rather than dropping the one scope.
    if let Some(unapproved) = registration::unapproved_scope(config, &scopes) {
        return Err(scope_error(format!("The app is not approved for the scope {unapproved}.")));
    }
    Ok(ConsentRequest {
        redirect_uri: redirect_uri.to_owned(),
        state: state.to_owned(),
        scopes,
        expires_at: Instant::now() + CONSENT_TTL,
    })
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

/// 302 to `redirect_uri` (registered, so it has no query of its own) with `params` as its query.
fn redirect(redirect_uri: &str, params: &[(&str, &str)]) -> Response {
    let query = form_urlencoded::Serializer::new(String::new()).extend_pairs(params).finish();
    let location = format!("{redirect_uri}?{query}");
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
