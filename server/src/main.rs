//! The `server` binary: `server` (or `server serve`) runs Cadence; `server migrate` applies
//! migrations and exits; `server generate-token-key` prints a new key entry;
//! `server reencrypt-tokens` re-seals every TikTok token with the current (first) key;
//! `server sandbox [ADDR]` runs only the TikTok sandbox (default 127.0.0.1:3100).

use app::config::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".to_owned());
    if command == "generate-token-key" {
        let id = format!("k{}", time::OffsetDateTime::now_utc().unix_timestamp());
        println!("{}", app::crypto::TokenCipher::generate_key_entry(&id));
        return std::process::ExitCode::SUCCESS;
    }
    if command == "sandbox" {
        return run_sandbox(std::env::args().nth(2)).await;
    }
    let (config, cipher) = match Config::from_env() {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("Cadence cannot start: {error}");
            return std::process::ExitCode::from(2);
        }
    };
    server::telemetry::init(config.log_format);
    let result = match command.as_str() {
        "serve" => server::run(config, cipher).await,
        "migrate" => server::migrations::run_pending(&config.database.url)
            .await
            .map(|applied| tracing::info!(applied, "migrations applied")),
        "reencrypt-tokens" => reencrypt_tokens(&config, &cipher).await,
        other => {
            eprintln!("unknown command {other:?}; use serve, migrate, generate-token-key, reencrypt-tokens or sandbox");
            return std::process::ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("Cadence stopped with an error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Re-seals tokens sealed with an older key (after putting a new key first in
/// `CADENCE_TOKEN_KEYS`), so the old key can then be removed.
async fn reencrypt_tokens(config: &Config, cipher: &app::crypto::TokenCipher) -> anyhow::Result<()> {
    let pool = app::db::build_pool(&config.database, 1)?;
    let mut conn = pool.get().await?;
    let rewritten = app::accounts::ssr::reencrypt_all(&mut conn, cipher)
        .await
        .map_err(|e| anyhow::anyhow!("re-encryption failed: {e}"))?;
    tracing::info!(rewritten, key.id = cipher.current_key_id(), "tokens re-encrypted with the current key");
    Ok(())
}

/// Runs the TikTok sandbox alone, for tests that start several Cadence servers against it.
async fn run_sandbox(addr: Option<String>) -> std::process::ExitCode {
    server::telemetry::init(app::config::LogFormat::Text);
    let addr = addr.unwrap_or_else(|| "127.0.0.1:3100".into());
    let listener = match tokio::net::TcpListener::bind(&addr).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("cannot listen on {addr}: {error}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let config = sandbox::SandboxConfig { public_base_url: format!("http://{addr}"), ..Default::default() };
    tracing::info!("TikTok sandbox listening on http://{addr}");
    match sandbox::serve(listener, sandbox::Sandbox::new(config)).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("sandbox stopped: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}
