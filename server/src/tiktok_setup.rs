//! Chooses who Cadence talks to: real TikTok with configured credentials, or the sandbox
//! mounted in this server (sandbox mode). The TikTok client itself never knows the difference.

use app::{
    config::Config,
    tiktok::client::{TikTokApp, TikTokClient, TikTokEndpoints},
};
use sandbox::{Sandbox, SandboxConfig};
use std::{net::SocketAddr, time::Duration};

/// Where the in-process sandbox is mounted.
pub const SANDBOX_PREFIX: &str = "/sandbox/tiktok";

/// The TikTok side of the server: the client, and the sandbox when it stands in for TikTok.
pub struct TikTokSetup {
    pub app: TikTokApp,
    pub sandbox: Option<Sandbox>,
}

/// Builds the client (and, without credentials, the sandbox) for a server listening on `addr`.
pub fn tiktok_setup(config: &Config, addr: SocketAddr) -> anyhow::Result<TikTokSetup> {
    // The server calls itself over loopback even when it listens on all interfaces.
    let loopback = if addr.ip().is_unspecified() { SocketAddr::from(([127, 0, 0, 1], addr.port())) } else { addr };
    let local = format!("http://{loopback}");
    let browser_origin = config.http.public_origin.clone().unwrap_or_else(|| local.clone());
    let redirect_uri = format!("{browser_origin}/oauth/tiktok/callback");
    let tiktok = &config.tiktok;

    let (endpoints, sandbox) = match &tiktok.credentials {
        Some(credentials) => (
            TikTokEndpoints {
                api_base: tiktok.api_url.clone().unwrap_or_else(|| "https://open.tiktokapis.com".into()),
                authorize_base: tiktok.auth_url.clone().unwrap_or_else(|| "https://www.tiktok.com".into()),
                client_key: credentials.client_key.clone(),
                client_secret: credentials.client_secret.clone(),
            },
            None,
        ),
        None => {
            let sandbox_base = format!("{local}{SANDBOX_PREFIX}");
            let sandbox_config = SandboxConfig {
                public_base_url: sandbox_base.clone(),
                access_token_ttl: Duration::from_secs(tiktok.sandbox_access_token_secs),
                refresh_token_ttl: Duration::from_secs(tiktok.sandbox_refresh_token_secs),
                webhook_url: Some(format!("{local}/webhooks/tiktok")),
                // Random per process: the sandbox's default secret is public, and anyone knowing
                // it could forge webhooks to a sandbox-mode server reachable from outside.
                client_secret: app::crypto::random_token(24),
                ..SandboxConfig::default()
            };
            let endpoints = TikTokEndpoints {
                api_base: tiktok.api_url.clone().unwrap_or(sandbox_base),
                // Relative unless a public URL is set: the browser stays on this origin.
                authorize_base: tiktok.auth_url.clone().unwrap_or_else(|| {
                    format!("{}{SANDBOX_PREFIX}", config.http.public_origin.clone().unwrap_or_default())
                }),
                client_key: sandbox_config.client_key.clone(),
                client_secret: sandbox_config.client_secret.clone().into(),
            };
            (endpoints, Some(Sandbox::new(sandbox_config)))
        }
    };
    let webhook_secret = endpoints.client_secret.clone();
    let client = TikTokClient::new(endpoints)?;
    Ok(TikTokSetup { app: TikTokApp { client, redirect_uri, webhook_secret }, sandbox })
}
