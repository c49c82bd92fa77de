//! The Cadence server: configuration, database, sessions, routes, background jobs, shutdown.
//!
//! `main.rs` only parses the command line and calls into here, so integration tests build the
//! very same router with [`build_router`].

pub mod api_errors;
pub mod backup;
pub mod bundle_files;
pub mod check_config;
pub mod pg_tools;
pub mod request_bodies;
pub mod media_pull;
pub mod member_media;
pub mod preview_video;
pub mod ranged;
pub mod migrations;
pub mod oauth_callback;
pub mod scheduler;
pub mod security;
pub mod serving;
pub mod session_store;
pub mod telemetry;
pub mod tiktok_setup;
pub mod webhooks;
pub mod metrics_endpoint;
pub mod mail_jobs;
pub mod db_watch;

use app::{App, config::Config, crypto::TokenCipher, db::DbPool, shell, state::AppState};
use axum::{Json, Router, extract::State, http::StatusCode, middleware, response::IntoResponse, routing::get};
use leptos::prelude::*;
use leptos_axum::{LeptosRoutes as _, generate_route_list};
use std::sync::Arc;
use tower_http::trace::TraceLayer;
use tower_sessions::{Expiry, SessionManagerLayer, cookie::SameSite};

/// Name of the session cookie over plain http (a local run).
pub const SESSION_COOKIE: &str = "cadence_session";
/// Name of the session cookie over https: the `__Host-` prefix makes browsers refuse a cookie
/// of that name set by a sibling subdomain or without `Secure`, so nobody can plant one.
pub const SECURE_SESSION_COOKIE: &str = "__Host-cadence_session";

