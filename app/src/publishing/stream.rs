//! Streams a video into TikTok's chunked upload as the bytes arrive (from the browser for
//! "Post now", from the media store for scheduled posts). Each chunk's first PUT reads from a
//! small bounded channel fed by the source, so at most a few pieces are in memory whatever the
//! size; the same bytes go to a spool file, so a chunk answered 5xx, cut off or timed out is
//! resubmitted with the same Content-Range, as TikTok's media-transfer guide asks.

use crate::{
    config::UploadConfig,
    publishing::spool::ChunkSpool,
    tiktok::{
        chunks::ChunkPlan,
        client::{ChunkReceipt, TikTokClient},
        error::TikTokError,
    },
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use std::{path::Path, time::Duration};
use tokio::sync::mpsc;

/// Pieces buffered between the source and TikTok; with 64 KiB pieces, about 256 KiB.
const PIECES_IN_FLIGHT: usize = 4;

/// Why a streamed upload stopped.
#[derive(Debug, thiserror::Error)]
pub enum StreamUploadError {
    #[error("the upload from the browser stopped before the whole video arrived")]
    SourceInterrupted,
    #[error("the video was {actual} bytes, not the {declared} announced")]
    SizeMismatch { declared: u64, actual: u64 },
    /// TikTok failed a chunk for good. `at_last_chunk`: the failure was on the last chunk, so
    /// TikTok may hold every byte (its answer may have been the part that was lost).
    #[error("{error}")]
    TikTok { error: TikTokError, at_last_chunk: bool },
    #[error("the server could not keep a copy of the chunk: {0}")]
    Spool(std::io::Error),
}

/// Where and how the chunks go.
pub struct UploadTarget<'a> {
    pub client: &'a TikTokClient,
    pub upload_url: &'a str,
    pub content_type: &'a str,
    pub policy: &'a UploadConfig,
    /// The data directory; the spool file lives in its `spool/`.
    pub data_dir: &'a Path,
}

/// Sends exactly `plan.video_size` bytes of `source` to the target, chunk after chunk.
pub async fn stream_upload<S, E>(target: &UploadTarget<'_>, plan: &ChunkPlan, mut source: S) -> Result<(), StreamUploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut spool = ChunkSpool::create(target.data_dir).await.map_err(StreamUploadError::Spool)?;
    let mut carry: Option<Bytes> = None;
    let mut sent_total = 0u64;
    for index in 0..plan.total_chunk_count {
        let (first, last) = plan.range(index);
        let length = last - first + 1;
        let is_last = index + 1 == plan.total_chunk_count;
        spool.reset();
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(PIECES_IN_FLIGHT);
        let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let feed = feed_chunk(&mut source, &mut carry, length, tx, &mut spool);
        let timeout = target.policy.chunk_timeout(length);
        let upload = target.client.upload_chunk(target.upload_url, target.content_type, plan, index, body, timeout);
        let (fed, mut receipt) = tokio::join!(feed, upload);
        match fed {
            Ok(bytes) => sent_total += bytes,
            Err(FeedError::SourceInterrupted) => return Err(StreamUploadError::SourceInterrupted),
            Err(FeedError::SourceEnded(bytes)) => {
                return Err(StreamUploadError::SizeMismatch { declared: plan.video_size, actual: sent_total + bytes });
            }
            Err(FeedError::Spool(error)) => return Err(StreamUploadError::Spool(error)),
        }
        let mut attempt = 1;
        loop {
            let failure = match receipt {
                Ok(ChunkReceipt::Partial { .. }) if !is_last => break,
                Ok(ChunkReceipt::Complete) if is_last => break,
                // A resubmitted chunk TikTok already had (its first answer was lost): accepted
                // only when TikTok's own progress shows every byte of it.
                Ok(ChunkReceipt::RangeMismatch { uploaded: Some(uploaded) }) if attempt > 1 && uploaded > last => break,
                Ok(ChunkReceipt::RangeMismatch { uploaded }) => TikTokError::Rejected {
                    status: 416,
                    code: "range_mismatch".into(),
                    message: match uploaded {
                        Some(bytes) => format!("HTTP 416; TikTok has {bytes} bytes"),
                        None => "HTTP 416".into(),
                    },
                    log_id: None,
                },
                Ok(other) => TikTokError::Protocol(format!("chunk {} of {} answered {other:?}", index + 1, plan.total_chunk_count)),
                Err(TikTokError::Transient(reason)) if attempt < target.policy.chunk_attempts => {
                    tracing::warn!(chunk = index + 1, attempt, reason, "a chunk PUT failed; resubmitting it");
                    tokio::time::sleep(chunk_backoff(attempt)).await;
                    attempt += 1;
                    let replay = spool.replay().await.map_err(StreamUploadError::Spool)?;
                    receipt = target
                        .client
                        .upload_chunk(target.upload_url, target.content_type, plan, index, reqwest::Body::wrap_stream(replay), timeout)
                        .await;
                    continue;
                }
                Err(error) => error,
            };
            return Err(StreamUploadError::TikTok { error: failure, at_last_chunk: is_last });
        }
    }
    // Bytes beyond the announced size mean the browser lied about it; TikTok has what it
    // asked for, but the person should know.
    let extra = carry.map_or(0, |piece| piece.len() as u64) + count_rest(&mut source).await;
    if extra > 0 {
        return Err(StreamUploadError::SizeMismatch { declared: plan.video_size, actual: plan.video_size + extra });
    }
    Ok(())
}

