//! Posts whose server stopped while sending them (killed, crashed, redeployed, or cut off from
//! the database): found by their expired lease (by the database's clock) and settled by asking
//! TikTok first, never by blindly sending again.
//!
//! - No publish id yet: nothing reached TikTok, so a scheduled post simply goes back in the
//!   queue.
//! - A publish id: TikTok's status decides. Finished or failed there → recorded here. Every byte
//!   received → processing. Fewer bytes reported → not proof: TikTok's `uploaded_bytes` is only
//!   loosely defined and may lag, and a sender that lost its lease may still be sending. So
//!   Cadence asks TikTok to cancel (TikTok only cancels PULL_FROM_URL downloads; a FILE_UPLOAD
//!   is `publish_not_cancellable`), and otherwise holds the post until the upload URL expired,
//!   then asks again. Only an upload that can no longer complete is sent again (a scheduled
//!   post) or failed with what to do (a "Post now" upload, which has no stored copy).
//! - TikTok cannot be asked (account disconnected) → "unconfirmed", for a person to check.
//!
//! Every write is fenced by the lease owner and publish id recovery saw, so a sender that comes
//! back late and recovery never both act on one post.

use crate::{
    accounts::ssr::with_access_token,
    db::schema::posts,
    error::{AppError, AppResult},
    posts::{
        ssr::{self as post_store, Post, TikTokOutcome},
        types::PostState,
    },
    publishing::{
        lease::{Fence, db_now_plus, still_held},
        retry::next_delay,
        status::ask_tiktok,
    },
    state::AppState,
    tiktok::error::TikTokError,
};
use diesel::{PgExpressionMethods as _, dsl::now, prelude::*};
use diesel_async::{AsyncConnection as _, RunQueryDsl};
use std::time::Duration;
use time::OffsetDateTime;
use uuid::Uuid;

/// How long recovery holds a post it is looking at.
const RECOVERY_LEASE: Duration = Duration::from_secs(120);

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
    /// TikTok may still complete the old upload: held until its upload URL expired, then
    /// looked at again.
    Waiting,
    /// Another holder has the post now (a takeover happened in between); nothing was changed.
    NotOurs,
}

/// What the caller knows about the bytes of the publish being reconciled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sent {
    /// The sender itself stopped before handing over the last chunk. It alone had the upload
    /// URL, so TikTok cannot have (or later get) every byte.
    NotAll,
    /// Every byte may be at TikTok, or may still get there (the sender may be alive).
    MaybeAll,
}

/// Settles every post whose lease ran out by the database's clock.
pub async fn recover_expired(state: &AppState) -> AppResult<Vec<(Uuid, Recovered)>> {
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
            // publish id, renew the lease or write anything else to the post.
            diesel::update(posts::table.filter(posts::id.eq_any(&ids)))
                .set((posts::lease_owner.eq(Some(Uuid::new_v4())), posts::lease_expires_at.eq(db_now_plus(RECOVERY_LEASE))))
                .returning(Post::as_returning())
                .get_results(conn)
                .await
        })
        .await?;
    drop(conn);
    let mut results = Vec::new();
    for post in stale {
        let outcome = reconcile(state, &post, "The server stopped while sending this post.", Resend::AtOnce, Sent::MaybeAll).await?;
        tracing::info!(post = %post.id, outcome = ?outcome, "recovered a post whose server stopped while sending it");
        results.push((post.id, outcome));
    }
    Ok(results)
}

