//! A copy of the chunk being sent, kept on disk until TikTok acknowledged it, so a chunk whose
//! PUT failed can be resubmitted even when its bytes came from the browser and cannot be asked
//! for again. On disk, not in memory: sixteen sends of 64 MB chunks at once must not need 1 GB.

use bytes::{Bytes, BytesMut};
use futures_util::Stream;
use std::{
    io,
    path::{Path, PathBuf},
};
use tokio::io::{AsyncReadExt as _, AsyncSeekExt as _, AsyncWriteExt as _};

/// Pieces read back for a resubmission.
const READ_PIECE: usize = 64 * 1024;

/// One upload's spool file under `<data_dir>/spool/`, removed when dropped.
pub struct ChunkSpool {
    path: PathBuf,
    file: tokio::fs::File,
    written: u64,
}

impl ChunkSpool {
    pub async fn create(data_dir: &Path) -> io::Result<Self> {
        let dir = data_dir.join("spool");
        tokio::fs::create_dir_all(&dir).await?;
        let path = dir.join(format!("{}.chunk", uuid::Uuid::new_v4().simple()));
        let file = tokio::fs::OpenOptions::new().create_new(true).read(true).write(true).open(&path).await?;
        Ok(Self { path, file, written: 0 })
    }

    /// Empties the spool for the next chunk.
    pub async fn reset(&mut self) -> io::Result<()> {
        self.file.set_len(0).await?;
        self.file.rewind().await?;
        self.written = 0;
        Ok(())
    }

    pub async fn write(&mut self, piece: &[u8]) -> io::Result<()> {
        self.file.write_all(piece).await?;
        self.written += piece.len() as u64;
        Ok(())
    }

    /// Bytes of the current chunk kept so far.
    pub fn len(&self) -> u64 {
        self.written
    }

    /// The kept chunk from its first byte, for a resubmission.
    pub async fn replay(&mut self) -> io::Result<impl Stream<Item = io::Result<Bytes>> + Send + 'static> {
        self.file.flush().await?;
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
