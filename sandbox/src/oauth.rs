//! The OAuth token and revoke endpoints: form bodies in, flat JSON or `{error, error_description}` out.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::Response;
use serde_json::json;

use crate::Sandbox;
use crate::envelope::{oauth_error, oauth_ok};
use crate::grants::{GrantError, IssuedTokens};
use crate::ids;
use crate::publish::Publish;
use crate::webhooks;

/// `authorization.removed` reasons (§8.2).
pub const REASON_USER_DISCONNECTED: u8 = 1;
pub const REASON_DEVELOPER_REVOKED: u8 = 5;

/// A form body as key → first value.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(name, _)| name == key).map(|(_, value)| value.as_str()).filter(|value| !value.is_empty())
    }
}

/// An OAuth failure before it is turned into a response.
struct OAuthError {
    error: &'static str,
    description: String,
}

impl OAuthError {
    fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self { error, description: description.into() }
    }
}

fn respond(sandbox: &Sandbox, result: Result<Response, OAuthError>) -> Response {
    result
        .unwrap_or_else(|failure| oauth_error(sandbox.inner.config.oauth_status(), failure.error, &failure.description))
}

/// The endpoints take `application/x-www-form-urlencoded` only.
fn parse_form(headers: &HeaderMap, body: &[u8]) -> Result<Form, OAuthError> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.trim().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(OAuthError::new("invalid_request", "The request parameters are malformed."));
    }
    Ok(Form(form_urlencoded::parse(body).map(|(key, value)| (key.into_owned(), value.into_owned())).collect()))
}

/// Client key first, then the secret, as TikTok's documented messages suggest.
fn check_client(sandbox: &Sandbox, form: &Form) -> Result<(), OAuthError> {
    let config = &sandbox.inner.config;
    if form.get("client_key") != Some(config.client_key.as_str()) {
        return Err(OAuthError::new("invalid_client", "Client key is invalid."));
    }
    match form.get("client_secret") {
        None => Err(OAuthError::new("invalid_request", "Client secret is missed in request.")),
        Some(secret) if secret != config.client_secret => {
            Err(OAuthError::new("invalid_client", "Client secret is invalid."))
        }
        Some(_) => Ok(()),
    }
}

/// `POST /v2/oauth/token/`
pub async fn token(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let result = exchange(&sandbox, &headers, &body);
    respond(&sandbox, result)
}

fn exchange(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form = parse_form(headers, body)?;
    check_client(sandbox, &form)?;
    let config = &sandbox.inner.config;
    let now = Instant::now();
    let issued = match form.get("grant_type") {
        Some("authorization_code") => {
            let (Some(code), Some(redirect_uri)) = (form.get("code"), form.get("redirect_uri")) else {
                return Err(OAuthError::new("invalid_request", "The request parameters are malformed."));
            };
            let mut state = sandbox.inner.lock();
            let stored = state.grants.code(code, now).map_err(|error| grant_error(error, "authorization code"))?;
            if stored.redirect_uri != redirect_uri {
                return Err(OAuthError::new(
                    "invalid_request",
                    "Redirect_uri is not matched with the uri when requesting code.",
                ));
            }
            state.grants.redeem_code(code, now, config).map_err(|error| grant_error(error, "authorization code"))?
        }
        Some("refresh_token") => {
            let refresh_token = form
                .get("refresh_token")
                .ok_or_else(|| OAuthError::new("invalid_request", "The request parameters are malformed."))?;
            let mut state = sandbox.inner.lock();
            state.grants.refresh(refresh_token, now, config).map_err(|error| grant_error(error, "refresh token"))?
        }
        // Client tokens serve only the Research and Commercial Content APIs, none of which the
        // sandbox offers, so they are issued but not stored: every sandbox API refuses them.
        Some("client_credentials") => {
            return Ok(oauth_ok(json!({
                "access_token": ids::client_token(),
                "expires_in": 7200,
                "token_type": "Bearer",
            })));
        }
        _ => return Err(OAuthError::new("unsupported_grant_type", "The grant type is not supported.")),
    };
    Ok(token_reply(&issued))
}

fn token_reply(issued: &IssuedTokens) -> Response {
    oauth_ok(json!({
        "access_token": issued.access_token,
        "expires_in": issued.expires_in,
        "open_id": issued.open_id,
        "refresh_expires_in": issued.refresh_expires_in,
        "refresh_token": issued.refresh_token,
        "scope": issued.scopes.join(","),
        "token_type": "Bearer",
    }))
}

fn grant_error(error: GrantError, what: &str) -> OAuthError {
    OAuthError::new("invalid_grant", error.description(what))
}

/// `POST /v2/oauth/revoke/`
pub async fn revoke(State(sandbox): State<Sandbox>, headers: HeaderMap, body: Bytes) -> Response {
    let result = revoke_token(&sandbox, &headers, &body);
    respond(&sandbox, result)
}

fn revoke_token(sandbox: &Sandbox, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form = parse_form(headers, body)?;
    check_client(sandbox, &form)?;
    let token =
        form.get("token").ok_or_else(|| OAuthError::new("invalid_request", "The request parameters are malformed."))?;
    // An expired access token is as unknown as a wrong one (observed: refresh first, then revoke).
    // `invalid_request` is the only error TikTok documents for revoke, so dead tokens get it.
    let open_id = sandbox.inner.lock().grants.revoke_by_access_token(token, Instant::now()).ok_or_else(|| {
        OAuthError::new("invalid_request", "The access token is invalid, expired or already revoked.")
    })?;
    authorization_removed(sandbox, &open_id, REASON_DEVELOPER_REVOKED);
    Ok(oauth_ok(json!({})))
}

/// After a grant is revoked: unfinished publishes fail with `auth_removed`, and the
/// `authorization.removed` event is sent (after the tokens are dead, as TikTok documents).
/// With several grants for one creator, TikTok's app-level revoke removes the app, so every
/// grant of the creator is revoked.
pub fn authorization_removed(sandbox: &Sandbox, open_id: &str, reason: u8) {
    let now = Instant::now();
    let delay = sandbox.inner.config.processing_delay;
    let failed: Vec<(String, Vec<(&'static str, serde_json::Value)>)> = {
        let mut state = sandbox.inner.lock();
        state.grants.revoke_creator(open_id);
        state
            .publishes
            .iter_mut()
            .filter(|publish| publish.open_id == open_id)
            .filter_map(|publish: &mut Publish| {
                publish.abort("auth_removed", now, delay).then(|| {
                    publish.notified = true;
                    (publish.open_id.clone(), publish.final_events(publish.status(now, delay)))
                })
            })
            .collect()
    };
    webhooks::emit(sandbox, open_id, "authorization.removed", json!({ "reason": reason }));
    for (open_id, events) in failed {
        for (event, content) in events {
            webhooks::emit(sandbox, &open_id, event, content);
        }
    }
}