/// Settles a post whose sending stopped (`why`) by asking TikTok first. Also used right after
/// an upload fails, since a lost answer to the last chunk may hide a complete upload. `post`
/// is the caller's view (lease owner, publish id), which fences every write.
pub async fn reconcile(state: &AppState, post: &Post, why: &str, resend: Resend, sent: Sent) -> AppResult<Recovered> {
    let fence = Fence::of(post);
    let Some(publish_id) = post.publish_id.clone() else {
        return resend_or_fail(state, post, resend, &format!("{why} Nothing had been sent to TikTok.")).await;
    };
    let reply = ask_tiktok(state, post.account_id, &publish_id).await;
    match reply {
        Ok(Ok(status)) => {
            let outcome = TikTokOutcome::of(&status);
            if outcome != TikTokOutcome::StillProcessing {
                let mut conn = state.pool.get().await?;
                let applied = conn
                    .transaction(async |conn| {
                        if !still_held(conn, post.id, &fence).await? {
                            return Ok(false);
                        }
                        post_store::apply_outcome(conn, post, outcome).await?;
                        Ok::<_, diesel::result::Error>(true)
                    })
                    .await?;
                return Ok(if applied { Recovered::Reconciled } else { Recovered::NotOurs });
            }
            // A pull: TikTok holds the URL and fetches the file itself, so nothing is left to
            // send; its status (PROCESSING_DOWNLOAD, then done or `video_pull_failed`) is
            // followed like any processing post.
            if crate::media::public_url::is_pull(&mut *state.pool.get().await?, post.id, &publish_id).await? {
                let message = match status.downloaded_bytes {
                    Some(bytes) => format!("{why} TikTok is downloading the video ({bytes} of {} bytes so far).", post.video_bytes),
                    None => format!("{why} TikTok is downloading the video."),
                };
                let moved = post_store::mark_uploaded(&mut *state.pool.get().await?, post.id, fence.owner, &publish_id, &message).await?;
                return Ok(if moved { Recovered::Reconciled } else { Recovered::NotOurs });
            }
            if status.uploaded_bytes.is_some_and(|bytes| bytes >= post.video_bytes.max(0) as u64) {
                let message = format!("{why} TikTok had received the whole video; it is processing it.");
                let moved = post_store::mark_uploaded(&mut *state.pool.get().await?, post.id, fence.owner, &publish_id, &message).await?;
                return Ok(if moved { Recovered::Reconciled } else { Recovered::NotOurs });
            }
            let detail = match status.uploaded_bytes {
                Some(received) => format!("TikTok reported {received} of {} bytes of publish {publish_id}", post.video_bytes),
                None => format!("TikTok reported no progress for publish {publish_id}"),
            };
            match sent {
                Sent::NotAll => {
                    let why = format!("{why} {detail}; the rest was never sent, and TikTok never publishes an incomplete upload.");
                    resend_or_fail(state, post, resend, &why).await
                }
                Sent::MaybeAll => wait_out_or_resend(state, post, &publish_id, &format!("{why} {detail}"), resend).await,
            }
        }
        Ok(Err(TikTokError::Rejected { code, .. })) if code == "invalid_publish_id" => {
            resend_or_fail(state, post, resend, &format!("{why} TikTok does not know publish {publish_id}, so nothing was posted.")).await
        }
        Ok(Err(error)) => {
            tracing::warn!(post = %post.id, error = %error, "TikTok did not answer during recovery; will ask again");
            Ok(Recovered::Later)
        }
        Err(error @ AppError::Conflict(_)) => {
            let message = format!(
                "{why} TikTok cannot be asked whether it has the post: {error} Check the creator's TikTok profile before posting again."
            );
            let mut conn = state.pool.get().await?;
            let marked = conn
                .transaction(async |conn| {
                    if !still_held(conn, post.id, &fence).await? {
                        return Ok(false);
                    }
                    post_store::mark_unconfirmed(conn, post.id, &message).await
                })
                .await?;
            Ok(if marked { Recovered::Unconfirmed } else { Recovered::NotOurs })
        }
        Err(error) => {
            tracing::warn!(post = %post.id, error = %error, "could not ask TikTok during recovery; will try again");
            Ok(Recovered::Later)
        }
    }
}

