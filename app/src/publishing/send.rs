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
    publishing::stream::{StreamUploadError, stream_upload},
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
use std::time::{Duration, Instant};
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
    /// TikTok has a publish id but the upload failed part-way (or its last answer was lost):
    /// only TikTok's status can tell whether it has the whole video.
    UploadFailed { code: String, message: String },
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

/// Sends `source` (exactly `post.video_bytes` bytes) to TikTok for `post`.
pub async fn send_video<S, E>(state: &AppState, post: &Post, source: S) -> Result<(), SendError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let plan = ChunkPlan::for_size(post.video_bytes.max(0) as u64)
        .map_err(|e| SendError::NotSent { error: AppError::invalid("video", e.to_string()), retry_in: None })?;
    check_limits(state, post).await?;

    let client = state.tiktok.client.clone();
    let post_info = post.post_info();
    let destination = post.destination();
    let init = with_access_token(&state.pool, &state.tiktok.client, &state.cipher, post.account_id, |token| {
        let (client, post_info) = (client.clone(), post_info.clone());
        async move {
            match destination {
                Destination::Profile => client.init_direct_post(&token, &post_info, &plan).await,
                Destination::Inbox => client.init_inbox_upload(&token, &plan).await,
            }
        }
    })
    .await
    .map_err(not_sent)?;
    let init = match init {
        Ok(init) => init,
        Err(error @ TikTokError::ReplyLost(_)) => {
            tracing::warn!(post = %post.id, error = %error, "the answer to a publish init was lost");
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
            if let Ok(mut conn) = state.pool.get().await {
                let _ = release_latest(&mut conn, post.account_id, daily_limit(post)).await;
            }
            return Err(SendError::NotSent { error: for_people(&error), retry_in });
        }
    };

    let mut conn = state.pool.get().await.map_err(|e| not_sent(e.into()))?;
    if !posts::record_publish_id(&mut conn, post.id, &init.publish_id, post.lease_owner).await.map_err(not_sent)? {
        // Without its bytes this publish can never go out; TikTok drops it after an hour.
        return Err(SendError::LeaseLost);
    }
    drop(conn);

    let started = Instant::now();
    let outcome = stream_upload(&state.tiktok.client, &init.upload_url, &post.content_type, &plan, source).await;
    match outcome {
        Ok(()) => {
            let seconds = started.elapsed().as_secs_f64();
            let message = format!(
                "Uploaded {} in {:.1} s ({} chunk{}); TikTok is processing it, which can take a few minutes.",
                human_bytes(plan.video_size),
                seconds,
                plan.total_chunk_count,
                if plan.total_chunk_count == 1 { "" } else { "s" }
            );
            let mut conn = state.pool.get().await.map_err(|e| upload_failed("database", e.into()))?;
            posts::mark_uploaded(&mut conn, post.id, &message).await.map_err(|e| upload_failed("database", e.into()))?;
            Ok(())
        }
        Err(StreamUploadError::SourceInterrupted) => Err(SendError::Interrupted),
        Err(StreamUploadError::TikTok(error)) => {
            tracing::warn!(post = %post.id, error = %error, "upload to TikTok failed");
            let code = match &error {
                TikTokError::Rejected { code, .. } => code.clone(),
                _ => "upload_failed".to_owned(),
            };
            Err(upload_failed(&code, for_people(&error)))
        }
        Err(mismatch @ StreamUploadError::SizeMismatch { .. }) => {
            Err(upload_failed("size_mismatch", AppError::Conflict(format!("The upload did not match: {mismatch}."))))
        }
    }
}

/// Cadence's own copy of TikTok's limits: 6 inits a minute per token, about 15 direct posts
/// a day per creator, 5 pending inbox shares.
async fn check_limits(state: &AppState, post: &Post) -> Result<(), SendError> {
    let daily_rule = match post.destination() {
        Destination::Profile => "TikTok allows about 15 posts a day for one creator",
        Destination::Inbox => "TikTok allows 5 videos waiting in a creator's inbox a day",
    };
    // The daily cap first, so a post that must wait a day does not also spend a minute slot.
    let limits = [(daily_limit(post), daily_rule), (LimitedEndpoint::PublishInit, "TikTok allows 6 new posts a minute for one account")];
    let now = OffsetDateTime::now_utc();
    let mut conn = state.pool.get().await.map_err(|e| not_sent(e.into()))?;
    for (endpoint, rule) in limits {
        if let Err(wait) = try_acquire(&mut conn, post.account_id, endpoint, now).await.map_err(|e| not_sent(e.into()))? {
            return Err(SendError::Deferred { reason: format!("{rule}. Try again in {}.", in_words(wait)), wait });
        }
    }
    Ok(())
}

/// The per-creator daily cap that applies to the post's destination.
fn daily_limit(post: &Post) -> LimitedEndpoint {
    match post.destination() {
        Destination::Profile => LimitedEndpoint::DirectPostsPerDay,
        Destination::Inbox => LimitedEndpoint::InboxSharesPerDay,
    }
}

/// "42 seconds", "7 minutes", "3 hours".
fn in_words(wait: Duration) -> String {
    match wait.as_secs().max(1) {
        seconds if seconds < 120 => format!("{seconds} seconds"),
        seconds if seconds < 7200 => format!("{} minutes", seconds.div_ceil(60)),
        seconds => format!("{} hours", seconds.div_ceil(3600)),
    }
}

fn not_sent(error: AppError) -> SendError {
    SendError::NotSent { error, retry_in: None }
}

fn upload_failed(code: &str, error: AppError) -> SendError {
    SendError::UploadFailed { code: code.to_owned(), message: error.to_string() }
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
