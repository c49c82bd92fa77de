//! Background jobs inside the server (tokio-cron-scheduler): publish scheduled posts when due,
//! follow uploads until TikTok settles them, recover posts whose server stopped mid-send, renew TikTok tokens before they expire,
//! read creators' profiles (expiring avatar URLs) again, and clean
//! up expired sessions, old log-in failures, spent rate-limit records and released videos.

use crate::session_store::PgSessionStore;
use app::{
    accounts::ssr::{REFRESH_SPACING, due_for_refresh, refresh_account},
    auth::ssr::prune_login_failures,
    state::AppState,
};
use app::{
    media::catalog,
    publishing::{due::publish_due, recovery::recover_expired, status::check_due_statuses},
    tiktok::rate_limit,
};
use std::sync::Arc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tower_sessions::ExpiredDeletion as _;

/// The running jobs.
pub struct Jobs {
    scheduler: JobScheduler,
    publishing: Arc<tokio::sync::Mutex<()>>,
}

/// How long shutdown waits for posts being sent; after that their leases run out and another
/// server (or this one, restarted) reconciles them through TikTok's status.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(60);

impl Jobs {
    /// Stops starting new work, then lets the posts being sent finish (within a grace period).
    pub async fn shutdown(mut self) -> Result<(), JobSchedulerError> {
        self.scheduler.shutdown().await?;
        if tokio::time::timeout(SHUTDOWN_GRACE, self.publishing.lock()).await.is_err() {
            tracing::warn!("posts still sending at shutdown; their leases will run out and they will be reconciled");
        }
        Ok(())
    }
}

