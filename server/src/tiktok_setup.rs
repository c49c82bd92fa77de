//! Chooses who Cadence talks to: real TikTok with configured credentials, or the built-in
//! sandbox (sandbox mode). The TikTok client itself never knows the difference.
//!
//! In sandbox mode the sandbox listens on an address of its own (`CADENCE_SANDBOX_ADDR`), so the
//! browser meets it on another origin exactly as it meets TikTok's real domain: Cadence's CSP,
//! cookies and redirects are exercised for real, not short-circuited by a shared origin.

use app::{
    config::Config,
    tiktok::client::{TikTokApp, TikTokClient, TikTokEndpoints},
};
use sandbox::{Sandbox, SandboxConfig};
use std::{net::SocketAddr, time::Duration};

/// The built-in sandbox's state, under the data directory.
pub const SANDBOX_STATE_FILE: &str = "sandbox-state.json";

/// The TikTok side of the server: the client, and the sandbox when it stands in for TikTok.
pub struct TikTokSetup {
    pub app: TikTokApp,
    pub sandbox: Option<SandboxServer>,
}

/// The built-in sandbox and the listener it will serve on.
pub struct SandboxServer {
    pub sandbox: Sandbox,
    /// Where browsers and Cadence reach it, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    listener: std::net::TcpListener,
}

impl SandboxServer {
    /// Serves the sandbox on its own listener for as long as the runtime runs.
    pub fn spawn(self) -> std::io::Result<Sandbox> {
        self.listener.set_nonblocking(true)?;
        let listener = tokio::net::TcpListener::from_std(self.listener)?;
        tokio::spawn(sandbox::serve(listener, self.sandbox.clone()));
        self.sandbox.keep_saving();
        Ok(self.sandbox)
    }
}

/// Builds the client (and, without credentials, the sandbox) for a server listening on `addr`.
pub fn tiktok_setup(config: &Config, addr: SocketAddr) -> anyhow::Result<TikTokSetup> {
    // The server calls itself over loopback even when it listens on all interfaces.
    let loopback = |addr: SocketAddr| {
        if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr }
    };
    let local = format!("http://{}", loopback(addr));
    let browser_origin = config.http.public_origin.clone().unwrap_or_else(|| local.clone());
    let redirect_uri = format!("{browser_origin}/oauth/tiktok/callback");
    let tiktok = &config.tiktok;
    let scopes = tiktok.requested_scopes.clone();

    let (endpoints, sandbox) = match &tiktok.credentials {
        Some(credentials) => (
            TikTokEndpoints {
                api_base: tiktok.api_url.clone().unwrap_or_else(|| "https://open.tiktokapis.com".into()),
                authorize_base: tiktok.auth_url.clone().unwrap_or_else(|| "https://www.tiktok.com".into()),
                client_key: credentials.client_key.clone(),
                client_secret: credentials.client_secret.clone(),
                scopes,
            },
            None,
        ),
        None => {
            let listener = std::net::TcpListener::bind(tiktok.sandbox_addr).map_err(|error| {
                anyhow::anyhow!("CADENCE_SANDBOX_ADDR: cannot listen on {} for the TikTok sandbox: {error}", tiktok.sandbox_addr)
            })?;
            let sandbox_url = format!("http://{}", loopback(listener.local_addr()?));
            let sandbox_config = SandboxConfig {
                public_base_url: sandbox_url.clone(),
                access_token_ttl: Duration::from_secs(tiktok.sandbox_access_token_secs),
                refresh_token_ttl: Duration::from_secs(tiktok.sandbox_refresh_token_secs),
                webhook_url: Some(format!("{local}/webhooks/tiktok")),
                // Random per process: the sandbox's default secret is public, and anyone knowing
                // it could forge webhooks to a sandbox-mode server reachable from outside.
                client_secret: app::crypto::random_token(24),
                // The built-in sandbox plays an app registered for this server's callback and
                // approved for exactly what Cadence is configured to ask.
                registered_redirect_uris: vec![redirect_uri.clone()],
                approved_scopes: scopes.clone(),
                // Its control room (faults, revocations, the request log) is not for visitors.
                admin_token: Some(app::crypto::random_token(24)),
                // As if the operator had verified the media URL prefix in TikTok's portal; a
                // local run has no certificate, so loopback http counts.
                verified_url_prefixes: config.media_public_url.iter().map(|url| url.prefix()).collect(),
                allow_loopback_http_pulls: true,
                // Connections survive a restart: grants, tokens and publishes are kept in the
                // data directory, beside the token keys that open Cadence's copies.
                state_file: Some(config.data_dir.join(SANDBOX_STATE_FILE)),
                ..SandboxConfig::default()
            };
            let endpoints = TikTokEndpoints {
                api_base: tiktok.api_url.clone().unwrap_or_else(|| sandbox_url.clone()),
                authorize_base: tiktok.auth_url.clone().unwrap_or_else(|| sandbox_url.clone()),
                client_key: sandbox_config.client_key.clone(),
                client_secret: sandbox_config.client_secret.clone().into(),
                scopes,
            };
            let sandbox = SandboxServer { sandbox: Sandbox::new(sandbox_config), url: sandbox_url, listener };
            (endpoints, Some(sandbox))
        }
    };
    let webhook_secret = endpoints.client_secret.clone();
    let client = TikTokClient::new(endpoints)?;
    Ok(TikTokSetup { app: TikTokApp { client, redirect_uri, webhook_secret }, sandbox })
}
