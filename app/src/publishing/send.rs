//! Sending one post's video to TikTok, the same way for "Post now", "Send to inbox" and a
//! scheduled post: Cadence's own limits first (per-minute inits, daily caps), then the init,
//! the publish id stored before the first byte, the streamed chunked upload, and the hand-over
//! to status tracking. What to do when it goes wrong is the caller's: a person is waiting for
//! "Post now", a schedule can try again.

use crate::{
    accounts::ssr::with_access_token,
    error::AppError,
    posts::{
        ssr::{self as posts, Post},
        types::Destination,
    },
    publishing::{
        inbox_cap,
        stream::{StreamUploadError, UploadTarget, stream_upload},
    },
    state::AppState,
    tiktok::{
        chunks::ChunkPlan,
        error::{TikTokError, for_people},
        rate_limit::{LimitedEndpoint, release_latest, try_acquire},
    },
    ui::human_bytes,
};
use bytes::Bytes;
use futures_util::Stream;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use time::OffsetDateTime;

/// Why a video did not reach TikTok.
#[derive(Debug)]
pub enum SendError {
    /// Cadence's own record of TikTok's limits says not yet; nothing was sent. Not a failed
    /// attempt: the post simply waits.
    Deferred { reason: String, wait: Duration },
    /// TikTok refused the init or could not be reached; no publish exists there.
    /// `retry_in` when waiting may help.
    NotSent { error: AppError, retry_in: Option<Duration> },
    /// The source stopped before the whole video arrived (the browser went away). TikTok
    /// holds an incomplete upload it will never publish.
    Interrupted,
    /// TikTok has publish `publish_id` but the upload failed part-way (or its last answer was
    /// lost). `may_be_complete`: the failure came at the last chunk, so only TikTok's status,
    /// asked once the upload can no longer complete, tells whether it has the whole video;
    /// otherwise this sender (the only holder of the upload URL) knows it never sent it all.
    UploadFailed { code: String, message: String, publish_id: String, may_be_complete: bool },
    /// Another server took the post over (this one's lease ran out); nothing was sent.
    LeaseLost,
    /// The init went out but its answer was lost: TikTok may hold an empty publish task. Never
    /// repeated blindly; a person decides (no bytes were sent, so nothing can be published).
    InitUnconfirmed { message: String },
}

impl SendError {
    pub fn into_app_error(self) -> AppError {
        match self {
            Self::Deferred { reason, .. } => AppError::Conflict(reason),
            Self::NotSent { error, .. } => error,
            Self::UploadFailed { message, .. } => AppError::Conflict(message),
            Self::Interrupted => AppError::Conflict("The upload was cut off before the whole video arrived. Nothing was posted.".into()),
            Self::LeaseLost => AppError::Conflict("Another server took this post over.".into()),
            Self::InitUnconfirmed { message } => AppError::Conflict(message),
        }
    }
}

/// How a scheduled send shares its server with the others: a place among the posts being
/// started, given up as soon as TikTok has the post's publish id (so the next due post starts
/// while this one waits to upload), and a turn among the uploads, of which only so many run at
/// once. "Post now" has neither: a person is waiting.
#[derive(Debug, Default)]
pub struct SendTurns {
    pub start: Option<OwnedSemaphorePermit>,
    pub uploads: Option<Arc<Semaphore>>,
    /// For a post taken ahead of its time: the moment its init may go. Everything before the
    /// init (creator look-up, limits, token) is done by then, so TikTok gets it on time.
    pub not_before: Option<InitMoment>,
}

/// When a post taken ahead of its time may reach TikTok: by this process's clock for the wait,
/// and on the wall clock for Cadence's count of TikTok's limits, which counts the init when
/// it goes out rather than when it was prepared.
#[derive(Debug, Clone, Copy)]
pub struct InitMoment {
    pub at: tokio::time::Instant,
    pub wall: OffsetDateTime,
}

impl SendTurns {
    /// The instant on which Cadence's limits count this send's init.
    pub(crate) fn counted_at(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        self.not_before.map_or(now, |moment| moment.wall.max(now))
    }

    /// Before the init of a post that waits for its moment: gives the start place up, so the
    /// server prepares the next posts meanwhile, and returns the moment to wait for.
    pub(crate) fn wait_without_place(&mut self) -> Option<tokio::time::Instant> {
        let moment = self.not_before?;
        drop(self.start.take());
        Some(moment.at)
    }
}

/// Waits until `moment` (none: goes at once). Inside the init's call, after the access token
/// was read, so only the request itself is left for the due moment.
pub(crate) async fn wait_for(moment: Option<tokio::time::Instant>) {
    if let Some(at) = moment {
        tokio::time::sleep_until(at).await;
    }
}

