//! A copy of the chunk being sent, kept on disk until TikTok acknowledged it, so a chunk whose
//! PUT failed can be resubmitted even when its bytes came from the browser and cannot be asked
//! for again. On disk, not in memory: sixteen sends of 64 MB chunks at once must not need 1 GB.

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use std::{
    io,
    os::unix::fs::FileExt as _,
    path::{Path, PathBuf},
    sync::Arc,
};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _};

/// Pieces read back for a resubmission.
const READ_PIECE: usize = 64 * 1024;

/// One upload's spool file under `<data_dir>/spool/`, removed when dropped.
///
/// Each chunk overwrites the last one from offset 0 and only the first [`ChunkSpool::len`]
/// bytes count: the file keeps its pages, so a chunk costs neither a truncate nor new blocks
/// (together a tenth of the server's CPU in an upload when the file was emptied per chunk).
pub struct ChunkSpool {
    path: PathBuf,
    file: Arc<std::fs::File>,
    written: u64,
}

impl ChunkSpool {
    pub async fn create(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("spool");
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(format!("{}.chunk", uuid::Uuid::new_v4().simple()));
        let file = tokio::fs::OpenOptions::new().create_new(true).read(true).write(true).open(&path).await?;
        Ok(Self { path, file: Arc::new(file.into_std().await), written: 0 })
    }

    /// Starts over for the next chunk.
    pub fn reset(&mut self) {
        self.written = 0;
    }

    /// Appends a piece to the current chunk. The piece is written where it is, on the
    /// blocking pool, without the copy into a buffer that `tokio::fs::File` makes.
    pub async fn write(&mut self, piece: Bytes) -> io::Result<()> {
        let (file, offset, length) = (self.file.clone(), self.written, piece.len() as u64);
        tokio::task::spawn_blocking(move || file.write_all_at(&piece, offset))
            .await
            .map_err(|_| io::Error::other("the spool write was cancelled"))??;
        self.written += length;
        Ok(())
    }

    /// Bytes of the current chunk kept so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    /// The kept chunk from its first byte, for a resubmission.
    pub async fn replay(&mut self) -> io::Result<impl Stream<Item = io::Result<Bytes>> + Send + 'static> {
        let mut reader = tokio::fs::File::open(&self.path).await?;
        let remaining = self.written;
        reader.seek(io::SeekFrom::Start(0)).await?;
        Ok(futures_util::stream::unfold((reader, remaining), move |(mut reader, left)| async move {
            if left == 0 {
                return None;
            }
            let mut buffer = BytesMut::zeroed(READ_PIECE.min(left as usize));
            match reader.read(&mut buffer).await {
                Ok(0) => Some((Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the spooled chunk is short")), (reader, 0))),
                Ok(read) => {
                    buffer.truncate(read);
                    Some((Ok(buffer.freeze()), (reader, left - read as u64)))
                }
                Err(error) => Some((Err(error), (reader, 0))),
            }
        }))
    }
}

impl Drop for ChunkSpool {
    fn drop(&mut self) {
        // Best effort: a leftover file in the spool directory holds no secrets, only video bytes.
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::StreamExt as _;

    async fn replayed(spool: &mut ChunkSpool) -> Vec<u8> {
        let pieces: Vec<_> = spool.replay().await.unwrap().collect().await;
        pieces.into_iter().flat_map(|piece| piece.unwrap().to_vec()).collect()
    }

    #[tokio::test]
    async fn a_shorter_chunk_after_a_longer_one_replays_only_its_own_bytes() {
        let dir = std::env::temp_dir().join(format!("cadence-spool-{}", uuid::Uuid::new_v4()));
        let mut spool = ChunkSpool::create(&dir).await.unwrap();
        spool.write(Bytes::from(vec![1u8; 200_000])).await.unwrap();
        spool.write(Bytes::from(vec![2u8; 100])).await.unwrap();
        assert_eq!(spool.len(), 200_100);
        let first = replayed(&mut spool).await;
        assert_eq!(first.len(), 200_100);
        assert_eq!(first[200_000..], [2u8; 100]);

        // The next chunk overwrites the file from the start; the old bytes past it are not sent.
        spool.reset();
        spool.write(Bytes::from_static(b"tail of the video")).await.unwrap();
        assert_eq!(replayed(&mut spool).await, b"tail of the video");

        let path = spool.path.clone();
        drop(spool);
        assert!(!path.exists(), "the spool file goes with its upload");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
