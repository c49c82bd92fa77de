//! Posts whose server stopped while sending them (killed, crashed, redeployed): found by their
//! expired lease and settled by asking TikTok first, never by blindly sending again.
//!
//! - No publish id yet: nothing reached TikTok, so a scheduled post simply goes back in the
//!   queue.
//! - A publish id: TikTok's status decides. Finished or failed there → recorded here. Every byte
//!   received → processing. Bytes missing → TikTok can never publish that upload (FILE_UPLOAD
//!   publishes only a complete file), so a scheduled post is sent again with a fresh init; a
//!   "Post now" upload (no stored copy) fails with what to do.
//! - TikTok cannot be asked (account disconnected) → "unconfirmed", for a person to check.

use crate::{
    publishing::status::ask_tiktok,
    db::schema::posts,
    error::AppResult,
    posts::{
        ssr::{self as post_store, Post, TikTokOutcome},
        types::PostState,
    },
    publishing::retry::next_delay,
    state::AppState,
    tiktok::error::TikTokError,
};
use diesel::prelude::*;
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use time::OffsetDateTime;
use uuid::Uuid;

/// How long recovery holds a post it is looking at.
const RECOVERY_LEASE: time::Duration = time::Duration::minutes(2);

/// What recovery did with one post.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovered {
    /// Back in the queue to be sent (again).
    Requeued,
    /// TikTok had it; now processing, published, in the inbox or failed there.
    Reconciled,
    /// Could not be sent again; failed with a reason.
    Failed,
    /// TikTok could not be asked.
    Unconfirmed,
    /// TikTok did not answer this time; try again on the next run.
    Later,
}

/// Settles every post whose lease expired before `now`.
pub async fn recover_expired(state: &AppState, now: OffsetDateTime) -> AppResult<Vec<(Uuid, Recovered)>> {
    let mut conn = state.pool.get().await?;
    let stale = conn
        .transaction(async |conn| {
            let ids: Vec<Uuid> = posts::table
                .filter(posts::state.eq(PostState::Uploading.as_str()))
                .filter(posts::lease_expires_at.lt(now))
                .limit(100)
                .select(posts::id)
                .for_update()
                .skip_locked()
                .load(conn)
                .await?;
            // A new holder: the stopped server (if it is only slow) can no longer record a
            // publish id or renew the lease.
            diesel::update(posts::table.filter(posts::id.eq_any(&ids)))
                .set((posts::lease_owner.eq(Some(Uuid::new_v4())), posts::lease_expires_at.eq(Some(now + RECOVERY_LEASE))))
                .returning(Post::as_returning())
                .get_results(conn)
                .await
        })
        .await?;
    drop(conn);
    let mut results = Vec::new();
    for post in stale {
        let outcome = reconcile(state, &post, "The server stopped while sending this post.", Resend::AtOnce).await?;
        tracing::info!(post = %post.id, outcome = ?outcome, "recovered a post whose server stopped while sending it");
        results.push((post.id, outcome));
    }
    Ok(results)
}