/// The session cookie's name for this configuration.
pub fn session_cookie_name(config: &Config) -> &'static str {
    if config.http.secure_cookies() { SECURE_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// Builds the shared state (the pool opens connections lazily) and, in sandbox mode, starts
/// the sandbox that stands in for TikTok on its own listener (so it must run inside Tokio).
pub fn build_state(
    config: Config,
    cipher: TokenCipher,
    leptos_options: LeptosOptions,
) -> anyhow::Result<(AppState, Option<sandbox::Sandbox>)> {
    let pool: DbPool = app::db::build_pool(&config.database, config.database.pool_size)?;
    app::metrics::register_pool("web", &pool);
    let setup = tiktok_setup::tiktok_setup(&config, leptos_options.site_addr)?;
    let sandbox = match setup.sandbox {
        Some(server) => {
            // The control room's token is printed once, for the person who started the server.
            let token = server.sandbox.config().admin_token.clone().unwrap_or_default();
            tracing::info!(url = %server.url, "TikTok sandbox listening on its own origin");
            eprintln!("TikTok sandbox: {}/_sandbox/ (control room password: {token})", server.url);
            Some(server.spawn()?)
        }
        None => None,
    };
    let config_media = config.media.clone();
    let mut leptos_options = leptos_options;
    app::assets::Bundle::prepare(&mut leptos_options);
    let state = AppState {
        leptos_options,
        pool,
        config: Arc::new(config),
        cipher: Arc::new(cipher),
        tiktok: Arc::new(setup.app),
        media: Arc::new(app::media::store::MediaStore::from_config(&config_media)?),
        analytics_cache: Arc::default(),
    };
    Ok((state, sandbox))
}

/// Every route of the app, with sessions, the origin check, security headers, body limits and
/// request tracing around them.
pub fn build_router(state: AppState) -> Router {
    let routes = route_list();
    let config = state.config.clone();
    let context_state = state.clone();
    let shell_options = state.leptos_options.clone();
    let (pkg_path, pkg_files) = bundle_files::router(&state.leptos_options);

    let sessions = SessionManagerLayer::new(session_store::PgSessionStore::new(state.pool.clone()))
        .with_name(session_cookie_name(&config))
        .with_path("/")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(config.http.secure_cookies())
        .with_expiry(Expiry::OnInactivity(
            time::Duration::try_from(config.sessions.idle_timeout).unwrap_or(time::Duration::days(14)),
        ));
    let origin_policy = security::OriginPolicy {
        public_origin: config.http.public_origin.clone(),
        session_cookie: session_cookie_name(&config),
    };
    let header_policy = security::HeaderPolicy { consent_origin: state.tiktok.client.consent_origin() };
    let host_policy = if config.tiktok.sandbox_mode() && config.http.public_origin.is_none() {
        security::HostPolicy::LoopbackOnly
    } else {
        security::HostPolicy::Any
    };

    Router::new()
        .route("/healthz", get(healthz))
        // Liveness (the process answers), apart from readiness (/healthz: the database answers);
        // also the ceiling the pages benchmark compares with.
        .route("/livez", get(|| async { "ok" }))
        .route("/metrics", get(metrics_endpoint::metrics_with_token))
        .route("/oauth/tiktok/callback", get(oauth_callback::tiktok_callback))
        .route(
            "/webhooks/tiktok",
            // Refused while reading, before a body past TikTok's size is buffered (I3).
            axum::routing::post(webhooks::tiktok_webhook)
                .layer(axum::extract::DefaultBodyLimit::max(webhooks::MAX_WEBHOOK_BYTES)),
        )
        // TikTok downloads scheduled posts' videos here (PULL_FROM_URL).
        .route("/media/pull/{token}", get(media_pull::serve))
        // A client preview link's videos (its page is a Leptos route).
        .route("/preview/{token}/video/{post_id}", get(preview_video::serve))
        // Members' own videos and frames (the post page's preview, the lists' thumbnails).
        .route("/posts/{id}/video", get(member_media::post_video))
        .route("/posts/{id}/thumbnail", get(member_media::post_thumbnail))
        .route("/posts/{id}/photos/{index}", get(member_media::post_photo))
        .route("/drafts/{id}/photos/{index}", get(member_media::draft_photo))
        .route("/drafts/{id}/video", get(member_media::draft_video))
        .route("/drafts/{id}/thumbnail", get(member_media::draft_thumbnail))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context_state.clone());
                provide_context(app::request_scope::RequestLife::default());
            },
            move || shell(shell_options.clone()),
        )
        .nest_service(&pkg_path, pkg_files)
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // Innermost, so each request is counted under the route pattern it matched.
        .layer(middleware::from_fn(metrics_endpoint::record_requests))
        .layer(middleware::from_fn(api_errors::error_statuses))
        .layer(sessions)
        .layer(middleware::from_fn_with_state(origin_policy, security::require_same_origin))
        .layer(middleware::from_fn_with_state(header_policy, security::security_headers))
        .layer(middleware::from_fn_with_state(
            security::HygienePolicy { hsts: config.http.secure_cookies() },
            security::session_hygiene_headers,
        ))
        .layer(middleware::from_fn_with_state(
            request_bodies::BodyPolicy { limit: config.http.body_limit_bytes, idle: config.http.body_idle_timeout },
            request_bodies::limit_request_bodies,
        ))
        .layer(middleware::from_fn_with_state(host_policy, security::require_known_host))
        .layer(TraceLayer::new_for_http().make_span_with(telemetry::request_span))
        .with_state(state)
}

/// The app's routes, found once per process.
///
/// Finding them renders the app with resource loading switched off, and that switch is one
/// process-wide flag (leptos' `SuppressResourceLoad`): a page rendered while another router was
/// being built got resources that never loaded, and waited forever. Building every later router
/// from this one list keeps the flag down once the first router exists.
fn route_list() -> Vec<leptos_axum::AxumRouteListing> {
    static ROUTES: std::sync::LazyLock<Vec<leptos_axum::AxumRouteListing>> =
        std::sync::LazyLock::new(|| generate_route_list(App));
    ROUTES.clone()
}

