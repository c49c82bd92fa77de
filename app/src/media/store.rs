//! Where scheduled posts' videos wait for their time: a local directory by default. Bytes are
//! streamed to disk (never held whole), counted against a limit while they arrive, hashed, and
//! probed; a refused or interrupted upload leaves nothing behind.

use super::probe::{ProbeError, VideoFacts, probe_file};
use bytes::Bytes;
use futures_util::{Stream, StreamExt as _};
use sha2::{Digest as _, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt as _;

/// A stored video's facts, as recorded with the post.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredMedia {
    pub key: String,
    pub byte_size: u64,
    pub sha256: String,
    pub facts: VideoFacts,
}

/// Why a video was not stored. The message is for the person uploading.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("The video is larger than {limit} bytes, the most Cadence accepts.")]
    TooLarge { limit: u64 },
    #[error("The upload was cut off. Please try again.")]
    Interrupted,
    #[error("{0}")]
    NotAVideo(#[from] ProbeError),
    #[error("The video could not be stored on the server.")]
    Io(#[from] std::io::Error),
}

/// Videos in a local directory, one file per key.
#[derive(Clone, Debug)]
pub struct LocalMediaStore {
    root: PathBuf,
}

impl LocalMediaStore {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The file behind a key (keys are generated here, never taken from a request).
    pub fn path(&self, key: &str) -> PathBuf {
        self.root.join(key)
    }

    /// Streams `body` into a new file, refusing it as soon as it passes `limit` bytes, then
    /// probes it. Only a complete, recognisable video is kept.
    pub async fn put<S, E>(&self, body: S, limit: u64) -> Result<StoredMedia, StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        tokio::fs::create_dir_all(&self.root).await?;
        let key = format!("{}.video", uuid::Uuid::new_v4());
        let partial = self.root.join(format!("{key}.partial"));
        let result = self.write(&partial, body, limit).await;
        let outcome = match result {
            Ok((byte_size, sha256)) => match probe_file(&partial).await {
                Ok(facts) => {
                    tokio::fs::rename(&partial, self.path(&key)).await?;
                    return Ok(StoredMedia { key, byte_size, sha256, facts });
                }
                Err(error) => Err(StoreError::NotAVideo(error)),
            },
            Err(error) => Err(error),
        };
        // Whatever went wrong, the half-written file goes.
        let _ = tokio::fs::remove_file(&partial).await;
        outcome
    }

    async fn write<S, E>(&self, partial: &Path, mut body: S, limit: u64) -> Result<(u64, String), StoreError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
    {
        let mut file = tokio::fs::File::create(partial).await?;
        let mut hasher = Sha256::new();
        let mut written = 0u64;
        while let Some(piece) = body.next().await {
            let piece = piece.map_err(|_| StoreError::Interrupted)?;
            written += piece.len() as u64;
            if written > limit {
                return Err(StoreError::TooLarge { limit });
            }
            hasher.update(&piece);
            file.write_all(&piece).await?;
        }
        file.flush().await?;
        file.sync_all().await?;
        Ok((written, hex::encode(hasher.finalize())))
    }

    /// Removes a stored video; a missing file is not an error (clean-up may run twice).
    pub async fn delete(&self, key: &str) -> std::io::Result<()> {
        match tokio::fs::remove_file(self.path(key)).await {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{
        probe::Container,
        testing::{iso_box, moov},
    };

    fn temp_store(name: &str) -> LocalMediaStore {
        let root = std::env::temp_dir().join(format!("cadence-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        LocalMediaStore::new(root)
    }

    fn leftovers(store: &LocalMediaStore) -> usize {
        std::fs::read_dir(&store.root).map(|dir| dir.count()).unwrap_or(0)
    }

    /// A small MP4 (ftyp, a 30 s moov, mdat) as a stream of 1 KiB pieces.
    fn mp4_stream(total: usize) -> impl Stream<Item = Result<Bytes, std::io::Error>> + Unpin {
        let mut file = iso_box(b"ftyp", b"isom\0\0\x02\0isomiso2avc1mp41");
        file.extend(iso_box(b"moov", &moov(30, 720, 1280, b"avc1")));
        let mdat = total - file.len();
        file.extend(iso_box(b"mdat", &vec![7u8; mdat - 8]));
        let pieces: Vec<_> = file.chunks(1024).map(|c| Ok(Bytes::copy_from_slice(c))).collect();
        futures_util::stream::iter(pieces)
    }

    #[tokio::test]
    async fn a_complete_video_is_kept_with_its_facts_and_hash() {
        let store = temp_store("ok");
        let stored = store.put(mp4_stream(50_000), 1_000_000).await.unwrap();
        assert_eq!(stored.byte_size, 50_000);
        assert_eq!(stored.facts.container, Container::Mp4);
        assert_eq!(stored.facts.duration_secs, Some(30.0));
        assert_eq!(stored.sha256.len(), 64);
        assert_eq!(std::fs::metadata(store.path(&stored.key)).unwrap().len(), 50_000);
        assert_eq!(leftovers(&store), 1, "only the finished file, no .partial");
        store.delete(&stored.key).await.unwrap();
        store.delete(&stored.key).await.unwrap();
        assert_eq!(leftovers(&store), 0);
    }

    #[tokio::test]
    async fn refused_and_interrupted_uploads_leave_nothing_behind() {
        let store = temp_store("refused");
        let too_large = store.put(mp4_stream(50_000), 10_000).await.unwrap_err();
        assert!(matches!(too_large, StoreError::TooLarge { limit: 10_000 }));

        let picture = futures_util::stream::iter(vec![Ok::<_, std::io::Error>(Bytes::from_static(b"GIF89a just a picture"))]);
        let not_video = store.put(picture, 1_000_000).await.unwrap_err();
        assert!(matches!(not_video, StoreError::NotAVideo(ProbeError::NotAVideo)));

        let cut = futures_util::stream::iter(vec![
            Ok(Bytes::from_static(b"\0\0\0\x20ftypisom")),
            Err(std::io::Error::other("connection reset")),
        ]);
        assert!(matches!(store.put(cut, 1_000_000).await.unwrap_err(), StoreError::Interrupted));
        assert_eq!(leftovers(&store), 0);
    }
}
