//! `GET /metrics` for Prometheus: on a listener of its own (`CADENCE_METRICS_ADDR`), or on the
//! main listener behind a bearer token (`CADENCE_METRICS_TOKEN`); with neither it is not served
//! (404). Also the middleware that counts every request by its matched route pattern.

use app::state::AppState;
use axum::{
    Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Response},
    routing::get,
};
use secrecy::ExposeSecret as _;
use std::time::Instant;

/// Counts and times every request under the route pattern it matched (`/posts/{id}`), never
/// the raw path, so ids and invite tokens cannot reach a label or grow the series.
pub async fn record_requests(request: Request, next: Next) -> Response {
    let route = request.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str).to_owned();
    let method = request.method().clone();
    let started = Instant::now();
    let response = next.run(request).await;
    app::metrics::http_request(&method, &route, response.status().as_u16(), started.elapsed());
    response
}

/// `GET /metrics` on the main listener: only with the configured bearer token.
pub async fn metrics_with_token(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.config.metrics.token else {
        return (StatusCode::NOT_FOUND, "Not found").into_response();
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    // Compared as digests, so the time taken says nothing about how much of a guess was right.
    let valid = presented.is_some_and(|given| {
        app::crypto::sha256_hex(given.trim().as_bytes()) == app::crypto::sha256_hex(token.expose_secret().as_bytes())
    });
    if !valid {
        return (StatusCode::UNAUTHORIZED, [(header::WWW_AUTHENTICATE, "Bearer")], "A valid bearer token is required.")
            .into_response();
    }
    metrics_text(&state)
}

async fn metrics_open(State(state): State<AppState>) -> Response {
    metrics_text(&state)
}

fn metrics_text(state: &AppState) -> Response {
    let text = app::metrics::render(&state.tiktok.client.breaker_states());
    ([(header::CONTENT_TYPE, app::metrics::CONTENT_TYPE), (header::CACHE_CONTROL, "no-store")], text).into_response()
}

/// The router of the metrics listener: `/metrics` and nothing else, open to whoever reaches
/// the address (keep it on loopback or a private network).
pub fn metrics_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(metrics_open)).with_state(state)
}

/// Serves [`metrics_router`] on `addr` in the background; binding fails at start, not later.
pub async fn spawn_listener(addr: std::net::SocketAddr, state: AppState) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(addr = %listener.local_addr()?, "metrics listening on their own address");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, metrics_router(state)).await {
            tracing::error!(error = %error, "the metrics listener stopped");
        }
    });
    Ok(())
}
