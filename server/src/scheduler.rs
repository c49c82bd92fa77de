//! Background jobs inside the server (tokio-cron-scheduler): clean up expired sessions and old
//! log-in failures. Later features add publishing and token refresh here.

use crate::session_store::PgSessionStore;
use app::{auth::ssr::prune_login_failures, state::AppState};
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tower_sessions::ExpiredDeletion as _;

/// Starts the jobs; the returned scheduler must be shut down on exit.
pub async fn start(state: AppState) -> Result<JobScheduler, JobSchedulerError> {
    let scheduler = JobScheduler::new().await?;

    let store = PgSessionStore::new(state.pool.clone());
    // Six fields, seconds first: at second 0 of every minute.
    scheduler
        .add(Job::new_async("0 * * * * *", move |_, _| {
            let store = store.clone();
            Box::pin(async move {
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
                let result = async {
                    let mut conn = state.pool.get().await.map_err(|e| e.to_string())?;
                    prune_login_failures(&mut conn, &state.config.login_limits, time::OffsetDateTime::now_utc())
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

    scheduler.start().await?;
    Ok(scheduler)
}