/// 0.5 s, 1.5 s, 4.5 s, … with ±25 % jitter, so uploads cut off together do not return together.
fn chunk_backoff(attempt: u32) -> Duration {
    use rand::Rng as _;
    let base = 500.0 * 3f64.powi(attempt.saturating_sub(1).min(6) as i32);
    Duration::from_millis((base * rand::rng().random_range(0.75..1.25)) as u64)
}

enum FeedError {
    SourceInterrupted,
    /// The source ended after this many bytes of the chunk.
    SourceEnded(u64),
    Spool(std::io::Error),
}

/// Moves `length` bytes from the source (and the piece left over from the last chunk) into the
/// spool and the channel; a piece straddling the boundary is split and its tail kept for the
/// next chunk. When TikTok stops reading (an error answer), the rest of the chunk still goes
/// to the spool, so it can be resubmitted whole.
async fn feed_chunk<S, E>(
    source: &mut S,
    carry: &mut Option<Bytes>,
    length: u64,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
    spool: &mut ChunkSpool,
) -> Result<u64, FeedError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut remaining = length;
    let mut tx = Some(tx);
    while remaining > 0 {
        let mut piece = match carry.take() {
            Some(piece) => piece,
            None => match source.next().await {
                Some(Ok(piece)) => piece,
                Some(Err(_)) => {
                    // Abort TikTok's request too, so it does not wait for bytes that never come.
                    if let Some(tx) = &tx {
                        let _ = tx.send(Err(std::io::Error::other("source interrupted"))).await;
                    }
                    return Err(FeedError::SourceInterrupted);
                }
                None => {
                    if let Some(tx) = &tx {
                        let _ = tx.send(Err(std::io::Error::other("source ended early"))).await;
                    }
                    return Err(FeedError::SourceEnded(length - remaining));
                }
            },
        };
        if piece.len() as u64 > remaining {
            *carry = Some(piece.split_off(remaining as usize));
        }
        remaining -= piece.len() as u64;
        spool.write(piece.clone()).await.map_err(FeedError::Spool)?;
        if let Some(sender) = &tx
            && sender.send(Ok(piece)).await.is_err()
        {
            tx = None;
        }
    }
    debug_assert_eq!(spool.len(), length);
    Ok(length)
}

async fn count_rest<S, E>(source: &mut S) -> u64
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut extra = 0;
    while extra <= DRAIN_LIMIT
        && let Some(Ok(piece)) = source.next().await
    {
        extra += piece.len() as u64;
    }
    extra
}

/// Bytes read past the announced size before giving up on the rest: enough to tell "a little
/// longer" from a lie, without reading an unbounded body to the end.
pub const DRAIN_LIMIT: u64 = 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_endless_remainder_is_read_only_up_to_the_drain_limit() {
        let piece = Bytes::from(vec![0u8; 64 * 1024]);
        let mut endless = futures_util::stream::repeat_with(move || Ok::<_, std::io::Error>(piece.clone()));
        let extra = tokio::time::timeout(Duration::from_secs(30), count_rest(&mut endless))
            .await
            .expect("reading the remainder stops by itself");
        assert!(extra > DRAIN_LIMIT && extra <= DRAIN_LIMIT + 64 * 1024, "{extra}");

        let mut short = futures_util::stream::iter([Ok::<_, std::io::Error>(Bytes::from_static(b"tail"))]);
        assert_eq!(count_rest(&mut short).await, 4);
    }
}
