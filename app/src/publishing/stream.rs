//! Streams a video into TikTok's chunked upload as the bytes arrive (from the browser for
//! "Post now", from the media store for scheduled posts). Each chunk's PUT reads from a small
//! bounded channel fed by the source, so at most a few pieces are in memory whatever the size.

use crate::tiktok::{
    chunks::ChunkPlan,
    client::{ChunkReceipt, TikTokClient},
    error::TikTokError,
};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
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
    #[error("{0}")]
    TikTok(#[from] TikTokError),
}

/// Sends exactly `plan.video_size` bytes of `source` to `upload_url`, chunk after chunk.
pub async fn stream_upload<S, E>(
    client: &TikTokClient,
    upload_url: &str,
    content_type: &str,
    plan: &ChunkPlan,
    mut source: S,
) -> Result<(), StreamUploadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut carry: Option<Bytes> = None;
    let mut sent_total = 0u64;
    for index in 0..plan.total_chunk_count {
        let (first, last) = plan.range(index);
        let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(PIECES_IN_FLIGHT);
        let body = reqwest::Body::wrap_stream(futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let feed = feed_chunk(&mut source, &mut carry, last - first + 1, tx);
        let upload = client.upload_chunk(upload_url, content_type, plan, index, body);
        let (fed, receipt) = tokio::join!(feed, upload);
        match fed {
            Ok(bytes) => sent_total += bytes,
            Err(FeedError::SourceInterrupted) => return Err(StreamUploadError::SourceInterrupted),
            Err(FeedError::SourceEnded(bytes)) => {
                return Err(StreamUploadError::SizeMismatch { declared: plan.video_size, actual: sent_total + bytes });
            }
            // TikTok stopped reading; its answer below says why.
            Err(FeedError::ReceiverGone) => {}
        }
        match receipt? {
            ChunkReceipt::Partial { .. } if index + 1 < plan.total_chunk_count => {}
            ChunkReceipt::Complete if index + 1 == plan.total_chunk_count => {}
            other => {
                return Err(StreamUploadError::TikTok(TikTokError::Protocol(format!(
                    "chunk {} of {} answered {other:?}",
                    index + 1,
                    plan.total_chunk_count
                ))));
            }
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

enum FeedError {
    SourceInterrupted,
    /// The source ended after this many bytes of the chunk.
    SourceEnded(u64),
    ReceiverGone,
}

/// Moves `length` bytes from the source (and the piece left over from the last chunk) into the
/// channel; a piece straddling the boundary is split and its tail kept for the next chunk.
async fn feed_chunk<S, E>(
    source: &mut S,
    carry: &mut Option<Bytes>,
    length: u64,
    tx: mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<u64, FeedError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut remaining = length;
    while remaining > 0 {
        let mut piece = match carry.take() {
            Some(piece) => piece,
            None => match source.next().await {
                Some(Ok(piece)) => piece,
                Some(Err(_)) => {
                    // Abort TikTok's request too, so it does not wait for bytes that never come.
                    let _ = tx.send(Err(std::io::Error::other("source interrupted"))).await;
                    return Err(FeedError::SourceInterrupted);
                }
                None => {
                    let _ = tx.send(Err(std::io::Error::other("source ended early"))).await;
                    return Err(FeedError::SourceEnded(length - remaining));
                }
            },
        };
        if piece.len() as u64 > remaining {
            *carry = Some(piece.split_off(remaining as usize));
        }
        remaining -= piece.len() as u64;
        if tx.send(Ok(piece)).await.is_err() {
            return Err(FeedError::ReceiverGone);
        }
    }
    Ok(length)
}

async fn count_rest<S, E>(source: &mut S) -> u64
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut extra = 0;
    while let Some(Ok(piece)) = source.next().await {
        extra += piece.len() as u64;
    }
    extra
}