/// `GET /healthz`: 200 when the database answers, 503 otherwise; with each background job's
/// last run and each TikTok endpoint's circuit breaker, which do not change the status.
async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    use diesel_async::RunQueryDsl as _;
    let database_ok = match state.pool.get().await {
        Ok(mut conn) => diesel::sql_query("SELECT 1").execute(&mut conn).await.is_ok(),
        Err(_) => false,
    };
    let status = if database_ok { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let rfc3339 = |at: time::OffsetDateTime| at.format(&time::format_description::well_known::Rfc3339).ok();
    let jobs: serde_json::Map<String, serde_json::Value> = app::metrics::job_records()
        .into_iter()
        .map(|(job, run)| {
            let summary = serde_json::json!({
                "last_started": rfc3339(run.last_started),
                "last_finished": run.last_finished.and_then(rfc3339),
                "last_duration_ms": run.last_duration.map(|took| took.as_millis() as u64),
                "overruns": run.overruns,
            });
            (job.to_owned(), summary)
        })
        .collect();
    let breakers: serde_json::Map<String, serde_json::Value> = state
        .tiktok
        .client
        .breaker_states()
        .into_iter()
        .map(|(endpoint, circuit)| (endpoint.to_owned(), serde_json::Value::from(circuit)))
        .collect();
    (
        status,
        Json(serde_json::json!({
            "status": if database_ok { "ok" } else { "database unavailable" },
            "jobs": jobs,
            "breakers": breakers,
        })),
    )
}

/// Runs the server until Ctrl-C or SIGTERM: migrations, background jobs, HTTP.
pub async fn run(config: Config, cipher: TokenCipher) -> anyhow::Result<()> {
    let leptos_options = get_configuration(None)?.leptos_options;
    let addr = leptos_options.site_addr;
    let scheduler_enabled = config.scheduler_enabled;
    let sandbox_mode = config.tiktok.sandbox_mode();
    tracing::info!(key.id = cipher.current_key_id(), key.source = ?config.token_key_source, "token keys loaded");
    let (state, sandbox) = build_state(config, cipher, leptos_options)?;
    // Says in the log when the database stops answering and when it answers again.
    db_watch::spawn(state.config.database.url.clone());

    let applied = migrations::run_pending(&state.config.database.url).await?;
    tracing::info!(applied, "database migrations are up to date");
    // Refuse to run with keys that do not open the stored tokens: every account would look
    // connected while nothing could be posted.
    let checked = app::accounts::keys::check_stored_keys(&mut *state.pool.get().await?, &state.cipher).await?;
    tracing::info!(key_ids = checked, "stored TikTok tokens open with the configured keys");

    let media_dir = match &state.config.media {
        app::config::MediaConfig::Local { dir } => Some(dir.clone()),
        _ => None,
    };
    let swept = app::media::sweep::sweep_leftovers(
        media_dir.as_deref(),
        &state.config.data_dir.join("spool"),
        std::time::SystemTime::now(),
    )
    .await;
    if swept > 0 {
        tracing::info!(swept, "removed half-written videos and chunk spools left by a stopped server");
    }
    // The bucket's counterpart of `.partial` files: a start must not fail on it.
    match state.media.abort_stale_uploads(std::time::SystemTime::now()).await {
        Ok(0) => {}
        Ok(aborted) => tracing::info!(aborted, "aborted unfinished bucket uploads left by a stopped server"),
        Err(error) => tracing::warn!(error = %error, "unfinished bucket uploads could not be listed; they stay for now"),
    }

    // Notifications queue e-mails only while some server will send them.
    app::mail::outbox::set_delivery(&mut *state.pool.get().await?, state.config.smtp.is_some()).await?;
    tracing::info!(enabled = state.config.smtp.is_some(), "e-mail notifications");
    if let Some(metrics_addr) = state.config.metrics.addr {
        metrics_endpoint::spawn_listener(metrics_addr, state.clone()).await?;
    }

    let jobs = if scheduler_enabled { Some(scheduler::start(state.clone()).await?) } else { None };

    let header_read_timeout = state.config.http.header_read_timeout;
    let router = build_router(state);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(
        addr = %addr,
        sandbox = sandbox_mode,
        "Cadence is listening on http://{addr}{}",
        if sandbox_mode { " (sandbox mode: no TikTok credentials configured)" } else { "" }
    );
    serving::serve(listener, router, header_read_timeout, shutdown_signal()).await;

    if let Some(jobs) = jobs {
        jobs.shutdown().await?;
    }
    // A refresh TikTok has already answered must be stored before the process exits.
    app::accounts::ssr::wait_for_refreshes().await;
    // Last, so the refreshes just stored at TikTok's side are in the sandbox's file too.
    if let Some(sandbox) = sandbox
        && let Err(error) = sandbox.save_state()
    {
        tracing::warn!(%error, "the sandbox's state could not be saved at shutdown");
    }
    tracing::info!("Cadence stopped");
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