/// Starts the jobs; the returned [`Jobs`] must be shut down on exit.
///
/// The jobs draw from a pool of their own (`CADENCE_JOBS_POOL_SIZE`): a burst of due posts or
/// token refreshes waits for the jobs' connections and never takes the ones pages need.
pub async fn start(state: AppState) -> Result<Jobs, JobSchedulerError> {
    let jobs_pool = app::db::build_pool(&state.config.database, state.config.database.jobs_pool_size)
        .map_err(|error| {
            tracing::error!(error = %error, "the jobs' database pool could not be built");
            JobSchedulerError::CantInit
        })?;
    app::metrics::register_pool("jobs", &jobs_pool);
    let state = AppState { pool: jobs_pool, ..state };
    let scheduler = JobScheduler::new().await?;

    let store = PgSessionStore::new(state.pool.clone());
    // Six fields, seconds first: at second 0 of every minute.
    scheduler
        .add(Job::new_async("0 * * * * *", move |_, _| {
            let store = store.clone();
            Box::pin(async move {
                let _run = app::metrics::job_run("delete_expired_sessions");
                if let Err(error) = store.delete_expired().await {
                    tracing::warn!(error = %error, "deleting expired sessions failed; will retry next minute");
                }
            })
        })?)
        .await?;

    let prune_state = state.clone();
    scheduler
        .add(Job::new_async("30 */10 * * * *", move |_, _| {
            let state = prune_state.clone();
            Box::pin(async move {
                let _run = app::metrics::job_run("prune_login_failures");
                let result = async {
                    let mut conn = state.pool.get().await.map_err(|e| e.to_string())?;
                    let now = time::OffsetDateTime::now_utc();
                    // Browsers unused for half a year stop being known devices.
                    app::auth::known_devices::prune(&mut conn, now).await.map_err(|e| e.to_string())?;
                    prune_login_failures(&mut conn, &state.config.login_limits, now)
                        .await
                        .map_err(|e| e.to_string())
                }
                .await;
                match result {
                    Ok(pruned) => tracing::debug!(pruned, "old log-in failures pruned"),
                    Err(error) => tracing::warn!(error = %error, "pruning log-in failures failed"),
                }
            })
        })?)
        .await?;

    let refresh_state = state.clone();
    let refreshing = Arc::new(tokio::sync::Mutex::new(()));
    scheduler
        // A run that is still going (a slow TikTok, many accounts due after an outage) makes
        // the next ticks skip, so runs never pile up behind each other.
        .add(Job::new_async("*/15 * * * * *", move |_, _| {
            let (state, running) = (refresh_state.clone(), refreshing.clone());
            Box::pin(async move {
                let Ok(_guard) = running.try_lock() else { return app::metrics::job_overrun("refresh_tokens") };
                let _run = app::metrics::job_run("refresh_tokens");
                refresh_due_tokens(&state).await;
            })
        })?)
        .await?;

    // One id per process: it names the lease holder of the posts this server is sending.
    let worker = uuid::Uuid::new_v4();
    let publish_state = state.clone();
    let publishing = Arc::new(tokio::sync::Mutex::new(()));
    let publishing_guard = publishing.clone();
    scheduler
        // Every second: a post is started within about a second of its time. A run keeps
        // claiming what falls due while it sends, so ticks that find it busy are skipped.
        .add(Job::new_async("* * * * * *", move |_, _| {
            let (state, running) = (publish_state.clone(), publishing.clone());
            Box::pin(async move {
                let Ok(_guard) = running.try_lock() else { return app::metrics::job_overrun("publish_due") };
                let _run = app::metrics::job_run("publish_due");
                match publish_due(&state, time::OffsetDateTime::now_utc(), worker).await {
                    Ok(0) => {}
                    Ok(taken) => tracing::info!(taken, "scheduled posts sent"),
                    Err(error) => tracing::warn!(error = %error, "publishing due posts failed; will retry"),
                }
            })
        })?)
        .await?;

    // Due posts still waiting for an approver: their teams are told, once per post.
    let approval_state = state.clone();
    scheduler
        .add(Job::new_async("5/10 * * * * *", move |_, _| {
            let state = approval_state.clone();
            Box::pin(async move {
                let _run = app::metrics::job_run("flag_unapproved");
                let flagged = match state.pool.get().await {
                    Ok(mut conn) => app::approvals::ssr::flag_overdue(&mut conn, time::OffsetDateTime::now_utc()).await.map_err(|e| e.to_string()),
                    Err(error) => Err(error.to_string()),
                };
                match flagged {
                    Ok(0) => {}
                    Ok(flagged) => tracing::info!(flagged, "due posts wait for approval"),
                    Err(error) => tracing::warn!(error = %error, "telling about unapproved due posts failed; will retry"),
                }
            })
        })?)
        .await?;

    let status_state = state.clone();
    let checking = Arc::new(tokio::sync::Mutex::new(()));
    scheduler
        .add(Job::new_async("*/2 * * * * *", move |_, _| {
            let (state, running) = (status_state.clone(), checking.clone());
            Box::pin(async move {
                let Ok(_guard) = running.try_lock() else { return app::metrics::job_overrun("check_statuses") };
                let _run = app::metrics::job_run("check_statuses");
                if let Err(error) = check_due_statuses(&state, time::OffsetDateTime::now_utc()).await {
                    tracing::warn!(error = %error, "checking publish statuses failed; will retry");
                }
            })
        })?)
        .await?;

    // TikTok's avatar URLs expire within hours: read stale profiles again every ten minutes.
    let profile_state = state.clone();
    let reading_profiles = Arc::new(tokio::sync::Mutex::new(()));
    scheduler
        .add(Job::new_async("45 */10 * * * *", move |_, _| {
            let (state, running) = (profile_state.clone(), reading_profiles.clone());
            Box::pin(async move {
                let Ok(_guard) = running.try_lock() else { return app::metrics::job_overrun("read_profiles") };
                let _run = app::metrics::job_run("read_profiles");
                match app::accounts::profile::refresh_stale_profiles(&state).await {
                    Ok(0) => {}
                    Ok(read) => tracing::debug!(read, "TikTok profiles read again"),
                    Err(error) => tracing::warn!(error = %error, "reading TikTok profiles failed; will retry"),
                }
            })
        })?)
        .await?;

    let recovery_state = state.clone();
    scheduler
        .add(Job::new_async("*/10 * * * * *", move |_, _| {
            let state = recovery_state.clone();
            Box::pin(async move {
                let _run = app::metrics::job_run("recover_expired");
                if let Err(error) = recover_expired(&state).await {
                    tracing::warn!(error = %error, "recovering posts of stopped servers failed; will retry");
                }
            })
        })?)
        .await?;

    let cleanup_state = state.clone();
    scheduler
        .add(Job::new_async("45 */10 * * * *", move |_, _| {
            let state = cleanup_state.clone();
            Box::pin(async move {
                let _run = app::metrics::job_run("clean_up");
                clean_up_media_and_rate_limits(&state).await;
            })
        })?)
        .await?;

    crate::mail_jobs::add(&scheduler, &state).await?;
    // Analytics (CADENCE_ANALYTICS): collect due accounts every minute (each is read hourly),
    // and thin old snapshots once a day.
    if state.config.tiktok.analytics {
        let analytics_state = state.clone();
        let collecting = Arc::new(tokio::sync::Mutex::new(()));
        scheduler
            .add(Job::new_async("20 * * * * *", move |_, _| {
                let (state, running) = (analytics_state.clone(), collecting.clone());
                Box::pin(async move {
                    let Ok(_guard) = running.try_lock() else { return };
                    match app::analytics::collect::collect_due(&state, time::OffsetDateTime::now_utc()).await {
                        Ok(0) => {}
                        Ok(collected) => tracing::debug!(collected, "analytics collected"),
                        Err(error) => tracing::warn!(error = %error, "collecting analytics failed; will retry"),
                    }
                })
            })?)
            .await?;
        let thinning_state = state.clone();
        scheduler
            .add(Job::new_async("40 17 3 * * *", move |_, _| {
                let state = thinning_state.clone();
                Box::pin(async move {
                    let result = match state.pool.get().await {
                        Ok(mut conn) => app::analytics::retention::thin_snapshots(&mut conn, time::OffsetDateTime::now_utc())
                            .await
                            .map_err(|error| error.to_string()),
                        Err(error) => Err(error.to_string()),
                    };
                    if let Err(error) = result {
                        tracing::warn!(error = %error, "thinning analytics snapshots failed; will retry tomorrow");
                    }
                })
            })?)
            .await?;
    }

    scheduler.start().await?;
    Ok(Jobs { scheduler, publishing: publishing_guard })
}

