//! The state shared by every request, and the helpers server functions use to reach it.

use crate::{
    config::Config,
    crypto::TokenCipher,
    db::{DbConn, DbPool},
    error::{AppError, AppResult},
    media::store::MediaStore,
    tiktok::client::TikTokApp,
};
use axum::extract::FromRef;
use leptos::prelude::{LeptosOptions, use_context};
use std::{net::IpAddr, sync::Arc};
use tower_sessions::Session;

/// One per process; cloned into every request's context by `leptos_routes_with_context`.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub pool: DbPool,
    pub config: Arc<Config>,
    pub cipher: Arc<TokenCipher>,
    pub tiktok: Arc<TikTokApp>,
    /// Where scheduled posts' videos wait.
    pub media: Arc<MediaStore>,
}

/// The state of the running server, from the request context.
pub fn app_state() -> AppResult<AppState> {
    use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState is missing from the request context", "no context"))
}

/// A pooled database connection.
///
/// The session is loaded first: the session store takes a pooled connection of its own the
/// first time a request reads the session, and a request that held one connection while
/// waiting for a second deadlocked the pool under load (the pages benchmark found it: 32
/// concurrent dashboards and no request ever finished).
pub async fn db() -> AppResult<DbConn> {
    if use_context::<http::request::Parts>().is_some() {
        session().await?.get::<serde_json::Value>(LOAD_SESSION_PROBE).await?;
    }
    Ok(app_state()?.pool.get().await?)
}

/// A key nobody writes; reading it makes the session store load the session.
const LOAD_SESSION_PROBE: &str = "_loaded";

/// The visitor's session (created lazily by the session layer).
///
/// Outside a request there is no caller, so this fails closed with `Unauthorized`.
pub async fn session() -> AppResult<Session> {
    if use_context::<http::request::Parts>().is_none() {
        tracing::warn!("no request context; treating the caller as anonymous");
        return Err(AppError::Unauthorized);
    }
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal("the session layer is missing", e))
}

/// The client's address: the last `X-Forwarded-For` entry when a trusted proxy adds it,
/// otherwise the connection's peer address.
pub fn client_ip() -> Option<IpAddr> {
    let parts = use_context::<http::request::Parts>()?;
    let trust_proxy = app_state().map(|state| state.config.http.trust_forwarded_for).unwrap_or(false);
    if trust_proxy
        && let Some(ip) = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .filter_map(|entry| entry.trim().parse::<IpAddr>().ok())
            .next_back()
    {
        return Some(ip);
    }
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}