/// TikTok may hold (or still get) every byte of `publish_id`. Sends again only once that upload
/// can no longer complete: TikTok cancelled it, or its upload URL expired and TikTok (asked
/// just now, after that) still did not have it. Otherwise holds the post until then.
async fn wait_out_or_resend(state: &AppState, post: &Post, publish_id: &str, why: &str, resend: Resend) -> AppResult<Recovered> {
    let fence = Fence::of(post);
    // Rows from before `upload_started_at` existed: the publish id was written with `updated_at`.
    let link_expiry = format!(
        "coalesce(upload_started_at, updated_at) + interval '{} milliseconds'",
        state.config.upload.upload_url_lifetime.as_millis()
    );
    let link_expired: bool = posts::table
        .find(post.id)
        .select(diesel::dsl::sql::<diesel::sql_types::Bool>(&format!("{link_expiry} <= now()")))
        .first(&mut *state.pool.get().await?)
        .await?;
    if link_expired {
        let why = format!("{why}, and its upload link has expired, so TikTok can no longer complete it.");
        return resend_or_fail(state, post, resend, &why).await;
    }
    match cancel(state, post.account_id, publish_id).await {
        Ok(Ok(())) => {
            let why = format!("{why}; TikTok cancelled that upload at Cadence's request.");
            return resend_or_fail(state, post, resend, &why).await;
        }
        // The expected answer for FILE_UPLOAD (`publish_not_cancellable`), or no answer at all.
        Ok(Err(error)) => tracing::info!(post = %post.id, error = %error, "TikTok did not cancel the old upload; waiting it out"),
        Err(error) => tracing::info!(post = %post.id, error = %error, "could not ask TikTok to cancel the old upload; waiting it out"),
    }
    let mut conn = state.pool.get().await?;
    let held = diesel::update(
        posts::table
            .find(post.id)
            .filter(posts::state.eq(PostState::Uploading.as_str()))
            .filter(posts::lease_owner.is_not_distinct_from(fence.owner))
            .filter(posts::publish_id.eq(publish_id)),
    )
    .set(posts::lease_expires_at.eq(diesel::dsl::sql::<diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>>(&link_expiry)))
    .execute(&mut conn)
    .await?;
    if held == 0 {
        return Ok(Recovered::NotOurs);
    }
    let message = format!(
        "{why}. TikTok may still complete that upload, so nothing is sent again until its upload link expires \
         (an hour after it started); then Cadence asks TikTok once more."
    );
    post_store::record_event(&mut conn, post.id, "waiting", &message).await?;
    Ok(Recovered::Waiting)
}

/// Asks TikTok to cancel a publish. `Err` when the account cannot be used.
async fn cancel(state: &AppState, account_id: Uuid, publish_id: &str) -> AppResult<Result<(), TikTokError>> {
    let client = state.tiktok.client.clone();
    with_access_token(&state.pool, &state.tiktok.client, &state.cipher, account_id, |token| {
        let client = client.clone();
        async move { client.cancel(&token, publish_id).await }
    })
    .await
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
    let stored = (!post.stored_media().is_empty()).then_some(());
    let wait = match (stored, next_delay(post.attempts, None, post.id)) {
        (None, _) => {
            let message = format!("{why} The upload from the browser was cut off; post the video again.");
            return fail(state, post, "upload_interrupted", &message).await;
        }
        (Some(_), None) => {
            let message = format!("{why} It was tried {} times; post it again when TikTok works.", post.attempts);
            return fail(state, post, "attempts_used_up", &message).await;
        }
        (Some(_), Some(wait)) => wait,
    };
    let mut conn = state.pool.get().await?;
    let not_before = match resend {
        Resend::AtOnce => None,
        Resend::AfterRetryDelay => Some(OffsetDateTime::now_utc() + wait),
    };
    let requeued = diesel::update(
        posts::table
            .find(post.id)
            .filter(posts::state.eq(PostState::Uploading.as_str()))
            .filter(posts::lease_owner.is_not_distinct_from(post.lease_owner))
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
        return Ok(Recovered::Requeued);
    }
    Ok(Recovered::NotOurs)
}

/// Fails the post while it is still held under `post`'s fence.
async fn fail(state: &AppState, post: &Post, code: &str, message: &str) -> AppResult<Recovered> {
    let fence = Fence::of(post);
    let failed = state
        .pool
        .get()
        .await?
        .transaction(async |conn| {
            if !still_held(conn, post.id, &fence).await? {
                return Ok(false);
            }
            post_store::mark_failed(conn, post.id, code, message).await
        })
        .await?;
    Ok(if failed { Recovered::Failed } else { Recovered::NotOurs })
}
