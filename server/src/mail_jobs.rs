//! The e-mail jobs, only where SMTP is set up: send the outbox every few seconds, and queue
//! reminders (grant endings, digests) and prune old outbox rows every ten minutes.

use app::{
    mail::{delivery::Mailer, outbox, reminders},
    state::AppState,
};
use std::sync::Arc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

/// Sent and given-up e-mails are kept this long (to see what went out), then deleted.
const KEEP_SENT: time::Duration = time::Duration::days(30);

/// The origin links in e-mails start with: the public URL, or the address the server listens on.
pub fn base_url(state: &AppState) -> String {
    state.config.http.public_origin.clone().unwrap_or_else(|| format!("http://{}", state.leptos_options.site_addr))
}

/// Adds the e-mail jobs to `scheduler` when SMTP is configured; without it nothing is added.
pub async fn add(scheduler: &JobScheduler, state: &AppState) -> Result<(), JobSchedulerError> {
    let Some(smtp) = &state.config.smtp else { return Ok(()) };
    let mailer = match Mailer::new(smtp, &base_url(state)) {
        Ok(mailer) => Arc::new(mailer),
        Err(error) => {
            tracing::error!(error = %error, "the SMTP settings cannot be used; no e-mail will be sent");
            return Err(JobSchedulerError::CantInit);
        }
    };

    let (send_state, sending) = (state.clone(), Arc::new(tokio::sync::Mutex::new(())));
    scheduler
        .add(Job::new_async("*/5 * * * * *", move |_, _| {
            let (state, mailer, running) = (send_state.clone(), mailer.clone(), sending.clone());
            Box::pin(async move {
                let Ok(_guard) = running.try_lock() else { return app::metrics::job_overrun("send_emails") };
                let _run = app::metrics::job_run("send_emails");
                match app::mail::delivery::send_due(&state.pool, &mailer).await {
                    Ok(0) => {}
                    Ok(sent) => tracing::info!(sent, "e-mails sent"),
                    Err(error) => tracing::warn!(error = %error, "sending e-mails failed; will retry"),
                }
            })
        })?)
        .await?;

    let reminder_state = state.clone();
    scheduler
        .add(Job::new_async("15 */10 * * * *", move |_, _| {
            let state = reminder_state.clone();
            Box::pin(async move {
                let _run = app::metrics::job_run("queue_email_reminders");
                queue_reminders(&state).await;
            })
        })?)
        .await?;
    Ok(())
}

/// Queues grant-ending warnings and digests, and deletes old outbox rows.
pub async fn queue_reminders(state: &AppState) {
    let now = time::OffsetDateTime::now_utc();
    let Ok(mut conn) = state.pool.get().await else {
        tracing::warn!("e-mail reminders skipped: no database connection");
        return;
    };
    match reminders::queue_grant_endings(&mut conn, now).await {
        Ok(0) => {}
        Ok(queued) => tracing::info!(queued, "grant-ending warnings queued"),
        Err(error) => tracing::warn!(error = %error, "queueing grant-ending warnings failed"),
    }
    match reminders::queue_digests(&mut conn, now).await {
        Ok(0) => {}
        Ok(queued) => tracing::info!(queued, "daily digests queued"),
        Err(error) => tracing::warn!(error = %error, "queueing daily digests failed"),
    }
    if let Err(error) = outbox::prune(&mut conn, now - KEEP_SENT).await {
        tracing::warn!(error = %error, "pruning the e-mail outbox failed");
    }
}