/// Renews every token that is due. Each account is refreshed under its row lock, so several
/// servers running this job at once never spend the same refresh token twice.
pub async fn refresh_due_tokens(state: &AppState) -> usize {
    // The connection goes back as soon as the due accounts are known: each refresh takes its
    // own, and none is kept idle across TikTok's calls.
    let due = match state.pool.get().await {
        Ok(mut conn) => due_for_refresh(&mut conn, time::OffsetDateTime::now_utc()).await,
        Err(error) => {
            tracing::warn!(error = %error, "token refresh skipped: no database connection");
            return 0;
        }
    };
    let due = match due {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(error = %error, "token refresh skipped: query failed");
            return 0;
        }
    };
    let mut refreshed = 0;
    for account_id in due {
        match refresh_account(&state.pool, &state.tiktok.client, &state.cipher, account_id, None).await {
            Ok(app::accounts::ssr::RefreshOutcome::Refreshed) => refreshed += 1,
            Ok(_) => {}
            Err(error) => tracing::warn!(account.id = %account_id, error = %error, "token refresh failed; will retry"),
        }
        tokio::time::sleep(REFRESH_SPACING).await;
    }
    refreshed
}

/// Deletes videos whose grace period is over and rate-limit records no window needs.
pub async fn clean_up_media_and_rate_limits(state: &AppState) {
    let now = time::OffsetDateTime::now_utc();
    let Ok(mut conn) = state.pool.get().await else {
        tracing::warn!("clean-up skipped: no database connection");
        return;
    };
    match catalog::remove_expired(&mut conn, &state.media, now).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "videos of published and cancelled posts removed"),
        Err(error) => tracing::warn!(error = %error, "removing old videos failed"),
    }
    if let Err(error) = rate_limit::prune(&mut conn, now).await {
        tracing::warn!(error = %error, "pruning rate-limit records failed");
    }
    if let Err(error) = app::accounts::ssr::prune_webhook_events(&mut conn, now).await {
        tracing::warn!(error = %error, "pruning old webhook deliveries failed");
    }
    let audit_cutoff = now - time::Duration::days(i64::from(state.config.audit_retention_days));
    match app::audit::ssr::prune(&mut conn, audit_cutoff).await {
        Ok(0) => {}
        Ok(removed) => tracing::info!(removed, "audit entries past their retention removed"),
        Err(error) => tracing::warn!(error = %error, "pruning the audit log failed"),
    }
}
