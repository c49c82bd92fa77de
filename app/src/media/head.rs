//! Reading a video's container while it streams past, so "Post now" refuses a video TikTok
//! would reject without holding the video. A fast-start file (`moov` first) is judged from its
//! head before anything is sent; only those first few MiB are kept, and handed back to be sent
//! first. A file with `moov` at the end is judged by [`TailCheck`] as its last bytes pass,
//! before they are handed on, so TikTok never receives a complete file it would refuse.

use super::probe::{Container, Limits, ProbeError, VideoFacts, box_header, facts_from_moov, objections, sniff};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
};

/// Most of the head kept while looking for `moov`; camera files put it first ("fast start").
pub const MAX_HEAD_BYTES: usize = 8 * 1024 * 1024;

/// The start of a streamed video.
#[derive(Debug)]
pub struct Head {
    pub container: Container,
    /// What `moov` says, when it came before the media data. `None` for WebM and for files
    /// whose `moov` is at the end (the browser checked those before sending).
    pub facts: Option<VideoFacts>,
    /// The pieces read so far, to be sent before the rest of the stream.
    pub pieces: Vec<Bytes>,
}

/// Why the head could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeadError {
    #[error("{0}")]
    Probe(#[from] ProbeError),
    #[error("The upload was cut off. Please try again.")]
    Interrupted,
}

/// Reads pieces from `source` until the container's facts are known (or cannot be known from
/// the head).
pub async fn read_head<S, E>(source: &mut S) -> Result<Head, HeadError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
{
    let mut pieces = Vec::new();
    let mut joined: Vec<u8> = Vec::new();
    let mut ended = false;
    loop {
        match decide(&joined, ended)? {
            Decision::NeedMore if !ended && joined.len() < MAX_HEAD_BYTES => {}
            Decision::NeedMore => {
                let container = sniff(&joined)?;
                return Ok(Head { container, facts: None, pieces });
            }
            Decision::Known(container, facts) => return Ok(Head { container, facts, pieces }),
        }
        match source.next().await {
            Some(Ok(piece)) => {
                joined.extend_from_slice(&piece);
                pieces.push(piece);
            }
            Some(Err(_)) => return Err(HeadError::Interrupted),
            None => ended = true,
        }
    }
}

enum Decision {
    NeedMore,
    Known(Container, Option<VideoFacts>),
}

fn decide(head: &[u8], ended: bool) -> Result<Decision, ProbeError> {
    if head.len() < 12 {
        return if ended { Err(ProbeError::NotAVideo) } else { Ok(Decision::NeedMore) };
    }
    let container = sniff(head)?;
    if container == Container::WebM {
        return Ok(Decision::Known(container, None));
    }
    let mut at = 0usize;
    while at + 16 <= head.len() || (ended && at + 8 <= head.len()) {
        let (kind, header, length) = box_header(&head[at..]).ok_or(ProbeError::Truncated)?;
        let body_start = at + header as usize;
        match &kind {
            b"moov" => {
                let end = body_start.saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
                if end > head.len() {
                    return if ended { Err(ProbeError::Truncated) } else { Ok(Decision::NeedMore) };
                }
                return Ok(Decision::Known(container, Some(facts_from_moov(container, &head[body_start..end])?)));
            }
            // The media data comes first: `moov` is at the end, past what is kept.
            b"mdat" => return Ok(Decision::Known(container, None)),
            _ => match body_start.checked_add(usize::try_from(length).unwrap_or(usize::MAX)) {
                Some(next) => at = next,
                None => return Err(ProbeError::Truncated),
            },
        }
    }
    if ended { Err(ProbeError::Truncated) } else { Ok(Decision::NeedMore) }
}

/// Largest trailing `moov` collected in flight (a ten-minute video's is a few MB).
pub const MAX_TAIL_MOOV_BYTES: u64 = 16 * 1024 * 1024;

/// Walks the top-level boxes of an MP4/MOV stream as it passes, collects a trailing `moov`,
/// and ends the stream with an error instead of the piece that completes it if TikTok would
/// refuse the video. The refusal is left in [`TailCheck::verdict`].
pub struct TailCheck<S> {
    inner: S,
    container: Container,
    limits: Limits,
    offset: u64,
    next_box: u64,
    header: Vec<u8>,
    moov: Option<(Vec<u8>, u64)>,
    verdict: Arc<Mutex<Option<String>>>,
}

impl<S> TailCheck<S> {
    /// `inner` yields the whole file from its first byte.
    pub fn new(inner: S, container: Container, limits: Limits) -> Self {
        Self {
            inner,
            container,
            limits,
            offset: 0,
            next_box: 0,
            header: Vec::new(),
            moov: None,
            verdict: Arc::new(Mutex::new(None)),
        }
    }

    /// Where the refusal (if any) will be written.
    pub fn verdict(&self) -> Arc<Mutex<Option<String>>> {
        self.verdict.clone()
    }

