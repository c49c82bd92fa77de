//! The state shared by every request, and the helpers server functions use to reach it.

use crate::{
    config::Config,
    crypto::TokenCipher,
    db::{DbConn, DbPool},
    error::{AppError, AppResult},
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
}

/// The state of the running server, from the request context.
pub fn app_state() -> AppResult<AppState> {
    use_context::<AppState>()
        .ok_or_else(|| AppError::internal("AppState is missing from the request context", "no context"))
}

/// A pooled database connection.
pub async fn db() -> AppResult<DbConn> {
    Ok(app_state()?.pool.get().await?)
}

/// The visitor's session (created lazily by the session layer).
pub async fn session() -> AppResult<Session> {
    leptos_axum::extract::<Session>()
        .await
        .map_err(|e| AppError::internal("the session layer is missing", e))
}

/// The peer address of the request, when the server was started with connect info.
pub fn client_ip() -> Option<IpAddr> {
    let parts = use_context::<http::request::Parts>()?;
    parts
        .extensions
        .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
        .map(|info| info.0.ip())
}
