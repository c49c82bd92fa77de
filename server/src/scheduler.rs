//! Background jobs inside the server (tokio-cron-scheduler): renew TikTok tokens before they
//! expire, clean up expired sessions and old log-in failures.

use crate::session_store::PgSessionStore;
use app::{
    accounts::ssr::{REFRESH_SPACING, due_for_refresh, refresh_account},
    auth::ssr::prune_login_failures,
    state::AppState,
};
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

    let refresh_state = state.clone();
    scheduler
        .add(Job::new_async("*/15 * * * * *", move |_, _| {
            let state = refresh_state.clone();
            Box::pin(async move {
                refresh_due_tokens(&state).await;
            })
        })?)
        .await?;

    scheduler.start().await?;
    Ok(scheduler)
}

/// Renews every token that is due. Each account is refreshed under its row lock, so several
/// servers running this job at once never spend the same refresh token twice.
pub async fn refresh_due_tokens(state: &AppState) -> usize {
    let mut conn = match state.pool.get().await {
        Ok(conn) => conn,
        Err(error) => {
            tracing::warn!(error = %error, "token refresh skipped: no database connection");
            return 0;
        }
    };
    let due = match due_for_refresh(&mut conn, time::OffsetDateTime::now_utc()).await {
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