/// Sends `source` (exactly `post.video_bytes` bytes) to TikTok for `post`.
pub async fn send_video<S, E>(state: &AppState, post: &Post, source: S, mut turns: SendTurns) -> Result<(), SendError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let plan = ChunkPlan::for_size(post.video_bytes.max(0) as u64)
        .map_err(|e| SendError::NotSent { error: AppError::invalid("video", e.to_string()), retry_in: None })?;
    check_limits(state, post, turns.counted_at()).await?;

    let moment = turns.wait_without_place();
    let client = state.tiktok.client.clone();
    let post_info = post.post_info();
    let destination = post.destination();
    let init = with_access_token(&state.pool, &state.tiktok.client, &state.cipher, post.account_id, |token| {
        let (client, post_info) = (client.clone(), post_info.clone());
        async move {
            wait_for(moment).await;
            crate::metrics::publish_started(post.scheduled_at);
            match destination {
                Destination::Profile => client.init_direct_post(&token, &post_info, &plan).await,
                Destination::Inbox => client.init_inbox_upload(&token, &plan).await,
            }
        }
    })
    .await;
    let init = match init {
        Ok(init) => init,
        Err(error) => {
            release_unsent(state, post).await;
            return Err(not_sent(error));
        }
    };
    let init = match init {
        Ok(init) => init,
        Err(error @ TikTokError::ReplyLost(_)) => {
            tracing::warn!(post = %post.id, error = %error, "the answer to a publish init was lost");
            // No byte will follow, so TikTok cannot publish anything from it.
            release_unsent(state, post).await;
            return Err(SendError::InitUnconfirmed { message: for_people(&error).to_string() });
        }
        Err(error) => {
            let retry_in = match &error {
                TikTokError::RateLimited { retry_after } => Some(retry_after.unwrap_or(Duration::from_secs(60))),
                // FILE_UPLOAD publishes nothing until every byte arrives, so an init whose
                // reply was lost is harmless to repeat: TikTok drops the empty task.
                TikTokError::Transient(_) => Some(Duration::from_secs(60)),
                _ => None,
            };
            tracing::warn!(post = %post.id, error = %error, "TikTok refused the publish init");
            // No post was started, so the day's slot is not used up.
            release_unsent(state, post).await;
            return Err(SendError::NotSent { error: for_people(&error), retry_in });
        }
    };

    let recorded = match state.pool.get().await {
        Ok(mut conn) => posts::record_publish_id(&mut conn, post.id, &init.publish_id, post.lease_owner, "TikTok accepted the post; uploading the video.").await,
        Err(error) => Err(error.into()),
    };
    match recorded {
        // A draft now counts as pending by its own state: its place while sending goes back.
        Ok(true) if destination == Destination::Inbox => release_unsent(state, post).await,
        Ok(true) => {}
        // Without its bytes this publish can never go out; TikTok drops it after an hour.
        Ok(false) => {
            release_unsent(state, post).await;
            return Err(SendError::LeaseLost);
        }
        Err(error) => {
            release_unsent(state, post).await;
            return Err(not_sent(error));
        }
    }

    // Started: the next post may begin while this one waits for its turn to upload. Its lease
    // is renewed meanwhile by whoever holds it; TikTok keeps the upload URL for an hour.
    drop(turns.start);
    let _upload_turn = match turns.uploads {
        // Never closed; were it, this sender stops and the post's lease runs out, after which
        // another server reconciles it by TikTok's status like any interrupted send.
        Some(uploads) => Some(uploads.acquire_owned().await.map_err(|_| SendError::LeaseLost)?),
        None => None,
    };
    let started = Instant::now();
    let target = UploadTarget {
        client: &state.tiktok.client,
        upload_url: &init.upload_url,
        content_type: &post.content_type,
        policy: &state.config.upload,
        data_dir: &state.config.data_dir,
    };
    let publish_id = init.publish_id.clone();
    let upload_failed = |code: &str, error: AppError, may_be_complete: bool| SendError::UploadFailed {
        code: code.to_owned(),
        message: error.to_string(),
        publish_id: publish_id.clone(),
        may_be_complete,
    };
    match stream_upload(&target, &plan, source).await {
        Ok(()) => {
            let seconds = started.elapsed().as_secs_f64();
            let message = format!(
                "Uploaded {} in {:.1} s ({} chunk{}); TikTok is processing it, which can take a few minutes.",
                human_bytes(plan.video_size),
                seconds,
                plan.total_chunk_count,
                if plan.total_chunk_count == 1 { "" } else { "s" }
            );
            // TikTok has every byte; if the database is away, recovery finds the whole upload
            // through TikTok's status.
            let database = |e: AppError| upload_failed("database", e, true);
            let mut conn = state.pool.get().await.map_err(|e| database(e.into()))?;
            let moved = posts::mark_uploaded(&mut conn, post.id, post.lease_owner, &init.publish_id, &message)
                .await
                .map_err(|e| database(e.into()))?;
            if moved { Ok(()) } else { Err(SendError::LeaseLost) }
        }
        Err(StreamUploadError::SourceInterrupted) => {
            release_daily_slot(state, post).await;
            Err(SendError::Interrupted)
        }
        Err(StreamUploadError::TikTok { error, at_last_chunk }) => {
            tracing::warn!(post = %post.id, error = %error, "upload to TikTok failed");
            let code = match &error {
                TikTokError::Rejected { code, .. } => code.clone(),
                _ => "upload_failed".to_owned(),
            };
            Err(upload_failed(&code, for_people(&error), at_last_chunk))
        }
        Err(StreamUploadError::Spool(error)) => {
            tracing::error!(post = %post.id, error = %error, "the chunk spool failed");
            let message = AppError::Conflict("The server could not keep a copy of the video while sending it.".into());
            Err(upload_failed("spool_failed", message, false))
        }
        Err(mismatch @ StreamUploadError::SizeMismatch { .. }) => {
            // Every announced byte may have gone out when the source had more than announced.
            Err(upload_failed("size_mismatch", AppError::Conflict(format!("The upload did not match: {mismatch}.")), true))
        }
    }
}

