//! Sending one post's video to TikTok, the same way for "Post now", "Send to inbox" and a
//! scheduled post: a rate-limited init, the publish id stored before the first byte, the
//! streamed chunked upload, then the hand-over to status tracking.

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
        rate_limit::{LimitedEndpoint, try_acquire},
    },
};
use bytes::Bytes;
use futures_util::Stream;
use std::time::{Duration, Instant};
use crate::ui::human_bytes;
use time::OffsetDateTime;

/// Why a video did not reach TikTok.
#[derive(Debug)]
pub enum SendError {
    /// Nothing was sent and no publish exists at TikTok; `retry_in` when waiting will help.
    NotSent { error: AppError, retry_in: Option<Duration> },
    /// The source stopped before the whole video arrived (the browser went away). TikTok
    /// holds an incomplete upload it will never publish.
    Interrupted,
    /// TikTok has a publish id but the upload failed; the post is marked failed.
    UploadFailed(AppError),
    /// Another server took the post over (this one's lease ran out); nothing was sent.
    LeaseLost,
}

impl SendError {
    pub fn into_app_error(self) -> AppError {
        match self {
            Self::NotSent { error, .. } | Self::UploadFailed(error) => error,
            Self::Interrupted => AppError::Conflict("The upload was cut off before the whole video arrived. Nothing was posted.".into()),
            Self::LeaseLost => AppError::Conflict("Another server took this post over.".into()),
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

    let now = OffsetDateTime::now_utc();
    let mut conn = state.pool.get().await.map_err(|e| not_sent(e.into()))?;
    if let Err(wait) = try_acquire(&mut conn, post.account_id, LimitedEndpoint::PublishInit, now)
        .await
        .map_err(|e| not_sent(e.into()))?
    {
        return Err(SendError::NotSent {
            error: AppError::Conflict(format!(
                "TikTok allows 6 new posts a minute for one account. Try again in {} seconds.",
                wait.as_secs().max(1)
            )),
            retry_in: Some(wait),
        });
    }
    drop(conn);

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
        Err(error) => {
            let retry_in = match &error {
                TikTokError::RateLimited { retry_after } => Some(retry_after.unwrap_or(Duration::from_secs(60))),
                // FILE_UPLOAD publishes nothing until every byte arrives, so an init whose
                // reply was lost is harmless to repeat: TikTok drops the empty task.
                TikTokError::Transient(_) => Some(Duration::from_secs(60)),
                _ => None,
            };
            tracing::warn!(post = %post.id, error = %error, "TikTok refused the publish init");
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
    let mut conn = state.pool.get().await.map_err(|e| SendError::UploadFailed(e.into()))?;
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
            posts::mark_uploaded(&mut conn, post.id, &message).await.map_err(|e| SendError::UploadFailed(e.into()))?;
            Ok(())
        }
        Err(StreamUploadError::SourceInterrupted) => Err(SendError::Interrupted),
        Err(error) => {
            let (code, message) = match &error {
                StreamUploadError::TikTok(tiktok) => (
                    match tiktok {
                        TikTokError::Rejected { code, .. } => code.clone(),
                        _ => "upload_failed".to_owned(),
                    },
                    for_people(tiktok).to_string(),
                ),
                other => ("size_mismatch".to_owned(), format!("The upload did not match: {other}.")),
            };
            tracing::warn!(post = %post.id, error = %error, "upload to TikTok failed");
            posts::mark_failed(&mut conn, post.id, &code, &message).await.map_err(|e| SendError::UploadFailed(e.into()))?;
            Err(SendError::UploadFailed(AppError::Conflict(message)))
        }
    }
}

fn not_sent(error: AppError) -> SendError {
    SendError::NotSent { error, retry_in: None }
}