/// Settles a post whose sending stopped (`why`) by asking TikTok first. Also used right after
/// an upload fails, since a lost answer to the last chunk may hide a complete upload.
pub async fn reconcile(state: &AppState, post: &Post, why: &str, resend: Resend) -> AppResult<Recovered> {
    let Some(publish_id) = post.publish_id.clone() else {
        return resend_or_fail(state, post, resend, &format!("{why} Nothing had been sent to TikTok.")).await;
    };
    let reply = ask_tiktok(state, post.account_id, &publish_id).await;
    let mut conn = state.pool.get().await?;
    match reply {
        Ok(Ok(status)) => {
            let outcome = TikTokOutcome::of(&status);
            if outcome != TikTokOutcome::StillProcessing {
                post_store::apply_outcome(&mut conn, post, outcome).await?;
                return Ok(Recovered::Reconciled);
            }
            if status.uploaded_bytes.is_some_and(|bytes| bytes >= post.video_bytes.max(0) as u64) {
                post_store::mark_uploaded(&mut conn, post.id, &format!("{why} TikTok had received the whole video; it is processing it.")).await?;
                return Ok(Recovered::Reconciled);
            }
            drop(conn);
            // No progress figure: TikTok might have every byte, so do not send again yet.
            let Some(received) = status.uploaded_bytes else {
                return Ok(Recovered::Later);
            };
            resend_or_fail(
                state,
                post,
                resend,
                &format!(
                    "{why} TikTok had {received} of {} bytes of publish {publish_id}, and never publishes an incomplete upload.",
                    post.video_bytes
                ),
            )
            .await
        }
        Ok(Err(TikTokError::Rejected { code, .. })) if code == "invalid_publish_id" => {
            drop(conn);
            resend_or_fail(state, post, resend, &format!("{why} TikTok does not know publish {publish_id}, so nothing was posted.")).await
        }
        Ok(Err(error)) => {
            tracing::warn!(post = %post.id, error = %error, "TikTok did not answer during recovery; will ask again");
            Ok(Recovered::Later)
        }
        Err(error @ crate::error::AppError::Conflict(_)) => {
            post_store::mark_unconfirmed(
                &mut conn,
                post.id,
                &format!("{why} TikTok cannot be asked whether it has the post: {error} Check the creator's TikTok profile before posting again."),
            )
            .await?;
            Ok(Recovered::Unconfirmed)
        }
        Err(error) => {
            tracing::warn!(post = %post.id, error = %error, "could not ask TikTok during recovery; will try again");
            Ok(Recovered::Later)
        }
    }
}

/// When a post that did not reach TikTok whole goes again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resend {
    /// Its server stopped: not the post's fault, so at once (the attempt still counts, so a
    /// post that keeps killing servers ends failed).
    AtOnce,
    /// TikTok or the network failed the upload: after the retry schedule's wait.
    AfterRetryDelay,
}

/// A scheduled post (its video is in the media store) goes back in the queue; a "Post now"
/// upload cannot be repeated without the person, so it fails with what to do.
async fn resend_or_fail(state: &AppState, post: &Post, resend: Resend, why: &str) -> AppResult<Recovered> {
    let mut conn = state.pool.get().await?;
    if post.media_id.is_none() {
        let message = format!("{why} The upload from the browser was cut off; post the video again.");
        post_store::mark_failed(&mut conn, post.id, "upload_interrupted", &message).await?;
        return Ok(Recovered::Failed);
    }
    let Some(wait) = next_delay(post.attempts, None, post.id) else {
        let message = format!("{why} It was tried {} times; post it again when TikTok works.", post.attempts);
        post_store::mark_failed(&mut conn, post.id, "attempts_used_up", &message).await?;
        return Ok(Recovered::Failed);
    };
    let not_before = match resend {
        Resend::AtOnce => None,
        Resend::AfterRetryDelay => Some(OffsetDateTime::now_utc() + wait),
    };
    use diesel::PgExpressionMethods as _;
    let requeued = diesel::update(
        posts::table
            .find(post.id)
            .filter(posts::state.eq(PostState::Uploading.as_str()))
            .filter(posts::publish_id.is_not_distinct_from(post.publish_id.clone())),
    )
        .set((
            posts::state.eq(PostState::Scheduled.as_str()),
            posts::publish_id.eq(None::<String>),
            posts::lease_owner.eq(None::<Uuid>),
            posts::lease_expires_at.eq(None::<OffsetDateTime>),
            posts::next_check_at.eq(not_before),
            posts::updated_at.eq(OffsetDateTime::now_utc()),
        ))
        .execute(&mut conn)
        .await?;
    if requeued > 0 {
        let message = match not_before {
            Some(at) => format!("{why} Sending it again at {} (UTC).", crate::ui::format_utc(at)),
            None => format!("{why} Sending it again."),
        };
        post_store::record_event(&mut conn, post.id, "requeued", &message).await?;
    }
    Ok(Recovered::Requeued)
}