    /// Follows the box structure through one piece; returns a refusal once `moov` is complete
    /// and TikTok would not take the video.
    fn observe(&mut self, piece: &[u8]) -> Option<String> {
        let mut at = 0usize;
        while at < piece.len() {
            if let Some((moov, remaining)) = &mut self.moov {
                let take = (*remaining).min((piece.len() - at) as u64) as usize;
                moov.extend_from_slice(&piece[at..at + take]);
                *remaining -= take as u64;
                at += take;
                self.offset += take as u64;
                if *remaining == 0 {
                    let moov = std::mem::take(moov);
                    self.moov = None;
                    let refusal = match facts_from_moov(self.container, &moov) {
                        Ok(facts) => objections(&facts, self.limits).into_iter().next().map(|o| o.0),
                        Err(error) => Some(error.to_string()),
                    };
                    if refusal.is_some() {
                        return refusal;
                    }
                }
                continue;
            }
            if self.offset < self.next_box {
                let skip = (self.next_box - self.offset).min((piece.len() - at) as u64);
                at += skip as usize;
                self.offset += skip;
                continue;
            }
            self.header.push(piece[at]);
            at += 1;
            self.offset += 1;
            if self.header.len() < 8 {
                continue;
            }
            let Some((kind, header_len, body_len)) = box_header(&self.header) else {
                if self.header.len() >= 16 {
                    return Some(ProbeError::Truncated.to_string());
                }
                continue;
            };
            if (self.header.len() as u64) < header_len {
                continue;
            }
            self.header.clear();
            if body_len == u64::MAX {
                self.next_box = u64::MAX;
            } else {
                self.next_box = self.offset.saturating_add(body_len);
                if &kind == b"moov" && body_len <= MAX_TAIL_MOOV_BYTES {
                    self.moov = Some((Vec::with_capacity(body_len as usize), body_len));
                    self.next_box = self.offset;
                }
            }
        }
        None
    }
}

impl<S> Stream for TailCheck<S>
where
    S: Stream<Item = std::io::Result<Bytes>> + Unpin,
{
    type Item = std::io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(Ok(piece))) = &next
            && let Some(refusal) = self.observe(piece)
        {
            *self.verdict.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some(refusal.clone());
            return Poll::Ready(Some(Err(std::io::Error::other(refusal))));
        }
        next
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::testing::{iso_box, moov};

    fn pieces(bytes: &[u8], size: usize) -> impl Stream<Item = Result<Bytes, ()>> + Unpin {
        futures_util::stream::iter(bytes.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>())
    }

    fn mp4(moov_first: bool, seconds: u32) -> Vec<u8> {
        let ftyp = iso_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
        let moov = iso_box(b"moov", &moov(seconds, 720, 1280, b"avc1"));
        let mdat = iso_box(b"mdat", &vec![7u8; 100_000]);
        let mut file = ftyp;
        if moov_first {
            file.extend(moov);
            file.extend(mdat);
        } else {
            file.extend(mdat);
            file.extend(moov);
        }
        file
    }

    #[tokio::test]
    async fn fast_start_files_are_judged_from_their_head_and_nothing_is_lost() {
        let file = mp4(true, 42);
        let mut source = pieces(&file, 1000);
        let head = read_head(&mut source).await.unwrap();
        assert_eq!(head.facts.unwrap().duration_secs, Some(42.0));
        let mut replayed: Vec<u8> = head.pieces.concat();
        while let Some(Ok(piece)) = source.next().await {
            replayed.extend_from_slice(&piece);
        }
        assert_eq!(replayed, file, "the head is sent first, then the rest, byte for byte");
        assert!(head.pieces.len() < 10, "only the head was read, not the media data");
    }

    #[tokio::test]
    async fn moov_at_the_end_is_left_to_the_browser_and_tiktok() {
        let file = mp4(false, 42);
        let head = read_head(&mut pieces(&file, 4096)).await.unwrap();
        assert_eq!(head.container, Container::Mp4);
        assert_eq!(head.facts, None);
    }

    #[tokio::test]
    async fn non_videos_and_cut_off_uploads_are_refused() {
        let gif = b"GIF89a and then a picture that is not a video".to_vec();
        assert_eq!(read_head(&mut pieces(&gif, 7)).await.unwrap_err(), HeadError::Probe(ProbeError::NotAVideo));
        let broken = futures_util::stream::iter(vec![Ok(Bytes::from_static(b"\0\0\0")), Err(())]);
        assert_eq!(read_head(&mut Box::pin(broken)).await.unwrap_err(), HeadError::Interrupted);
        let webm = [0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0xF7, 0x81];
        assert_eq!(read_head(&mut pieces(&webm, 5)).await.unwrap().container, Container::WebM);
    }

    fn io_pieces(bytes: &[u8], size: usize) -> impl Stream<Item = std::io::Result<Bytes>> + Unpin {
        futures_util::stream::iter(bytes.chunks(size).map(|c| Ok(Bytes::copy_from_slice(c))).collect::<Vec<_>>())
    }

    #[tokio::test]
    async fn a_trailing_moov_is_judged_before_its_last_piece_is_handed_on() {
        let limits = Limits { max_duration_secs: 60 };
        let fine = mp4(false, 42);
        let passed: Vec<u8> = TailCheck::new(io_pieces(&fine, 777), Container::Mp4, limits)
            .map(|piece| piece.unwrap().to_vec())
            .concat()
            .await;
        assert_eq!(passed, fine, "an acceptable video passes unchanged");

        let too_long = mp4(false, 90);
        let mut check = TailCheck::new(io_pieces(&too_long, 777), Container::Mp4, limits);
        let verdict = check.verdict();
        let mut handed_on = 0usize;
        let mut ended_with_error = false;
        while let Some(piece) = check.next().await {
            match piece {
                Ok(piece) => handed_on += piece.len(),
                Err(_) => {
                    ended_with_error = true;
                    break;
                }
            }
        }
        assert!(ended_with_error);
        assert!(handed_on < too_long.len(), "the file was never handed on whole");
        assert!(verdict.lock().unwrap().as_deref().unwrap().contains("1:30 long"));
    }
}