/// Gives back the day's slot a direct post took when nothing will be published from it. A
/// draft holds nothing by then: once its publish id is stored it counts by its own state.
pub async fn release_daily_slot(state: &AppState, post: &Post) {
    if post.destination() == Destination::Profile {
        release_unsent(state, post).await;
    }
}

/// Gives back what the limits check took for a send that has no publish id stored (yet, or
/// ever): the direct post's daily slot, or the draft's place among the pending shares.
pub(crate) async fn release_unsent(state: &AppState, post: &Post) {
    let Ok(mut conn) = state.pool.get().await else {
        return;
    };
    let released = match post.destination() {
        Destination::Profile => release_latest(&mut conn, post.account_id, LimitedEndpoint::DirectPostsPerDay).await,
        Destination::Inbox => inbox_cap::release(&mut conn, post.account_id).await,
    };
    if let Err(error) = released {
        tracing::warn!(post = %post.id, error = %error, "could not give back a daily posting slot");
    }
}

/// Cadence's own copy of TikTok's limits: 6 inits a minute per token, about 15 direct posts
/// a day per creator, 5 pending inbox shares.
pub(crate) async fn check_limits(state: &AppState, post: &Post, now: OffsetDateTime) -> Result<(), SendError> {
    let mut conn = state.pool.get().await.map_err(|e| not_sent(e.into()))?;
    // The daily cap first, so a post that must wait a day does not also spend a minute slot.
    let daily = match post.destination() {
        Destination::Profile => try_acquire(&mut conn, post.account_id, LimitedEndpoint::DirectPostsPerDay, now)
            .await
            .map(|taken| taken.map_err(|wait| (format!("TikTok allows about 15 posts a day for one creator. Try again in {}.", in_words(wait)), wait))),
        Destination::Inbox => inbox_cap::try_reserve(&mut conn, post.account_id, now).await.map(|taken| {
            taken.map_err(|wait| {
                let reason = format!(
                    "TikTok allows {} drafts waiting in a creator's inbox (shared in the last 24 hours and not posted yet). This one goes out once the creator posts one of them or one fails; Cadence checks again in {}.",
                    inbox_cap::PENDING_ALLOWED,
                    in_words(wait)
                );
                (reason, wait)
            })
        }),
    };
    match daily {
        Ok(Ok(())) => {}
        Ok(Err((reason, wait))) => return Err(SendError::Deferred { reason, wait }),
        Err(error) => return Err(not_sent(error.into())),
    }
    let refusal = match try_acquire(&mut conn, post.account_id, LimitedEndpoint::PublishInit, now).await {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(wait)) => SendError::Deferred {
            reason: format!("TikTok allows 6 new posts a minute for one account. Try again in {}.", in_words(wait)),
            wait,
        },
        Err(error) => not_sent(error.into()),
    };
    // The daily slot taken first is not used if the minute's limit (or the database) says no.
    drop(conn);
    release_unsent(state, post).await;
    Err(refusal)
}

/// "42 seconds", "7 minutes", "3 hours".
fn in_words(wait: Duration) -> String {
    match wait.as_secs().max(1) {
        seconds if seconds < 120 => format!("{seconds} seconds"),
        seconds if seconds < 7200 => format!("{} minutes", seconds.div_ceil(60)),
        seconds => format!("{} hours", seconds.div_ceil(3600)),
    }
}

/// Nothing reached TikTok because Cadence's side failed (the database, the token store): a
/// passing problem, so the post is tried again later rather than failed.
pub(crate) fn not_sent(error: AppError) -> SendError {
    let retry_in = match error {
        AppError::Unavailable | AppError::Internal => Some(Duration::from_secs(60)),
        _ => None,
    };
    SendError::NotSent { error, retry_in }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_are_told_in_words() {
        assert_eq!(in_words(Duration::from_secs(42)), "42 seconds");
        assert_eq!(in_words(Duration::from_secs(400)), "7 minutes");
        assert_eq!(in_words(Duration::from_secs(10_000)), "3 hours");
    }
}
