//! The `server` binary: `server` (or `server serve`) runs Cadence; `server migrate` applies
//! migrations and exits; `server generate-token-key` prints a new key entry.

use app::config::Config;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".to_owned());
    if command == "generate-token-key" {
        let id = format!("k{}", time::OffsetDateTime::now_utc().unix_timestamp());
        println!("{}", app::crypto::TokenCipher::generate_key_entry(&id));
        return std::process::ExitCode::SUCCESS;
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
        other => {
            eprintln!("unknown command {other:?}; use serve, migrate or generate-token-key");
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
