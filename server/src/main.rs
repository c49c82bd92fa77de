//! The `server` binary: `server` (or `server serve`) runs Cadence; `server migrate` applies
//! migrations and exits; `server generate-token-key` prints a new key entry;
//! `server reencrypt-tokens` re-seals every TikTok token with the current (first) key;
//! `server sandbox [ADDR]` runs only the TikTok sandbox (default 127.0.0.1:3100);
//! `server check-config` prints what a start would use and what is wrong;
//! `server backup --to DIR` / `server restore --from DIR` copy the database, media and keys.

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
    if command == "check-config" {
        return server::check_config::run().await;
    }
    if command == "restore" {
        return restore().await;
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
        "backup" => backup(&config, &cipher).await,
        other => {
            eprintln!(
                "unknown command {other:?}; use serve, migrate, generate-token-key, reencrypt-tokens, sandbox, \
                 check-config, backup --to DIR or restore --from DIR"
            );
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

/// `server backup --to DIR [--pg-bin DIR]`.
async fn backup(config: &Config, cipher: &app::crypto::TokenCipher) -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let dir = server::backup::flag(&args, "--to").ok_or_else(|| anyhow::anyhow!("usage: server backup --to DIR [--pg-bin DIR]"))?;
    let tools = server::pg_tools::PgTools::find(server::backup::flag(&args, "--pg-bin"));
    let manifest = server::backup::backup(config, cipher, &tools, &dir).await?;
    let media_bytes: u64 = manifest.media.files.iter().map(|f| f.bytes).sum();
    println!("Backup written to {}", dir.display());
    println!(
        "  database: {} ({} bytes; {} users, {} teams, {} accounts, {} posts)",
        manifest.database.file,
        manifest.database.bytes,
        manifest.counts.users,
        manifest.counts.teams,
        manifest.counts.accounts,
        manifest.counts.posts
    );
    match manifest.media.store.as_str() {
        "local" => println!(
            "  media: {} video(s), {media_bytes} bytes, every video the database refers to is present{}",
            manifest.media.files.len(),
            if manifest.media.expired_and_removed.is_empty() {
                String::new()
            } else {
                format!(" ({} expired ones were cleaned up meanwhile)", manifest.media.expired_and_removed.len())
            }
        ),
        _ => println!("  media: in the S3 bucket, not copied; the bucket's versioning or replication is its backup"),
    }
    match manifest.token_keys.file {
        Some(_) => println!("  token keys: the key file (ids {}), mode 0600; keep this directory private", manifest.token_keys.key_ids.join(", ")),
        None => println!(
            "  token keys: NOT in the backup (they come from CADENCE_TOKEN_KEYS, ids {}); keep them safe separately",
            manifest.token_keys.key_ids.join(", ")
        ),
    }
    Ok(())
}

/// `server restore --from DIR [--pg-bin DIR]`: into an empty database and media directory.
async fn restore() -> std::process::ExitCode {
    let args: Vec<String> = std::env::args().skip(2).collect();
    let outcome = async {
        let dir = server::backup::flag(&args, "--from")
            .ok_or_else(|| anyhow::anyhow!("usage: server restore --from DIR [--pg-bin DIR]"))?;
        let manifest = server::backup::read_verified(&dir)?;
        // The key file goes in place before the configuration is read: otherwise a new key
        // would be generated and no restored token would open.
        let data_dir = std::path::PathBuf::from(
            std::env::var("CADENCE_DATA_DIR").ok().filter(|v| !v.trim().is_empty()).unwrap_or_else(|| ".data".into()),
        );
        let keys_from_environment = std::env::var("CADENCE_TOKEN_KEYS").is_ok_and(|v| !v.trim().is_empty());
        server::backup::restore_key_file(&dir, &manifest, &data_dir, keys_from_environment)?;
        let (config, cipher) = Config::from_env().map_err(|e| anyhow::anyhow!("{e}"))?;
        let tools = server::pg_tools::PgTools::find(server::backup::flag(&args, "--pg-bin"));
        let restored = server::backup::restore(&config, &cipher, &tools, &dir, manifest).await?;
        println!("Restored the backup of {} from {}", restored.manifest.created_at, dir.display());
        println!(
            "  {} users, {} teams, {} accounts, {} posts, {} video(s); stored tokens open with the keys ({} key id(s) checked)",
            restored.counts.users,
            restored.counts.teams,
            restored.counts.accounts,
            restored.counts.posts,
            restored.manifest.media.files.len(),
            restored.key_ids_checked
        );
        anyhow::Ok(())
    }
    .await;
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("restore failed: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
