//! Logging set-up (text or JSON lines) and the span every request runs in.

use app::config::LogFormat;
use axum::http::Request;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Installs the global subscriber; `RUST_LOG` overrides the default `info` level.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,tower_http=info,tokio_cron_scheduler=warn"));
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        LogFormat::Json => registry.with(fmt::layer().json().flatten_event(true)).init(),
        LogFormat::Text => registry.with(fmt::layer()).init(),
    }
}

/// A request span with method and path only: query strings can carry OAuth codes and headers
/// carry cookies, so neither is recorded, and secrets inside paths are masked.
pub fn request_span<B>(request: &Request<B>) -> tracing::Span {
    tracing::info_span!("request", method = %request.method(), path = %loggable_path(request.uri().path()))
}

/// Paths that embed a secret (invite links, media pull URLs) are logged without it.
pub fn loggable_path(path: &str) -> &str {
    if path.starts_with("/invite/") {
        "/invite/[redacted]"
    } else if path.starts_with(app::previews::ssr::ROUTE_PREFIX) {
        // A client preview link shows its posts to whoever holds it.
        "/preview/[redacted]"
    } else if path.starts_with(app::media::public_url::ROUTE_PREFIX) {
        // A pull URL's token opens a stored video until it expires.
        "/media/pull/[redacted]"
    } else {
        path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invite_tokens_never_reach_the_log() {
        assert_eq!(loggable_path("/invite/AbCdEf123"), "/invite/[redacted]");
        assert_eq!(loggable_path("/preview/AbCdEf123/video/1"), "/preview/[redacted]");
        assert_eq!(loggable_path("/team"), "/team");
        assert_eq!(loggable_path("/media/pull/AbCdEf123"), "/media/pull/[redacted]");
    }
}
