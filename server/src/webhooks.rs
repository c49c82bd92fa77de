//! `POST /webhooks/tiktok`: TikTok's signed event deliveries. Verified against the client
//! secret within TikTok's 72 h retry span, stored once (replays and redeliveries change
//! nothing), then acted on. Answers 200 at once so TikTok does not retry what was handled.

use app::{
    accounts::ssr::{WebhookEnvelope, WebhookOutcome, record_webhook},
    state::AppState,
    tiktok::webhook::{SignatureError, verify},
};
use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
};
use secrecy::ExposeSecret as _;

/// Deliveries are small JSON documents; anything bigger is not from TikTok.
pub const MAX_WEBHOOK_BYTES: usize = 64 * 1024;

pub async fn tiktok_webhook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> (StatusCode, &'static str) {
    if body.len() > MAX_WEBHOOK_BYTES {
        return (StatusCode::PAYLOAD_TOO_LARGE, "too large");
    }
    let signature = signature_header(&headers);
    let secret = state.tiktok.webhook_secret.expose_secret().as_bytes();
    if let Err(error) = verify(signature.as_deref(), &body, secret, time::OffsetDateTime::now_utc().unix_timestamp()) {
        tracing::warn!(error = %error, "webhook refused");
        return match error {
            SignatureError::Missing | SignatureError::Mismatch | SignatureError::Stale => (StatusCode::UNAUTHORIZED, "bad signature"),
            SignatureError::Malformed => (StatusCode::BAD_REQUEST, "malformed signature"),
        };
    }
    let Ok(envelope) = serde_json::from_slice::<WebhookEnvelope>(&body) else {
        return (StatusCode::BAD_REQUEST, "not a TikTok event");
    };
    let event = envelope.event.clone();
    let Ok(mut conn) = state.pool.get().await else {
        // Not handled: a non-200 makes TikTok deliver it again later.
        return (StatusCode::SERVICE_UNAVAILABLE, "try again");
    };
    match record_webhook(&mut conn, &body, envelope).await {
        Ok(WebhookOutcome::Processed) => {
            tracing::info!(event, "webhook processed");
            (StatusCode::OK, "ok")
        }
        Ok(WebhookOutcome::Duplicate) => {
            tracing::info!(event, "webhook already seen; ignored");
            (StatusCode::OK, "duplicate")
        }
        Err(app::error::AppError::Validation { .. }) => (StatusCode::BAD_REQUEST, "bad content"),
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "try again"),
    }
}

/// The `TikTok-Signature` value (header names are case-insensitive; the docs write both
/// `TikTok-Signature` and `Tiktok-Signature`). A header sent twice counts as one list, as HTTP
/// folds repeated headers with commas, so a signature in either copy can match.
fn signature_header(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers.get_all("tiktok-signature").iter().filter_map(|v| v.to_str().ok()).collect();
    (!values.is_empty()).then(|| values.join(","))
}
